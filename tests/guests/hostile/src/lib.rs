//! A block that misbehaves on request: each `attack` is one thing an untrusted
//! block might try. The hostile-guest suite runs every attack and checks that
//! the host contains it with the right typed error.

use std::hint::black_box;

use sandflow_sdk::{Block, BlockError, Context, JsonSchema, Outcome, Value, serde_json::json};
use serde::Deserialize;

/// WASI functions the attacks call directly, beyond what std exposes.
mod wasi_clock {
    wit_bindgen::generate!({
        inline: r#"
            package sandflow:hostile;
            world clock { import wasi:clocks/monotonic-clock@0.2.6; }
            package wasi:io@0.2.6 {
                interface poll {
                    resource pollable {
                        ready: func() -> bool;
                        block: func();
                    }
                    poll: func(in: list<borrow<pollable>>) -> list<u32>;
                }
            }
            package wasi:clocks@0.2.6 {
                interface monotonic-clock {
                    use wasi:io/poll@0.2.6.{pollable};
                    type instant = u64;
                    type duration = u64;
                    now: func() -> instant;
                    resolution: func() -> duration;
                    subscribe-instant: func(when: instant) -> pollable;
                    subscribe-duration: func(when: duration) -> pollable;
                }
            }
        "#,
        world: "sandflow:hostile/clock",
        generate_all,
    });
}

#[derive(Deserialize, JsonSchema)]
#[serde(tag = "attack", rename_all = "snake_case")]
#[schemars(crate = "sandflow_sdk::schemars")]
enum Attack {
    /// Behave: return `value`.
    Echo { value: Value },
    /// Spin forever.
    Spin,
    /// Allocate and touch memory until something stops it.
    MemoryBomb,
    /// Recurse without end, with frames on the wasm stack.
    Recurse,
    /// Recurse without end, with frames on the guest's shadow stack in linear memory.
    RecurseWithFrames,
    /// Return an output of `mib` MiB.
    BigOutput { mib: usize },
    /// Log without end.
    LogFlood,
    /// Print to stdout without end (WASI, not the log capability).
    PrintFlood,
    /// Print `stdout` lines to stdout, then `stderr` to stderr (the last without a newline).
    Print { stdout: Vec<String>, stderr: String },
    /// Create WASI handles without ever dropping them.
    HandleFlood,
    /// Read an environment variable through the env handle and through WASI.
    ReadEnv { name: String },
    /// Read a host file.
    OpenFile { path: String },
    /// Connect to a host socket, and resolve a name.
    OpenSocket { addr: String },
    /// Pass `mib` MiB to one host call.
    HostcallFlood { mib: usize },
    /// Call a method on a handle the host never granted.
    ForgedHandle,
    /// Panic with a message.
    Panic { message: String },
    /// Write workflow variables.
    SetVariables { values: serde_json::Map<String, Value> },
    /// Log `lines` lines, then finish.
    Log { lines: Vec<String> },
    /// Burn a bounded amount of CPU, then finish.
    Work { iterations: u64 },
    /// Pause with a response; timed when `resume_after_ms` is given.
    Pause {
        response: Value,
        #[serde(default)]
        resume_after_ms: Option<u64>,
        #[serde(default)]
        input_schema: Option<Value>,
    },
    /// Write `count` empty log entries, then finish.
    EmptyLogs { count: u64 },
    /// Return a value nested `depth` arrays deep.
    Nest { depth: usize },
    /// Take a route.
    Route { route: String },
    /// Fail with a message.
    Fail { message: String },
    /// Leave a marker in memory; return what an earlier run left, if anything.
    LeaveSecret { secret: String },
}

struct Hostile;

/// Lives in linear memory: a later run on a recycled pool slot must not see it.
static mut LEFT_BEHIND: [u8; 64] = [0; 64];

impl Block for Hostile {
    type Params = Attack;
    type Output = Value;
    const NAME: &'static str = "hostile";
    const DESCRIPTION: &'static str = "Misbehaves on request, for the hostile-guest suite";

    fn run(ctx: &mut Context, attack: Attack) -> Result<Outcome<Value>, BlockError> {
        let output = match attack {
            Attack::Echo { value } => value,
            Attack::Spin => {
                let mut n = 0u64;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            Attack::MemoryBomb => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![0xAB; 1 << 20]);
                    black_box(&hoard);
                }
            }
            Attack::Recurse => json!(recurse(black_box(1))),
            Attack::RecurseWithFrames => json!(recurse_with_frames(black_box(1))),
            Attack::BigOutput { mib } => Value::String("x".repeat(mib << 20)),
            Attack::LogFlood => loop {
                ctx.info(&"flood ".repeat(100));
            },
            Attack::PrintFlood => loop {
                println!("{}", "flood ".repeat(100));
            },
            Attack::Print { stdout, stderr } => {
                for line in &stdout {
                    println!("{line}");
                }
                eprint!("{stderr}");
                json!(stdout.len())
            }
            Attack::HandleFlood => loop {
                std::mem::forget(wasi_clock::wasi::clocks::monotonic_clock::subscribe_duration(1));
            },
            Attack::ReadEnv { name } => json!({
                "granted": ctx.env(&name),
                "wasi": std::env::var(&name).ok(),
                "wasiCount": std::env::vars().count(),
            }),
            Attack::OpenFile { path } => match std::fs::read_to_string(&path) {
                Ok(text) => json!({"read": text.len()}),
                Err(e) => return Err(BlockError::failed(format!("open {path}: {e}"))),
            },
            Attack::OpenSocket { addr } => {
                use std::net::ToSocketAddrs;
                let tcp = std::net::TcpStream::connect(&addr).map(|_| ()).map_err(|e| e.to_string());
                let udp = std::net::UdpSocket::bind("0.0.0.0:0").map(|_| ()).map_err(|e| e.to_string());
                let dns = "localhost:80".to_socket_addrs().map(|_| ()).map_err(|e| e.to_string());
                match (tcp, udp, dns) {
                    (Err(tcp), Err(udp), Err(dns)) => {
                        return Err(BlockError::failed(format!("network denied: tcp: {tcp}; udp: {udp}; dns: {dns}")));
                    }
                    (tcp, udp, dns) => json!({"tcp": tcp.is_ok(), "udp": udp.is_ok(), "dns": dns.is_ok()}),
                }
            }
            Attack::HostcallFlood { mib } => json!(ctx.env(&"n".repeat(mib << 20))),
            Attack::ForgedHandle => {
                // SAFETY (of the guest, not the host): deliberately forges a handle
                // index; the host must refuse it.
                let forged = unsafe {
                    sandflow_sdk::bindings::sandflow::block::capabilities::Env::from_handle(0x7777)
                };
                json!(forged.get("ANY"))
            }
            Attack::Panic { message } => panic!("{message}"),
            Attack::SetVariables { values } => {
                for (name, value) in &values {
                    ctx.set_variable(name, value)?;
                }
                json!({"read_back": values.keys().map(|k| ctx.variable(k)).collect::<Vec<_>>()})
            }
            Attack::Log { lines } => {
                for line in &lines {
                    ctx.warn(line);
                }
                json!(lines.len())
            }
            Attack::Work { iterations } => {
                let mut acc = 0u64;
                for i in 0..iterations {
                    acc = black_box(acc.wrapping_mul(31).wrapping_add(i));
                }
                json!(acc)
            }
            Attack::Pause { response, resume_after_ms, input_schema } => {
                return Ok(Outcome::Pause { response, resume_after_ms, input_schema });
            }
            Attack::EmptyLogs { count } => {
                for _ in 0..count {
                    ctx.info("");
                }
                json!(count)
            }
            Attack::Nest { depth } => {
                let mut value = json!(depth);
                for _ in 0..depth {
                    value = Value::Array(vec![value]);
                }
                value
            }
            Attack::Route { route } => return Ok(Outcome::Route { route, output: json!({"routed": true}) }),
            Attack::Fail { message } => return Err(BlockError::Failed(message)),
            Attack::LeaveSecret { secret } => {
                // SAFETY: single-threaded guest; the static is only touched here.
                let memory = unsafe { &mut *std::ptr::addr_of_mut!(LEFT_BEHIND) };
                let before = String::from_utf8_lossy(memory).trim_end_matches('\0').to_string();
                let bytes = secret.as_bytes();
                memory[..bytes.len().min(64)].copy_from_slice(&bytes[..bytes.len().min(64)]);
                json!({"found": before})
            }
        };
        Ok(Outcome::Done(output))
    }
}

fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    black_box(recurse(black_box(depth + 1))).wrapping_add(depth)
}

/// The array is address-taken, so each frame lives on the shadow stack in
/// linear memory, which runs out before the wasm stack does.
fn recurse_with_frames(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    let frame = black_box([depth; 16]);
    recurse_with_frames(black_box(frame[3] + 1)) + frame[7]
}

sandflow_sdk::export_block!(Hostile);
