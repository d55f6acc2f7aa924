//! Pause points: storing, atomic claims, release and completion, timers, tenancy.

use futures::future::join_all;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{OTHER, TENANT, assert_error, seed_execution};
use crate::{ClaimResult, ExecutionStatus, PauseKind, PausePointRow, PauseStatus, Store};

/// A human pause point.
fn human(context_id: &str, data: Value) -> PausePointRow {
    PausePointRow { context_id: context_id.into(), kind: PauseKind::Human, resume_at: None, data }
}

/// A time pause point due at `at`.
fn timed(context_id: &str, at: OffsetDateTime) -> PausePointRow {
    PausePointRow {
        context_id: context_id.into(),
        kind: PauseKind::Time,
        resume_at: Some(at),
        data: json!({"wait": context_id}),
    }
}

/// A time on a whole second, so that every backend's timestamp precision keeps it exactly.
fn whole_second(offset: Duration) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    OffsetDateTime::from_unix_timestamp(now).unwrap() + offset
}

/// `(status, data)` of one stored pause point.
async fn state(store: &dyn Store, tenant: &str, context_id: &str) -> (PauseStatus, Value) {
    let points = store.list_pause_points(tenant, "e1").await.unwrap();
    let point = points.into_iter().find(|p| p.context_id == context_id).expect("pause point");
    (point.status, point.data)
}

/// Stored pause points come back open, with their kind, due time and data.
pub async fn pause_points_put_then_list(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    let at = whole_second(Duration::hours(1));
    store
        .put_pause_points(TENANT, "e1", vec![human("approve", json!({"ask": "ok?"})), timed("wait", at)])
        .await
        .unwrap();

    let mut points = store.list_pause_points(TENANT, "e1").await.unwrap();
    points.sort_by(|a, b| a.context_id.cmp(&b.context_id));
    assert_eq!(points.len(), 2, "{points:?}");
    let (approve, wait) = (&points[0], &points[1]);
    assert_eq!(approve.context_id, "approve");
    assert_eq!(approve.kind, PauseKind::Human);
    assert_eq!(approve.resume_at, None);
    assert_eq!(approve.status, PauseStatus::Paused);
    assert_eq!(approve.data, json!({"ask": "ok?"}));
    assert_eq!(wait.context_id, "wait");
    assert_eq!(wait.kind, PauseKind::Time);
    assert_eq!(wait.resume_at, Some(at));
    assert_eq!(wait.status, PauseStatus::Paused);
    assert_eq!(wait.data, json!({"wait": "wait"}));
    assert!(store.list_pause_points(TENANT, "missing").await.unwrap().is_empty());
}

/// Putting a pause point that exists keeps its status and data; new ones are added.
pub async fn pause_point_put_again_keeps_status_and_data(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    store.put_pause_points(TENANT, "e1", vec![human("approve", json!({"v": 1}))]).await.unwrap();
    let claimed = store.claim_pause_point(TENANT, "e1", "approve").await.unwrap();
    assert_eq!(claimed, ClaimResult::Claimed { data: json!({"v": 1}) });

    store
        .put_pause_points(TENANT, "e1", vec![human("approve", json!({"v": 2})), human("second", json!({"v": 3}))])
        .await
        .unwrap();
    assert_eq!(state(store, TENANT, "approve").await, (PauseStatus::Resuming, json!({"v": 1})));
    assert_eq!(state(store, TENANT, "second").await, (PauseStatus::Paused, json!({"v": 3})));
}

/// A claim wins an open pause point once; after completion it stays resumed.
pub async fn pause_point_claim_then_complete_then_already_resumed(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    store.put_pause_points(TENANT, "e1", vec![human("approve", json!({"v": 1}))]).await.unwrap();

    assert_eq!(store.claim_pause_point(TENANT, "e1", "nope").await.unwrap(), ClaimResult::Unknown);
    assert_eq!(
        store.claim_pause_point(TENANT, "e1", "approve").await.unwrap(),
        ClaimResult::Claimed { data: json!({"v": 1}) }
    );
    assert_eq!(state(store, TENANT, "approve").await.0, PauseStatus::Resuming);
    assert_eq!(store.claim_pause_point(TENANT, "e1", "approve").await.unwrap(), ClaimResult::AlreadyResumed);

    store.complete_pause_point(TENANT, "e1", "approve").await.unwrap();
    assert_eq!(state(store, TENANT, "approve").await.0, PauseStatus::Resumed);
    assert_eq!(store.claim_pause_point(TENANT, "e1", "approve").await.unwrap(), ClaimResult::AlreadyResumed);
    assert_error(store.complete_pause_point(TENANT, "e1", "approve").await, "conflict");
    assert_error(store.release_pause_point(TENANT, "e1", "approve").await, "conflict");
    assert_eq!(state(store, TENANT, "approve").await.0, PauseStatus::Resumed);
}

/// Releasing a claimed pause point (rejected input) reopens it for the next claim.
pub async fn pause_point_release_makes_it_claimable_again(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    store.put_pause_points(TENANT, "e1", vec![human("approve", json!({"v": 1}))]).await.unwrap();

    assert_error(store.release_pause_point(TENANT, "e1", "approve").await, "conflict");
    assert_error(store.complete_pause_point(TENANT, "e1", "approve").await, "conflict");
    assert!(matches!(store.claim_pause_point(TENANT, "e1", "approve").await.unwrap(), ClaimResult::Claimed { .. }));
    store.release_pause_point(TENANT, "e1", "approve").await.unwrap();
    assert_eq!(state(store, TENANT, "approve").await.0, PauseStatus::Paused);
    assert_eq!(
        store.claim_pause_point(TENANT, "e1", "approve").await.unwrap(),
        ClaimResult::Claimed { data: json!({"v": 1}) }
    );
    assert_error(store.release_pause_point(TENANT, "e1", "nope").await, "not found");
    assert_error(store.complete_pause_point(TENANT, "e1", "nope").await, "not found");
}

/// Of twenty claims at once on one pause point, exactly one wins.
pub async fn pause_point_concurrent_claims_have_one_winner(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    store.put_pause_points(TENANT, "e1", vec![human("approve", json!({"v": 1}))]).await.unwrap();

    let claims = (0..20).map(|_| store.claim_pause_point(TENANT, "e1", "approve"));
    let results: Vec<ClaimResult> = join_all(claims).await.into_iter().map(|r| r.expect("claim")).collect();
    let won = results.iter().filter(|r| matches!(r, ClaimResult::Claimed { .. })).count();
    let lost = results.iter().filter(|r| **r == ClaimResult::AlreadyResumed).count();
    assert_eq!((won, lost), (1, 19), "{results:?}");
    assert_eq!(state(store, TENANT, "approve").await.0, PauseStatus::Resuming);
}

/// The timer sweep sees open time pauses that are due, of unfinished executions, of every
/// tenant, earliest first.
pub async fn due_timed_pauses_are_due_open_and_unfinished(store: &dyn Store) {
    let now = whole_second(Duration::ZERO);
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    store
        .put_pause_points(
            TENANT,
            "e1",
            vec![
                timed("past", now - Duration::seconds(60)),
                timed("exactly", now),
                timed("future", now + Duration::seconds(60)),
                timed("claimed", now - Duration::seconds(90)),
                human("human", json!({})),
            ],
        )
        .await
        .unwrap();
    store.claim_pause_point(TENANT, "e1", "claimed").await.unwrap();
    seed_execution(store, OTHER, "e2", ExecutionStatus::Paused).await;
    store.put_pause_points(OTHER, "e2", vec![timed("theirs", now - Duration::seconds(120))]).await.unwrap();
    seed_execution(store, TENANT, "gone", ExecutionStatus::Paused).await;
    store.put_pause_points(TENANT, "gone", vec![timed("stale", now - Duration::seconds(30))]).await.unwrap();
    store.update_execution(TENANT, "gone", ExecutionStatus::Cancelled, None).await.unwrap();

    let due = store.due_timed_pauses(now).await.unwrap();
    let expected = [(OTHER, "e2", "theirs"), (TENANT, "e1", "past"), (TENANT, "e1", "exactly")]
        .map(|(t, e, c)| (t.to_owned(), e.to_owned(), c.to_owned()));
    assert_eq!(due, expected);
    assert!(store.due_timed_pauses(now - Duration::hours(1)).await.unwrap().is_empty());
}

/// A time pause needs a resume time; a batch with a bad point stores nothing.
pub async fn time_pause_without_resume_time_is_invalid(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    let bad = PausePointRow { context_id: "wait".into(), kind: PauseKind::Time, resume_at: None, data: json!({}) };
    let result = store.put_pause_points(TENANT, "e1", vec![human("ok", json!({})), bad]).await;
    assert_error(result, "invalid");
    assert!(store.list_pause_points(TENANT, "e1").await.unwrap().is_empty());
}

/// Pause points of a missing execution are not found; of a finished one, a conflict.
pub async fn pause_points_of_missing_or_final_execution_are_refused(store: &dyn Store) {
    assert_error(store.put_pause_points(TENANT, "missing", vec![human("a", json!({}))]).await, "not found");
    assert_error(store.put_pause_points(TENANT, "missing", vec![]).await, "not found");
    seed_execution(store, TENANT, "done", ExecutionStatus::Completed).await;
    assert_error(store.put_pause_points(TENANT, "done", vec![human("a", json!({}))]).await, "conflict");
    assert!(store.list_pause_points(TENANT, "done").await.unwrap().is_empty());
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    store.put_pause_points(TENANT, "e1", vec![]).await.unwrap();
}

/// Another tenant can neither list, claim, release, complete nor add pause points.
pub async fn pause_point_other_tenant_cannot_see_or_claim(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
    store.put_pause_points(TENANT, "e1", vec![human("approve", json!({"v": 1}))]).await.unwrap();

    assert!(store.list_pause_points(OTHER, "e1").await.unwrap().is_empty());
    assert_eq!(store.claim_pause_point(OTHER, "e1", "approve").await.unwrap(), ClaimResult::Unknown);
    assert_error(store.release_pause_point(OTHER, "e1", "approve").await, "not found");
    assert_error(store.complete_pause_point(OTHER, "e1", "approve").await, "not found");
    assert_error(store.put_pause_points(OTHER, "e1", vec![human("forged", json!({}))]).await, "not found");

    assert_eq!(state(store, TENANT, "approve").await, (PauseStatus::Paused, json!({"v": 1})));
    assert_eq!(store.list_pause_points(TENANT, "e1").await.unwrap().len(), 1);
    assert_eq!(
        store.claim_pause_point(TENANT, "e1", "approve").await.unwrap(),
        ClaimResult::Claimed { data: json!({"v": 1}) }
    );
}
