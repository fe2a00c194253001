//! The service every connection shares: configuration, the current engine (swapped on reload),
//! the store, metrics — and the two jobs it delegates: the conversation hub (`hub.rs`: live
//! conversations, their locks, watchers) and the timers (`timers.rs`). What happens to a turn
//! is `turn.rs`; the other conversation requests are `conversation.rs`.
//!
//! Lifecycle and primitives:
//! - `engine`: `std::sync::RwLock<Arc<Engine>>`. A turn clones the `Arc` once (a read lock held
//!   for nanoseconds, never across an await) and is analysed entirely by that engine; a reload
//!   compiles off-thread and swaps the `Arc` under the write lock. Old engines die with their last
//!   turn. (arc-swap would avoid the lock word, but the lock is uncontended and std suffices.)
//! - `reload_lock` / `labels_lock`: tokio mutexes held across the compile / file append awaits,
//!   one reload and one labelling-queue write at a time.
//! - `me`: a `Weak` to itself, for tasks spawned from `&self` (timers, order lookups, detached
//!   writes): they never keep a stopped service alive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use huashu_engine::Engine;
use huashu_store::{EventsWrite, NewEvent, SlaWrite, Write};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::admission::Admission;
use crate::auth::Role;
use crate::config::Config;
use crate::db::Db;
use crate::hub::{Conversation, Hub, Inner, Locked, Summary};
use crate::logid::LogId;
use crate::metrics::Metrics;
use crate::protocol::{ClientError, ErrorCode, to_json};
use crate::timers::Timers;

/// Who is on the other end of an authenticated connection.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) role: Role,
    pub(crate) shop: String,
    pub(crate) agent: Option<String>,
    /// Which conversations its turns may go to (`claim.rs`): every one of the shop for
    /// server-side tokens, its own for a public widget token.
    pub(crate) claim: crate::claim::Claim,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    engine: RwLock<Arc<Engine>>,
    /// Serialises reloads (two compiles at once would only waste CPU).
    reload_lock: Mutex<()>,
    /// One labelling-queue write at a time (`labels`): two appends must not interleave lines.
    pub(crate) labels_lock: Mutex<()>,
    /// The conversation hub: live conversations and watchers.
    pub(crate) conversations: Hub,
    pub(crate) timers: Timers,
    pub(crate) db: Arc<Db>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) admission: Arc<Admission>,
    /// The shop's order API client (cache, breaker), when one is configured.
    pub(crate) orders: Option<Arc<crate::orders::Orders>>,
    next_conn_id: AtomicU64,
    pub(crate) me: Weak<Shared>,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ClientError {
    tracing::error!(error = %e, "internal error");
    ClientError::new(
        ErrorCode::Internal,
        "storage failure; not acknowledged, retry",
    )
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        engine: Arc<Engine>,
        db: Db,
        metrics: Arc<Metrics>,
    ) -> Arc<Shared> {
        let orders = config
            .order_api
            .clone()
            .map(|api| Arc::new(crate::orders::Orders::new(api)));
        let db = Arc::new(db);
        Arc::new_cyclic(|me| Shared {
            orders,
            timers: Timers::new(config.sla, me.clone()),
            config,
            engine: RwLock::new(engine),
            reload_lock: Mutex::new(()),
            labels_lock: Mutex::new(()),
            conversations: Hub::new(Arc::clone(&db)),
            db,
            metrics,
            admission: Arc::new(Admission::default()),
            next_conn_id: AtomicU64::new(1),
            me: me.clone(),
        })
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The engine for one unit of work (a turn, a draft): clone once, use throughout.
    pub(crate) fn engine(&self) -> Arc<Engine> {
        match self.engine.read() {
            Ok(e) => Arc::clone(&e),
            // A poisoned lock still holds a valid Arc (the swap is a single assignment).
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Runs the publishing gate (`publish::gate`, i.e. `huashu check` without stored chats)
    /// on the book directory against the running book and swaps the result in; a refused book
    /// keeps the old engine and returns the report (reasons and file:line problems).
    /// `POST /api/reload` and SIGHUP both come here.
    pub(crate) async fn reload(
        &self,
    ) -> Result<huashu_phrasebook::BookMeta, Box<huashu_engine::CheckReport>> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let dir = self.config.phrasebooks.clone();
        let corpus = self.config.check_corpus.clone();
        let current = self.engine();
        let report = tokio::task::spawn_blocking(move || {
            crate::publish::gate(&dir, &current, &corpus, Vec::new())
        })
        .await;
        let mut report = match report {
            Ok(r) => r,
            Err(e) => {
                self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "the publishing gate panicked; keeping the current book");
                return Err(Box::new(huashu_engine::CheckReport {
                    ok: false,
                    refusals: vec![huashu_engine::Refusal {
                        kind: huashu_engine::RefusalKind::Lint,
                        message: format!("检查失败：{e}"),
                    }],
                    problems: Vec::new(),
                    published: String::new(),
                    candidate: None,
                    evals: Vec::new(),
                    diff: None,
                    engine: None,
                }));
            }
        };
        match report.engine.take() {
            Some(engine) if report.ok => {
                let meta = engine.meta().clone();
                let engine = Arc::new(engine);
                match self.engine.write() {
                    Ok(mut slot) => *slot = engine,
                    Err(p) => *p.into_inner() = engine,
                }
                self.metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
                tracing::info!(book = %meta.name, hash = %meta.hash, "phrasebook reloaded");
                Ok(meta)
            }
            _ => {
                self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
                let message = report.summary();
                tracing::warn!(%message, "phrasebook refused; keeping the current book");
                Err(Box::new(report))
            }
        }
    }

    /// Locks conversation `id` of `shop` (creating and loading it as needed). Every lookup a
    /// client can cause goes through here with its session's shop, so one shop never reaches,
    /// claims or learns about another shop's conversation of the same id.
    pub(crate) async fn lock_in(&self, shop: &str, id: &str) -> Result<Locked, ClientError> {
        self.lock(&huashu_store::conversation_key(shop, id)).await
    }

    /// Locks a conversation by its key (`huashu_store::conversation_key`); one just read back
    /// from the database gets its timers re-armed.
    pub(crate) async fn lock(&self, key: &str) -> Result<Locked, ClientError> {
        let ((slot, mut inner), resume) = self.conversations.lock(key, &self.engine()).await?;
        if let Some(resume) = resume {
            self.timers.resume(&slot, &mut inner, resume);
        }
        Ok((slot, inner))
    }

    /// After a start: loads every stored conversation that has a timer to re-arm (a waiting
    /// customer, a promised follow-up), so their clocks run even if no client touches them.
    pub(crate) fn resume_timers(self: &Arc<Self>) {
        let shared = Arc::clone(self);
        tokio::spawn(async move {
            let ids = match shared
                .db
                .read(|store| store.conversations_with_timers())
                .await
            {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the conversations with timers");
                    return;
                }
            };
            let n = ids.len();
            for id in ids {
                match shared.lock(&id).await {
                    Ok((slot, inner)) => shared.conversations.release(&slot, inner),
                    Err(e) => {
                        tracing::warn!(conversation = %LogId::of(huashu_store::client_id(&id)), error = %e.message, "not resumed")
                    }
                }
            }
            if n > 0 {
                tracing::info!(conversations = n, "timers re-armed after start");
            }
        });
    }

    /// Stores events no turn caused (a refreshed list, a resolve, an order, a timer) with the
    /// conversation's new summary in one write, then pushes them to subscribers and the summary
    /// to watchers (caller holds the lock). False when nothing was stored (then nothing changed).
    pub(crate) async fn commit_events(
        &self,
        slot: &Conversation,
        inner: &mut Inner,
        events: Vec<NewEvent>,
        mut summary: Summary,
        sla: Option<SlaWrite>,
    ) -> bool {
        let (Some(shop), Some(last)) = (inner.shop.clone(), events.last().map(|e| e.seq)) else {
            return false;
        };
        summary.seq = last;
        summary.updated_at = now_ms();
        let frames: Vec<(Utf8Bytes, String)> = events
            .iter()
            .map(|e| (Utf8Bytes::from(e.payload.as_str()), e.kind.clone()))
            .collect();
        let write = Write::Events(EventsWrite {
            conversation: slot.key.clone(),
            shop: shop.clone(),
            at: now_ms(),
            book: self.engine().meta().hash.clone(),
            events,
            summary: Some(to_json(&summary)),
            sla,
        });
        if let Err(e) = self.db.write(write).await {
            tracing::warn!(conversation = %LogId::of(&slot.id), error = %e, "event not stored");
            return false;
        }
        inner.last_seq = last;
        for (frame, kind) in &frames {
            inner.broadcast(frame);
            self.metrics.event(kind);
        }
        let summary_frame = Utf8Bytes::from(summary.frame());
        inner.summary = summary;
        self.conversations.notify_watchers(&shop, &summary_frame);
        true
    }
}
