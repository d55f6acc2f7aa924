//! `sandflow serve --database-url postgres://...`: the same API with its
//! state in PostgreSQL (this machine's server, a fresh schema per run).

use std::time::Duration;

use serde_json::json;

use crate::harness::Server;

/// This run's PostgreSQL URL with `search_path` set to a fresh schema, or
/// `None` (with a message) when no server answers and CI does not require one.
fn fresh_schema_url() -> Option<(String, String)> {
    let url = std::env::var("SANDFLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("sf_api_{}_{}", std::process::id(), rand_suffix());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let created = runtime.block_on(async {
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            sandflow_store::PostgresStore::connect_in_schema(&url, &schema),
        )
        .await;
        match connected {
            Ok(Ok(store)) => {
                store.close().await;
                true
            }
            _ => false,
        }
    });
    if !created {
        assert!(
            std::env::var("SANDFLOW_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "PostgreSQL is required here but no server answered at {url}"
        );
        eprintln!("PostgreSQL API test skipped: no server answered at {url}");
        return None;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    Some((format!("{url}{separator}options=-c%20search_path%3D{schema}"), schema))
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
}

/// Drops the test's schema however the test ends.
struct DropSchema {
    url: String,
    schema: String,
}

impl Drop for DropSchema {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            use sqlx::Connection;
            if let Ok(mut connection) = sqlx::PgConnection::connect(&self.url).await {
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema))
                    .execute(&mut connection)
                    .await;
            }
        });
    }
}

#[test]
fn a_server_on_postgresql_pauses_survives_a_kill_and_resumes() {
    let Some((url, schema)) = fresh_schema_url() else { return };
    let base_url = url.split_once("options=").map_or(url.as_str(), |(base, _)| base.trim_end_matches(['?', '&']));
    let _cleanup = DropSchema { url: base_url.to_string(), schema };
    let mut server = Server::start_serving(&[], &["--database-url", &url]);
    let token = server.token("pg-tenant");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "ask": {"type": "human_in_the_loop", "name": "Ask",
                    "params": {"response": {"ok?": true}, "inputSchema": {"type": "object", "required": ["ok"]}}},
            "after": {"type": "transform", "name": "After", "params": {"filter": ".ok", "input": "<ask>"}}
        },
        "edges": [{"source": "start", "target": "ask"}, {"source": "ask", "target": "after"}]
    });
    let created = server.post("/v1/workflows", &token, &json!({"id": "pg-flow", "name": "PG", "state": state}));
    created.expect(201);
    server.post("/v1/workflows/pg-flow/deploy", &token, &json!({})).expect(200);
    let request = json!({"workflowId": "pg-flow", "options": {"executionId": "pg-1"}});
    let paused = server.execute(&token, &request).expect(202);
    assert_eq!(paused["pausePoints"][0]["contextId"], "ask");

    server.kill();
    server.restart();
    let resume = |input| server.post("/v1/executions/pg-1/resume", &token, &json!({"contextId": "ask", "input": input}));
    resume(json!({"nope": 1})).expect_error(400, "invalid_resume_input");
    let done = resume(json!({"ok": "yes"})).expect(200);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["output"]["after"], json!({"result": "yes"}));
    // The execution is over, so any further resume is a conflict.
    resume(json!({"ok": 1})).expect_error(409, "execution_finished");
}
