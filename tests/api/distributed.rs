//! Distributed mode: `sandflow serve --database-url postgres://...` servers
//! and `sandflow worker` processes sharing this machine's PostgreSQL, each
//! test in a fresh schema. Servers queue executions and wait; workers claim
//! and run them.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;

use crate::harness::{HitServer, Resp, Server, Worker, free_port, scratch_dir};

/// Lease of the test workers: short, so a killed worker's job moves on soon.
const LEASE: &str = "2s";

/// A fresh schema of this machine's PostgreSQL, dropped however the test
/// ends, with a URL whose connections use it.
struct Schema {
    base_url: String,
    name: String,
    url: String,
}

impl Schema {
    /// `None` (with a message) when no server answers and CI does not require one.
    fn fresh() -> Option<Schema> {
        let base_url = std::env::var("SANDFLOW_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("sf_api_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let created = block_on(async {
            let connected = tokio::time::timeout(
                Duration::from_secs(10),
                sandflow_store::PostgresStore::connect_in_schema(&base_url, &name),
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
                "PostgreSQL is required here but no server answered at {base_url}"
            );
            eprintln!("PostgreSQL API test skipped: no server answered at {base_url}");
            return None;
        }
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-c%20search_path%3D{name}");
        Some(Schema { base_url, name, url })
    }

    /// Runs `sql` (with `$1` bound to `bind`) in the schema and returns the rows.
    fn query(&self, sql: &str, bind: &str) -> Vec<sqlx::postgres::PgRow> {
        block_on(async {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&self.url).await.expect("connect");
            sqlx::query(sql).bind(bind).fetch_all(&mut connection).await.expect("query")
        })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        block_on(async {
            use sqlx::Connection;
            if let Ok(mut connection) = sqlx::PgConnection::connect(&self.base_url).await {
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name))
                    .execute(&mut connection)
                    .await;
            }
        });
    }
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// Servers and workers on one schema; the servers share a data directory,
/// so a token works on each.
struct Cluster {
    /// The sealing key every server and worker of the cluster shares.
    sealing_key: String,
    servers: Vec<Server>,
    workers: Vec<Worker>,
    // Last, so the processes are gone before the schema is dropped.
    schema: Schema,
}

impl Cluster {
    fn start(schema: Schema, servers: usize, workers: usize, serve_args: &[&str]) -> Cluster {
        let data_dir = scratch_dir("cluster").join("data");
        // Outside every data dir, as on hosts that get one copy of the key each; the first server makes it.
        let sealing_key = data_dir.with_file_name("sealing-key").display().to_string();
        let global = ["--allow-http", "127.0.0.1"];
        let mut args = vec!["--database-url", schema.url.as_str(), "--sealing-key-file", &sealing_key];
        args.extend_from_slice(serve_args);
        let servers = (0..servers).map(|_| Server::start_in(data_dir.clone(), &global, &args)).collect();
        let mut cluster = Cluster { sealing_key, servers, workers: Vec::new(), schema };
        for n in 1..=workers {
            let worker = cluster.worker(&format!("w{n}"), &["--lease", LEASE, "--concurrency", "4"]);
            cluster.workers.push(worker);
        }
        cluster
    }

    /// Starts a worker on the cluster's database and sealing key, with `worker_args`.
    fn worker(&self, id: &str, worker_args: &[&str]) -> Worker {
        let mut args = vec!["--sealing-key-file", self.sealing_key.as_str()];
        args.extend_from_slice(worker_args);
        Worker::start(id, &self.schema.url, &["--allow-http", "127.0.0.1"], &args)
    }

    fn token(&self, tenant: &str) -> String {
        self.servers[0].token(tenant)
    }

    /// Every process's log, for failure messages.
    fn logs(&self) -> String {
        let servers = self.servers.iter().map(|s| format!("--- server\n{}", s.log()));
        let workers = self.workers.iter().map(|w| format!("--- worker {}\n{}", w.id, w.log()));
        servers.chain(workers).collect::<Vec<_>>().join("\n")
    }
}

/// start → each of `calls` in a chain, an `api` GET of the hit server at
/// `/hit/{call}-<start.key>`.
fn chain(hits: &HitServer, calls: &[&str]) -> Value {
    let mut blocks = serde_json::Map::new();
    blocks.insert("start".into(), json!({"type": "start", "name": "Start"}));
    let mut edges = Vec::new();
    let mut previous = "start".to_string();
    for call in calls {
        let url = hits.url(&format!("{call}-<start.key>"));
        blocks.insert(
            call.to_string(),
            json!({"type": "api", "name": call, "params": {"url": url, "method": "GET", "timeoutMs": 30000}}),
        );
        edges.push(json!({"source": previous, "target": call}));
        previous = call.to_string();
    }
    json!({"blocks": blocks, "edges": edges})
}

/// `POST /v1/workflows/execute` on a thread of its own, for a test to act
/// while the server waits for the execution to end.
fn execute_in_background(server: &Server, token: &str, request: Value) -> std::thread::JoinHandle<Resp> {
    let (url, token) = (server.url("/v1/workflows/execute"), token.to_string());
    std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
        Resp::from(client.post(url).bearer_auth(token).json(&request).send())
    })
}

/// An execution's body says it is over.
fn finished(body: &Value) -> bool {
    matches!(body["status"].as_str(), Some("completed" | "failed" | "cancelled"))
}

#[test]
fn a_thousand_executions_through_two_servers_and_three_workers_each_run_exactly_once() {
    let Some(schema) = Schema::fresh() else { return };
    let cluster = Arc::new(Cluster::start(schema, 2, 3, &[]));
    let hits = Arc::new(HitServer::start("none", Duration::ZERO));
    let token = cluster.token("many");
    let workflow = chain(&hits, &["call"]);
    let next = Arc::new(AtomicUsize::new(0));
    const TOTAL: usize = 1_000;
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let (cluster, next, token, workflow) = (cluster.clone(), next.clone(), token.clone(), workflow.clone());
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= TOTAL {
                        return failures;
                    }
                    // Alternate servers: half the executions enter through each.
                    let server = &cluster.servers[n % 2];
                    let request = json!({"workflowId": "many", "workflow": workflow,
                                         "options": {"executionId": format!("x{n}"), "input": {"key": n}}});
                    let response = server.execute(&token, &request);
                    if response.status != 200 || response.json["status"] != "completed" {
                        failures.push(format!("x{n}: {} {}", response.status, response.text));
                    }
                }
            })
        })
        .collect();
    let failures: Vec<String> = callers.into_iter().flat_map(|c| c.join().expect("caller thread")).collect();
    assert!(failures.is_empty(), "{} failed, first: {:?}\n{}", failures.len(), failures.first(), cluster.logs());

    // Every execution's one block ran exactly once: one call each, no more.
    for n in 0..TOTAL {
        assert_eq!(hits.count(&format!("call-{n}")), 1, "execution x{n}");
    }
    let rows = cluster.schema.query(
        "SELECT count(*) AS jobs, max(attempt) AS attempts, count(*) FILTER (WHERE state = 'done') AS done, \
                (SELECT count(*) FROM executions WHERE status = 'completed' AND tenant = $1) AS completed \
         FROM jobs",
        "many",
    );
    let (jobs, attempts, done, completed): (i64, i32, i64, i64) =
        (rows[0].get("jobs"), rows[0].get("attempts"), rows[0].get("done"), rows[0].get("completed"));
    assert_eq!((jobs, attempts, done, completed), (TOTAL as i64, 1, TOTAL as i64, TOTAL as i64));
    let by_worker: BTreeMap<String, i64> = cluster
        .schema
        .query("SELECT worked_by, count(*) AS n FROM jobs WHERE tenant = $1 GROUP BY worked_by", "many")
        .iter()
        .map(|row| (row.get("worked_by"), row.get("n")))
        .collect();
    assert!(by_worker.keys().all(|w| ["w1", "w2", "w3"].contains(&w.as_str())), "{by_worker:?}");
    eprintln!("jobs by worker: {by_worker:?}");
}

#[test]
fn a_worker_killed_mid_execution_has_it_finished_by_another_without_rerunning_finished_blocks() {
    let Some(schema) = Schema::fresh() else { return };
    let mut cluster = Cluster::start(schema, 2, 3, &[]);
    // The first call of b hangs long enough for its worker to be killed in flight.
    let hits = HitServer::start("b-1", Duration::from_secs(60));
    let token = cluster.token("kill");
    let request = json!({"workflowId": "kill", "workflow": chain(&hits, &["a", "b", "c"]),
                         "options": {"executionId": "k1", "input": {"key": 1}}});
    // The server waits for the execution through the worker's death.
    let caller = execute_in_background(&cluster.servers[1], &token, request);

    hits.wait_for_hit("b-1", &cluster.servers[1]);
    let holder: String = cluster.schema.query("SELECT leased_by FROM jobs WHERE execution_id = $1", "k1")[0]
        .get::<Option<String>, _>("leased_by")
        .expect("the job is leased while b runs");
    let worker = cluster.workers.iter_mut().find(|w| w.id == holder).expect("a test worker holds it");
    worker.kill();

    let Resp { status, json: result, .. } = caller.join().expect("caller thread");
    assert_eq!(status, 200, "{result:#}\n{}", cluster.logs());
    assert_eq!(result["status"], "completed", "{result:#}\n{}", cluster.logs());
    // a finished before the kill and is not run again; b was cut off and runs again; c once.
    assert_eq!((hits.count("a-1"), hits.count("b-1"), hits.count("c-1")), (1, 2, 1));
    let job = &cluster.schema.query("SELECT attempt, worked_by, state FROM jobs WHERE execution_id = $1", "k1")[0];
    assert_eq!(job.get::<i32, _>("attempt"), 2);
    assert_eq!(job.get::<String, _>("state"), "done");
    assert_ne!(job.get::<String, _>("worked_by"), holder, "another worker finished it");
    assert_eq!(result["output"]["c"]["data"]["hit"], 1, "{result:#}");
}

#[test]
fn an_execution_whose_workers_keep_dying_is_given_up_at_the_restart_cap() {
    let Some(schema) = Schema::fresh() else { return };
    let mut cluster = Cluster::start(schema, 1, 0, &[]);
    // Every call of a hangs: each worker that takes the execution is killed while it runs.
    let hits = HitServer::start_hanging("a-1", Duration::from_secs(60));
    let token = cluster.token("doomed");
    let request = json!({"workflowId": "doomed", "workflow": chain(&hits, &["a"]),
                         "options": {"executionId": "d1", "input": {"key": 1}}});
    let caller = execute_in_background(&cluster.servers[0], &token, request);
    for (attempt, id) in ["first", "second"].into_iter().enumerate() {
        let worker = cluster.worker(id, &["--lease", LEASE, "--max-restarts", "1"]);
        cluster.workers.push(worker);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while hits.count("a-1") < attempt as u32 + 1 {
            assert!(std::time::Instant::now() < deadline, "{id} never ran a\n{}", cluster.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
        cluster.workers.last_mut().expect("just started").kill();
    }
    // A third worker's sweeper finds the second lease run out: the cap (1 restart) is reached.
    let sweeper = cluster.worker("sweeper", &["--lease", LEASE, "--max-restarts", "1"]);
    cluster.workers.push(sweeper);
    let Resp { status, json: result, .. } = caller.join().expect("caller thread");
    assert_eq!(status, 200, "{result:#}");
    assert_eq!(result["status"], "failed", "{result:#}\n{}", cluster.logs());
    let error = result["error"].as_str().unwrap_or_default();
    assert!(error.contains("given up") && error.contains("2 attempts (limit 2)"), "{error}");
    assert_eq!(hits.count("a-1"), 2, "the third worker does not try again");
}

#[test]
fn a_worker_stopped_with_sigterm_finishes_its_running_job_before_it_exits() {
    let Some(schema) = Schema::fresh() else { return };
    let mut cluster = Cluster::start(schema, 1, 1, &[]);
    let hits = HitServer::start("a-1", Duration::from_secs(3));
    let token = cluster.token("drain");
    let request = json!({"workflowId": "drain", "workflow": chain(&hits, &["a", "b"]),
                         "options": {"executionId": "s1", "input": {"key": 1}}});
    let caller = execute_in_background(&cluster.servers[0], &token, request);
    hits.wait_for_hit("a-1", &cluster.servers[0]);
    let exit = cluster.workers[0].terminate();
    assert!(exit.success(), "{exit:?}\n{}", cluster.logs());
    // It exited only once the execution was over, on its first and only attempt.
    let Resp { status, json: result, .. } = caller.join().expect("caller thread");
    assert_eq!((status, result["status"].as_str()), (200, Some("completed")), "{result:#}");
    assert_eq!((hits.count("a-1"), hits.count("b-1")), (1, 1));
    let job = &cluster.schema.query("SELECT attempt, state FROM jobs WHERE execution_id = $1", "s1")[0];
    assert_eq!((job.get::<i32, _>("attempt"), job.get::<String, _>("state")), (1, "done".to_string()));
}

#[test]
fn a_pause_is_resumed_through_either_server_and_a_timed_pause_through_a_worker() {
    let Some(schema) = Schema::fresh() else { return };
    let cluster = Cluster::start(schema, 2, 3, &[]);
    let (one, two) = (&cluster.servers[0], &cluster.servers[1]);
    let token = cluster.token("pauses");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "ask": {"type": "human_in_the_loop", "name": "Ask",
                    "params": {"response": {"ok?": true}, "inputSchema": {"type": "object", "required": ["ok"]}}},
            "confirm": {"type": "human_in_the_loop", "name": "Confirm", "params": {"response": {"sure?": true}}},
            "later": {"type": "wait", "name": "Later", "params": {"durationMs": 5500}},
            "after": {"type": "transform", "name": "After", "params": {"filter": ".ok", "input": "<ask>"}}
        },
        "edges": [{"source": "start", "target": "ask"}, {"source": "ask", "target": "confirm"},
                  {"source": "confirm", "target": "later"}, {"source": "later", "target": "after"}]
    });
    one.post("/v1/workflows", &token, &json!({"id": "pg-flow", "name": "PG", "state": state})).expect(201);
    two.post("/v1/workflows/pg-flow/deploy", &token, &json!({})).expect(200);
    let paused = one.execute(&token, &json!({"workflowId": "pg-flow", "options": {"executionId": "p1"}})).expect(202);
    assert_eq!(paused["pausePoints"][0]["contextId"], "ask", "{paused:#}");

    let resume = |server: &Server, context: &str, input: Value| {
        server.post("/v1/executions/p1/resume", &token, &json!({"contextId": context, "input": input}))
    };
    // Refused against the schema, by the server, before anything is queued.
    resume(two, "ask", json!({"nope": 1})).expect_error(400, "invalid_resume_input");
    let again = resume(two, "ask", json!({"ok": "yes"})).expect(202);
    assert_eq!(again["pausePoints"].as_array().unwrap().iter().filter(|p| p["resumeStatus"] == "paused").count(), 1);
    resume(one, "ask", json!({"ok": "twice"})).expect_error(409, "already_resumed");
    // Through the other server; the wait becomes a timed pause that a worker resumes.
    let timed = resume(one, "confirm", json!({})).expect(202);
    let waiting: Vec<&Value> =
        timed["pausePoints"].as_array().unwrap().iter().filter(|p| p["resumeStatus"] == "paused").collect();
    assert_eq!((waiting.len(), &waiting[0]["pauseKind"]), (1, &json!("time")), "{timed:#}");
    let done = two.poll_execution(&token, "p1", Duration::from_secs(60), finished);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", cluster.logs());
    assert_eq!(done["output"]["after"], json!({"result": "yes"}));
    resume(two, "confirm", json!({})).expect_error(409, "execution_finished");
}

#[test]
fn concurrent_resumes_of_one_pause_point_through_two_servers_have_one_winner() {
    let Some(schema) = Schema::fresh() else { return };
    let cluster = Arc::new(Cluster::start(schema, 2, 2, &[]));
    let token = cluster.token("race");
    let workflow = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "ask": {"type": "human_in_the_loop", "name": "Ask", "params": {"response": {}}},
            "after": {"type": "transform", "name": "After", "params": {"filter": ".who", "input": "<ask>"}}
        },
        "edges": [{"source": "start", "target": "ask"}, {"source": "ask", "target": "after"}]
    });
    for round in 0..5 {
        let id = format!("r{round}");
        let request = json!({"workflowId": "race", "workflow": workflow, "options": {"executionId": id}});
        cluster.servers[0].execute(&token, &request).expect(202);
        let racers: Vec<_> = (0..2)
            .map(|n| {
                let (cluster, token, id) = (cluster.clone(), token.clone(), id.clone());
                std::thread::spawn(move || {
                    let body = json!({"contextId": "ask", "input": {"who": n}});
                    cluster.servers[n].post(&format!("/v1/executions/{id}/resume"), &token, &body)
                })
            })
            .collect();
        let answers: Vec<_> = racers.into_iter().map(|r| r.join().expect("racer")).collect();
        let winners: Vec<&Value> = answers.iter().filter(|a| a.status == 200).map(|a| &a.json).collect();
        // The loser learns the pause point was taken, or (when the winner got there first)
        // that the execution is over.
        let lost = |a: &&crate::harness::Resp| {
            a.status == 409 && (a.json["code"] == "already_resumed" || a.json["code"] == "execution_finished")
        };
        let losers = answers.iter().filter(lost).count();
        assert_eq!((winners.len(), losers), (1, 1), "{:?}", answers.iter().map(|a| &a.text).collect::<Vec<_>>());
        let stored = cluster.servers[1].get(&format!("/v1/executions/{id}"), &token).expect(200);
        assert_eq!(stored["output"]["after"], winners[0]["output"]["after"], "the winner's input is the one used");
    }
}

#[test]
fn a_retried_job_whose_pass_was_stored_queues_the_timers_its_dead_worker_had_not() {
    let Some(schema) = Schema::fresh() else { return };
    let cluster = Cluster::start(schema, 1, 1, &[]);
    let token = cluster.token("ghost");
    let workflow = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "later": {"type": "wait", "name": "Later", "params": {"durationMs": 6000}},
            "after": {"type": "transform", "name": "After", "params": {"filter": ". + 1", "input": 41}}
        },
        "edges": [{"source": "start", "target": "later"}, {"source": "later", "target": "after"}]
    });
    let request = json!({"workflowId": "ghost", "workflow": workflow, "options": {"executionId": "g1"}});
    let paused = cluster.servers[0].execute(&token, &request).expect(202);
    assert_eq!(paused["pausePoints"][0]["pauseKind"], "time", "{paused:#}");
    // As if its worker had died after storing the pause and before queueing the timer and
    // completing the job: no timer job, and the run job leased to nobody, its lease run out.
    cluster.schema.query("DELETE FROM jobs WHERE kind = 'timer' AND execution_id = $1", "g1");
    cluster.schema.query(
        "UPDATE jobs SET state = 'leased', token = nextval('job_tokens'), leased_by = 'ghost', lease_until = 0 \
         WHERE kind = 'run' AND execution_id = $1",
        "g1",
    );
    let done = cluster.servers[0].poll_execution(&token, "g1", Duration::from_secs(60), finished);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", cluster.logs());
    assert_eq!(done["output"]["after"], json!({"result": 42}));
    let jobs = cluster.schema.query("SELECT kind, attempt FROM jobs WHERE execution_id = $1 ORDER BY id", "g1");
    let jobs: Vec<(String, i32)> = jobs.iter().map(|row| (row.get("kind"), row.get("attempt"))).collect();
    assert_eq!(
        jobs,
        [("run".to_string(), 2), ("timer".to_string(), 1)],
        "the retry ran nothing again but queued the timer"
    );
}

#[test]
fn without_a_worker_execute_answers_still_running_and_a_later_worker_finishes_it() {
    let Some(schema) = Schema::fresh() else { return };
    let mut cluster = Cluster::start(schema, 1, 0, &["--request-timeout", "1s"]);
    let hits = HitServer::start("none", Duration::ZERO);
    let token = cluster.token("late");
    let request = json!({"workflowId": "late", "workflow": chain(&hits, &["a"]),
                         "options": {"executionId": "l1", "input": {"key": 1}}});
    let answer = cluster.servers[0].execute(&token, &request).expect_error(504, "still_running");
    assert_eq!(answer["details"]["executionId"], "l1");
    let queued = cluster.servers[0].get("/v1/executions/l1", &token).expect(200);
    assert_eq!(queued["status"], "queued", "{queued:#}");
    // Its ID is taken: a second execute with it stores nothing and queues nothing.
    cluster.servers[0].execute(&token, &request).expect_error(409, "execution_exists");
    let jobs = cluster.schema.query("SELECT count(*) AS n FROM jobs WHERE execution_id = $1", "l1");
    assert_eq!(jobs[0].get::<i64, _>("n"), 1);
    assert_eq!(hits.count("a-1"), 0);

    let metrics = format!("127.0.0.1:{}", free_port());
    let args = ["--lease", LEASE, "--metrics-addr", metrics.as_str()];
    let worker = cluster.worker("late", &args);
    cluster.workers.push(worker);
    let done = cluster.servers[0].poll_execution(&token, "l1", Duration::from_secs(60), finished);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", cluster.logs());
    assert_eq!(hits.count("a-1"), 1);

    // The worker's metrics: the job, the time it waited in line (over a second), the run.
    let text = reqwest::blocking::get(format!("http://{metrics}/metrics")).unwrap().text().unwrap();
    let value = |name: &str| -> f64 {
        let line = text.lines().find(|line| line.starts_with(name)).unwrap_or_else(|| panic!("no {name}:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value(r#"sandflow_jobs_total{outcome="done"}"#), 1.0, "{text}");
    assert_eq!(value(r#"sandflow_executions_total{status="completed"}"#), 1.0, "{text}");
    assert_eq!(value("sandflow_queue_wait_seconds_count"), 1.0, "{text}");
    assert!(value("sandflow_queue_wait_seconds_sum") >= 1.0, "it waited for the worker to start: {text}");
}

#[test]
fn a_cancel_through_a_server_stops_the_run_on_its_worker() {
    let Some(schema) = Schema::fresh() else { return };
    let cluster = Cluster::start(schema, 2, 1, &[]);
    let hits = HitServer::start("a-1", Duration::from_secs(60));
    let token = cluster.token("cancel");
    let request = json!({"workflowId": "cancel", "workflow": chain(&hits, &["a", "b"]),
                         "options": {"executionId": "c1", "input": {"key": 1}}});
    let caller = execute_in_background(&cluster.servers[0], &token, request);
    hits.wait_for_hit("a-1", &cluster.servers[0]);
    // A server that does not run it streams its events from the store: open while it runs,
    // and ended by the cancel.
    let stream = cluster.servers[1].request(Method::GET, "/v1/executions/c1/events", Some(&token)).send().unwrap();
    assert_eq!(stream.status(), 200);
    let mut lines = BufReader::new(stream).lines().map(|line| line.expect("an event line"));
    let first: Vec<String> = lines.by_ref().take_while(|line| !line.is_empty()).collect();
    assert_eq!(first[0], "event: block_finished", "{first:?}");
    let cancelled = cluster.servers[1].post("/v1/executions/c1/cancel", &token, &json!({})).expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    let rest: Vec<String> = lines.collect();
    let kinds: Vec<&str> = rest.iter().filter_map(|line| line.strip_prefix("event: ")).collect();
    assert_eq!(kinds, ["execution_finished"], "{rest:?}");
    assert!(rest.iter().any(|line| line.contains(r#""status":"cancelled""#)), "{rest:?}");
    let answer = caller.join().expect("caller thread");
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["status"], "cancelled", "{}\n{}", answer.text, cluster.logs());
    assert_eq!(hits.count("b-1"), 0, "nothing runs after the cancel");
}

#[test]
fn environment_values_are_sealed_in_postgres_and_opened_by_workers_with_the_shared_key() {
    let Some(schema) = Schema::fresh() else { return };
    let cluster = Cluster::start(schema, 1, 1, &[]);
    let token = cluster.token("sealed-pg");
    let secret = "pg-secret-91c4e0d2-value";
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "use": {"type": "function", "name": "Use", "env": ["TOKEN"],
                    "params": {"code": "return input.t.length;", "input": {"t": "{{TOKEN}}"}}},
            "approve": {"type": "human_in_the_loop", "name": "Approve", "params": {"response": {}}}
        },
        "edges": [{"source": "start", "target": "use"}, {"source": "use", "target": "approve"}]
    });
    let request = json!({"workflowId": "sealed-pg", "workflow": state,
                         "options": {"executionId": "s-pg-1", "environmentVariables": {"TOKEN": secret}}});
    let paused = cluster.servers[0].execute(&token, &request).expect(202);
    assert_eq!(paused["output"]["use"]["result"], json!(secret.len()), "{paused:#}\n{}", cluster.logs());
    let request_text: String = cluster.schema.query("SELECT request FROM executions WHERE id = $1", "s-pg-1")[0].get(0);
    assert!(!request_text.contains(secret), "the stored request holds the value: {request_text}");
    assert!(request_text.contains("sealedEnv"), "{request_text}");
    for row in cluster.schema.query("SELECT checkpoint FROM checkpoints WHERE execution_id = $1", "s-pg-1") {
        let checkpoint: String = row.get(0);
        assert!(!checkpoint.contains(secret), "a checkpoint holds the value: {checkpoint}");
    }
    // The worker opens both again for the resume.
    let resume = json!({"contextId": "approve", "input": {}});
    let done = cluster.servers[0].post("/v1/executions/s-pg-1/resume", &token, &resume).expect(200);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", cluster.logs());

    // A worker without the key refuses to start, saying what it needs.
    let dir = scratch_dir("keyless-worker");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sandflow"))
        .args(["worker", "--database-url", &cluster.schema.url, "--data-dir"])
        .arg(dir.join("data"))
        .output()
        .expect("the worker runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--sealing-key-file"), "{stderr}");
}

#[test]
fn a_tenant_that_fills_its_share_of_queued_executes_leaves_room_for_another() {
    let Some(schema) = Schema::fresh() else { return };
    let mut cluster = Cluster::start(schema, 1, 0, &["--max-executions-per-tenant", "2", "--request-timeout", "120s"]);
    let hits = HitServer::start("none", Duration::ZERO);
    let (a, b) = (cluster.token("queue-a"), cluster.token("queue-b"));
    let request = |id: &str, key: u32| {
        json!({"workflowId": "fair", "workflow": chain(&hits, &["a"]),
               "options": {"executionId": id, "input": {"key": key}}})
    };
    // No worker yet: tenant a's two executes wait in the queue, its share.
    let waiting: Vec<_> =
        (0..2).map(|i| execute_in_background(&cluster.servers[0], &a, request(&format!("a{i}"), i))).collect();
    for i in 0..2 {
        cluster.servers[0]
            .poll_execution(&a, &format!("a{i}"), Duration::from_secs(30), |body| body["status"] == "queued");
    }
    // A third is over the share: 429 naming the tenant's limit, nothing stored or queued.
    let refused = cluster.servers[0].execute(&a, &request("a2", 2)).expect_error(429, "overloaded");
    let message = refused["error"].as_str().unwrap();
    assert!(message.contains("queue-a") && message.contains('2'), "{message}");
    cluster.servers[0].get("/v1/executions/a2", &a).expect_error(404, "not_found");
    // Another tenant's execute is taken while a's wait.
    let other = execute_in_background(&cluster.servers[0], &b, request("b0", 10));
    cluster.servers[0].poll_execution(&b, "b0", Duration::from_secs(30), |body| body["status"] == "queued");

    let worker = cluster.worker("fair", &["--lease", LEASE]);
    cluster.workers.push(worker);
    for answer in waiting.into_iter().chain([other]) {
        assert_eq!(answer.join().unwrap().expect(200)["status"], "completed", "{}", cluster.logs());
    }
    assert_eq!((hits.count("a-0"), hits.count("a-1"), hits.count("a-10"), hits.count("a-2")), (1, 1, 1, 0));
}
