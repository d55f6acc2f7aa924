//! Admission through the real runtime: a tenant's share of the run slots, the
//! server-wide guest-memory budget, the memory ceiling of one run, and the
//! bounded compile line for untrusted components (in-process mode; the
//! child-process mode is tested through the API, where the real binary is
//! the compiler child).

use std::sync::Arc;
use std::time::Duration;

use sandflow_runtime::{BlockOutcome, BlockRunError, LoadError, LoadedBlock, RunLimits, RunRequest, RunUsage, Runtime};
use sandflow_tests::{compile_bomb, guests, runtime_with};
use serde_json::json;

const MIB: u64 = 1 << 20;

async fn wait_block(runtime: &Runtime) -> Arc<LoadedBlock> {
    let wait = sandflow_stdblocks::standard_block("wait").expect("the wait block");
    runtime.load(wait.component).await.expect("wait loads")
}

/// A run of `block` for `tenant` that sleeps `ms` in the host.
fn sleeping(tenant: Option<&str>, ms: u64) -> RunRequest {
    RunRequest { tenant: tenant.map(str::to_string), params: json!({"durationMs": ms}), ..Default::default() }
}

fn with_limits(mut request: RunRequest, configure: impl FnOnce(&mut RunLimits)) -> RunRequest {
    let mut limits = RunLimits::default();
    configure(&mut limits);
    request.limits = Some(limits);
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_that_fills_its_share_of_run_slots_leaves_room_for_another() {
    let runtime = Arc::new(runtime_with(|c| {
        c.max_concurrent_runs = 4;
        c.max_runs_per_tenant = Some(2);
    }));
    assert_eq!(runtime.admission_limits().runs_per_tenant, 2);
    let wait = wait_block(&runtime).await;
    let echo = runtime.load(guests::ECHO).await.unwrap();
    // Tenant a asks for every slot, each run sleeping 3 s in the host.
    let hogs: Vec<_> = (0..4)
        .map(|_| {
            let (runtime, wait) = (runtime.clone(), wait.clone());
            tokio::spawn(async move { runtime.run(&wait, sleeping(Some("a"), 3_000)).await })
        })
        .collect();
    // Give a's runs time to take their slots (a slow start only makes b's life easier).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let request = RunRequest { tenant: Some("b".into()), params: json!({"from": "b"}), ..Default::default() };
    let run = runtime.run(&echo, request).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"from": "b"}))));
    let finished = hogs.iter().filter(|hog| hog.is_finished()).count();
    assert_eq!(finished, 0, "b had to wait for a's runs to end: it did not get a slot of its own");
    for hog in hogs {
        let run = hog.await.unwrap();
        assert!(run.outcome.is_ok(), "{:?}", run.outcome);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_wait_for_the_memory_budget_and_fail_typed_when_it_stays_full() {
    let runtime = Arc::new(runtime_with(|c| c.memory_budget_bytes = Some(100 * MIB)));
    let budget = runtime.admission_limits().memory_budget_bytes;
    assert_eq!(budget, 100 * MIB);
    let wait = wait_block(&runtime).await;
    let echo = runtime.load(guests::ECHO).await.unwrap();

    // A limit larger than the whole budget is refused at once.
    let too_big = with_limits(sleeping(None, 0), |l| l.memory_bytes = 128 * MIB);
    let run = runtime.run(&wait, too_big).await;
    assert_eq!(run.outcome, Err(BlockRunError::MemoryBudget { requested: 128 * MIB, budget }));

    // One 64 MiB run holds the budget for 3 s...
    let holder = {
        let (runtime, wait) = (runtime.clone(), wait.clone());
        tokio::spawn(async move { runtime.run(&wait, sleeping(None, 3_000)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runtime.memory_budget_available(), budget - 64 * MIB);
    // ...so another one cannot fit: it waits for its own timeout, then fails typed.
    let short = RunRequest { params: json!({"n": 1}), ..Default::default() };
    let short = with_limits(short, |l| l.timeout = Duration::from_millis(200));
    let run = runtime.run(&echo, short).await;
    assert_eq!(run.outcome, Err(BlockRunError::MemoryBudget { requested: 64 * MIB, budget }));
    assert!(!holder.is_finished(), "the budget was full while the holder ran");
    // One with time to wait gets in once the holder is done.
    let patient = runtime.run(&echo, RunRequest { params: json!({"n": 2}), ..Default::default() }).await;
    assert_eq!(patient.outcome, Ok(BlockOutcome::Done(json!({"n": 2}))));
    assert!(holder.await.unwrap().outcome.is_ok());
    assert_eq!(runtime.memory_budget_available(), budget, "every run gave its memory back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_memory_share_is_half_the_budget_by_default() {
    let runtime = runtime_with(|c| c.memory_budget_bytes = Some(200 * MIB));
    assert_eq!(runtime.admission_limits().memory_per_tenant_bytes, 100 * MIB);
    let echo = runtime.load(guests::ECHO).await.unwrap();
    let request = RunRequest { tenant: Some("a".into()), params: json!({}), ..Default::default() };
    let request = with_limits(request, |l| l.memory_bytes = 128 * MIB);
    let run = runtime.run(&echo, request).await;
    assert_eq!(run.outcome, Err(BlockRunError::MemoryBudget { requested: 128 * MIB, budget: 100 * MIB }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_limit_above_the_runtimes_ceiling_is_refused_not_lowered() {
    let runtime = runtime_with(|c| {
        c.max_memory_bytes = 64 * MIB;
        c.memory_budget_bytes = Some(256 * MIB);
    });
    let echo = runtime.load(guests::ECHO).await.unwrap();
    let request = RunRequest { params: json!({"n": 1}), ..Default::default() };

    let run = runtime.run(&echo, with_limits(request.clone(), |l| l.memory_bytes = 64 * MIB + 1)).await;
    let refused = BlockRunError::MemoryAboveCeiling { requested: 64 * MIB + 1, ceiling: 64 * MIB };
    assert_eq!(run.outcome, Err(refused.clone()));
    assert_eq!(
        refused.to_string(),
        "memory limit above the runtime's ceiling: the run asks for a limit of 67108865 bytes, the most this \
         runtime gives one run is 67108864 bytes"
    );
    // Refused before it started: nothing ran, nothing of the budget is held.
    assert_eq!(run.usage, RunUsage::default());
    assert_eq!(runtime.memory_budget_available(), 256 * MIB);

    // The ceiling itself is a limit a run may have.
    let run = runtime.run(&echo, with_limits(request, |l| l.memory_bytes = 64 * MIB)).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"n": 1}))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compile_that_times_out_is_refused_and_never_accepted_later() {
    let runtime = runtime_with(|c| c.compile.max_concurrent = 1);
    let bomb = compile_bomb::component(400, 2_000);
    let timeout = Duration::from_millis(500);
    let first = runtime.load_untrusted(&bomb, timeout).await;
    assert_eq!(first.err(), Some(LoadError::CompileTimeout { limit: timeout }));
    // The same bytes again: compiled (and refused) again, not taken from a cache.
    let again = runtime.load_untrusted(&bomb, timeout).await;
    assert_eq!(again.err(), Some(LoadError::CompileTimeout { limit: timeout }));
    // An ordinary component still loads through the same line.
    let echo = runtime.load_untrusted(guests::ECHO, Duration::from_secs(120)).await.expect("echo loads");
    assert_eq!(echo.manifest().name, "echo");
}
