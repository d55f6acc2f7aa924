// The hostile-guest suite: every attack ends in its typed error, and the same
// runtime then runs a well-behaved block correctly. Included twice by
// `hostile_guests.rs`, once per form of the hostile component (`HOSTILE`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sandflow_runtime::{
    BlockOutcome, BlockRun, BlockRunError, CancelFlag, LoadError, LoadedBlock, LogLevel, RunLimits, RunRequest,
    Runtime,
};
use sandflow_tests::{guests, runtime_with, wat_guests};
use serde_json::{Value, json};

fn limits(configure: impl FnOnce(&mut RunLimits)) -> Option<RunLimits> {
    let mut limits = RunLimits::default();
    configure(&mut limits);
    Some(limits)
}

async fn attack(runtime: &Runtime, params: Value, limits: Option<RunLimits>) -> BlockRun {
    let hostile = runtime.load(HOSTILE).await.expect("hostile guest loads");
    runtime.run(&hostile, RunRequest { params, limits, ..Default::default() }).await
}

/// After an attack the runtime must still run a good block and get the right answer.
async fn assert_healthy(runtime: &Runtime) {
    let echo = runtime.load(guests::ECHO).await.expect("echo guest loads");
    let params = json!({"still": "fine", "n": [1, 2, 3]});
    let run = runtime.run(&echo, RunRequest { params: params.clone(), ..Default::default() }).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(params)));
}

fn failure(run: &BlockRun) -> &BlockRunError {
    run.outcome.as_ref().expect_err("the attack must fail")
}

#[tokio::test]
async fn infinite_loop_is_stopped_by_fuel() {
    let runtime = runtime_with(|c| c.fuel = true);
    let run = attack(&runtime, json!({"attack": "spin"}), limits(|l| l.fuel = 20_000_000)).await;
    assert_eq!(failure(&run), &BlockRunError::OutOfFuel { limit: 20_000_000 });
    assert_eq!(run.usage.fuel_consumed, 20_000_000);
    assert_healthy(&runtime).await;
}

/// On a single-threaded executor the heartbeat can only advance if the
/// spinning guest yields: that proves one block cannot starve the host.
#[tokio::test(flavor = "current_thread")]
async fn infinite_loop_is_stopped_by_deadline_without_fuel_and_yields_meanwhile() {
    let runtime = runtime_with(|c| c.fuel = false);
    let beats = Arc::new(AtomicU64::new(0));
    let heartbeat = tokio::spawn({
        let beats = beats.clone();
        async move {
            loop {
                beats.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let run = attack(&runtime, json!({"attack": "spin"}), limits(|l| l.timeout = Duration::from_millis(300))).await;
    heartbeat.abort();
    assert_eq!(failure(&run), &BlockRunError::Timeout { limit: Duration::from_millis(300) });
    assert!(beats.load(Ordering::Relaxed) > 1, "the executor was starved while the guest spun");
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn cancel_stops_a_spinning_block() {
    let runtime = runtime_with(|c| c.fuel = false);
    let cancel = CancelFlag::default();
    let hostile = runtime.load(HOSTILE).await.unwrap();
    let request = RunRequest {
        params: json!({"attack": "spin"}),
        limits: limits(|l| l.timeout = Duration::from_secs(600)),
        cancel: Some(cancel.clone()),
        ..Default::default()
    };
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
    });
    let run = runtime.run(&hostile, request).await;
    canceller.await.unwrap();
    assert_eq!(failure(&run), &BlockRunError::Cancelled);
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_limit() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "memory_bomb"}), limits(|l| l.memory_bytes = 32 << 20)).await;
    match failure(&run) {
        BlockRunError::MemoryLimit { limit, requested } => {
            assert_eq!(*limit, 32 << 20);
            assert!(*requested > 32 << 20);
        }
        other => panic!("expected MemoryLimit, got {other:?}"),
    }
    assert!(run.usage.memory_peak_bytes <= 32 << 20);
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn the_wat_skeleton_itself_runs() {
    let runtime = runtime_with(|_| {});
    let block = runtime.load(&wat_guests::benign()).await.expect("benign WAT component loads");
    assert_eq!(block.manifest().name, "wat");
    let run = runtime.run(&block, RunRequest::default()).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!("survived"))));
}

#[tokio::test]
async fn two_memories_cannot_exceed_the_summed_memory_limit() {
    let runtime = runtime_with(|_| {});
    let limit_pages = 64u64; // 4 MiB
    let run_limits = limits(|l| l.memory_bytes = limit_pages * 65536);
    // Each memory ends at 41 pages, under the limit on its own; together 82.
    let block = runtime.load(&wat_guests::multi_memory_grow(40)).await.expect("loads");
    let run = runtime.run(&block, RunRequest { limits: run_limits.clone(), ..Default::default() }).await;
    assert!(matches!(failure(&run), BlockRunError::MemoryLimit { .. }), "got {:?}", run.outcome);
    // The same component within the sum runs to completion.
    let small = runtime.load(&wat_guests::multi_memory_grow(20)).await.expect("loads");
    let run = runtime.run(&small, RunRequest { limits: run_limits, ..Default::default() }).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!("survived"))));
    assert_eq!(run.usage.memory_peak_bytes, 2 * 21 * 65536);
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn growing_memory_in_a_loop_hits_the_memory_limit() {
    let runtime = runtime_with(|_| {});
    let block = runtime.load(&wat_guests::grow_in_a_loop()).await.expect("loads");
    let run =
        runtime.run(&block, RunRequest { limits: limits(|l| l.memory_bytes = 8 << 20), ..Default::default() }).await;
    assert!(matches!(failure(&run), BlockRunError::MemoryLimit { limit: 8_388_608, .. }), "got {:?}", run.outcome);
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn deep_recursion_is_a_stack_overflow() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "recurse"}), None).await;
    assert_eq!(failure(&run), &BlockRunError::StackOverflow);
    assert_healthy(&runtime).await;
}

/// Rust keeps address-taken locals on a shadow stack at the bottom of linear
/// memory; overflowing it faults on memory below address 0, inside the sandbox.
#[tokio::test]
async fn deep_recursion_on_the_shadow_stack_is_a_memory_fault_trap() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "recurse_with_frames"}), None).await;
    match failure(&run) {
        BlockRunError::Trap(message) => assert!(message.contains("out of bounds memory access"), "{message}"),
        other => panic!("expected Trap, got {other:?}"),
    }
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn table_growth_bomb_hits_the_table_limit() {
    let runtime = runtime_with(|_| {});
    let block = runtime.load(&wat_guests::table_bomb(5_000)).await.expect("loads");
    let run =
        runtime.run(&block, RunRequest { limits: limits(|l| l.table_elements = 8_000), ..Default::default() }).await;
    assert!(matches!(failure(&run), BlockRunError::TableLimit { limit: 8_000, .. }), "got {:?}", run.outcome);
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn a_100_mib_output_is_output_too_large() {
    let runtime = runtime_with(|_| {});
    // Enough memory to build the output, so the output cap is what stops it.
    let run = attack(
        &runtime,
        json!({"attack": "big_output", "mib": 100}),
        limits(|l| {
            l.memory_bytes = 512 << 20;
            l.fuel = 100_000_000_000;
            l.timeout = Duration::from_secs(120);
        }),
    )
    .await;
    assert_eq!(failure(&run), &BlockRunError::OutputTooLarge { limit: 1 << 20 });
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn output_just_over_the_cap_is_output_too_large() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "big_output", "mib": 1}), None).await;
    assert_eq!(failure(&run), &BlockRunError::OutputTooLarge { limit: 1 << 20 });
}

#[tokio::test]
async fn log_flood_hits_the_log_limit() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "log_flood"}), None).await;
    assert_eq!(failure(&run), &BlockRunError::LogLimit { limit: 64 << 10 });
    let kept: usize = run.logs.iter().map(|l| l.message.len()).sum();
    assert!(kept <= 64 << 10, "kept {kept} bytes of logs");
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn a_stdout_flood_hits_the_log_limit_as_a_log_flood_does() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "print_flood"}), None).await;
    assert!(matches!(failure(&run), BlockRunError::LogLimit { .. }), "{:?}", run.outcome);
    let kept: usize = run.logs.iter().map(|l| l.message.len()).sum();
    assert!(kept <= 64 << 10 && kept > 60 << 10, "kept {kept} bytes of printed lines");
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn printed_lines_join_the_run_log_stdout_as_info_stderr_as_warn() {
    let runtime = runtime_with(|_| {});
    let params = json!({"attack": "print", "stdout": ["first", "", "third"], "stderr": "no newline at the end"});
    let run = attack(&runtime, params, None).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!(3))));
    let logs: Vec<(LogLevel, &str)> = run.logs.iter().map(|l| (l.level, l.message.as_str())).collect();
    assert_eq!(
        logs,
        [
            (LogLevel::Info, "first"),
            (LogLevel::Info, ""),
            (LogLevel::Info, "third"),
            (LogLevel::Warn, "no newline at the end")
        ]
    );
}

#[tokio::test]
async fn handle_flood_hits_the_handle_limit() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "handle_flood"}), limits(|l| l.handles = 500)).await;
    assert_eq!(failure(&run), &BlockRunError::HandleLimit { limit: 500 });
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn env_vars_not_granted_are_invisible() {
    let runtime = runtime_with(|_| {});
    let hostile = runtime.load(HOSTILE).await.unwrap();
    let env = HashMap::from([("GRANTED".to_string(), "granted-value".to_string())]);
    let read = |name: &str| RunRequest {
        params: json!({"attack": "read_env", "name": name}),
        env: env.clone(),
        ..Default::default()
    };
    let run = runtime.run(&hostile, read("SECRET")).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"granted": null, "wasi": null, "wasiCount": 0}))));
    let run = runtime.run(&hostile, read("GRANTED")).await;
    // Granted names are readable through the env handle only, never through WASI.
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"granted": "granted-value", "wasi": null, "wasiCount": 0}))));
}

#[tokio::test]
async fn opening_a_file_is_denied() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "open_file", "path": "/etc/passwd"}), None).await;
    match failure(&run) {
        BlockRunError::Failed(message) => assert!(message.starts_with("open /etc/passwd:"), "{message}"),
        other => panic!("expected the guest's own failure, got {other:?}"),
    }
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn opening_a_socket_is_denied() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "open_socket", "addr": addr}), None).await;
    match failure(&run) {
        BlockRunError::Failed(message) => assert!(message.starts_with("network denied:"), "{message}"),
        other => panic!("expected the guest's own failure, got {other:?}"),
    }
    assert!(listener.accept().is_err(), "the guest reached the host's socket");
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn oversized_host_call_argument_is_a_host_call_limit() {
    let runtime = runtime_with(|_| {});
    for mib in [2, 64] {
        let run =
            attack(&runtime, json!({"attack": "hostcall_flood", "mib": mib}), limits(|l| l.memory_bytes = 256 << 20))
                .await;
        assert!(
            matches!(failure(&run), BlockRunError::HostCallLimit { limit: 1_048_576, .. }),
            "{mib} MiB: got {:?}",
            run.outcome
        );
    }
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn forged_handle_traps_inside_the_host_call() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "forged_handle"}), None).await;
    assert!(matches!(failure(&run), BlockRunError::Trap(_)), "got {:?}", run.outcome);
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn guest_panic_is_a_trap_carrying_the_panic_message() {
    let runtime = runtime_with(|_| {});
    let run = attack(&runtime, json!({"attack": "panic", "message": "the block gave up"}), None).await;
    match failure(&run) {
        BlockRunError::Trap(message) => assert!(message.contains("the block gave up"), "{message}"),
        other => panic!("expected Trap, got {other:?}"),
    }
    assert_healthy(&runtime).await;
}

#[tokio::test]
async fn a_later_run_never_sees_an_earlier_runs_memory() {
    let runtime = runtime_with(|_| {});
    for secret in ["first-secret", "second-secret"] {
        let run = attack(&runtime, json!({"attack": "leave_secret", "secret": secret}), None).await;
        assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"found": ""}))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_runs_at_once_all_finish_correctly() {
    let runtime = Arc::new(runtime_with(|_| {}));
    let echo = runtime.load(guests::ECHO).await.unwrap();
    let hostile = runtime.load(HOSTILE).await.unwrap();
    let runs: Vec<_> = (0..64)
        .map(|i| {
            let (runtime, echo, hostile) = (runtime.clone(), echo.clone(), hostile.clone());
            tokio::spawn(async move {
                // A few spinners among them must not hold up the others.
                if i % 16 == 0 {
                    let request = RunRequest {
                        params: json!({"attack": "spin"}),
                        limits: limits(|l| l.timeout = Duration::from_millis(200)),
                        ..Default::default()
                    };
                    let run = runtime.run(&hostile, request).await;
                    assert!(matches!(
                        run.outcome,
                        Err(BlockRunError::OutOfFuel { .. } | BlockRunError::Timeout { .. })
                    ));
                    return;
                }
                let params = json!({"run": i});
                let run = runtime.run(&echo, RunRequest { params: params.clone(), ..Default::default() }).await;
                assert_eq!(run.outcome, Ok(BlockOutcome::Done(params)));
            })
        })
        .collect();
    for run in runs {
        run.await.expect("run task");
    }
    assert_healthy(&runtime).await;
}

async fn run_ok(runtime: &Runtime, block: &LoadedBlock, params: Value) -> BlockRun {
    let run = runtime.run(block, RunRequest { params, ..Default::default() }).await;
    assert!(run.outcome.is_ok(), "{:?}", run.outcome);
    run
}

#[tokio::test]
async fn variable_writes_logs_and_usage_are_reported() {
    let runtime = runtime_with(|c| c.fuel = true);
    let hostile = runtime.load(HOSTILE).await.unwrap();
    let run =
        run_ok(&runtime, &hostile, json!({"attack": "set_variables", "values": {"count": 3, "who": "bob"}})).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"read_back": [3, "bob"]}))));
    assert_eq!(run.variable_writes.get("count"), Some(&json!(3)));
    let run = run_ok(&runtime, &hostile, json!({"attack": "log", "lines": ["one", "two"]})).await;
    let messages: Vec<_> = run.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["one", "two"]);
    let run = run_ok(&runtime, &hostile, json!({"attack": "work", "iterations": 100_000})).await;
    assert!(run.usage.fuel_consumed > 100_000, "fuel {}", run.usage.fuel_consumed);
    assert!(run.usage.memory_peak_bytes >= 65536, "peak {}", run.usage.memory_peak_bytes);
}

#[tokio::test]
async fn outcomes_and_block_errors_are_typed() {
    let runtime = runtime_with(|_| {});
    let hostile = runtime.load(HOSTILE).await.unwrap();
    let run = run_ok(&runtime, &hostile, json!({"attack": "pause", "response": {"ask": "approve?"}})).await;
    assert_eq!(
        run.outcome,
        Ok(BlockOutcome::Pause { response: json!({"ask": "approve?"}), resume_after_ms: None, input_schema: None })
    );
    let run = run_ok(&runtime, &hostile, json!({"attack": "route", "route": "left"})).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Route { route: "left".into(), output: json!({"routed": true}) }));
    let run = runtime
        .run(&hostile, RunRequest { params: json!({"attack": "fail", "message": "nope"}), ..Default::default() })
        .await;
    assert_eq!(run.outcome, Err(BlockRunError::Failed("nope".into())));
    let run =
        runtime.run(&hostile, RunRequest { params: json!({"attack": "no_such_attack"}), ..Default::default() }).await;
    assert!(
        matches!(&run.outcome, Err(BlockRunError::InvalidInput(m)) if m.contains("no_such_attack")),
        "{:?}",
        run.outcome
    );
}

#[tokio::test]
async fn malformed_and_foreign_components_are_load_errors() {
    let runtime = runtime_with(|_| {});
    assert!(matches!(runtime.load(b"not wasm at all").await, Err(LoadError::Compile(_))));
    let core_module = wat::parse_str("(module)").unwrap();
    assert!(matches!(runtime.load(&core_module).await, Err(LoadError::Compile(_))));
    let empty_component = wat::parse_str("(component)").unwrap();
    assert!(matches!(runtime.load(&empty_component).await, Err(LoadError::World(_))));
    let wrong_import = wat::parse_str(r#"(component (import "evil:host/escape" (func)))"#).unwrap();
    assert!(matches!(runtime.load(&wrong_import).await, Err(LoadError::World(_))));
    assert_healthy(&runtime).await;
}
