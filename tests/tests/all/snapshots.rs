//! Pre-initialized components (snapshots taken at build time, see
//! `sandflow-snapshot`): they behave exactly as the components they were taken
//! from, randomness is drawn fresh in every run, and no run sees another's state.

use sandflow_runtime::{BlockOutcome, BlockRun, LoadError, LoadedBlock, RunRequest, Runtime};
use sandflow_stdblocks::{STANDARD_BLOCKS, standard_block};
use sandflow_tests::{guests, runtime_with, wat_guests};
use serde_json::{Value, json};

/// Params for one run of each standard block, touching its main path (and, for
/// `api`, its refusal path: no network is needed).
fn sample_params(block_type: &str) -> Vec<Value> {
    match block_type {
        "start" => vec![json!({"user": "ada", "n": 3})],
        "function" => vec![
            json!({"code": "console.log('n is', input.n); return {doubled: input.n * 2, keys: Object.keys(input)};", "input": {"n": 21, "b": 1}}),
            json!({"code": "return new Intl.NumberFormat('de-DE').format(1234567.891) + ' ' + new URL('https://a.example/x?y=1').searchParams.get('y');"}),
            json!({"code": "throw new TypeError('nope');"}),
        ],
        "condition" => vec![json!({"conditions": [
            {"id": "big", "expression": "__refs[0] > 10", "references": [12]},
            {"id": "else"}
        ]})],
        "router" => {
            vec![json!({"routes": [{"id": "vip", "expression": "'gold'.toUpperCase() === 'GOLD'"}, {"id": "default"}]})]
        }
        "transform" => vec![
            json!({"filter": ".orders | map(select(.total > 100)) | length", "input": {"orders": [{"total": 30}, {"total": 120}]}}),
            json!({"filter": "[.[] | tostring] | join(\",\")", "input": [1, "a", null]}),
            json!({"filter": ".orders | map(", "input": {}}),
        ],
        "template" => vec![
            json!({"template": "Hi {{ user.name | upper }}: {% for o in orders %}{{ o }}{% if not loop.last %}, {% endif %}{% endfor %}", "data": {"user": {"name": "ada"}, "orders": [1, 2]}}),
            json!({"template": "{{ '%s-%d' % ('a', 3) }}"}),
            json!({"template": "{% if x %}never closed"}),
        ],
        "response" => vec![json!({"data": {"ok": true}, "status": 201})],
        "variables" => vec![json!({"assignments": [{"name": "count", "value": 1}]})],
        "wait" => vec![json!({"durationMs": 0})],
        "human_in_the_loop" => vec![json!({"response": {"question": "ship it?"}})],
        "api" => vec![json!({"url": "http://169.254.169.254/latest/meta-data"})],
        "workflow" => vec![json!({"workflowId": "child"})],
        other => panic!("no sample params for the standard block `{other}`: add some here"),
    }
}

async fn run(runtime: &Runtime, block: &LoadedBlock, params: Value) -> BlockRun {
    runtime.run(block, RunRequest { params, ..Default::default() }).await
}

#[tokio::test]
async fn every_standard_block_gives_the_same_first_run_as_the_component_it_was_taken_from() {
    let runtime = runtime_with(|_| {});
    for block in STANDARD_BLOCKS {
        let plain = std::fs::read(block.plain_component_path).unwrap_or_else(|e| {
            panic!("{}: the plain component {}: {e}", block.block_type, block.plain_component_path)
        });
        assert_ne!(plain, block.component, "{}: the embedded component is not a snapshot", block.block_type);
        let plain = runtime.load(&plain).await.unwrap_or_else(|e| panic!("{}: {e}", block.block_type));
        let snapshot = runtime.load(block.component).await.unwrap_or_else(|e| panic!("{}: {e}", block.block_type));
        assert_eq!(plain.manifest(), snapshot.manifest(), "{}", block.block_type);
        for params in sample_params(block.block_type) {
            let from_plain = run(&runtime, &plain, params.clone()).await;
            let from_snapshot = run(&runtime, &snapshot, params.clone()).await;
            assert_eq!(from_plain.outcome, from_snapshot.outcome, "{} with {params}", block.block_type);
            assert_eq!(from_plain.logs, from_snapshot.logs, "{} with {params}", block.block_type);
            assert_eq!(from_plain.variable_writes, from_snapshot.variable_writes, "{} with {params}", block.block_type);
        }
    }
}

#[tokio::test]
async fn a_snapshot_is_smaller_work_per_run_than_its_plain_component() {
    // Fuel counts instructions: a JavaScript run from the snapshot skips building the realm.
    let runtime = runtime_with(|config| config.fuel = true);
    let block = standard_block("function").unwrap();
    let plain = runtime.load(&std::fs::read(block.plain_component_path).unwrap()).await.unwrap();
    let snapshot = runtime.load(block.component).await.unwrap();
    let params = json!({"code": "return input.n * 2;", "input": {"n": 21}});
    let from_plain = run(&runtime, &plain, params.clone()).await;
    let from_snapshot = run(&runtime, &snapshot, params).await;
    assert_eq!(from_snapshot.outcome, Ok(BlockOutcome::Done(json!({"result": 42, "stdout": ""}))));
    assert!(
        from_snapshot.usage.fuel_consumed * 2 < from_plain.usage.fuel_consumed,
        "snapshot {} fuel, plain {} fuel",
        from_snapshot.usage.fuel_consumed,
        from_plain.usage.fuel_consumed
    );
}

#[tokio::test]
async fn randomness_differs_between_runs_of_a_snapshot() {
    let runtime = runtime_with(|_| {});
    let function = runtime.load(standard_block("function").unwrap().component).await.unwrap();
    let params = json!({"code": "return [Math.random(), crypto.randomUUID(), Array.from(crypto.getRandomValues(new Uint8Array(8)))];"});
    let mut seen: Vec<Vec<Value>> = Vec::new();
    for _ in 0..3 {
        let Ok(BlockOutcome::Done(output)) = run(&runtime, &function, params.clone()).await.outcome else {
            panic!("the function block failed");
        };
        let values = output["result"].as_array().expect("three random values").clone();
        for earlier in &seen {
            for (index, value) in values.iter().enumerate() {
                assert_ne!(&earlier[index], value, "random value {index} repeated between runs");
            }
        }
        seen.push(values);
    }
}

#[tokio::test]
async fn state_one_run_writes_is_invisible_to_the_next_run_of_a_snapshot() {
    let runtime = runtime_with(|_| {});
    let function = runtime.load(standard_block("function").unwrap().component).await.unwrap();
    let params = json!({"code": "globalThis.count = (globalThis.count ?? 0) + 1; Object.prototype.polluted = 'yes'; Math.max = () => 'patched'; return [count, ({}).polluted ?? null, Math.max(1, 2)];"});
    let expected = json!({"result": [1, "yes", "patched"], "stdout": ""});
    for _ in 0..3 {
        assert_eq!(run(&runtime, &function, params.clone()).await.outcome, Ok(BlockOutcome::Done(expected.clone())));
    }
    let clean = json!({"code": "return [typeof count, ({}).polluted ?? null, Math.max(1, 2)];"});
    let untouched = json!({"result": ["undefined", null, 2], "stdout": ""});
    assert_eq!(run(&runtime, &function, clean).await.outcome, Ok(BlockOutcome::Done(untouched)));
}

#[tokio::test]
async fn an_sdk_blocks_init_hook_runs_at_build_time_and_each_run_starts_fresh() {
    let runtime = runtime_with(|_| {});
    let plain = runtime.load(guests::PREPARED).await.unwrap();
    let snapshot = runtime.load(guests::PREPARED_SNAPSHOT).await.unwrap();
    let params = json!({"index": 999});
    let expect = |prepared: bool| json!({"prime": 7919, "preparedBeforeRun": prepared, "runsSeen": 1});
    for _ in 0..2 {
        assert_eq!(run(&runtime, &plain, params.clone()).await.outcome, Ok(BlockOutcome::Done(expect(false))));
        assert_eq!(run(&runtime, &snapshot, params.clone()).await.outcome, Ok(BlockOutcome::Done(expect(true))));
    }
}

#[tokio::test]
async fn an_uploaded_component_with_an_init_hook_is_pre_initialized_within_the_compile_budget() {
    let runtime = runtime_with(|_| {});
    let uploaded = runtime.load_untrusted(guests::PREPARED, std::time::Duration::from_secs(60)).await.unwrap();
    let run = run(&runtime, &uploaded, json!({"index": 0})).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"prime": 2, "preparedBeforeRun": true, "runsSeen": 1}))));
}

#[tokio::test]
async fn an_init_that_spins_or_calls_an_import_is_refused_at_upload_and_the_runtime_stays_healthy() {
    let runtime = runtime_with(|_| {});
    let timeout = std::time::Duration::from_secs(60);
    let spins = runtime.load_untrusted(&wat_guests::init_that_spins(), timeout).await.unwrap_err();
    assert!(matches!(&spins, LoadError::Init(message) if message.contains("fuel")), "{spins}");
    let calls = runtime.load_untrusted(&wat_guests::init_that_calls_an_import(), timeout).await.unwrap_err();
    assert!(matches!(&calls, LoadError::Init(message) if message.contains("insecure-seed")), "{calls}");
    let echo = runtime.load(guests::ECHO).await.unwrap();
    assert_eq!(run(&runtime, &echo, json!({"ok": 1})).await.outcome, Ok(BlockOutcome::Done(json!({"ok": 1}))));
}

/// wizer 48 removes the init export from a snapshot by default, and for a component built by
/// Rust the result does not validate (wasmtime issue #13168): `pre_initialize` keeps the export.
/// When a wizer upgrade fixes the removal, this test fails, and the export can go.
#[test]
fn removing_the_init_export_from_a_rust_components_snapshot_is_still_broken_upstream() {
    use sandflow_snapshot::{InitLimits, pre_initialize, pre_initialize_removing_init};
    let engine = wasmtime::Engine::default();
    let kept = pre_initialize(guests::PREPARED, InitLimits::default()).expect("the snapshot keeping the export");
    wasmtime::component::Component::new(&engine, &kept).expect("the snapshot keeping the export compiles");
    assert!(sandflow_snapshot::declares_init(&kept));
    // In a debug build wizer asserts its own output is valid and panics; in release it returns it.
    let removed = std::panic::catch_unwind(|| pre_initialize_removing_init(guests::PREPARED, InitLimits::default()));
    let still_broken = match removed {
        Err(_panicked) => true,
        Ok(Err(_)) => true,
        Ok(Ok(bytes)) => wasmtime::component::Component::new(&engine, &bytes).is_err(),
    };
    assert!(still_broken, "wizer now removes the init export correctly: stop keeping it in sandflow-snapshot");
}
