//! The harness: the real `sandflow` binary on a free port with a fresh data
//! directory, tokens from `sandflow token`, and a blocking HTTP client.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// How long a server may take to answer `/healthz` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one HTTP request may take (executions with pauses and retries included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);

/// The server most tests share: starting one costs seconds. Tests keep to
/// their own tenants and IDs so they stay independent. Its `api` blocks may
/// call loopback, where [`HitServer`]s listen.
pub fn shared() -> &'static Server {
    static SHARED: OnceLock<Server> = OnceLock::new();
    SHARED.get_or_init(|| Server::start(&["--allow-http", "127.0.0.1"]))
}

/// One HTTP client for every test (it holds its own runtime thread).
fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| Client::builder().timeout(REQUEST_TIMEOUT).build().expect("the HTTP client builds"))
}

/// A scratch directory under cargo's per-target temp dir, new on each call.
pub fn scratch_dir(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sandflow-api");
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    if n == 0 {
        remove_dirs_of_finished_runs(&root);
    }
    let dir = root.join(format!("{}-{n}-{what}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The shared server's directory outlives its run (statics are never
/// dropped): directories of test processes that are gone are removed.
fn remove_dirs_of_finished_runs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|pid| pid.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A free port on loopback: bound, read, released.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("local addr").port()
}

/// Spawns `command` from one long-lived thread, with the child set to be
/// killed when that thread (so the test process) goes away: the shared
/// server lives in a static, whose destructor never runs.
fn spawn_tied_to_this_process(mut command: Command) -> Child {
    type Request = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("server-spawner".into())
            .spawn(move || {
                // `PR_SET_PDEATHSIG` fires when the thread that forked exits:
                // this one never does before the process.
                for (mut command, reply) in receiver {
                    let _ = reply.send(command.spawn());
                }
                loop {
                    std::thread::park();
                }
            })
            .expect("spawner thread");
        Mutex::new(sender)
    });
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (reply, answer) = mpsc::channel();
    spawner.lock().expect("spawner").send((command, reply)).expect("spawner alive");
    answer.recv().expect("spawner answers").expect("the sandflow binary starts")
}

/// A running `sandflow serve` on its own data directory.
pub struct Server {
    child: Option<Child>,
    data_dir: PathBuf,
    global_args: Vec<String>,
    serve_args: Vec<String>,
    base: String,
    starts: usize,
    /// Started with `--public-metrics` (as most tests want `/metrics` on the API address).
    public_metrics: bool,
}

impl Server {
    /// Starts the binary with `global_args` (flags such as `--allow-http X`,
    /// placed before the subcommand) on a fresh data dir and waits until it
    /// answers `/healthz`.
    pub fn start(global_args: &[&str]) -> Server {
        Self::start_serving(global_args, &[])
    }

    /// As [`Server::start`], with extra `serve` flags such as `--database-url URL`.
    pub fn start_serving(global_args: &[&str], serve_args: &[&str]) -> Server {
        Self::start_in(scratch_dir("server").join("data"), global_args, serve_args)
    }

    /// As [`Server::start_serving`], on `data_dir`: servers sharing one accept
    /// the same tokens (they share the signing secret).
    pub fn start_in(data_dir: PathBuf, global_args: &[&str], serve_args: &[&str]) -> Server {
        Self::start_with(data_dir, global_args, serve_args, true)
    }

    /// As [`Server::start_serving`], without `--public-metrics`: as `serve` runs by default.
    pub fn start_without_public_metrics(global_args: &[&str], serve_args: &[&str]) -> Server {
        Self::start_with(scratch_dir("server").join("data"), global_args, serve_args, false)
    }

    fn start_with(data_dir: PathBuf, global_args: &[&str], serve_args: &[&str], public_metrics: bool) -> Server {
        let mut server = Server {
            child: None,
            data_dir,
            global_args: global_args.iter().map(|s| s.to_string()).collect(),
            serve_args: serve_args.iter().map(|s| s.to_string()).collect(),
            base: String::new(),
            starts: 0,
            public_metrics,
        };
        server.launch();
        server
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server process's ID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    fn log_path(&self) -> PathBuf {
        let port = self.base.rsplit(':').next().unwrap_or_default();
        self.data_dir.parent().expect("scratch dir").join(format!("server-{}-{port}.log", self.starts))
    }

    /// The server's stderr so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn launch(&mut self) {
        std::fs::create_dir_all(&self.data_dir).expect("data dir");
        // A port taken between the probe and the bind: try another.
        for _attempt in 0..5 {
            self.starts += 1;
            let port = free_port();
            self.base = format!("http://127.0.0.1:{port}");
            let log = File::create(self.log_path()).expect("server log");
            let mut command = Command::new(env!("CARGO_BIN_EXE_sandflow"));
            command
                .arg("--cache-dir")
                .arg(sandflow_tests::component_cache_dir())
                .args(&self.global_args)
                .arg("serve")
                .arg("--addr")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--data-dir")
                .arg(&self.data_dir)
                .args(self.public_metrics.then_some("--public-metrics"))
                .args(&self.serve_args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log));
            let child = spawn_tied_to_this_process(command);
            self.child = Some(child);
            match self.wait_healthy() {
                Ok(()) => return,
                Err(exited) if exited && self.log().contains("in use") => continue,
                Err(_) => panic!("the server did not come up:\n{}", self.log()),
            }
        }
        panic!("the server could not bind a port:\n{}", self.log());
    }

    /// Ok once `/healthz` answers 200; Err(true) if the process exited first.
    fn wait_healthy(&mut self) -> Result<(), bool> {
        let deadline = Instant::now() + START_TIMEOUT;
        let probe = Client::builder().timeout(Duration::from_secs(2)).build().expect("probe client");
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && child.try_wait().expect("try_wait").is_some()
            {
                self.child = None;
                return Err(true);
            }
            if let Ok(response) = probe.get(self.url("/healthz")).send()
                && response.status() == 200
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(false)
    }

    /// SIGKILL, as a crash would: nothing of the server's shutdown runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server (SIGKILL) if it runs and starts it again on the same
    /// data directory (a new port).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// A token from `sandflow token` with the default scopes (all of them).
    pub fn token(&self, tenant: &str) -> String {
        token_for(&self.data_dir, tenant, None, None)
    }

    /// A token with exactly `scope` (space-separated).
    pub fn token_scoped(&self, tenant: &str, scope: &str) -> String {
        token_for(&self.data_dir, tenant, Some(scope), None)
    }

    /// A token with a lifetime like `1s`.
    pub fn token_ttl(&self, tenant: &str, ttl: &str) -> String {
        token_for(&self.data_dir, tenant, None, Some(ttl))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `path` with the bearer token, if any.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = client().request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        Resp::from(self.request(Method::GET, path, Some(token)).send())
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        Resp::from(self.request(Method::POST, path, Some(token)).json(body).send())
    }

    pub fn put(&self, path: &str, token: &str, body: &Value) -> Resp {
        Resp::from(self.request(Method::PUT, path, Some(token)).json(body).send())
    }

    pub fn delete(&self, path: &str, token: &str) -> Resp {
        Resp::from(self.request(Method::DELETE, path, Some(token)).send())
    }

    /// `POST /v1/workflows/execute`.
    pub fn execute(&self, token: &str, body: &Value) -> Resp {
        self.post("/v1/workflows/execute", token, body)
    }

    /// `GET /v1/executions/{id}` until `done` holds for the body.
    pub fn poll_execution(&self, token: &str, id: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            // The server may be restarting: a refused connection is retried.
            if let Ok(response) = self.request(Method::GET, &format!("/v1/executions/{id}"), Some(token)).send() {
                let resp = Resp::from(Ok(response));
                if resp.status == 200 {
                    if done(&resp.json) {
                        return resp.json;
                    }
                    last = resp.json;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("execution {id} did not get there within {timeout:?}; last seen: {last:#}\nserver log:\n{}", self.log());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking()
            && let Some(dir) = self.data_dir.parent()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A running `sandflow worker` on a PostgreSQL database.
pub struct Worker {
    child: Option<Child>,
    /// The worker's ID in the queue (`jobs.worked_by`).
    pub id: String,
    log: PathBuf,
}

impl Worker {
    /// Starts `sandflow worker --worker-id id --database-url url` with
    /// `global_args` and extra `worker_args`, and waits until it says it is ready.
    pub fn start(id: &str, database_url: &str, global_args: &[&str], worker_args: &[&str]) -> Worker {
        let dir = scratch_dir(&format!("worker-{id}"));
        let log = dir.join("worker.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_sandflow"));
        command
            .arg("--cache-dir")
            .arg(sandflow_tests::component_cache_dir())
            .args(global_args)
            .arg("worker")
            .arg("--worker-id")
            .arg(id)
            .arg("--database-url")
            .arg(database_url)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(worker_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(File::create(&log).expect("worker log")));
        let mut worker = Worker { child: Some(spawn_tied_to_this_process(command)), id: id.to_string(), log };
        let deadline = Instant::now() + START_TIMEOUT;
        while !worker.log().contains(" ready ") {
            let exited = worker.child.as_mut().and_then(|child| child.try_wait().expect("try_wait"));
            assert!(exited.is_none(), "worker {id} exited ({exited:?}):\n{}", worker.log());
            assert!(Instant::now() < deadline, "worker {id} did not get ready:\n{}", worker.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        worker
    }

    /// The worker's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no heartbeat, no completion, nothing of a shutdown runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the process to exit and returns how it did.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the worker runs");
        let pid = i32::try_from(child.id()).expect("pid");
        // SAFETY: signals a child process of ours that has not been reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM sent");
        child.wait().expect("the worker exits")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking()
            && let Some(dir) = self.log.parent()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs `sandflow token` against the secret in `data_dir` (creating one if
/// there is none: that is how a token of another server is made).
pub fn token_for(data_dir: &Path, tenant: &str, scope: Option<&str>, ttl: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandflow"));
    command.arg("token").arg("--data-dir").arg(data_dir).arg("--tenant").arg(tenant);
    if let Some(scope) = scope {
        command.arg("--scope").arg(scope);
    }
    if let Some(ttl) = ttl {
        command.arg("--ttl").arg(ttl);
    }
    let out = command.output().expect("sandflow token runs");
    assert!(out.status.success(), "sandflow token failed: {}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf-8 token").trim().to_string();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");
    token
}

/// A response read whole: status, headers, text and the JSON it parses to
/// (`Null` when it is not JSON).
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl From<reqwest::Result<reqwest::blocking::Response>> for Resp {
    fn from(result: reqwest::Result<reqwest::blocking::Response>) -> Self {
        let response = result.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().expect("the body reads");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, text, json }
    }
}

impl Resp {
    /// The JSON body, after checking the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self.json
    }

    /// Checks the error envelope `{success: false, error, code}`.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert_eq!(self.json["success"], false, "{}", self.text);
        assert!(self.json["error"].as_str().is_some_and(|e| !e.is_empty()), "no error message: {}", self.text);
        assert_eq!(self.json["code"], code, "{}", self.text);
        self.json
    }

    /// The content type, or "".
    pub fn content_type(&self) -> &str {
        self.headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

type Hits = Arc<Mutex<HashMap<String, u32>>>;

/// An HTTP server in this process that counts hits per path and answers
/// the first hit of `slow` only after `delay`.
pub struct HitServer {
    port: u16,
    hits: Hits,
}

/// What the hit server delays: the path id, how long, and whether every hit
/// (not only the first).
type Slow = (&'static str, Duration, bool);

impl HitServer {
    pub fn start(slow: &'static str, delay: Duration) -> HitServer {
        Self::start_with((slow, delay, false))
    }

    /// A hit server that answers every hit of `slow` only after `delay`.
    pub fn start_hanging(slow: &'static str, delay: Duration) -> HitServer {
        Self::start_with((slow, delay, true))
    }

    fn start_with(slow: Slow) -> HitServer {
        let hits = Hits::default();
        let (port_sender, port) = std::sync::mpsc::channel();
        let state = (hits.clone(), slow);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                port_sender.send(listener.local_addr().expect("addr").port()).expect("port");
                let app = Router::new().route("/hit/{id}", get(hit)).with_state(state);
                axum::serve(listener, app).await.expect("hit server");
            });
        });
        HitServer { port: port.recv().expect("hit server port"), hits }
    }

    /// The URL of `/hit/{id}`.
    pub fn url(&self, id: &str) -> String {
        format!("http://127.0.0.1:{}/hit/{id}", self.port)
    }

    /// Waits until `/hit/{id}` was hit at least once.
    #[track_caller]
    pub fn wait_for_hit(&self, id: &str, server: &Server) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.count(id) == 0 {
            assert!(Instant::now() < deadline, "{id} was never called; server log:\n{}", server.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Hits of `/hit/{id}` so far (counted when the request arrives).
    pub fn count(&self, id: &str) -> u32 {
        self.hits.lock().expect("hits").get(id).copied().unwrap_or(0)
    }
}

async fn hit(
    State((hits, (slow, delay, every))): State<(Hits, Slow)>,
    UrlPath(id): UrlPath<String>,
) -> axum::Json<Value> {
    let count = {
        let mut hits = hits.lock().expect("hits");
        let count = hits.entry(id.clone()).or_default();
        *count += 1;
        *count
    };
    if id == slow && (count == 1 || every) {
        tokio::time::sleep(delay).await;
    }
    axum::Json(json!({"block": id, "hit": count}))
}

/// Hits of one path of a [`CrashHitServer`]: those that arrived before
/// [`CrashHitServer::restarting`] was called, and those after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EpochHits {
    pub before: u32,
    pub after: u32,
}

impl EpochHits {
    pub fn total(self) -> u32 {
        self.before + self.after
    }
}

/// When a [`CrashHitServer`] SIGKILLs a process: on the `nth` hit of a
/// path ending with `suffix`.
struct KillTrigger {
    pid: i32,
    suffix: String,
    nth: u32,
    seen: u32,
}

struct CrashHits {
    delay: Duration,
    hits: Mutex<HashMap<String, EpochHits>>,
    after_restart: std::sync::atomic::AtomicBool,
    trigger: Mutex<Option<KillTrigger>>,
    killed: (Mutex<bool>, std::sync::Condvar),
    last_hit: Mutex<Option<Instant>>,
    /// Per path, answers released while the killed process still lived.
    answered_before_kill: Mutex<HashMap<String, u32>>,
}

/// An HTTP server in this process for crash tests: it counts the hits of
/// every `/hit/{id}` separately before and after a restart, answers each
/// one only after `delay` with `{"id", "hit", "epoch"}` (`hit`: the path's
/// hits so far, `epoch`: 0 before the restart, 1 after), and can SIGKILL a
/// process at the exact moment a given hit arrives, before answering it.
pub struct CrashHitServer {
    port: u16,
    state: Arc<CrashHits>,
}

impl CrashHitServer {
    pub fn start(delay: Duration) -> CrashHitServer {
        let state = Arc::new(CrashHits {
            delay,
            hits: Mutex::default(),
            after_restart: std::sync::atomic::AtomicBool::new(false),
            trigger: Mutex::default(),
            killed: (Mutex::new(false), std::sync::Condvar::new()),
            last_hit: Mutex::default(),
            answered_before_kill: Mutex::default(),
        });
        let (port_sender, port) = std::sync::mpsc::channel();
        let app_state = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                port_sender.send(listener.local_addr().expect("addr").port()).expect("port");
                let app = Router::new().route("/hit/{id}", get(crash_hit)).with_state(app_state);
                axum::serve(listener, app).await.expect("crash hit server");
            });
        });
        CrashHitServer { port: port.recv().expect("crash hit server port"), state }
    }

    /// The URL of `/hit/{id}` (`id` may hold references, such as `<start.key>-a1`).
    pub fn url(&self, id: &str) -> String {
        format!("http://127.0.0.1:{}/hit/{id}", self.port)
    }

    /// SIGKILLs `pid` when the `nth` hit (from 1) of a path ending with
    /// `suffix` arrives, before that hit is answered.
    pub fn kill_on(&self, pid: u32, suffix: &str, nth: u32) {
        let pid = i32::try_from(pid).expect("pid");
        *self.state.trigger.lock().expect("trigger") =
            Some(KillTrigger { pid, suffix: suffix.to_string(), nth, seen: 0 });
    }

    /// Whether the kill of [`CrashHitServer::kill_on`] happened.
    pub fn killed(&self) -> bool {
        *self.state.killed.0.lock().expect("killed")
    }

    /// Waits up to `timeout` for the kill; false if it did not happen.
    pub fn wait_killed(&self, timeout: Duration) -> bool {
        let (lock, condvar) = &self.state.killed;
        let guard = lock.lock().expect("killed");
        let (guard, _) = condvar.wait_timeout_while(guard, timeout, |killed| !*killed).expect("killed");
        *guard
    }

    /// Waits until no hit has arrived for `quiet` (at most `timeout`), so that
    /// requests a killed process sent before it died are counted before the
    /// restart.
    pub fn wait_quiet(&self, quiet: Duration, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let last = *self.state.last_hit.lock().expect("last hit");
            if last.is_none_or(|last| last.elapsed() >= quiet) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// From now on hits count as after the restart.
    pub fn restarting(&self) {
        self.state.after_restart.store(true, Ordering::SeqCst);
    }

    /// The hits of `/hit/{id}` so far (counted when the request arrives).
    pub fn hits(&self, id: &str) -> EpochHits {
        self.state.hits.lock().expect("hits").get(id).copied().unwrap_or_default()
    }

    /// How many answers to `/hit/{id}` were released before the kill (the
    /// caller may still have died before reading them).
    pub fn answered_before_kill(&self, id: &str) -> u32 {
        self.state.answered_before_kill.lock().expect("answered").get(id).copied().unwrap_or(0)
    }

    /// Every path's hits so far.
    pub fn all_hits(&self) -> HashMap<String, EpochHits> {
        self.state.hits.lock().expect("hits").clone()
    }
}

async fn crash_hit(State(state): State<Arc<CrashHits>>, UrlPath(id): UrlPath<String>) -> axum::Json<Value> {
    let (hit, epoch) = {
        let mut hits = state.hits.lock().expect("hits");
        let after = state.after_restart.load(Ordering::SeqCst);
        let counts = hits.entry(id.clone()).or_default();
        if after {
            counts.after += 1;
        } else {
            counts.before += 1;
        }
        let hit = counts.total();
        *state.last_hit.lock().expect("last hit") = Some(Instant::now());
        // Still under the lock of the counts: what they say at the kill is exact.
        let mut trigger = state.trigger.lock().expect("trigger");
        if let Some(trigger) = trigger.as_mut()
            && id.ends_with(&trigger.suffix)
        {
            trigger.seen += 1;
            if trigger.seen == trigger.nth {
                // The flag's lock is held across the kill, so an answer is either released
                // before the kill or seen as after it.
                let (lock, condvar) = &state.killed;
                let mut killed = lock.lock().expect("killed");
                // SAFETY: signals a child process of this test; the harness reaps it.
                if unsafe { libc::kill(trigger.pid, libc::SIGKILL) } == 0 {
                    *killed = true;
                    condvar.notify_all();
                } else {
                    eprintln!("SIGKILL of {} failed: {}", trigger.pid, std::io::Error::last_os_error());
                }
            }
        }
        (hit, u32::from(after))
    };
    tokio::time::sleep(state.delay).await;
    // Under the lock of the kill flag: an answer counted here was released before the kill.
    let killed = state.killed.0.lock().expect("killed");
    if !*killed {
        *state.answered_before_kill.lock().expect("answered").entry(id.clone()).or_default() += 1;
    }
    drop(killed);
    axum::Json(json!({"id": id, "hit": hit, "epoch": epoch}))
}
