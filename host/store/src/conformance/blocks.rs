//! Custom blocks: registration, replacement, listing, tenancy.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{OTHER, TENANT};
use crate::Store;

/// A registered block comes back with its digest, manifest and exact component bytes.
pub async fn block_put_then_get_with_component(store: &dyn Store) {
    // Large enough to cross SQLite's page size many times over.
    let component: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let manifest = json!({"type": "summarize", "inputs": {"text": "string"}});
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);
    store.put_block(TENANT, "summarize", "sha256:aa", component.clone(), manifest.clone()).await.unwrap();

    let got = store.get_block(TENANT, "summarize").await.unwrap().expect("registered block");
    assert_eq!(got.block_type, "summarize");
    assert_eq!(got.digest, "sha256:aa");
    assert_eq!(got.manifest, manifest);
    assert!(got.created_at >= before, "{}", got.created_at);
    assert_eq!(store.get_block_component(TENANT, "summarize").await.unwrap(), Some(component));
    assert_eq!(store.get_block(TENANT, "missing").await.unwrap(), None);
    assert_eq!(store.get_block_component(TENANT, "missing").await.unwrap(), None);
}

/// Registering a type again replaces its digest, manifest and component.
pub async fn block_reregistering_replaces_it(store: &dyn Store) {
    store.put_block(TENANT, "b", "sha256:old", vec![1, 2, 3], json!({"v": 1})).await.unwrap();
    store.put_block(TENANT, "b", "sha256:new", vec![4, 5], json!({"v": 2})).await.unwrap();

    let got = store.get_block(TENANT, "b").await.unwrap().unwrap();
    assert_eq!((got.digest.as_str(), &got.manifest), ("sha256:new", &json!({"v": 2})));
    assert_eq!(store.get_block_component(TENANT, "b").await.unwrap(), Some(vec![4, 5]));
    assert_eq!(store.list_blocks(TENANT).await.unwrap().len(), 1);
}

/// A tenant's listing holds its own blocks only, ordered by type.
pub async fn blocks_list_by_type_within_tenant(store: &dyn Store) {
    store.put_block(TENANT, "zeta", "d-z", vec![1], json!({"n": "z"})).await.unwrap();
    store.put_block(TENANT, "alpha", "d-a", vec![2], json!({"n": "a"})).await.unwrap();
    store.put_block(OTHER, "mid", "d-m", vec![3], json!({"n": "m"})).await.unwrap();

    let ours: Vec<_> = store.list_blocks(TENANT).await.unwrap();
    let names: Vec<(&str, &str)> = ours.iter().map(|b| (b.block_type.as_str(), b.digest.as_str())).collect();
    assert_eq!(names, [("alpha", "d-a"), ("zeta", "d-z")]);
    assert_eq!(ours[0].manifest, json!({"n": "a"}));
    let theirs = store.list_blocks(OTHER).await.unwrap();
    assert_eq!(theirs.iter().map(|b| b.block_type.as_str()).collect::<Vec<_>>(), ["mid"]);
    assert!(store.list_blocks("nobody").await.unwrap().is_empty());
}

/// Another tenant cannot read a block, and its own block of the same type is separate.
pub async fn block_other_tenant_sees_nothing(store: &dyn Store) {
    store.put_block(TENANT, "b", "sha256:ours", vec![7; 16], json!({"ours": true})).await.unwrap();

    assert_eq!(store.get_block(OTHER, "b").await.unwrap(), None);
    assert_eq!(store.get_block_component(OTHER, "b").await.unwrap(), None);

    store.put_block(OTHER, "b", "sha256:theirs", vec![9], json!({"ours": false})).await.unwrap();
    let ours = store.get_block(TENANT, "b").await.unwrap().unwrap();
    assert_eq!((ours.digest.as_str(), &ours.manifest), ("sha256:ours", &json!({"ours": true})));
    assert_eq!(store.get_block_component(TENANT, "b").await.unwrap(), Some(vec![7; 16]));
    assert_eq!(store.get_block(OTHER, "b").await.unwrap().unwrap().digest, "sha256:theirs");
}
