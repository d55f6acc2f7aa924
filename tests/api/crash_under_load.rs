//! Crash under load: the server is SIGKILLed while many executions are in
//! flight (blocks finishing and their checkpoints being written all the
//! time), then started again on the same data directory. Every execution the
//! store held at the kill completes, no block whose checkpoint was committed
//! runs again (an `api` block calling a counter in this process tells), no
//! execution is lost and none completed before the kill is rewritten.
//!
//! The kill comes from the counter itself, at the moment a chosen hit
//! arrives, so what was running at the kill does not depend on timing: the
//! execution of that hit is in flight with its earlier blocks checkpointed,
//! and enough clients had an execution answered before it that some
//! executions had completed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use sandflow_store::{ExecutionRecord, ExecutionStatus, SqliteStore, Store};
use serde_json::{Value, json};

use crate::harness::{CrashHitServer, EpochHits, Server};

const TENANT: &str = "crash-load";
const WORKFLOW: &str = "crash-chain";
/// The `api` blocks of the chain, in order.
const API_BLOCKS: [&str; 3] = ["a1", "a2", "a3"];
/// Clients calling at once, each running its executions one after another.
const CLIENTS: usize = 64;
const PER_CLIENT: usize = 3;
/// How long the counter takes to answer every hit: executions spend most of
/// their time waiting on it, so many are mid-block at any moment.
const HIT_DELAY: Duration = Duration::from_millis(100);
/// The server is killed when this many `a3` hits have arrived. A client sends
/// its next execution only once the previous one was answered, so with more
/// `a3` hits than clients, at least `KILL_AT_A3_HIT - CLIENTS` executions
/// were answered (so completed in the store) before the kill; and the
/// execution of the killing hit is in flight with `a1` and `a2` checkpointed.
const KILL_AT_A3_HIT: u32 = (CLIENTS + CLIENTS / 4) as u32;
/// How long the load may take to reach the kill.
const KILL_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the restarted server may take to finish every execution.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// start → a1 → a2 → a3, each `api` block calling `/hit/{key}-{block}`,
/// `key` being the execution's input (its execution ID).
fn chain(hits: &CrashHitServer) -> Value {
    let mut blocks = serde_json::Map::new();
    blocks.insert("start".into(), json!({"type": "start", "name": "Start"}));
    let mut edges = Vec::new();
    let mut previous = "start";
    for block in API_BLOCKS {
        blocks.insert(
            block.into(),
            json!({"type": "api", "name": format!("Call {block}"),
                   "params": {"url": hits.url(&format!("<start.key>-{block}")), "method": "GET", "timeoutMs": 20000}}),
        );
        edges.push(json!({"source": previous, "target": block}));
        previous = block;
    }
    json!({"blocks": blocks, "edges": edges})
}

fn execution_id(client: usize, n: usize) -> String {
    format!("load-{client:02}-{n}")
}

/// What a client got for one execute request.
enum Outcome {
    /// Not sent: the server had been killed.
    NotSent,
    Answered {
        status: u16,
        body: Value,
    },
    /// The connection failed or broke (the kill).
    Broken,
}

/// An execution as the store holds it.
struct Stored {
    record: ExecutionRecord,
    checkpoints: Vec<Value>,
}

/// The store as it is on disk, read directly while no server runs.
struct Snapshot {
    executions: BTreeMap<String, Stored>,
    /// `(tenant, id)` of every queued or running execution of every tenant.
    unfinished: Vec<(String, String)>,
}

fn read_store(data_dir: &Path, ids: &[String]) -> Snapshot {
    let path = data_dir.join(sandflow_server::DATABASE_FILE);
    assert!(path.is_file(), "no database at {}", path.display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(&path).await.expect("the store opens");
        let mut executions = BTreeMap::new();
        for id in ids {
            if let Some(record) = store.get_execution(TENANT, id).await.expect("an execution reads") {
                let checkpoints = store.list_checkpoints(TENANT, id).await.expect("checkpoints read");
                executions.insert(id.clone(), Stored { record, checkpoints });
            }
        }
        let unfinished = store.unfinished_executions().await.expect("unfinished executions read");
        store.close().await;
        Snapshot { executions, unfinished }
    })
}

/// The block IDs of checkpoints, in append order.
fn checkpointed_blocks(checkpoints: &[Value]) -> Vec<String> {
    checkpoints.iter().map(|c| c["blockId"].as_str().unwrap_or("?").to_string()).collect()
}

/// The counter's answer `{"id": hit_id, "hit", "epoch"}` wherever it sits in `value`.
fn find_answer<'a>(value: &'a Value, hit_id: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) if map.get("id").and_then(Value::as_str) == Some(hit_id) && map.contains_key("epoch") => {
            Some(value)
        }
        Value::Object(map) => map.values().find_map(|v| find_answer(v, hit_id)),
        Value::Array(items) => items.iter().find_map(|v| find_answer(v, hit_id)),
        _ => None,
    }
}

/// What is wrong with a final result of execution `id`, if anything.
fn output_problems(id: &str, result: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if result["status"] != "completed" || result["success"] != true {
        problems.push(format!(
            "{id}: ended {} (success {}), not completed: error {}",
            result["status"], result["success"], result["error"]
        ));
    }
    if result["output"]["start"] != json!({"key": id}) {
        problems.push(format!("{id}: start output is {}", result["output"]["start"]));
    }
    for block in API_BLOCKS {
        let output = &result["output"][block];
        if output["status"] != 200 || output["data"]["id"] != format!("{id}-{block}") {
            problems.push(format!("{id}: block {block} output is {output}"));
        }
    }
    problems
}

#[test]
fn after_a_sigkill_under_load_every_execution_completes_and_no_checkpointed_block_runs_again() {
    let hits = Arc::new(CrashHitServer::start(HIT_DELAY));
    let mut server = Server::start(&["--allow-http", "127.0.0.1"]);
    let token = server.token(TENANT);
    server
        .post("/v1/workflows", &token, &json!({"id": WORKFLOW, "name": "Crash chain", "state": chain(&hits)}))
        .expect(201);
    server.post(&format!("/v1/workflows/{WORKFLOW}/deploy"), &token, &json!({})).expect(200);
    let ids: Vec<String> = (0..CLIENTS).flat_map(|c| (0..PER_CLIENT).map(move |n| execution_id(c, n))).collect();

    // The load: every client runs its executions one after another until the kill.
    hits.kill_on(server.pid(), "-a3", KILL_AT_A3_HIT);
    let started = Instant::now();
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
    let url = server.url("/v1/workflows/execute");
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (client, url, token, hits, barrier) =
                (client.clone(), url.clone(), token.clone(), hits.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut sent = Vec::new();
                for n in 0..PER_CLIENT {
                    let id = execution_id(c, n);
                    if hits.killed() {
                        sent.push((id, Outcome::NotSent));
                        continue;
                    }
                    let body = json!({"workflowId": WORKFLOW, "options": {"executionId": id, "input": {"key": id}}});
                    let outcome = match client.post(&url).bearer_auth(&token).json(&body).send() {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            match response.text() {
                                Ok(text) => Outcome::Answered {
                                    status,
                                    body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                                },
                                Err(_) => Outcome::Broken,
                            }
                        }
                        Err(_) => Outcome::Broken,
                    };
                    sent.push((id, outcome));
                }
                sent
            })
        })
        .collect();
    let killed = hits.wait_killed(KILL_TIMEOUT);
    // Reaps the killed process (and kills it if the trigger never fired).
    server.kill();
    let sent: BTreeMap<String, Outcome> =
        clients.into_iter().flat_map(|client| client.join().expect("client thread")).collect();
    let a3_hits: u32 = hits.all_hits().iter().filter(|(id, _)| id.ends_with("-a3")).map(|(_, h)| h.total()).sum();
    assert!(
        killed,
        "the kill never came: {a3_hits} a3 hits within {KILL_TIMEOUT:?}, the kill waits for {KILL_AT_A3_HIT}\nserver log:\n{}",
        server.log()
    );
    let load_time = started.elapsed();

    // The store as the crash left it. Calls the dead server sent before it died
    // count as before the restart: they arrive within moments.
    let at_kill = read_store(server.data_dir(), &ids);
    hits.wait_quiet(Duration::from_millis(500), Duration::from_secs(10));
    hits.restarting();
    server.restart();
    let recovery_started = Instant::now();

    // Every stored execution ends; one the restarted server does not know is
    // reported, not waited for.
    let mut problems = Vec::new();
    let mut finals = BTreeMap::new();
    let mut pending: BTreeMap<&String, Value> = at_kill.executions.keys().map(|id| (id, Value::Null)).collect();
    let deadline = Instant::now() + RECOVERY_TIMEOUT;
    while !pending.is_empty() && Instant::now() < deadline {
        pending.retain(|id, last| {
            let response = server.get(&format!("/v1/executions/{id}"), &token);
            match response.status {
                200 if matches!(response.json["status"].as_str(), Some("completed" | "failed" | "cancelled")) => {
                    finals.insert((*id).clone(), response.json);
                    false
                }
                200 => {
                    *last = response.json;
                    true
                }
                status => {
                    problems.push(format!("{id}: stored at the kill, GET answers {status} after the restart"));
                    false
                }
            }
        });
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    for (id, last) in &pending {
        problems.push(format!("{id}: not final {RECOVERY_TIMEOUT:?} after the restart; last seen {last}"));
    }
    let recovery_time = recovery_started.elapsed();
    // An execution not stored at the kill stays unknown.
    for id in ids.iter().filter(|id| !at_kill.executions.contains_key(*id)) {
        let status = server.get(&format!("/v1/executions/{id}"), &token).status;
        if status != 404 {
            problems.push(format!("{id}: not stored at the kill, yet GET answers {status} after the restart"));
        }
    }
    // Nothing runs any more: the store as the restarted server leaves it.
    server.kill();
    let at_end = read_store(server.data_dir(), &ids);

    for (tenant, id) in &at_kill.unfinished {
        if tenant != TENANT || !ids.contains(id) {
            problems.push(format!("an unknown execution {tenant}/{id} was unfinished at the kill"));
        }
    }
    if !at_end.unfinished.is_empty() {
        problems.push(format!("executions still unfinished in the store at the end: {:?}", at_end.unfinished));
    }

    let (mut completed_at_kill, mut in_flight_at_kill, mut committed_api_blocks, mut cut_off_blocks) = (0, 0, 0, 0);
    let (mut answered, mut not_stored, mut answered_not_committed) = (0, 0, 0);
    for id in &ids {
        let block_hits: BTreeMap<&str, EpochHits> =
            API_BLOCKS.iter().map(|block| (*block, hits.hits(&format!("{id}-{block}")))).collect();
        let outcome = &sent[id];
        if let Outcome::Answered { status, body } = outcome {
            answered += 1;
            if *status != 200 {
                problems.push(format!("{id}: answered {status} before the kill: {body}"));
            }
        }
        let Some(before) = at_kill.executions.get(id) else {
            // Never stored: only allowed if nothing of it ran and nobody was told it did.
            not_stored += 1;
            for (block, counts) in &block_hits {
                if counts.total() > 0 {
                    problems.push(format!(
                        "{id}: lost: its block {block} was called ({counts:?}) but the store did not hold it at the kill"
                    ));
                }
            }
            if let Outcome::Answered { status: 200, .. } = outcome {
                problems.push(format!("{id}: answered 200 before the kill but not in the store"));
            }
            if at_end.executions.contains_key(id) {
                problems.push(format!("{id}: not stored at the kill, stored after the restart"));
            }
            continue;
        };
        let Some(after) = at_end.executions.get(id) else {
            problems.push(format!("{id}: stored at the kill, gone after the restart"));
            continue;
        };
        let final_result = after.record.result.clone().unwrap_or(Value::Null);
        if let Some(answer) = finals.get(id) {
            problems.extend(output_problems(id, answer));
        }
        problems.extend(output_problems(id, &final_result).into_iter().map(|p| format!("{p} (in the store)")));
        for (block, counts) in &block_hits {
            if counts.total() == 0 {
                problems.push(format!("{id}: block {block} completed but was never called"));
            }
        }
        // Every block is checkpointed once: a second checkpoint is a second run.
        let final_blocks = checkpointed_blocks(&after.checkpoints);
        let distinct: BTreeSet<&String> = final_blocks.iter().collect();
        if final_blocks.len() != 1 + API_BLOCKS.len() || distinct.len() != final_blocks.len() {
            problems.push(format!(
                "{id}: checkpoints at the end are of blocks {final_blocks:?}, not start, a1, a2, a3 once each"
            ));
        }
        if !after.checkpoints.starts_with(&before.checkpoints) {
            problems.push(format!(
                "{id}: the checkpoints committed at the kill ({:?}) were rewritten: at the end {final_blocks:?}",
                checkpointed_blocks(&before.checkpoints)
            ));
        }
        if let Outcome::Answered { status: 200, body } = outcome
            && (before.record.status != ExecutionStatus::Completed
                || before.record.result.as_ref().map(|r| &r["output"]) != Some(&body["output"]))
        {
            problems.push(format!(
                "{id}: answered 200 before the kill, but the store held {:?} with {}",
                before.record.status,
                before.record.result.as_ref().map(|r| r["output"].to_string()).unwrap_or_default()
            ));
        }

        match before.record.status {
            ExecutionStatus::Completed => {
                completed_at_kill += 1;
                let text = |record: &ExecutionRecord| serde_json::to_string(&record.result).expect("JSON");
                if after.record.status != ExecutionStatus::Completed
                    || text(&after.record) != text(&before.record)
                    || after.record.updated_at != before.record.updated_at
                    || after.checkpoints != before.checkpoints
                {
                    problems.push(format!(
                        "{id}: completed before the kill, rewritten after the restart: {:?} at {} → {:?} at {}",
                        before.record.status, before.record.updated_at, after.record.status, after.record.updated_at
                    ));
                }
                for (block, counts) in &block_hits {
                    if *counts != (EpochHits { before: 1, after: 0 }) {
                        problems
                            .push(format!("{id}: completed before the kill, its block {block} was called {counts:?}"));
                    }
                }
            }
            ExecutionStatus::Running => {
                in_flight_at_kill += 1;
                if after.record.restarts != 1 {
                    problems.push(format!("{id}: in flight at the kill, recovered {} times", after.record.restarts));
                }
                let committed = checkpointed_blocks(&before.checkpoints);
                for (block, counts) in &block_hits {
                    let hit_id = format!("{id}-{block}");
                    let final_answer = &final_result["output"][*block]["data"];
                    if let Some(index) = committed.iter().position(|b| b == block) {
                        committed_api_blocks += 1;
                        // Ran once, before the crash, and its output is the checkpointed one.
                        if *counts != (EpochHits { before: 1, after: 0 }) {
                            problems.push(format!(
                                "{id}: block {block} had a committed checkpoint at the kill, yet was called {counts:?} \
                                 (after: calls by the restarted server)"
                            ));
                        }
                        let checkpointed = find_answer(&before.checkpoints[index], &hit_id);
                        if checkpointed != Some(final_answer) || final_answer["epoch"] != 0 {
                            problems.push(format!(
                                "{id}: block {block}'s output {final_answer} is not its checkpointed one {checkpointed:?}"
                            ));
                        }
                    } else {
                        if counts.before > 0 {
                            cut_off_blocks += 1;
                        }
                        if hits.answered_before_kill(&hit_id) > 0 {
                            // Finished (or about to) but not committed: the group commit the kill cut off.
                            answered_not_committed += 1;
                        }
                        // Not committed: the restarted server runs it, once.
                        if counts.after != 1 || final_answer["epoch"] != 1 {
                            problems.push(format!(
                                "{id}: block {block} had no committed checkpoint at the kill; it was called {counts:?} \
                                 and its output is {final_answer}, not that of one run after the restart"
                            ));
                        }
                    }
                }
            }
            other => problems.push(format!("{id}: {other:?} at the kill, neither running nor completed")),
        }
    }

    eprintln!(
        "crash under load: {} executions, {answered} answered before the kill, {not_stored} never stored; at the kill \
         {completed_at_kill} completed, {in_flight_at_kill} in flight with {committed_api_blocks} committed api \
         checkpoints and {cut_off_blocks} api blocks called but not committed ({answered_not_committed} of them \
         answered by the counter before the kill); load {load_time:?}, recovery \
         {recovery_time:?}",
        ids.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems after the crash under load:\n{}\nserver log (after the restart):\n{}",
        problems.len(),
        problems.iter().take(60).cloned().collect::<Vec<_>>().join("\n"),
        server.log()
    );
    // The test crashed the server under load, not before or after it.
    assert!(completed_at_kill > 0, "the kill came too early: no execution had completed");
    assert!(in_flight_at_kill > 0, "the kill came too late: no execution was in flight");
    assert!(committed_api_blocks > 0, "no in-flight execution had an api block checkpointed: nothing was checked");
}
