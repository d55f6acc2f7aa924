//! The guest's event loop: boa enqueues promise jobs, async jobs and timers here, and
//! [`EventLoop::run`] drives them with a [`Host`], waiting on the host's timer (not spinning)
//! when only timers are left, as boa's own `SimpleJobExecutor` would.

use crate::host::{Host, HttpError, HttpRequest, HttpResponse};
use boa_engine::job::{GenericJob, IntervalJob, Job, JobExecutor, NativeAsyncJob, PromiseJob, TimeoutJob};
use boa_engine::{Context, JsNativeError, JsResult, JsValue};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// A fetch waiting for the loop to send it through the host; the loop fills `reply`.
pub(crate) struct PendingFetch {
    pub request: HttpRequest,
    pub reply: Rc<RefCell<Option<Result<HttpResponse, HttpError>>>>,
}

/// Fetches queued by JavaScript, shared by the `fetch` implementation and the loop.
pub(crate) type FetchQueue = Rc<RefCell<VecDeque<PendingFetch>>>;

enum Timer {
    Timeout(TimeoutJob),
    Interval(IntervalJob),
}

/// The job queues of one run.
#[derive(Default)]
pub struct EventLoop {
    promise_jobs: RefCell<VecDeque<PromiseJob>>,
    generic_jobs: RefCell<VecDeque<GenericJob>>,
    async_jobs: RefCell<Vec<NativeAsyncJob>>,
    /// Keyed by (due time, enqueue order), so equal delays fire in the order they were set.
    timers: RefCell<BTreeMap<(u64, u64), Timer>>,
    timers_enqueued: Cell<u64>,
    /// The loop's view of [`Host::now_ms`], refreshed before each job runs.
    now_ms: Cell<u64>,
    pub(crate) fetches: FetchQueue,
}

impl EventLoop {
    /// Sets the loop's clock to the host's; call before running code that may set timers.
    pub fn sync_clock(&self, host: &dyn Host) {
        self.now_ms.set(host.now_ms());
    }

    fn schedule(&self, delay_ms: u64, timer: Timer) {
        let order = self.timers_enqueued.get();
        self.timers_enqueued.set(order + 1);
        self.timers.borrow_mut().insert((self.now_ms.get().saturating_add(delay_ms), order), timer);
    }

    /// Runs jobs until `settled` says the awaited result is in and no microtask is left, or
    /// nothing is left to run. Timers still pending then are dropped, as Sim's function
    /// returns once its promise settles.
    pub fn run(&self, context: &mut Context, host: &dyn Host, settled: impl Fn() -> bool) -> JsResult<()> {
        let context = RefCell::new(context);
        let mut running: Vec<Pin<Box<dyn Future<Output = JsResult<JsValue>> + '_>>> = Vec::new();
        let mut poll = std::task::Context::from_waker(Waker::noop());
        loop {
            for job in std::mem::take(&mut *self.async_jobs.borrow_mut()) {
                running.push(Box::pin(job.call(&context)));
            }
            // Async jobs only wait on the queues below, so one poll per turn is enough.
            let mut failure = None;
            running.retain_mut(|future| match future.as_mut().poll(&mut poll) {
                Poll::Ready(result) => {
                    if let Err(error) = result {
                        failure.get_or_insert(error);
                    }
                    false
                }
                Poll::Pending => true,
            });
            if let Some(error) = failure {
                return Err(error);
            }
            let promise_jobs = std::mem::take(&mut *self.promise_jobs.borrow_mut());
            let generic_jobs = std::mem::take(&mut *self.generic_jobs.borrow_mut());
            if !promise_jobs.is_empty() || !generic_jobs.is_empty() {
                for job in promise_jobs {
                    job.call(&mut context.borrow_mut())?;
                }
                for job in generic_jobs {
                    job.call(&mut context.borrow_mut())?;
                }
                continue;
            }
            if !self.async_jobs.borrow().is_empty() {
                continue;
            }
            if settled() {
                return Ok(());
            }
            let pending_fetch = self.fetches.borrow_mut().pop_front();
            if let Some(PendingFetch { request, reply }) = pending_fetch {
                *reply.borrow_mut() = Some(host.fetch(&request));
                continue;
            }
            let next_timer = self.timers.borrow_mut().pop_first();
            let Some(((due_ms, _), timer)) = next_timer else {
                return Ok(());
            };
            let cancelled = match &timer {
                Timer::Timeout(job) => job.cancelled(),
                Timer::Interval(job) => job.cancelled(),
            };
            if cancelled {
                continue;
            }
            let now_ms = host.now_ms();
            if due_ms > now_ms && !host.sleep_ms(due_ms - now_ms) {
                return Err(JsNativeError::range()
                    .with_message(format!("a timer of {} ms is longer than a run may wait", due_ms - now_ms))
                    .into());
            }
            self.now_ms.set(host.now_ms().max(due_ms));
            match timer {
                Timer::Timeout(job) => {
                    job.call(&mut context.borrow_mut())?;
                }
                Timer::Interval(job) => {
                    job.call(&mut context.borrow_mut())?;
                    let interval_ms = job.interval().as_millis();
                    self.schedule(interval_ms, Timer::Interval(job));
                }
            }
        }
    }
}

impl JobExecutor for EventLoop {
    fn enqueue_job(self: Rc<Self>, job: Job, _context: &mut Context) {
        match job {
            Job::PromiseJob(job) => self.promise_jobs.borrow_mut().push_back(job),
            Job::GenericJob(job) => self.generic_jobs.borrow_mut().push_back(job),
            Job::AsyncJob(job) => self.async_jobs.borrow_mut().push(job),
            Job::TimeoutJob(job) => self.schedule(job.timeout().as_millis(), Timer::Timeout(job)),
            Job::IntervalJob(job) => self.schedule(job.interval().as_millis(), Timer::Interval(job)),
            // FinalizationRegistry callbacks are optional (ECMA-262 9.13); a run is too short-lived for them.
            _ => {}
        }
    }

    /// Runs the microtasks only: without a [`Host`] there is nothing to wait on.
    fn run_jobs(self: Rc<Self>, context: &mut Context) -> JsResult<()> {
        loop {
            let Some(job) = self.promise_jobs.borrow_mut().pop_front() else {
                return Ok(());
            };
            job.call(context)?;
        }
    }
}
