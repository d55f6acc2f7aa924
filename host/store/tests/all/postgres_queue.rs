//! The PostgreSQL work queue ([`WorkQueue`]) against the server at
//! `SANDFLOW_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), with the
//! same policy as `tests/postgres.rs`: every test works in a schema of its own, dropped at the
//! end; when no server answers, each test says so and passes, unless `CI` is set and
//! `SANDFLOW_REQUIRE_POSTGRES=1`, where it fails.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use futures::future::join_all;
use sandflow_store::conformance::{TENANT, assert_error, seed_execution};
use sandflow_store::{ExecutionStatus, JobId, JobKind, JobOutcome, JobOutcomes, PostgresStore, StoreError, WorkQueue};
use serde_json::json;
use time::OffsetDateTime;

use crate::support::{DATABASE_SLOTS, TestDb, connect, drop_schema, new_schema_name};

/// A lease no test outlives.
const LONG: Duration = Duration::from_secs(60);

/// A lease tests let run out.
const SHORT: Duration = Duration::from_millis(150);

/// Prefix of this binary's schemas.
const SCHEMA_PREFIX: &str = "sf_qtest";

/// Runs `body` with a fresh store and its queue, then cleans up even if it panicked.
macro_rules! with_queue {
    (|$store:ident, $queue:ident| $body:expr) => {{
        let Some(db) = TestDb::fresh(&DATABASE_SLOTS, SCHEMA_PREFIX).await else { return };
        let outcome = {
            let $store = &db.store;
            let $queue = db.store.queue();
            AssertUnwindSafe(async move { $body }).catch_unwind().await
        };
        db.finish(outcome).await;
    }};
}

/// Seeds running executions with these IDs.
async fn seed(store: &PostgresStore, ids: &[&str]) {
    for id in ids {
        seed_execution(store, TENANT, id, ExecutionStatus::Running).await;
    }
}

/// Enqueues a run of `execution_id`.
async fn run(queue: &WorkQueue, execution_id: &str) -> JobId {
    queue.enqueue(TENANT, execution_id, JobKind::Run).await.unwrap()
}

/// The next job id `outcomes` hears of, failing the test when none comes within 10 s.
async fn next_outcome(outcomes: &mut JobOutcomes) -> JobId {
    match tokio::time::timeout(Duration::from_secs(10), outcomes.next()).await {
        Ok(Ok(id)) => id,
        other => panic!("no job outcome within 10 s: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_take_each_job_exactly_once() {
    with_queue!(|store, queue| {
        let ids: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
        seed(store, &ids.iter().map(String::as_str).collect::<Vec<_>>()).await;
        // Several rounds, since the pool lets only a few claims reach the server at once.
        for round in 0..5 {
            let mut enqueued = BTreeSet::new();
            for id in &ids {
                enqueued.insert(run(&queue, id).await);
            }
            let claims = join_all((0..20).map(|w| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.claim(&format!("w{w}"), LONG).await })
            }))
            .await;
            let claimed: Vec<_> = claims.into_iter().filter_map(|c| c.unwrap().unwrap()).collect();
            assert_eq!(claimed.len(), 10, "round {round}: {claimed:?}");
            let distinct: BTreeSet<JobId> = claimed.iter().map(|job| job.job_id).collect();
            assert_eq!(distinct, enqueued, "round {round}");
            let tokens: BTreeSet<i64> = claimed.iter().map(|job| job.token).collect();
            assert_eq!(tokens.len(), 10, "round {round}");
            assert!(claimed.iter().all(|job| job.attempt == 1 && job.kind == JobKind::Run && job.tenant == TENANT));
            assert_eq!(queue.claim("late", LONG).await.unwrap(), None, "round {round}");
            for job in claimed {
                queue.complete(job.job_id, job.token).await.unwrap();
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_of_one_execution_are_not_claimed_concurrently() {
    with_queue!(|store, queue| {
        seed(store, &["e1", "e2"]).await;
        let first = run(&queue, "e1").await;
        let resume = JobKind::Resume { context_id: "ask".into(), input: json!({"ok": true}) };
        let second = queue.enqueue(TENANT, "e1", resume.clone()).await.unwrap();
        let other = run(&queue, "e2").await;

        let a = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!((a.job_id, a.execution_id.as_str()), (first, "e1"));
        let b = queue.claim("b", LONG).await.unwrap().unwrap();
        assert_eq!(b.job_id, other, "the second job of e1 must wait for the first");
        assert_eq!(queue.claim("c", LONG).await.unwrap(), None);

        queue.complete(a.job_id, a.token).await.unwrap();
        let c = queue.claim("c", LONG).await.unwrap().unwrap();
        assert_eq!((c.job_id, c.kind), (second, resume));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claimers_never_lease_two_jobs_of_one_execution() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        for _ in 0..4 {
            run(&queue, "e1").await;
        }
        let claims = join_all((0..12).map(|w| {
            let queue = queue.clone();
            tokio::spawn(async move { queue.claim(&format!("w{w}"), LONG).await })
        }))
        .await;
        let claimed: Vec<_> = claims.into_iter().filter_map(|c| c.unwrap().unwrap()).collect();
        assert_eq!(claimed.len(), 1, "{claimed:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_with_a_stale_token_is_refused() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        run(&queue, "e1").await;
        let job = queue.claim("a", SHORT).await.unwrap().unwrap();
        assert!(!queue.heartbeat(job.job_id, job.token + 1, LONG).await.unwrap());
        assert!(queue.heartbeat(job.job_id, job.token, LONG).await.unwrap());
        // The heartbeat extended the lease beyond SHORT: nothing to sweep.
        tokio::time::sleep(SHORT * 2).await;
        assert!(queue.release_expired(5).await.unwrap().requeued.is_empty());
        queue.complete(job.job_id, job.token).await.unwrap();
        assert!(!queue.heartbeat(job.job_id, job.token, LONG).await.unwrap(), "a completed job has no lease");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_after_the_lease_was_lost_is_fenced() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        let id = run(&queue, "e1").await;
        let stale = queue.claim("a", SHORT).await.unwrap().unwrap();
        tokio::time::sleep(SHORT * 2).await;
        let swept = queue.release_expired(5).await.unwrap();
        assert_eq!((swept.requeued, swept.given_up), (vec![id], vec![]));
        assert!(!queue.heartbeat(id, stale.token, LONG).await.unwrap());

        let fresh = queue.claim("b", LONG).await.unwrap().unwrap();
        assert_eq!((fresh.job_id, fresh.attempt), (id, 2));
        assert_ne!(fresh.token, stale.token);
        assert_error(queue.complete(id, stale.token).await, "conflict");
        queue.complete(id, fresh.token).await.unwrap();
        assert_error(queue.complete(id, fresh.token).await, "conflict");
        assert_error(queue.complete(JobId(id.0 + 1000), fresh.token).await, "not found");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_leases_are_requeued_then_given_up_after_max_attempts() {
    with_queue!(|store, queue| {
        seed(store, &["e1", "e2"]).await;
        let dying = run(&queue, "e1").await;
        for attempt in 1..=2 {
            let job = queue.claim("crashy", SHORT).await.unwrap().unwrap();
            assert_eq!((job.job_id, job.attempt), (dying, attempt));
            if attempt == 1 {
                // A healthy worker's job on another execution, whose lease outlives the sweeps.
                run(&queue, "e2").await;
                let healthy = queue.claim("healthy", LONG).await.unwrap().unwrap();
                assert_eq!(healthy.execution_id, "e2");
            }
            tokio::time::sleep(SHORT * 2).await;
            let swept = queue.release_expired(2).await.unwrap();
            if attempt == 1 {
                assert_eq!((swept.requeued, swept.given_up), (vec![dying], vec![]));
            } else {
                assert_eq!(swept.requeued, vec![]);
                assert_eq!(swept.given_up, vec![(dying, TENANT.to_owned(), "e1".to_owned())]);
            }
        }
        assert_eq!(queue.claim("next", LONG).await.unwrap(), None, "a given-up job is never claimed again");
        assert_eq!(queue.release_expired(2).await.unwrap(), Default::default());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_needs_the_execution_and_honours_run_at() {
    with_queue!(|store, queue| {
        assert_error(queue.enqueue(TENANT, "missing", JobKind::Run).await, "not found");
        assert_error(queue.enqueue("other", "e1", JobKind::Run).await, "not found");
        seed(store, &["e1"]).await;
        let later = OffsetDateTime::now_utc() + time::Duration::milliseconds(400);
        let timer = JobKind::Timer { context_id: "wait".into() };
        let id = queue.enqueue_at(TENANT, "e1", timer.clone(), later).await.unwrap();
        assert_eq!(queue.claim("a", LONG).await.unwrap(), None, "not due yet");
        tokio::time::sleep(Duration::from_millis(600)).await;
        let job = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!((job.job_id, job.kind), (id, timer));
        assert!(matches!(queue.claim("a", Duration::ZERO).await, Err(StoreError::Invalid(_))));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_wakes_on_enqueue() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        let mut wakeups = queue.listen().await.unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(300), wakeups.next()).await;
        assert!(quiet.is_err(), "woke without an enqueue: {quiet:?}");
        run(&queue, "e1").await;
        let woke = tokio::time::timeout(Duration::from_secs(10), wakeups.next()).await;
        assert!(matches!(woke, Ok(Ok(()))), "no wake-up within 10 s: {woke:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_is_pending_until_the_job_is_done_or_failed() {
    with_queue!(|store, queue| {
        seed(store, &["e1", "e2"]).await;
        let done = run(&queue, "e1").await;
        assert_eq!(queue.outcome(done).await.unwrap(), JobOutcome::Pending, "enqueued");
        let job = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!(job.job_id, done);
        assert_eq!(queue.outcome(done).await.unwrap(), JobOutcome::Pending, "leased");
        queue.complete(done, job.token).await.unwrap();
        assert_eq!(queue.outcome(done).await.unwrap(), JobOutcome::Done);

        let failed = run(&queue, "e2").await;
        let job = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!(job.job_id, failed);
        let why = "input for \"ask\" does not fit: expected a number";
        queue.fail(failed, job.token, why).await.unwrap();
        assert_eq!(queue.outcome(failed).await.unwrap(), JobOutcome::Failed(why.to_owned()));
        assert_eq!(queue.outcome(done).await.unwrap(), JobOutcome::Done, "the other job is untouched");

        assert_error(queue.outcome(JobId(failed.0 + 1000)).await, "not found");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_the_lease_was_lost_is_fenced() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        let id = run(&queue, "e1").await;
        let stale = queue.claim("a", SHORT).await.unwrap().unwrap();
        tokio::time::sleep(SHORT * 2).await;
        let swept = queue.release_expired(5).await.unwrap();
        assert_eq!((swept.requeued, swept.given_up), (vec![id], vec![]));
        let fresh = queue.claim("b", LONG).await.unwrap().unwrap();
        assert_eq!((fresh.job_id, fresh.attempt), (id, 2));

        assert_error(queue.fail(id, stale.token, "too late").await, "conflict");
        assert_eq!(queue.outcome(id).await.unwrap(), JobOutcome::Pending);
        // Still leased to the new claimer: its heartbeat and completion are accepted.
        assert!(queue.heartbeat(id, fresh.token, LONG).await.unwrap());
        queue.complete(id, fresh.token).await.unwrap();
        assert_eq!(queue.outcome(id).await.unwrap(), JobOutcome::Done);
        assert_error(queue.fail(JobId(id.0 + 1000), fresh.token, "nobody").await, "not found");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_watchers_hear_completions_failures_and_give_ups() {
    with_queue!(|store, queue| {
        seed(store, &["e1", "e2", "e3"]).await;
        let mut outcomes = queue.watch_outcomes().await.unwrap();
        let (done, failed, dying) = (run(&queue, "e1").await, run(&queue, "e2").await, run(&queue, "e3").await);
        let job = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!(job.job_id, done);
        queue.complete(done, job.token).await.unwrap();
        assert_eq!(next_outcome(&mut outcomes).await, done);

        let job = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!(job.job_id, failed);
        queue.fail(failed, job.token, "refused").await.unwrap();
        assert_eq!(next_outcome(&mut outcomes).await, failed);

        let job = queue.claim("crashy", SHORT).await.unwrap().unwrap();
        assert_eq!(job.job_id, dying);
        tokio::time::sleep(SHORT * 2).await;
        let swept = queue.release_expired(1).await.unwrap();
        assert_eq!(swept.given_up, vec![(dying, TENANT.to_owned(), "e3".to_owned())]);
        assert_eq!(next_outcome(&mut outcomes).await, dying);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_watchers_ignore_other_schemas() {
    with_queue!(|store, queue| {
        // Not a second `TestDb`: waiting for another slot while holding one could deadlock.
        let name = new_schema_name(SCHEMA_PREFIX);
        let neighbour = connect(&name).await.unwrap();
        let outcome = AssertUnwindSafe(async {
            let there = neighbour.queue();
            seed(store, &["e1", "e2", "e3"]).await;
            seed(&neighbour, &["e1", "e2"]).await;
            let mut outcomes = queue.watch_outcomes().await.unwrap();
            // Each schema numbers its jobs from 1: end only jobs whose ids differ across them.
            let theirs = [run(&there, "e1").await, run(&there, "e2").await];
            for id in ["e1", "e2", "e3"] {
                run(&queue, id).await;
            }
            let mut ours = Vec::new();
            while let Some(job) = queue.claim("here", LONG).await.unwrap() {
                ours.push(job);
            }
            let mine = ours.pop().expect("three jobs claimed here");
            assert!(!theirs.contains(&mine.job_id), "{theirs:?} vs {mine:?}");

            let job = there.claim("there", LONG).await.unwrap().unwrap();
            there.complete(job.job_id, job.token).await.unwrap();
            let job = there.claim("there", LONG).await.unwrap().unwrap();
            there.fail(job.job_id, job.token, "refused").await.unwrap();
            assert_eq!(there.outcome(theirs[1]).await.unwrap(), JobOutcome::Failed("refused".into()));
            queue.complete(mine.job_id, mine.token).await.unwrap();
            // Notifications arrive in commit order: had the neighbour's been let through, one
            // of its ids would come first.
            assert_eq!(next_outcome(&mut outcomes).await, mine.job_id);
            let quiet = tokio::time::timeout(Duration::from_millis(300), outcomes.next()).await;
            assert!(quiet.is_err(), "heard of a job that did not end here: {quiet:?}");
        })
        .catch_unwind()
        .await;
        neighbour.close().await;
        drop_schema(&name).await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_up_job_fails_saying_so() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        let id = run(&queue, "e1").await;
        // Two attempts, then a sweep with a lower limit, so the count and the limit differ.
        for (attempt, limit) in [(1, 5), (2, 1)] {
            let job = queue.claim("crashy", SHORT).await.unwrap().unwrap();
            assert_eq!((job.job_id, job.attempt), (id, attempt));
            tokio::time::sleep(SHORT * 2).await;
            queue.release_expired(limit).await.unwrap();
        }
        match queue.outcome(id).await.unwrap() {
            JobOutcome::Failed(why) => {
                assert!(why.contains("given up"), "{why}");
                assert!(why.contains("2 attempts"), "the attempt count: {why}");
                assert!(why.contains("limit 1"), "the limit: {why}");
            }
            other => panic!("expected a given-up failure, got {other:?}"),
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waited_ms_counts_the_time_in_line() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        let id = run(&queue, "e1").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let job = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!(job.job_id, id);
        // A lower bound only: a loaded machine may claim later still.
        assert!(job.waited_ms >= 250, "waited {} ms", job.waited_ms);
    });
}

#[tokio::test]
async fn an_execution_is_created_with_its_run_job_or_not_at_all() {
    with_queue!(|store, queue| {
        use sandflow_store::{NewExecution, Store};
        let new = |workflow: &str| NewExecution {
            tenant: TENANT.into(),
            id: "together".into(),
            workflow_id: workflow.into(),
            request: json!({"n": 1}).into(),
            status: ExecutionStatus::Queued,
        };
        let job = queue.create_and_enqueue(&new("first")).await.unwrap();
        let claimed = queue.claim("w", LONG).await.unwrap().expect("the run job is ready");
        assert_eq!(
            (claimed.job_id, &claimed.execution_id, &claimed.kind),
            (job, &"together".to_string(), &JobKind::Run)
        );
        let record = store.get_execution(TENANT, "together").await.unwrap().expect("stored");
        assert_eq!((record.status, record.workflow_id.as_str()), (ExecutionStatus::Queued, "first"));

        // A taken ID: refused, and neither a second execution nor a second job is stored.
        assert_error(queue.create_and_enqueue(&new("second")).await, "conflict");
        queue.complete(claimed.job_id, claimed.token).await.unwrap();
        assert_eq!(queue.claim("w", LONG).await.unwrap(), None, "no job was added by the refused create");
        let record = store.get_execution(TENANT, "together").await.unwrap().expect("still stored");
        assert_eq!(record.workflow_id, "first");
    });
}

#[tokio::test]
async fn only_jobs_that_ended_long_enough_ago_are_purged() {
    with_queue!(|store, queue| {
        seed(store, &["old-done", "old-failed", "ready", "leased"]).await;
        let done = run(&queue, "old-done").await;
        let failed = run(&queue, "old-failed").await;
        for (expected, end_with_failure) in [(done, false), (failed, true)] {
            let job = queue.claim("w", LONG).await.unwrap().expect("a job is ready");
            assert_eq!(job.job_id, expected);
            if end_with_failure {
                queue.fail(job.job_id, job.token, "refused").await.unwrap();
            } else {
                queue.complete(job.job_id, job.token).await.unwrap();
            }
        }
        let leased = run(&queue, "leased").await;
        assert_eq!(queue.claim("w", LONG).await.unwrap().map(|j| j.job_id), Some(leased));
        let ready = run(&queue, "ready").await;

        // Ended moments ago: younger than an hour, kept.
        assert_eq!(queue.purge_ended(Duration::from_secs(3600)).await.unwrap(), 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(queue.purge_ended(Duration::from_millis(20)).await.unwrap(), 2);
        assert_error(queue.outcome(done).await, "not found");
        assert_error(queue.outcome(failed).await, "not found");
        // Unfinished work is never purged, however old.
        assert_eq!(queue.outcome(leased).await.unwrap(), JobOutcome::Pending);
        assert_eq!(queue.outcome(ready).await.unwrap(), JobOutcome::Pending);
    });
}

#[tokio::test]
async fn stranded_failures_are_failed_jobs_of_unfinished_executions_with_nothing_pending() {
    with_queue!(|store, queue| {
        use sandflow_store::Store;
        seed(store, &["stranded", "pending", "paused"]).await;
        for id in ["stranded", "pending", "paused"] {
            run(&queue, id).await;
            let job = queue.claim("w", LONG).await.unwrap().expect("a job is ready");
            queue.fail(job.job_id, job.token, &format!("{id} refused")).await.unwrap();
        }
        // Another job is on its way for this one, and this one waits for a caller.
        run(&queue, "pending").await;
        store.update_execution(TENANT, "paused", ExecutionStatus::Paused, None).await.unwrap();

        let stranded = queue.stranded_failures().await.unwrap();
        let found: Vec<(&str, &str)> = stranded.iter().map(|(_, _, id, error)| (id.as_str(), error.as_str())).collect();
        assert_eq!(found, [("stranded", "stranded refused")]);
        store.update_execution(TENANT, "stranded", ExecutionStatus::Failed, None).await.unwrap();
        assert_eq!(queue.stranded_failures().await.unwrap(), Vec::new(), "a failed execution is no longer stranded");
    });
}
