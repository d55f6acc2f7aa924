//! Workflows: drafts, numbered deploys, deletion, tenancy.

use futures::future::join_all;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{OTHER, TENANT, assert_error};
use crate::Store;

/// A created workflow comes back with its name and draft and no version.
pub async fn workflow_create_then_get_returns_draft(store: &dyn Store) {
    let draft = json!({"blocks": {"start": {"type": "starter"}}, "edges": []});
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);
    store.create_workflow(TENANT, "wf", "Greeter", draft.clone()).await.unwrap();
    let after = OffsetDateTime::now_utc() + Duration::seconds(1);

    let got = store.get_workflow(TENANT, "wf").await.unwrap().expect("created workflow");
    assert_eq!(got.id, "wf");
    assert_eq!(got.name, "Greeter");
    assert_eq!(got.draft, draft);
    assert_eq!(got.deployed_version, None);
    assert!(got.versions.is_empty(), "{:?}", got.versions);
    assert!(before <= got.created_at && got.created_at <= after, "{}", got.created_at);
    assert!(got.created_at <= got.updated_at);
    assert_eq!(store.get_workflow(TENANT, "other").await.unwrap(), None);
}

/// A second create with the same ID in the same tenant is refused and changes nothing; the
/// same ID in another tenant is a different workflow.
pub async fn workflow_duplicate_id_is_conflict_within_tenant(store: &dyn Store) {
    store.create_workflow(TENANT, "wf", "First", json!({"v": 1})).await.unwrap();
    assert_error(store.create_workflow(TENANT, "wf", "Second", json!({"v": 2})).await, "conflict");
    store.create_workflow(OTHER, "wf", "Theirs", json!({"v": 3})).await.unwrap();

    let ours = store.get_workflow(TENANT, "wf").await.unwrap().unwrap();
    assert_eq!((ours.name.as_str(), &ours.draft), ("First", &json!({"v": 1})));
    let theirs = store.get_workflow(OTHER, "wf").await.unwrap().unwrap();
    assert_eq!((theirs.name.as_str(), &theirs.draft), ("Theirs", &json!({"v": 3})));
}

/// Updating the draft replaces it; a missing workflow is not found.
pub async fn workflow_draft_update_replaces_draft(store: &dyn Store) {
    store.create_workflow(TENANT, "wf", "Flow", json!({"v": 1})).await.unwrap();
    store.update_draft(TENANT, "wf", json!({"v": 2, "blocks": ["a"]})).await.unwrap();
    let got = store.get_workflow(TENANT, "wf").await.unwrap().unwrap();
    assert_eq!(got.draft, json!({"v": 2, "blocks": ["a"]}));
    assert_eq!(got.name, "Flow");
    assert!(got.updated_at >= got.created_at);
    assert_error(store.update_draft(TENANT, "missing", json!({})).await, "not found");
}

/// Each deploy freezes the draft of that moment as the next version, from 1.
pub async fn workflow_deploy_freezes_numbered_versions(store: &dyn Store) {
    store.create_workflow(TENANT, "wf", "Flow", json!({"v": 1})).await.unwrap();
    assert_eq!(store.latest_deployed(TENANT, "wf").await.unwrap(), None);
    assert_eq!(store.latest_deployed_version(TENANT, "wf").await.unwrap(), None);
    assert_eq!(store.latest_deployed_version(TENANT, "wf").await.unwrap(), None);
    assert_eq!(store.deploy_workflow(TENANT, "wf").await.unwrap(), 1);
    assert_eq!(store.latest_deployed_version(TENANT, "wf").await.unwrap().map(|v| v.version), Some(1));
    store.update_draft(TENANT, "wf", json!({"v": 2})).await.unwrap();
    assert_eq!(store.deploy_workflow(TENANT, "wf").await.unwrap(), 2);
    store.update_draft(TENANT, "wf", json!({"v": 3})).await.unwrap();

    assert_eq!(store.get_workflow_version(TENANT, "wf", 1).await.unwrap(), Some(json!({"v": 1})));
    assert_eq!(store.get_workflow_version(TENANT, "wf", 2).await.unwrap(), Some(json!({"v": 2})));
    assert_eq!(store.get_workflow_version(TENANT, "wf", 3).await.unwrap(), None);
    assert_eq!(store.get_workflow_version(TENANT, "wf", 0).await.unwrap(), None);
    assert_eq!(store.latest_deployed(TENANT, "wf").await.unwrap(), Some((2, json!({"v": 2}))));
    assert_eq!(store.latest_deployed_version(TENANT, "wf").await.unwrap().map(|v| v.version), Some(2));

    let got = store.get_workflow(TENANT, "wf").await.unwrap().unwrap();
    assert_eq!(got.draft, json!({"v": 3}));
    assert_eq!(got.deployed_version, Some(2));
    let numbers: Vec<u32> = got.versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [1, 2]);
    assert!(got.versions[0].deployed_at <= got.versions[1].deployed_at);
}

/// Deploying a workflow that does not exist is not found.
pub async fn workflow_deploy_of_missing_is_not_found(store: &dyn Store) {
    assert_error(store.deploy_workflow(TENANT, "missing").await, "not found");
    assert_eq!(store.latest_deployed(TENANT, "missing").await.unwrap(), None);
}

/// Ten deploys at once get ten distinct, gapless version numbers.
pub async fn workflow_concurrent_deploys_get_distinct_versions(store: &dyn Store) {
    store.create_workflow(TENANT, "wf", "Flow", json!({"v": 1})).await.unwrap();
    let results = join_all((0..10).map(|_| store.deploy_workflow(TENANT, "wf"))).await;
    let mut versions: Vec<u32> = results.into_iter().map(|r| r.expect("deploy")).collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=10).collect::<Vec<u32>>());
    assert_eq!(store.latest_deployed(TENANT, "wf").await.unwrap().map(|(v, _)| v), Some(10));
    assert_eq!(store.get_workflow(TENANT, "wf").await.unwrap().unwrap().versions.len(), 10);
}

/// Deleting a workflow deletes its versions: a new workflow with the same ID starts at 1.
pub async fn workflow_delete_removes_its_versions(store: &dyn Store) {
    store.create_workflow(TENANT, "wf", "Old", json!({"old": true})).await.unwrap();
    store.deploy_workflow(TENANT, "wf").await.unwrap();
    store.deploy_workflow(TENANT, "wf").await.unwrap();

    assert!(store.delete_workflow(TENANT, "wf").await.unwrap());
    assert_eq!(store.get_workflow(TENANT, "wf").await.unwrap(), None);
    assert_eq!(store.get_workflow_version(TENANT, "wf", 1).await.unwrap(), None);
    assert_eq!(store.latest_deployed(TENANT, "wf").await.unwrap(), None);
    assert!(!store.delete_workflow(TENANT, "wf").await.unwrap());

    store.create_workflow(TENANT, "wf", "New", json!({"new": true})).await.unwrap();
    assert_eq!(store.deploy_workflow(TENANT, "wf").await.unwrap(), 1);
    assert_eq!(store.get_workflow_version(TENANT, "wf", 1).await.unwrap(), Some(json!({"new": true})));
    assert_eq!(store.get_workflow_version(TENANT, "wf", 2).await.unwrap(), None);
}

/// Another tenant can neither read, change, deploy nor delete a workflow.
pub async fn workflow_other_tenant_sees_nothing(store: &dyn Store) {
    store.create_workflow(TENANT, "wf", "Ours", json!({"v": 1})).await.unwrap();
    store.deploy_workflow(TENANT, "wf").await.unwrap();

    assert_eq!(store.get_workflow(OTHER, "wf").await.unwrap(), None);
    assert_eq!(store.get_workflow_version(OTHER, "wf", 1).await.unwrap(), None);
    assert_eq!(store.latest_deployed(OTHER, "wf").await.unwrap(), None);
    assert_eq!(store.latest_deployed_version(OTHER, "wf").await.unwrap(), None);
    assert_error(store.update_draft(OTHER, "wf", json!({"hijacked": true})).await, "not found");
    assert_error(store.deploy_workflow(OTHER, "wf").await, "not found");
    assert!(!store.delete_workflow(OTHER, "wf").await.unwrap());

    let ours = store.get_workflow(TENANT, "wf").await.unwrap().expect("still there");
    assert_eq!(ours.draft, json!({"v": 1}));
    assert_eq!(ours.deployed_version, Some(1));
    assert_eq!(store.latest_deployed(TENANT, "wf").await.unwrap(), Some((1, json!({"v": 1}))));
}
