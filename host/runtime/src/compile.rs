//! Compiling untrusted components: off the async threads, a bounded number
//! at once, under a deadline, and (with a child process) under a memory cap.
//!
//! A component that exports the init function (`sandflow-snapshot`) is
//! pre-initialized first, as the standard blocks are at build time: its init
//! runs once, fuel- and memory-bounded with every import trapping, inside the
//! same child, slot and deadline as the compile, and what is compiled and
//! cached is the snapshot.
//!
//! Wasmtime does not treat compile-time resource use as a vulnerability: a
//! few megabytes of wasm can take a minute and gigabytes of memory to
//! compile. So an uploaded component is compiled in a child process (the
//! host binary re-executing itself, see [`compile_child_main`]) with an
//! address-space rlimit and a lower CPU priority; at the deadline the child
//! is killed, so a compile that timed out really stops and leaves nothing
//! behind. Only the child's finished output (a `.cwasm`) ever reaches the
//! cache, so a compile that failed or timed out is never accepted later.
//! Without a child program configured (library use, tests), the compile runs
//! on a blocking thread of this process instead: still bounded in number and
//! off the async threads, but neither memory-capped nor stoppable (past its
//! deadline its result is thrown away, and its slot stays taken until it ends).

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sandflow_snapshot::SnapshotError;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::Semaphore;
use wasmtime::Engine;

use crate::error::LoadError;

/// Exit code of the compiler child when the component does not compile.
const EXIT_INVALID: i32 = 2;
/// Exit code of the compiler child when the component's init run failed.
const EXIT_INIT_FAILED: i32 = 3;
/// Bytes of the child's stderr kept for the error message.
const STDERR_BYTES: u64 = 16 << 10;
/// Niceness of the compiler child: the API's own threads win the CPU.
const CHILD_NICENESS: libc::c_int = 10;

/// The compiler child to run: `program args...` with `envs` added to its
/// environment, to which the runtime adds `--fuel <bool> --memory-bytes <n>`.
/// The program must pass those to [`compile_child_main`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompilerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub envs: Vec<(OsString, OsString)>,
}

/// How untrusted components ([`crate::Runtime::load_untrusted`]) are compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileConfig {
    /// The compiler child; `None` compiles on a blocking thread of this process.
    pub child: Option<CompilerCommand>,
    /// Compiles at once; further ones wait in line.
    pub max_concurrent: usize,
    /// Compiles waiting in line at most; one more is refused with
    /// [`LoadError::CompileBusy`] (each holds its upload in memory).
    pub max_waiting: usize,
    /// Address space of the compiler child (`RLIMIT_AS`), in bytes.
    pub memory_bytes: u64,
}

impl Default for CompileConfig {
    fn default() -> Self {
        Self { child: None, max_concurrent: 2, max_waiting: 16, memory_bytes: 2 << 30 }
    }
}

/// The bounded compile line.
pub(crate) struct Compiler {
    config: CompileConfig,
    fuel: bool,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// Decrements the count of waiting compiles however the wait ends.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Compiler {
    pub fn new(config: CompileConfig, fuel: bool) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_concurrent.max(1)));
        Self { config, fuel, slots, waiting: AtomicUsize::new(0) }
    }

    /// Compiles `bytes` to a `.cwasm` for `engine`, waiting for a slot first;
    /// `timeout` covers the wait and the compile.
    pub async fn precompile(&self, engine: &Engine, bytes: Arc<[u8]>, timeout: Duration) -> Result<Vec<u8>, LoadError> {
        let deadline = Instant::now() + timeout;
        let timed_out = || LoadError::CompileTimeout { limit: timeout };
        let slot = {
            if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.config.max_waiting {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Err(LoadError::CompileBusy { limit: self.config.max_waiting });
            }
            let _in_line = InLine(&self.waiting);
            tokio::time::timeout_at(deadline.into(), self.slots.clone().acquire_owned())
                .await
                .map_err(|_| timed_out())?
                .expect("compile slots are never closed")
        };
        match &self.config.child {
            Some(command) => {
                let compiled = self.in_child(command, &bytes, deadline, timeout).await;
                drop(slot);
                compiled
            }
            None => {
                let engine = engine.clone();
                // The slot moves into the thread: it is free only once the compile really ended.
                let compile = tokio::task::spawn_blocking(move || {
                    let _slot = slot;
                    precompile_block(&engine, &bytes)
                });
                match tokio::time::timeout_at(deadline.into(), compile).await {
                    Err(_) => Err(timed_out()),
                    Ok(joined) => joined.map_err(|e| LoadError::Compile(format!("the compile thread failed: {e}")))?,
                }
            }
        }
    }

    async fn in_child(
        &self,
        command: &CompilerCommand,
        bytes: &[u8],
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Vec<u8>, LoadError> {
        let limit = self.config.memory_bytes;
        let failed = |what: &str, e: std::io::Error| LoadError::Compile(format!("the compiler process {what}: {e}"));
        let mut child = tokio::process::Command::new(&command.program)
            .args(&command.args)
            .envs(command.envs.iter().map(|(name, value)| (name, value)))
            .arg("--fuel")
            .arg(self.fuel.to_string())
            .arg("--memory-bytes")
            .arg(limit.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropped (the deadline passed, the request went away): killed.
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed("did not start", e))?;
        let mut stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let talk = async {
            let write = async {
                // The child may exit before reading everything (it failed early): not an error here.
                let _ = stdin.write_all(bytes).await;
                drop(stdin);
            };
            let mut compiled = Vec::new();
            let mut message = Vec::new();
            let read = stdout.read_to_end(&mut compiled);
            let mut stderr = stderr.take(STDERR_BYTES);
            let read_err = stderr.read_to_end(&mut message);
            let ((), out, _) = tokio::join!(write, read, read_err);
            out.map_err(|e| failed("output could not be read", e))?;
            let status = child.wait().await.map_err(|e| failed("could not be waited for", e))?;
            Ok::<_, LoadError>((status, compiled, message))
        };
        let (status, compiled, message) = match tokio::time::timeout_at(deadline.into(), talk).await {
            Ok(talked) => talked?,
            // `talk` (which borrows the child) is dropped: kill and reap it now.
            Err(_) => {
                let _ = child.kill().await;
                return Err(LoadError::CompileTimeout { limit: timeout });
            }
        };
        let message = String::from_utf8_lossy(&message).trim().to_string();
        if status.success() {
            return Ok(compiled);
        }
        if status.code() == Some(EXIT_INVALID) {
            return Err(LoadError::Compile(message));
        }
        if status.code() == Some(EXIT_INIT_FAILED) {
            return Err(LoadError::Init(message));
        }
        // Killed by a signal (an allocation that failed under the rlimit aborts) or a panic
        // about memory: the memory cap is the likely cause, and the one worth naming.
        use std::os::unix::process::ExitStatusExt as _;
        let memory = message.contains("memory allocation")
            || message.contains("Cannot allocate memory")
            || message.contains("out of memory")
            || status.signal().is_some();
        if memory {
            return Err(LoadError::CompileMemory { limit });
        }
        Err(LoadError::Compile(format!("the compiler process ended with {status}: {message}")))
    }
}

/// What decides the compiled code: the compiler child builds its engine from
/// this too, so its output loads into the runtime's engine.
pub(crate) fn compiler_config(fuel: bool) -> wasmtime::Config {
    let mut wasm = wasmtime::Config::new();
    wasm.epoch_interruption(true).consume_fuel(fuel);
    wasm
}

/// The settings the runtime passes to its compiler child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildSettings {
    /// Whether the runtime meters fuel (the compiled code must match).
    pub fuel: bool,
    /// The child's address-space limit, in bytes.
    pub memory_bytes: u64,
}

/// The body of the compiler child: caps its own address space and priority,
/// reads a component from stdin, writes the `.cwasm` for the runtime's
/// engine to stdout, and returns the process exit code (0 compiled, 2 not a
/// valid component with the reason on stderr, 1 anything else).
pub fn compile_child_main(settings: ChildSettings) -> i32 {
    if let Err(error) = cap_self(settings.memory_bytes) {
        eprintln!("limiting the compiler process: {error}");
        return 1;
    }
    let mut bytes = Vec::new();
    if let Err(error) = std::io::stdin().lock().read_to_end(&mut bytes) {
        eprintln!("reading the component: {error}");
        return 1;
    }
    let mut config = compiler_config(settings.fuel);
    // One thread: the child's memory use stays predictable, and compiles at
    // once map to cores one to one.
    config.parallel_compilation(false);
    let engine = match Engine::new(&config) {
        Ok(engine) => engine,
        Err(error) => {
            eprintln!("creating the engine: {error:#}");
            return 1;
        }
    };
    match precompile_block(&engine, &bytes) {
        Ok(compiled) => match std::io::stdout().lock().write_all(&compiled) {
            Ok(()) => 0,
            Err(error) => {
                eprintln!("writing the compiled component: {error}");
                1
            }
        },
        Err(LoadError::Init(message)) => {
            eprintln!("{message}");
            EXIT_INIT_FAILED
        }
        Err(LoadError::Compile(message)) => {
            eprintln!("{message}");
            EXIT_INVALID
        }
        Err(error) => {
            eprintln!("{error}");
            1
        }
    }
}

/// Pre-initializes `bytes` when the component exports the init function,
/// then compiles the result for `engine`.
fn precompile_block(engine: &Engine, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
    let snapshot;
    let component = if sandflow_snapshot::declares_init(bytes) {
        snapshot =
            sandflow_snapshot::pre_initialize(bytes, sandflow_snapshot::InitLimits::default()).map_err(|error| {
                match error {
                    SnapshotError::Init(message) => LoadError::Init(message),
                    SnapshotError::Compile(_) | SnapshotError::Unsupported(_) => LoadError::Compile(error.to_string()),
                }
            })?;
        &snapshot[..]
    } else {
        bytes
    };
    engine.precompile_component(component).map_err(|e| LoadError::Compile(format!("{e:#}")))
}

/// `RLIMIT_AS` and a lower priority for this process.
fn cap_self(memory_bytes: u64) -> std::io::Result<()> {
    let limit = libc::rlimit { rlim_cur: memory_bytes as libc::rlim_t, rlim_max: memory_bytes as libc::rlim_t };
    // SAFETY: plain system calls on this process with a valid, owned argument.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // Best effort: a failure to lower the priority leaves it as it was.
        libc::setpriority(libc::PRIO_PROCESS, 0, CHILD_NICENESS);
    }
    Ok(())
}
