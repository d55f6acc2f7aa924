#!/usr/bin/env python3
"""Builds a Python block project into a ``sandflow:block`` component.

    python3 build.py <projectDir> <out.wasm>

Environment:
  SANDFLOW_PY_TOOLCHAIN  a ``pip install --target`` directory holding
                         componentize-py (0.25.1); required.
  SANDFLOW_WIT           the directory holding block.wit (default: the
                         ``wit/`` directory beside ``guest-sdk/``).
  SANDFLOW_BUILD_VERBOSE set to 1 to print componentize-py's full output.

Steps: read ``pyproject.toml`` (``[tool.sandflow] module``, default
``block``); vendor ``requirements.txt`` into ``.sandflow/deps`` with pip
(pure-Python wheels only, for the CPython componentize-py embeds; skipped
when the file did not change); write the entry module
``.sandflow/app/sandflow_app.py`` that imports the block's module and exports
the world through the SDK; run componentize-py, which imports everything once
and snapshots the interpreter; write ``out.wasm``. Every temporary file is
under ``<projectDir>/.sandflow/``.

Exit status 0 on success; 1 with one ``error: ...`` message on stderr otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent
WORLD = "block"
APP_MODULE = "sandflow_app"
#: Bumped when the way dependencies are installed changes, so caches refill.
DEPS_LAYOUT = "1"
#: Modules the standard library imports lazily inside functions. Nothing can
#: be imported while a block runs (there is no filesystem), so they are
#: imported at build time: `datetime.strptime`, IDNA host names, and the
#: codecs a response's charset most often names.
DEFAULT_PRELOAD = [
    "_strptime",
    "encodings.ascii",
    "encodings.latin_1",
    "encodings.utf_8",
    "encodings.utf_16",
    "encodings.utf_32",
    "encodings.cp1252",
    "encodings.idna",
]


class BuildError(Exception):
    """One message for the user; the build stops."""


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        out = build(Path(argv[1]), Path(argv[2]))
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
    size = out.stat().st_size
    print(f"built {out} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


def build(project: Path, out: Path) -> Path:
    project = project.resolve()
    out = out.resolve() if out.is_absolute() else (Path.cwd() / out).resolve()
    if not (project / "pyproject.toml").is_file():
        raise BuildError(f"{project} has no pyproject.toml: not a Python block project "
                         f"(`sandflow blocks new --lang python NAME` creates one)")
    config = read_config(project)
    toolchain = find_toolchain()
    wit = find_wit()
    work = project / ".sandflow"
    work.mkdir(exist_ok=True)
    (work / ".gitignore").write_text("*\n")

    source_dir = find_module(project, config)
    python_version = embedded_python_version(toolchain)
    deps = vendor_requirements(project, work, python_version)

    # Directories the component's Python path holds, in sys.path order. Inside
    # the build they are mounted as /0, /1, ...; tracebacks name them back.
    app_dir = work / "app"
    paths = [app_dir, source_dir, SDK_DIR]
    if deps is not None:
        paths.append(deps)
    labels = {f"/{i}/": _label(p, project) for i, p in enumerate(paths)}
    labels["/0/"], labels["/2/"] = "<generated>/", "<sdk>/"
    write_app(app_dir, config, labels)

    built = work / "component.wasm"
    if built.exists():
        built.unlink()
    componentize(toolchain, wit, paths, built, project, labels, config)
    if not built.is_file():
        raise BuildError("componentize-py finished without writing the component")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    shutil.copyfile(built, tmp)
    os.replace(tmp, out)
    return out


def _label(path: Path, project: Path) -> str:
    """How a traceback shows files under ``path``: relative to the project."""
    try:
        rel = path.relative_to(project)
        return "" if str(rel) == "." else f"{rel.as_posix()}/"
    except ValueError:
        return f"<{path.name}>/"


# ---------------------------------------------------------------------------
# Configuration


def read_config(project: Path) -> dict:
    path = project / "pyproject.toml"
    try:
        data = load_toml(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise BuildError(f"{path}: {e}") from None
    tool = data.get("tool", {}).get("sandflow", {})
    if not isinstance(tool, dict):
        raise BuildError(f"{path}: [tool.sandflow] must be a table")
    module = tool.get("module", "block")
    if not isinstance(module, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", module):
        raise BuildError(f"{path}: [tool.sandflow] module must be a Python module name such as \"block\", "
                         f"not {module!r}")
    if module.split(".")[0] in (APP_MODULE, "wit_world", "sandflow_block", "componentize_py_types",
                                "componentize_py_runtime", "poll_loop"):
        raise BuildError(f"{path}: [tool.sandflow] module {module!r} clashes with a module of the build")
    preload = tool.get("preload", [])
    if not isinstance(preload, list) or not all(isinstance(m, str) and re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", m) for m in preload):
        raise BuildError(f"{path}: [tool.sandflow] preload must be a list of module names")
    return {"module": module, "preload": preload, "name": data.get("project", {}).get("name")}


def load_toml(text: str) -> dict:
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            return _mini_toml(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(str(e)) from None


def _mini_toml(text: str) -> dict:
    """Enough TOML for Python 3.10 without tomli: tables, and string/array values."""
    data: dict = {}
    table = data
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([A-Za-z0-9_.\-\"]+)\]", line)
        if header:
            table = data
            for key in header.group(1).replace('"', "").split("."):
                table = table.setdefault(key, {})
            continue
        if line.startswith("[["):
            table = {}
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"line {number}: expected key = value")
        value = value.split(" #")[0].strip()
        try:
            table[key.strip().strip('"')] = json.loads(value.replace("'", '"'))
        except ValueError:
            table[key.strip().strip('"')] = value
    return data


def find_toolchain() -> Path:
    value = os.environ.get("SANDFLOW_PY_TOOLCHAIN")
    if not value:
        raise BuildError("SANDFLOW_PY_TOOLCHAIN is not set: it names a `pip install --target` directory holding "
                         "componentize-py==0.25.1 (`sandflow blocks build` installs one for you)")
    path = Path(value).resolve()
    if not (path / "componentize_py").is_dir():
        raise BuildError(f"SANDFLOW_PY_TOOLCHAIN={value} holds no componentize_py package "
                         f"(`python3 -m pip install --target {value} componentize-py==0.25.1`)")
    return path


def find_wit() -> Path:
    value = os.environ.get("SANDFLOW_WIT")
    path = Path(value).resolve() if value else SDK_DIR.parent.parent / "wit"
    if not (path / "block.wit").is_file():
        raise BuildError(f"{path} holds no block.wit (set SANDFLOW_WIT to the directory of the WIT package)")
    return path


def find_module(project: Path, config: dict) -> Path:
    """The directory that holds the block's module: the project, or its ``src/``."""
    parts = config["module"].split(".")
    for base in (project, project / "src"):
        candidate = base.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return base
        if len(parts) > 1 and candidate.parent.is_dir():
            return base
    where = "/".join(parts)
    raise BuildError(f"{project}: no module {config['module']!r} ({where}.py or {where}/__init__.py; "
                     f"[tool.sandflow] module in pyproject.toml names it)")


# ---------------------------------------------------------------------------
# Dependencies


def embedded_python_version(toolchain: Path) -> str:
    """The CPython version componentize-py embeds (3.14 for 0.25.1): the
    version pip installs dependencies for."""
    known = {"0.25.1": "3.14"}
    for info in toolchain.glob("componentize_py-*.dist-info"):
        version = info.name[len("componentize_py-"):-len(".dist-info")]
        if version in known:
            return known[version]
    versions: set = set()
    for binary in (toolchain / "componentize_py").glob("componentize_py*.so"):
        with open(binary, "rb") as f:
            versions.update(m.decode() for m in re.findall(rb"libpython(3\.\d+)", f.read()))
    if len(versions) == 1:
        return versions.pop()
    raise BuildError(f"cannot tell which Python version the componentize-py in {toolchain} embeds")


def requirement_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #")[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def vendor_requirements(project: Path, work: Path, python_version: str) -> Path | None:
    """Installs requirements.txt into ``.sandflow/deps`` (pure-Python wheels for
    ``python_version``), unless the same requirements were installed already."""
    requirements = project / "requirements.txt"
    deps = work / "deps"
    stamp = work / "deps.sha256"
    lines = requirement_lines(requirements)
    if not lines:
        if deps.exists():
            shutil.rmtree(deps)
        stamp.unlink(missing_ok=True)
        return None
    digest = hashlib.sha256(
        "\n".join([DEPS_LAYOUT, python_version, requirements.read_text(encoding="utf-8")]).encode()
    ).hexdigest()
    if deps.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return deps
    staging = work / "deps.partial"
    if staging.exists():
        shutil.rmtree(staging)
    stamp.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-input", "--no-compile",
        "--target", str(staging),
        # Pure-Python wheels only: the component's CPython cannot load native
        # extensions, and nothing is compiled at build time.
        "--only-binary=:all:", "--platform", "any", "--implementation", "py", "--abi", "none",
        "--python-version", python_version,
        "-r", str(requirements),
    ]
    env = dict(os.environ, PIP_ROOT_USER_ACTION="ignore", PYTHONDONTWRITEBYTECODE="1")
    print(f"installing requirements.txt into {deps} (pure-Python wheels for CPython {python_version})",
          file=sys.stderr)
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(explain_pip(result.stdout + result.stderr, python_version, lines))
    if deps.exists():
        shutil.rmtree(deps)
    os.replace(staging, deps)
    stamp.write_text(digest + "\n")
    return deps


def _project_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; @]", requirement, 1)[0].strip().lower().replace("_", "-").replace(".", "-")


def explain_pip(output: str, python_version: str, direct: list) -> str:
    missing = re.search(r"No matching distribution found for (\S+)", output)
    versions = re.search(r"Could not find a version that satisfies the requirement (\S+) \(from versions: ([^)]*)\)",
                         output)
    if missing:
        requirement = missing.group(1)
        available = versions.group(2).strip() if versions else "none"
        via = "" if _project_name(requirement) in {_project_name(r) for r in direct} else \
            " (a dependency of a package in requirements.txt)"
        if available == "none":
            return (f"requirements.txt: {requirement}{via} has no pure-Python wheel (py3-none-any) for CPython "
                    f"{python_version}: it is a native extension, or it is published only as a source "
                    f"distribution. A Python block can use pure-Python packages only.")
        return (f"requirements.txt: no pure-Python wheel of {requirement}; the versions that have one are: "
                f"{available}")
    lines = [line for line in output.splitlines() if line.strip() and "WARNING" not in line]
    detail = "\n".join(lines[-15:]) or "(no output)"
    return f"installing requirements.txt with pip failed:\n{detail}"


# ---------------------------------------------------------------------------
# The entry module


def write_app(app_dir: Path, config: dict, labels: dict) -> None:
    app_dir.mkdir(parents=True, exist_ok=True)
    preload = list(DEFAULT_PRELOAD) + [m for m in config["preload"] if m not in DEFAULT_PRELOAD]
    lines = [
        "# Generated by the Sandflow Python SDK's build.py: the component's entry",
        "# module. componentize-py imports it once, at build time, and snapshots",
        "# the interpreter, so everything imported here is ready in every run.",
        "import sys as _sys",
        "_sys.dont_write_bytecode = True  # no __pycache__ in the project or the SDK",
        "import importlib as _importlib",
        "import sandflow_block._guest as _guest",
        "",
        f"for _name in {preload!r}:",
        "    try:",
        "        _importlib.import_module(_name)",
        "    except ImportError as _e:",
        f"        if _name not in {config['preload']!r}:",
        "            continue",
        "        raise ImportError(f\"[tool.sandflow] preload: {_e}\") from None",
        "",
        f"import {config['module']} as _block_module",
        "",
        f"WitWorld = _guest.world_for(_block_module, {labels!r})",
        "",
    ]
    text = "\n".join(lines)
    target = app_dir / f"{APP_MODULE}.py"
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)


# ---------------------------------------------------------------------------
# componentize-py


#: Runs in a child process: componentize-py's Python API (unlike its command
#: line, it adds no site-packages of the machine to the component's path).
_COMPONENTIZE = """
import json, sys
from componentize_py import componentize
a = json.loads(sys.argv[1])
try:
    componentize([a["wit"]], [a["world"]], [], False, None, a["paths"], [], a["app"], a["out"], False, [], [],
                 False, None)
except AssertionError as e:
    sys.stderr.write("AssertionError: " + str(e) + "\\n")
    sys.exit(1)
"""


def componentize(toolchain: Path, wit: Path, paths: list, out: Path, project: Path, labels: dict,
                 config: dict) -> None:
    spec = {"wit": str(wit), "world": WORLD, "paths": [str(p) for p in paths], "app": APP_MODULE, "out": str(out)}
    env = dict(os.environ)
    env["PYTHONPATH"] = str(toolchain)
    env["RUST_BACKTRACE"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run([sys.executable, "-c", _COMPONENTIZE, json.dumps(spec)], cwd=project / ".sandflow",
                            env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if os.environ.get("SANDFLOW_BUILD_VERBOSE") == "1":
        sys.stderr.write(output)
    if result.returncode != 0 or not out.is_file():
        raise BuildError(explain_componentize(output, labels, config, project))


def explain_componentize(output: str, labels: dict, config: dict, project: Path) -> str:
    """One message from componentize-py's output: the Python error raised while
    importing the block (with file:line), or componentize-py's own error."""

    def show(path: str) -> str:
        for prefix, label in labels.items():
            if path.startswith(prefix):
                return label + path[len(prefix):]
        return path

    traceback = None
    match = re.search(r"AssertionError: (Traceback \(most recent call last\):.*?)\n\n(?:Caused by:|Stack backtrace:|$)",
                      output, re.S)
    if match:
        traceback = match.group(1)
    elif "Traceback (most recent call last):" in output and "AssertionError" not in output:
        traceback = None
    if traceback is None:
        caused = re.search(r"Caused by:\n(.*?)(?:\n\n|\nStack backtrace:|$)", output, re.S)
        first = output.strip().splitlines()
        message = caused.group(1).strip() if caused else "\n".join(first[-10:])
        return f"componentize-py failed: {message}"

    lines = traceback.splitlines()
    frames = []  # (file, line, function)
    for line in lines:
        frame = re.match(r'\s*File "([^"]+)", line (\d+)(?:, in (.+))?', line)
        if frame:
            frames.append((show(frame.group(1)), int(frame.group(2)), frame.group(3)))
    # The exception is the last line that is not indented.
    last = [line for line in lines if line and not line.startswith(" ")]
    exception = last[-1] if last else "error"
    user = [f for f in frames if not f[0].startswith(("<", ".sandflow/"))]
    if exception.startswith("SyntaxError") or exception.startswith("IndentationError") or exception.startswith(
            "TabError"):
        where = frames[-1] if frames else None
        # The code line and the caret that follow the last File line.
        tail = []
        seen_file = False
        for line in lines:
            if re.match(r'\s*File "', line):
                seen_file, tail = True, []
            elif seen_file and line.startswith("    "):
                tail.append(line)
        location = f"{where[0]}:{where[1]}: " if where else ""
        detail = ("\n" + "\n".join(tail)) if tail else ""
        return f"{location}{exception}{detail}"
    hint = ""
    missing = re.match(r"ModuleNotFoundError: No module named '([^']+)'", exception)
    if missing:
        top = missing.group(1).split(".")[0]
        requirements = [_project_name(r) for r in requirement_lines(project / "requirements.txt")]
        if _project_name(top) not in requirements:
            hint = (f" (a dependency goes in requirements.txt; it must be pure Python. A standard-library module "
                    f"missing here is not available in the component)")
    location = ""
    if user:
        location = f"{user[-1][0]}:{user[-1][1]}: "
    steps = "\n".join(f"    {f}:{n}" + (f" in {fn}" if fn else "") for f, n, fn in frames)
    return (f"{location}{exception}{hint}\n"
            f"  (raised while importing the block's module {config['module']!r} at build time)\n"
            f"  traceback (most recent call last):\n{steps}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
