//! Per-run overhead of a trivial block: instantiate + run + tear down the
//! `echo` component, against the same logic as a plain native call.
//!
//! Also the `function` block (JavaScript in boa) per fresh-sandbox run.
//!
//! Run with `cargo bench -p sandflow-tests --bench block_overhead`.

use criterion::{Criterion, criterion_group, criterion_main};
use sandflow_runtime::{BlockOutcome, RunRequest};
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

fn block_overhead(c: &mut Criterion) {
    let executor = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let params = json!({"user": "ada", "n": 42});
    let mut group = c.benchmark_group("block_overhead");
    for (label, fuel) in [("wasm_echo_fuel_on", true), ("wasm_echo_fuel_off", false)] {
        let runtime = runtime_with(|config| config.fuel = fuel);
        let echo = executor.block_on(runtime.load(guests::ECHO)).unwrap();
        let request = RunRequest { params: params.clone(), ..Default::default() };
        group.bench_function(label, |b| {
            b.iter(|| {
                let run = executor.block_on(runtime.run(&echo, request.clone()));
                assert!(matches!(run.outcome, Ok(BlockOutcome::Done(_))));
                run
            })
        });
    }
    group.bench_function("native_echo", |b| b.iter(|| native_echo(std::hint::black_box(&params))));
    group.finish();

    // The `function` block: a fresh sandbox, a fresh boa context, one small function.
    let runtime = runtime_with(|_| {});
    let function = sandflow_stdblocks::standard_block("function").expect("function is a standard block");
    let function = executor.block_on(runtime.load(function.component)).unwrap();
    let request =
        RunRequest { params: json!({"code": "return input.n * 2;", "input": {"n": 21}}), ..Default::default() };
    let mut group = c.benchmark_group("function_block");
    group.bench_function("return_input_n_times_2", |b| {
        b.iter(|| {
            let run = executor.block_on(runtime.run(&function, request.clone()));
            assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"result": 42, "stdout": ""}))));
            run
        })
    });
    group.finish();
}

criterion_group!(benches, block_overhead);
criterion_main!(benches);
