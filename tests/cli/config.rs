//! `sandflow.toml`, the environment and flags: one configuration, layered,
//! checked against the runtime's ceilings before anything starts.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{scratch_file, text};

fn sandflow_with_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandflow"));
    command.args(args).env_remove("SANDFLOW_CONFIG");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the sandflow binary runs")
}

fn effective(args: &[&str], env: &[(&str, &str)]) -> toml::Table {
    let out = sandflow_with_env(args, env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).parse().expect("`sandflow config` prints TOML")
}

#[test]
fn the_file_is_overridden_by_the_environment_and_both_by_flags() {
    let file = scratch_file(
        "config-layers",
        "sandflow.toml",
        b"[server]\nmax_executions = 50\naddr = \"127.0.0.1:9\"\n[engine]\nmax_output_bytes = 1000\n",
    );
    let path = file.to_str().unwrap();

    let from_file = effective(&["config", "--config", path], &[]);
    assert_eq!(from_file["server"]["max_executions"].as_integer(), Some(50));
    assert_eq!(from_file["server"]["addr"].as_str(), Some("127.0.0.1:9"));
    assert_eq!(from_file["engine"]["max_output_bytes"].as_integer(), Some(1000));
    // What the file does not say keeps its default.
    assert_eq!(from_file["worker"]["concurrency"].as_integer(), Some(16));

    let env = [("SANDFLOW_SERVER__MAX_EXECUTIONS", "60"), ("SANDFLOW_ENGINE__MAX_OUTPUT_BYTES", "2000")];
    let from_env = effective(&["config", "--config", path], &env);
    assert_eq!(from_env["server"]["max_executions"].as_integer(), Some(60));
    assert_eq!(from_env["engine"]["max_output_bytes"].as_integer(), Some(2000));

    let from_flags =
        effective(&["--max-output-bytes", "3000", "--allow-http", "10.0.0.0/8", "config", "--config", path], &env);
    assert_eq!(from_flags["engine"]["max_output_bytes"].as_integer(), Some(3000));
    assert_eq!(from_flags["server"]["max_executions"].as_integer(), Some(60), "no flag named it");
    assert_eq!(from_flags["http"]["allow"].as_array().map(Vec::len), Some(1));

    let from_variable = effective(&["config"], &[("SANDFLOW_CONFIG", path)]);
    assert_eq!(from_variable["server"]["max_executions"].as_integer(), Some(50), "$SANDFLOW_CONFIG names the file");
}

#[test]
fn a_limit_above_its_runtime_ceiling_is_a_startup_error_naming_both() {
    let file = scratch_file(
        "config-ceiling",
        "sandflow.toml",
        b"[engine]\nmax_block_memory = \"2GiB\"\n[runtime]\nmax_block_memory = \"1GiB\"\n",
    );
    let data = scratch_file("config-ceiling", "unused", b"").with_file_name("data");
    let out = sandflow_with_env(
        &["serve", "--config", file.to_str().unwrap(), "--addr", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success(), "the server must not start");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("engine.max_block_memory (2GiB)"), "{stderr}");
    assert!(stderr.contains("runtime.max_block_memory (1GiB)"), "{stderr}");
    assert!(!data.exists(), "nothing was created before the check: {stderr}");
}

#[test]
fn an_unknown_setting_is_refused_naming_it() {
    let file = scratch_file("config-unknown", "sandflow.toml", b"[server]\nmax_executons = 5\n");
    let out = sandflow_with_env(&["config", "--config", file.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("max_executons"), "{}", text(&out.stderr));
}

#[test]
fn serve_listens_where_the_config_file_says() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = scratch_file("config-serve", "unused", b"").with_file_name("data");
    let toml = format!("[server]\naddr = \"127.0.0.1:{port}\"\ndata_dir = {:?}\n", data.to_str().unwrap());
    let file = scratch_file("config-serve", "sandflow.toml", toml.as_bytes());
    let mut server = Command::new(env!("CARGO_BIN_EXE_sandflow"))
        .args(["--cache-dir"])
        .arg(sandflow_tests::component_cache_dir())
        .args(["serve", "--config", file.to_str().unwrap()])
        .env_remove("SANDFLOW_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sandflow serve starts");
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let answered = loop {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/healthz")).send() {
            break Some(response.status().as_u16());
        }
        if Instant::now() > deadline || server.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(answered, Some(200), "the server answers on the port of its config file");
    assert!(data.join("sandflow.db").exists(), "its data directory is the file's");
}
