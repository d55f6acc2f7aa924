//! The guest SDK as block authors use it: the README's example block is a test
//! guest, built from the very text the README shows.

use sandflow_runtime::{BlockOutcome, BlockRunError, LogLevel, RunRequest};
use sandflow_tests::{guests, runtime_with};
use serde_json::json;

mod wit_json;

#[test]
fn readme_example_is_the_greet_guest_verbatim() {
    let readme = include_str!("../../../guest-sdk/README.md");
    let source = include_str!("../../guests/greet/src/lib.rs");
    assert!(readme.contains(source), "guest-sdk/README.md and tests/guests/greet/src/lib.rs differ");
    assert!(source.lines().count() < 30, "the README promises a block in under 30 lines");
}

#[test]
fn readme_init_hook_example_is_the_prepared_guest_verbatim() {
    let readme = include_str!("../../../guest-sdk/README.md");
    let source = include_str!("../../guests/prepared/src/lib.rs");
    let section = &readme[readme.find("## Work done once").expect("the README explains the init hook")..];
    let excerpts: Vec<&str> =
        section.split("```rust\n").skip(1).map(|block| block.split("```").next().unwrap()).collect();
    assert_eq!(excerpts.len(), 3, "the init hook section shows three excerpts");
    for excerpt in excerpts {
        assert!(source.contains(excerpt), "not in tests/guests/prepared/src/lib.rs:\n{excerpt}");
    }
}

#[tokio::test]
async fn readme_example_runs_and_declares_its_schemas() {
    let runtime = runtime_with(|_| {});
    let greet = runtime.load(guests::GREET).await.expect("the README block loads");
    let manifest = greet.manifest();
    assert_eq!((manifest.name.as_str(), manifest.description.as_str()), ("greet", "Says hello"));
    assert_eq!(manifest.input_schema["required"], json!(["name"]));
    assert_eq!(manifest.input_schema["properties"]["name"]["type"], json!("string"));
    assert_eq!(manifest.output_schema["properties"]["text"]["type"], json!("string"));

    let run = runtime.run(&greet, RunRequest { params: json!({"name": "Ada"}), ..Default::default() }).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"text": "Hello, Ada!"}))));
    assert_eq!(run.logs.len(), 1);
    assert_eq!((run.logs[0].level, run.logs[0].message.as_str()), (LogLevel::Info, "greeting Ada"));

    let run = runtime.run(&greet, RunRequest { params: json!({"name": ""}), ..Default::default() }).await;
    assert_eq!(run.outcome, Err(BlockRunError::InvalidInput("name: must not be empty".into())));
    let run = runtime.run(&greet, RunRequest { params: json!({"nome": "typo"}), ..Default::default() }).await;
    assert!(
        matches!(&run.outcome, Err(BlockRunError::InvalidInput(m)) if m.starts_with("params:") && m.contains("name")),
        "{:?}",
        run.outcome
    );
}
