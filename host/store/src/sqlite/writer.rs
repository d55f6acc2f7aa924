//! Group commit: one thread owns the only writing connection and commits the writes of many
//! callers in one transaction, so one WAL sync covers every checkpoint and result that arrived
//! while the previous transaction was committing.
//!
//! A write is a closure run on that connection inside its own savepoint: a write that fails
//! rolls back alone, the others of its group still commit. Its caller hears back only after
//! the group's `COMMIT` returned; that is the moment the write is durable, and the moment a
//! checkpoint counts as written (see ARCHITECTURE.md, "When a block counts as finished").

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::backend;
use crate::StoreError;

/// Most writes one transaction takes: a bound on how long the first of them waits for the
/// commit while the group is being written.
const MAX_GROUP: usize = 512;

/// What the writer thread is sent.
enum Message {
    Write(Box<dyn Write>),
    /// Stop once everything sent before is committed; answered when the connection is closed.
    Close(oneshot::Sender<()>),
}

/// One caller's write, type-erased so that writes of any result type share the queue.
trait Write: Send {
    /// Runs the write on the writer's connection, inside the group's transaction.
    fn run(&mut self, connection: &Connection);
    /// Answers the caller once the group's transaction ended: its own result if the group
    /// committed, the commit's error otherwise.
    fn answer(self: Box<Self>, committed: Result<(), &StoreError>);
}

struct PendingWrite<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Write for PendingWrite<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, connection: &Connection) {
        let Some(work) = self.work.take() else { return };
        self.result = Some(in_savepoint(connection, work));
    }

    fn answer(self: Box<Self>, committed: Result<(), &StoreError>) {
        let result = match committed {
            Ok(()) => self.result.unwrap_or_else(|| Err(StoreError::Backend("the write did not run".into()))),
            Err(error) => Err(StoreError::Backend(format!("the transaction did not commit: {error}"))),
        };
        // A caller that stopped waiting (its request went away) needs no answer.
        let _ = self.reply.send(result);
    }
}

/// Runs `work` so that, if it fails, what it wrote is undone and nothing else of the group.
fn in_savepoint<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let statement = |sql: &str| connection.prepare_cached(sql).and_then(|mut s| s.execute([])).map_err(backend);
    statement("SAVEPOINT write")?;
    // A panicking write must not take the only writer (and every later write) with it.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(connection)))
        .unwrap_or_else(|_| Err(StoreError::Backend("a write panicked".into())));
    if result.is_err() {
        statement("ROLLBACK TO write")?;
    }
    statement("RELEASE write")?;
    result
}

/// The handle callers write through; the thread stops when [`Writer::close`] is called or
/// every handle is dropped.
#[derive(Debug)]
pub(super) struct Writer {
    queue: Sender<Message>,
    counts: Arc<GroupCounts>,
}

/// How many transactions the writer committed, and how many writes they held.
#[derive(Debug, Default)]
struct GroupCounts {
    transactions: AtomicU64,
    writes: AtomicU64,
}

impl Writer {
    /// Starts the writer thread on `connection`, which it owns from now on.
    pub(super) fn start(connection: Connection) -> Result<(Self, JoinHandle<()>), StoreError> {
        let (queue, received) = std::sync::mpsc::channel();
        let counts = Arc::new(GroupCounts::default());
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn({
                let counts = counts.clone();
                move || write_groups(connection, received, &counts)
            })
            .map_err(backend)?;
        Ok((Self { queue, counts }, thread))
    }

    /// `(transactions, writes)` committed so far.
    pub(super) fn committed(&self) -> (u64, u64) {
        (self.counts.transactions.load(Ordering::Relaxed), self.counts.writes.load(Ordering::Relaxed))
    }

    /// Runs `work` on the writing connection and answers once its transaction committed.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let write = PendingWrite { work: Some(work), result: None, reply };
        self.queue.send(Message::Write(Box::new(write))).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Commits everything sent before, then closes the connection.
    pub(super) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store is closed".into())
}

/// The writer thread: takes what is queued (at least one write, at most [`MAX_GROUP`]), runs
/// it in one transaction, commits, answers, and starts over.
fn write_groups(connection: Connection, received: Receiver<Message>, counts: &GroupCounts) {
    let mut group: Vec<Box<dyn Write>> = Vec::new();
    let mut close = None;
    while close.is_none() {
        match received.recv() {
            Ok(Message::Write(write)) => group.push(write),
            Ok(Message::Close(done)) => {
                close = Some(done);
                break;
            }
            Err(_) => break,
        }
        while group.len() < MAX_GROUP {
            match received.try_recv() {
                Ok(Message::Write(write)) => group.push(write),
                Ok(Message::Close(done)) => {
                    close = Some(done);
                    break;
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let writes = group.len() as u64;
        if commit_group(&connection, &mut group) {
            counts.transactions.fetch_add(1, Ordering::Relaxed);
            counts.writes.fetch_add(writes, Ordering::Relaxed);
        }
    }
    drop(connection);
    if let Some(done) = close {
        let _ = done.send(());
    }
}

/// Runs a group of writes in one transaction and answers each; true if it committed.
fn commit_group(connection: &Connection, group: &mut Vec<Box<dyn Write>>) -> bool {
    let statement = |sql: &str| connection.prepare_cached(sql).and_then(|mut s| s.execute([])).map_err(backend);
    // IMMEDIATE takes the write lock up front; another process holding it is waited for
    // (busy_timeout) rather than failing half-way.
    let committed = statement("BEGIN IMMEDIATE").and_then(|_| {
        for write in group.iter_mut() {
            write.run(connection);
        }
        statement("COMMIT")
    });
    if committed.is_err() && !connection.is_autocommit() {
        let _ = statement("ROLLBACK");
    }
    let committed = committed.map(|_| ());
    for write in group.drain(..) {
        write.answer(committed.as_ref().map(|_| ()));
    }
    committed.is_ok()
}
