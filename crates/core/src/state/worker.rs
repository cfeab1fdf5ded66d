//! The thread that owns the state store's SQLite connection.
//!
//! Async callers send it jobs over a channel and await the answer on a oneshot, so no blocking
//! SQLite call (statement, lock wait, fsync) runs on a tokio worker and no lock is held across
//! an await: while the store works, the runtime keeps running other tasks (HTTP calls of other
//! flows and batches). One thread and one connection serialise the writes of every flow of the
//! process, as the mutex did before, and jobs run in the order they were sent.
//!
//! A caller that stops waiting (its future is dropped, e.g. a cancelled run) does not cancel
//! its job: the job runs to its end. That is safe for every job the store sends: a committed
//! intent whose call never happened is an open intent, resolved by lookup on the next run, the
//! same as a crash between intent and call.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The store thread and the sending end of its job queue.
pub(super) struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

fn stopped() -> Error {
    Error::internal("state store: its thread stopped")
}

impl Worker {
    /// Starts the thread; it owns `conn` until the worker is dropped.
    pub(super) fn start(conn: Connection) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("koppel-state".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(job) = rx.recv() {
                    // A job that panics drops its reply sender (its caller gets an error) and
                    // rolls back its open transaction while unwinding; the thread and the
                    // connection stay usable for the next job.
                    let _ = catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
                }
                // The queue is closed: the connection closes here (checkpointing the WAL).
            })
            .map_err(|e| Error::internal(format!("state store: cannot start its thread: {e}")))?;
        Ok(Worker {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    fn submit(&self, job: Job) -> Result<()> {
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())
    }

    /// Runs `f` on the store thread and awaits its result without blocking the runtime.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.submit(Box::new(move |c| {
            let _ = tx.send(f(c));
        }))?;
        rx.await.map_err(|_| stopped())?
    }

    /// Runs `f` on the store thread and blocks the calling thread until it is done (for the few
    /// synchronous helpers; never call it from async code).
    pub(super) fn run_blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(Box::new(move |c| {
            let _ = tx.send(f(c));
        }))?;
        rx.recv().map_err(|_| stopped())?
    }
}

impl Drop for Worker {
    /// Closes the queue and waits for the thread to finish the jobs already sent and close the
    /// connection, so a file reopened after the store is dropped sees everything it committed
    /// (dropping the connection directly did the same work on the dropping thread before).
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}
