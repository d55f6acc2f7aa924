//! The README's HTTP walkthrough, run as written against the real server:
//! only the binary path and the port are substituted.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The first ```sh block after the "Using the HTTP API" heading.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = &readme[readme.find("## Using the HTTP API").expect("the README has the walkthrough")..];
    let start = section.find("```sh\n").unwrap() + "```sh\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_string()
}

/// Kills the server however the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn readme_http_walkthrough_gives_the_documented_result() {
    let script = walkthrough();
    let binary = env!("CARGO_BIN_EXE_sandflow");
    let dir = std::env::temp_dir().join(format!("sandflow-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // The first line starts the server; start it here instead, on a free port, in the same directory
    // so `sandflow token` finds the default data dir it created.
    let (serve_line, rest) = script.split_once('\n').unwrap();
    assert!(serve_line.starts_with("cargo run --release -- serve &"), "{serve_line}");
    let mut server = Running(
        Command::new(binary)
            .current_dir(&dir)
            .arg("--cache-dir")
            .arg(sandflow_tests::component_cache_dir())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut addr = String::new();
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.trim().strip_prefix("sandflow: listening on http://") {
            addr = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
        line.clear();
    }
    assert!(!addr.is_empty(), "the server never said where it listens");

    let script = rest.replace("cargo run --release -q --", binary).replace("localhost:8080", &addr);
    let out =
        Command::new("bash").arg("-euo").arg("pipefail").arg("-c").arg(&script).current_dir(&dir).output().unwrap();
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let answers: Vec<serde_json::Value> =
        serde_json::Deserializer::from_str(&stdout).into_iter().map(|v| v.unwrap()).collect();
    assert_eq!(answers.len(), 3, "{stdout}");
    assert_eq!((answers[0]["id"].as_str(), answers[0]["versions"].as_array().map(Vec::len)), (Some("hello"), Some(0)));
    assert_eq!(answers[1], serde_json::json!({"id": "hello", "version": 1}));
    assert_eq!(answers[2]["status"], "completed");
    assert_eq!(answers[2]["output"]["shout"], serde_json::json!({"result": "ADA", "stdout": ""}));
    assert_eq!(answers[2]["output"]["start"], serde_json::json!({"name": "ada"}));
}
