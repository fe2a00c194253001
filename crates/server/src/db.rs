//! The database seen from async code: one writer thread doing group commit, and reader
//! connections on tokio's blocking pool. Both backends (`huashu_store::Location`: an SQLite
//! file or PostgreSQL) run the same way; only SQLite has the checkpointer described below.
//!
//! PostgreSQL: the writer's batch is one transaction as well; a connection PostgreSQL closed
//! (restart, network) is replaced before the next batch (the batch it broke was answered with
//! an error, so nothing unstored was acked), and a broken reader is dropped, not pooled.
//!
//! Why a dedicated writer thread: SQLite allows one writer at a time and every commit costs a WAL
//! append; batching all writes that arrive while the previous transaction commits (group commit)
//! turns thousands of turns per second into a few hundred transactions, and keeps blocking I/O
//! off the async workers. Each write still succeeds or fails on its own (savepoints in
//! `Store::apply`) and its caller is answered only after the commit, so an ack always means
//! "on disk (WAL)".
//!
//! Checkpoints: the writer connection does not auto-checkpoint (its commits then cost a WAL
//! append, no fsync with `synchronous=NORMAL`); a second thread runs a PASSIVE checkpoint from
//! its own connection every 100 ms, which does not block the writer, and a TRUNCATE one at close.
//! That alone never lets the WAL restart under sustained writes: SQLite rewinds the WAL only when
//! a write transaction begins with every frame already copied back, and the background
//! checkpoint always finishes behind a writer that kept committing (measured: a 2.5 GB WAL after
//! 25 s at 5k turns/s). Rewinding therefore needs a pause in commits while the last frames are
//! copied and the database file is synced (≈18 ms at 1k turns/s, mostly the fsync), and the
//! pause can only be shortened or made rarer, not avoided: a RESTART checkpoint from the
//! background connection would hold the write lock just as long, and could be starved of it by
//! a busy writer (SQLite's locks are not fair) or held up by a long reader. So the writer runs a
//! PASSIVE checkpoint itself, between two batches, right after a background run finished (only
//! the frames committed during that run are left to copy; retried after the next run if a
//! reader still held old frames), but only once the background run found the WAL longer than
//! `WAL_RESTART_BYTES`: nothing is appended meanwhile, so it completes, and the next commit
//! starts the WAL from the beginning again. That bounds the WAL at about `WAL_RESTART_BYTES`
//! plus 100 ms of writes, and makes the pause a rare one (every few seconds at 1k turns/s
//! instead of once a second). The commits it delays are visible in
//! `huashu_wal_checkpoint_seconds`.
//!
//! Lifecycle: `Db::open` starts the threads; `Db::close` stops accepting writes, lets the thread
//! commit what is queued and joins it (graceful shutdown flushes everything that was acked or
//! queued). Readers are pooled in a `std::sync::Mutex<Vec<Store>>`: the lock is held only to
//! push or pop a connection, never across an await or a query.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use huashu_store::{Durability, Location, Store, Write};
use tokio::sync::{mpsc, oneshot};

use crate::Error;
use crate::metrics::Metrics;

/// Writes waiting for the writer; producers wait (backpressure) when it is full.
const QUEUE: usize = 8192;
/// Most writes in one transaction.
const MAX_BATCH: usize = 1024;
/// How often committed WAL frames are copied into the database file (off the commit path).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// WAL length from which the writer completes a checkpoint itself so the WAL restarts.
const WAL_RESTART_BYTES: u64 = 128 * 1024 * 1024;
/// The writer's page cache (grows only as pages are used).
const WRITER_CACHE_KIB: u32 = 64 * 1024;
/// Idle reader connections kept.
const MAX_IDLE_READERS: usize = 8;

type Reply = oneshot::Sender<Result<(), huashu_store::Error>>;

struct Job {
    write: Write,
    reply: Option<Reply>,
}

#[derive(Debug)]
pub(crate) struct Db {
    location: Location,
    durability: Durability,
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Dropping it stops the checkpointer thread.
    checkpoint_stop: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    checkpointer: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Store>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl Db {
    pub(crate) fn open(
        location: &Location,
        durability: Durability,
        metrics: Arc<Metrics>,
    ) -> Result<Db, Error> {
        Db::open_with(location, durability, metrics, WAL_RESTART_BYTES)
    }

    /// `open` with the WAL length from which the writer rewinds it (tests use a small one).
    pub(crate) fn open_with(
        location: &Location,
        durability: Durability,
        metrics: Arc<Metrics>,
        wal_restart_bytes: u64,
    ) -> Result<Db, Error> {
        let Some(path) = location.sqlite_path() else {
            return Db::open_postgres(location, durability, metrics);
        };
        let mut store = Store::open(path, durability)?;
        store.disable_auto_checkpoint()?;
        store.set_cache_kib(WRITER_CACHE_KIB)?;
        let frame_bytes = store.page_size()?.max(1);
        let restart_frames = i64::try_from(wal_restart_bytes / frame_bytes).unwrap_or(i64::MAX);
        let checkpoint_store = Store::open(path, durability)?;
        // Set by the background checkpointer after each run: the writer's own checkpoint is
        // cheapest right then (only frames committed during that run are left to copy).
        let caught_up = Arc::new(AtomicBool::new(false));
        let caught_up_tx = Arc::clone(&caught_up);
        // The WAL's length in frames as the last background run found it.
        let wal_frames = Arc::new(AtomicI64::new(0));
        let wal_frames_tx = Arc::clone(&wal_frames);
        let (checkpoint_stop, stop_rx) = std::sync::mpsc::channel::<()>();
        let checkpointer = std::thread::Builder::new()
            .name("huashu-db-checkpoint".into())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                loop {
                    let stopping = match stop_rx.recv_timeout(CHECKPOINT_EVERY) {
                        Err(RecvTimeoutError::Timeout) => false,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    let outcome = if stopping {
                        checkpoint_store.checkpoint_truncate().map(|()| 0)
                    } else {
                        checkpoint_store.checkpoint_passive()
                    };
                    match outcome {
                        // The writer's own checkpoint held the lock: nothing learnt.
                        Ok(-1) => {}
                        Ok(frames) => {
                            wal_frames_tx.store(frames, Ordering::Relaxed);
                            caught_up_tx.store(true, Ordering::Release);
                        }
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                    }
                    if stopping {
                        break;
                    }
                }
            })?;
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let writer = std::thread::Builder::new()
            .name("huashu-db-writer".into())
            .spawn(move || {
                let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
                while let Some(first) = rx.blocking_recv() {
                    batch.push(first);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    commit(&mut store, &mut batch, &metrics);
                    if wal_frames.load(Ordering::Relaxed) >= restart_frames
                        && caught_up.swap(false, Ordering::Acquire)
                    {
                        // Incomplete (the background checkpoint held the lock, or a reader
                        // needs old frames): try again after the next background run.
                        let started = Instant::now();
                        match store.checkpoint_complete() {
                            Ok(true) => wal_frames.store(0, Ordering::Relaxed),
                            Ok(false) => {}
                            Err(e) => tracing::debug!(error = %e, "writer checkpoint failed"),
                        }
                        metrics.wal_checkpoint.observe(started.elapsed());
                    }
                }
                tracing::debug!("database writer stopped");
            })?;
        Ok(Db {
            location: location.clone(),
            durability,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            checkpoint_stop: Mutex::new(Some(checkpoint_stop)),
            checkpointer: Mutex::new(Some(checkpointer)),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// The PostgreSQL writer: the same group commit, no checkpoints; a connection that broke
    /// is replaced before the next batch (retrying once a second while PostgreSQL is away).
    fn open_postgres(
        location: &Location,
        durability: Durability,
        metrics: Arc<Metrics>,
    ) -> Result<Db, Error> {
        let mut store = Store::connect(location, durability)?;
        let reconnect_to = location.clone();
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let writer = std::thread::Builder::new()
            .name("huashu-db-writer".into())
            .spawn(move || {
                let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
                while let Some(first) = rx.blocking_recv() {
                    batch.push(first);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    if store.is_broken() {
                        match Store::connect(&reconnect_to, durability) {
                            Ok(s) => {
                                tracing::info!("database connection re-established");
                                store = s;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "database unavailable; batch refused");
                                let msg = e.to_string();
                                for reply in batch.drain(..).filter_map(|j| j.reply) {
                                    let _ = reply
                                        .send(Err(huashu_store::Error::Transaction(msg.clone())));
                                }
                                std::thread::sleep(std::time::Duration::from_millis(200));
                                continue;
                            }
                        }
                    }
                    commit(&mut store, &mut batch, &metrics);
                }
                tracing::debug!("database writer stopped");
            })?;
        Ok(Db {
            location: location.clone(),
            durability,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            checkpoint_stop: Mutex::new(None),
            checkpointer: Mutex::new(None),
            readers: Mutex::new(Vec::new()),
        })
    }

    fn sender(&self) -> Option<mpsc::Sender<Job>> {
        self.tx.lock().ok().and_then(|g| g.clone())
    }

    /// Queues a write and waits until it is committed.
    pub(crate) async fn write(&self, write: Write) -> Result<(), Error> {
        let tx = self.sender().ok_or(Error::WriterClosed)?;
        let (reply, done) = oneshot::channel();
        tx.send(Job {
            write,
            reply: Some(reply),
        })
        .await
        .map_err(|_| Error::WriterClosed)?;
        #[cfg(not(test))]
        let outcome = done.await;
        // Unit tests run timers under paused time, which auto-advances whenever the runtime
        // idles, including while this thread commits; waiting on the blocking pool tells tokio
        // that work is in flight (spawn_blocking inhibits auto-advance).
        #[cfg(test)]
        let outcome = tokio::task::spawn_blocking(move || done.blocking_recv())
            .await
            .map_err(|_| Error::WriterClosed)?;
        outcome
            .map_err(|_| Error::WriterClosed)?
            .map_err(Error::from)
    }

    /// Queues a write nobody waits for (flagged drafts); logged if it fails.
    pub(crate) async fn write_detached(&self, write: Write) {
        let Some(tx) = self.sender() else { return };
        if tx.send(Job { write, reply: None }).await.is_err() {
            tracing::warn!("database writer closed; detached write dropped");
        }
    }

    /// Runs `f` on a reader connection on the blocking pool.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, huashu_store::Error> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let pooled = db.readers.lock().ok().and_then(|mut r| r.pop());
            let store = match pooled {
                Some(s) => s,
                None => Store::connect(&db.location, db.durability)?,
            };
            let result = f(&store);
            if let Ok(mut r) = db.readers.lock()
                && r.len() < MAX_IDLE_READERS
                && !store.is_broken()
            {
                r.push(store);
            }
            result.map_err(Error::from)
        })
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?
    }

    /// Stops accepting writes, commits what is queued and waits for the writer thread.
    pub(crate) async fn close(&self) {
        let tx = self.tx.lock().ok().and_then(|mut g| g.take());
        drop(tx);
        let handle = self.writer.lock().ok().and_then(|mut g| g.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        // After the last commit: a final checkpoint (truncating the WAL) and stop.
        drop(self.checkpoint_stop.lock().ok().and_then(|mut g| g.take()));
        let handle = self.checkpointer.lock().ok().and_then(|mut g| g.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }
}

fn commit(store: &mut Store, batch: &mut Vec<Job>, metrics: &Metrics) {
    let (writes, replies): (Vec<Write>, Vec<Option<Reply>>) =
        batch.drain(..).map(|j| (j.write, j.reply)).unzip();
    let started = Instant::now();
    let outcome = store.apply(&writes);
    metrics.commit.observe(started.elapsed());
    match outcome {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                if let Err(e) = &result {
                    tracing::warn!(error = %e, "write failed");
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, writes = writes.len(), "group commit failed");
            let msg = e.to_string();
            for reply in replies.into_iter().flatten() {
                let _ = reply.send(Err(huashu_store::Error::Transaction(msg.clone())));
            }
        }
    }
}
