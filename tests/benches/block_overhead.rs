//! Per-run overhead of a block in a fresh sandbox: the trivial `echo` block
//! against the same JSON work done natively, and the standard blocks that run
//! user code (`function`, `transform`, `template`), each from its build-time
//! snapshot and from the plain component it was taken from.
//!
//! Run with `cargo bench -p sandflow-tests --bench block_overhead`. The peer
//! for `function` is `tests/benches/js_peer.sh` (isolated-vm, as Sim Studio runs
//! user JavaScript).

use criterion::{Criterion, criterion_group, criterion_main};
use sandflow_runtime::{BlockOutcome, LoadedBlock, RunRequest, Runtime};
use sandflow_stdblocks::standard_block;
use sandflow_tests::{guests, runtime_with};
use serde_json::{Value, json};

/// What the host and the echo guest do together, minus the sandbox: the host
/// encodes the params, the block decodes them and encodes its output, the
/// host decodes that.
fn native_echo(params: &Value) -> Value {
    let sent = params.to_string();
    let received: Value = serde_json::from_str(&sent).unwrap();
    let returned = serde_json::to_string(&received).unwrap();
    serde_json::from_str(&returned).unwrap()
}

fn bench_runs(
    c: &mut Criterion,
    group: &str,
    runtime: &Runtime,
    cases: &[(&str, &LoadedBlock)],
    params: Value,
    expected: Value,
) {
    let executor = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let request = RunRequest { params, ..Default::default() };
    let mut group = c.benchmark_group(group);
    for (label, block) in cases {
        group.bench_function(*label, |b| {
            b.iter(|| {
                let run = executor.block_on(runtime.run(block, request.clone()));
                assert_eq!(run.outcome, Ok(BlockOutcome::Done(expected.clone())));
                run
            })
        });
    }
    group.finish();
}

fn block_overhead(c: &mut Criterion) {
    let executor = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let params = json!({"user": "ada", "n": 42});
    for (fuel_label, fuel) in [("fuel_on", true), ("fuel_off", false)] {
        let runtime = runtime_with(|config| config.fuel = fuel);
        let plain = executor.block_on(runtime.load(guests::ECHO)).unwrap();
        let snapshot = executor.block_on(runtime.load(guests::ECHO_SNAPSHOT)).unwrap();
        let cases = [(format!("wasm_echo_{fuel_label}"), &snapshot), (format!("wasm_echo_plain_{fuel_label}"), &plain)];
        let cases: Vec<(&str, &LoadedBlock)> = cases.iter().map(|(label, block)| (label.as_str(), &***block)).collect();
        bench_runs(c, "block_overhead", &runtime, &cases, params.clone(), params.clone());
    }
    let mut group = c.benchmark_group("block_overhead");
    group.bench_function("native_echo", |b| b.iter(|| native_echo(std::hint::black_box(&params))));
    group.finish();

    // The standard blocks that run user code, fuel on as `serve` runs them.
    let runtime = runtime_with(|_| {});
    let load_both = |block_type: &str| {
        let block = standard_block(block_type).expect("a standard block");
        let snapshot = executor.block_on(runtime.load(block.component)).unwrap();
        let plain = std::fs::read(block.plain_component_path).expect("the plain component the build left");
        (snapshot, executor.block_on(runtime.load(&plain)).unwrap())
    };
    for (block_type, group, params, expected) in [
        (
            "function",
            "function_block",
            json!({"code": "return input.n * 2;", "input": {"n": 21}}),
            json!({"result": 42, "stdout": ""}),
        ),
        ("transform", "transform_block", json!({"filter": ".n + 1", "input": {"n": 41}}), json!({"result": 42})),
        ("template", "template_block", json!({"template": "{{ n }}", "data": {"n": 42}}), json!({"text": "42"})),
    ] {
        let (snapshot, plain) = load_both(block_type);
        bench_runs(c, group, &runtime, &[("snapshot", &snapshot), ("plain", &plain)], params, expected);
    }
}

criterion_group!(benches, block_overhead);
criterion_main!(benches);
