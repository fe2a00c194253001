//! State shared by every connection: the engine (swapped on reload), live conversations, shop
//! watchers, the database and metrics.
//!
//! Lifecycle and primitives:
//! - `engine`: `std::sync::RwLock<Arc<Engine>>`. A turn clones the `Arc` once (a read lock held
//!   for nanoseconds, never across an await) and is analysed entirely by that engine; a reload
//!   compiles off-thread and swaps the `Arc` under the write lock. Old engines die with their last
//!   turn. (arc-swap would avoid the lock word, but the lock is uncontended and std suffices.)
//! - `conversations`: `DashMap<id, Arc<Conversation>>`, sharded so lookups of different
//!   conversations do not contend. Each `Conversation` holds a `tokio::sync::Mutex<Inner>`: the
//!   turns of one conversation are processed in order (the lock is held across the commit
//!   await, which is why it is tokio's), different conversations in parallel. A slot is created
//!   on first use, loaded lazily from the database (rebuilding `ConversationState` by replaying
//!   the stored turns through the engine), and removed only while it has no turns and no
//!   subscribers (a removed slot is flagged so a task that was waiting for its lock retries).
//! - `watchers`: `DashMap<shop, Vec<Outbox>>`: consoles that watch a shop's conversation list.
//!   Pushing is `try_send`, so the shard lock is never held across a wait.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};

use dashmap::DashMap;
use huashu_engine::{ConversationState, Engine, FeedbackAction};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::admission::Admission;
use crate::auth::Role;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::protocol::{ClientError, ErrorCode, Outbound, SummaryFrame};

/// A conversation as read back from the database by `load`.
struct Loaded {
    shop: String,
    last_seq: u64,
    state: ConversationState,
    seen: HashMap<String, u64>,
    summary: Summary,
    waiting_turn: Option<String>,
    follow_ups: Vec<huashu_store::PendingFollowUp>,
    last_customer: Option<(String, String)>,
}

/// Who is on the other end of an authenticated connection.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) role: Role,
    pub(crate) shop: String,
    pub(crate) agent: Option<String>,
}

/// The conversation-list entry pushed to watchers (`conversation` frames) and stored with the
/// conversation (the `conversations` snapshot after a restart).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Summary {
    pub(crate) conversation: String,
    pub(crate) shop: String,
    /// Last event seq: clients keep, per conversation, the summary with the highest seq.
    pub(crate) seq: u64,
    pub(crate) turns: u32,
    pub(crate) customer: Option<String>,
    pub(crate) last_role: Option<String>,
    /// Masked, at most 60 chars.
    pub(crate) last_text: Option<String>,
    pub(crate) last_at: Option<i64>,
    pub(crate) intent: Option<String>,
    pub(crate) emotion: Option<String>,
    pub(crate) intensity: Option<f32>,
    /// A customer turn of the current wait was urgent; false again once an agent answers.
    pub(crate) urgent: bool,
    /// Sticky: a customer turn of the conversation was a threat.
    pub(crate) threat: bool,
    /// A customer turn of the current wait asked for escalation (an `escalation` intent), or the
    /// conversation's escalation risk reached `ESCALATION_RISK`. Reset when a new wait starts.
    pub(crate) escalation: bool,
    /// Why `escalation` is up (empty exactly when it is not): see `escalation.rs`.
    pub(crate) escalation_reasons: Vec<crate::escalation::EscalationReason>,
    /// Server time (ms) since when the customer waits for an answer.
    pub(crate) waiting_since: Option<i64>,
    /// `ok`, `warn` or `breach`.
    pub(crate) sla: String,
    /// Safety mode: the incident kind from the first urgent customer turn until an agent
    /// resolves it (`resolve`). Stored with the summary, so it survives a restart. The outer
    /// `None` (field absent) is a summary written before safety mode existed: then the mode
    /// replayed from the stored turns stands; on the wire both read as `null`.
    #[serde(deserialize_with = "present")]
    pub(crate) safety: Option<Option<huashu_phrasebook::UrgentKind>>,
    /// The kind's zh-CN label, for consoles (not read back).
    #[serde(skip_deserializing)]
    pub(crate) safety_name: Option<&'static str>,
    pub(crate) updated_at: i64,
}

/// A field that is present (even as `null`) deserialises to `Some`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

impl Summary {
    /// The `conversation` frame watchers get.
    pub(crate) fn frame(&self) -> String {
        Outbound::Conversation(SummaryFrame { summary: self }).frame()
    }
}

/// A customer turn waiting for an agent answer (SLA clock running).
#[derive(Debug)]
pub(crate) struct Waiting {
    pub(crate) turn: String,
    pub(crate) since: tokio::time::Instant,
    pub(crate) generation: u64,
    pub(crate) timer: tokio::task::AbortHandle,
}

/// Everything about one conversation that must change together, under its lock.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub(crate) loaded: bool,
    pub(crate) removed: bool,
    /// The owning shop: from the first stored turn, or claimed by the first subscriber while
    /// the conversation has no turns yet (so no other shop can start it under the same id).
    pub(crate) shop: Option<String>,
    pub(crate) last_seq: u64,
    pub(crate) state: ConversationState,
    /// Turn id → seq of its first event (idempotency).
    pub(crate) seen: HashMap<String, u64>,
    pub(crate) subscribers: Vec<Outbox>,
    pub(crate) summary: Summary,
    pub(crate) waiting: Option<Waiting>,
    pub(crate) generation: u64,
    /// Unmasked personal values of recent customer turns, for `reveal` (see `personal.rs`).
    pub(crate) personal: crate::personal::PersonalValues,
    /// The latest customer turn (id, text): what a refreshed suggestion list is ranked for.
    pub(crate) last_customer: Option<(String, String)>,
}

impl Inner {
    /// Pushes a frame to every subscriber, dropping the ones that are gone or too slow.
    pub(crate) fn broadcast(&mut self, frame: &Utf8Bytes) {
        self.subscribers.retain(|o| o.push(frame.clone()));
    }
}

#[derive(Debug)]
pub(crate) struct Conversation {
    /// The storage and map key: shop and client id (`huashu_store::conversation_key`).
    pub(crate) key: String,
    /// The client's id, as it appears in frames.
    pub(crate) id: String,
    /// Set once the owner is known; lets drafts check the shop without taking the lock.
    pub(crate) owner: OnceLock<String>,
    pub(crate) inner: Arc<Mutex<Inner>>,
}

pub(crate) type Locked = (Arc<Conversation>, OwnedMutexGuard<Inner>);

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    engine: RwLock<Arc<Engine>>,
    /// Serialises reloads (two compiles at once would only waste CPU).
    reload_lock: Mutex<()>,
    /// One labelling-queue write at a time (`labels`): two appends must not interleave lines.
    pub(crate) labels_lock: Mutex<()>,
    pub(crate) conversations: DashMap<String, Arc<Conversation>>,
    pub(crate) watchers: DashMap<String, Vec<Outbox>>,
    pub(crate) db: Arc<Db>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) admission: Arc<Admission>,
    /// The shop's order API client (cache, breaker), when one is configured.
    pub(crate) orders: Option<Arc<crate::orders::Orders>>,
    next_conn_id: AtomicU64,
    /// For timers spawned from `&self`: they hold a `Weak`, so they never keep a stopped server
    /// alive.
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
        Arc::new_cyclic(|me| Shared {
            orders,
            config,
            engine: RwLock::new(engine),
            reload_lock: Mutex::new(()),
            labels_lock: Mutex::new(()),
            conversations: DashMap::new(),
            watchers: DashMap::new(),
            db: Arc::new(db),
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

    fn slot(&self, key: &str) -> Arc<Conversation> {
        if let Some(c) = self.conversations.get(key) {
            return Arc::clone(&c);
        }
        Arc::clone(
            &self
                .conversations
                .entry(key.to_string())
                .or_insert_with(|| {
                    Arc::new(Conversation {
                        key: key.to_string(),
                        id: huashu_store::client_id(key).to_string(),
                        owner: OnceLock::new(),
                        inner: Arc::new(Mutex::new(Inner::default())),
                    })
                }),
        )
    }

    /// Locks conversation `id` of `shop` (creating and loading it as needed). Every lookup a
    /// client can cause goes through here with its session's shop, so one shop never reaches,
    /// claims or learns about another shop's conversation of the same id.
    pub(crate) async fn lock_in(&self, shop: &str, id: &str) -> Result<Locked, ClientError> {
        self.lock(&huashu_store::conversation_key(shop, id)).await
    }

    /// Locks a conversation by its key (`huashu_store::conversation_key`).
    pub(crate) async fn lock(&self, key: &str) -> Result<Locked, ClientError> {
        loop {
            let slot = self.slot(key);
            let mut inner = Arc::clone(&slot.inner).lock_owned().await;
            if inner.removed {
                continue;
            }
            if !inner.loaded {
                self.load(&slot, &mut inner).await?;
            }
            return Ok((slot, inner));
        }
    }

    /// Drops a slot that holds nothing worth keeping (no turns, no subscribers), e.g. after a
    /// draft, subscribe or analyze on an id that does not exist.
    pub(crate) fn release(&self, slot: &Arc<Conversation>, mut inner: OwnedMutexGuard<Inner>) {
        if inner.last_seq == 0 && inner.subscribers.is_empty() && inner.waiting.is_none() {
            inner.removed = true;
            drop(inner);
            self.conversations
                .remove_if(&slot.key, |_, v| Arc::ptr_eq(v, slot));
        }
    }

    /// Claims or checks ownership: another shop's conversation is `forbidden`.
    pub(crate) fn check_shop(
        slot: &Conversation,
        inner: &mut Inner,
        shop: &str,
        claim: bool,
    ) -> Result<(), ClientError> {
        match &inner.shop {
            Some(owner) if owner == shop => Ok(()),
            Some(_) => Err(ClientError::new(
                ErrorCode::Forbidden,
                "conversation belongs to another shop",
            )),
            None if claim => {
                inner.shop = Some(shop.to_string());
                let _ = slot.owner.set(shop.to_string());
                inner.summary.conversation = slot.id.clone();
                inner.summary.shop = shop.to_string();
                inner.summary.sla = "ok".into();
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Rebuilds a conversation from the database: owner, seq counter, seen turn ids, summary,
    /// and `ConversationState` by replaying stored (masked) turns and feedback through the
    /// current engine, on the blocking pool.
    ///
    /// Timers are tokio tasks, so a restart lost them: they are re-armed here from the stored
    /// state (the SLA clock of an unanswered customer turn, with the levels not yet stored, and
    /// every promised follow-up not yet reminded), firing at once what is already past.
    async fn load(&self, slot: &Arc<Conversation>, inner: &mut Inner) -> Result<(), ClientError> {
        let engine = self.engine();
        let id = slot.key.clone();
        let loaded = self
            .db
            .read(move |store| {
                let Some(rec) = store.conversation(&id)? else {
                    return Ok(None);
                };
                let turns = store.turns(&id)?;
                let feedback = store.feedback(&id)?;
                let mut state = ConversationState::new();
                let mut seen = HashMap::with_capacity(turns.len());
                let follow_ups = store.pending_follow_ups(&id)?;
                // The wait's first customer turn: the first after the last agent turn.
                let mut waiting_turn: Option<String> = None;
                let mut last_customer: Option<(String, String)> = None;
                let mut fb = feedback.into_iter().peekable();
                let apply_fb = |state: &mut ConversationState, f: huashu_store::FeedbackRecord| {
                    let action = match f.action.as_str() {
                        "used" => FeedbackAction::Used,
                        "edited" => FeedbackAction::Edited,
                        _ => FeedbackAction::Dismissed,
                    };
                    state.feedback(&f.script, action);
                };
                for t in turns {
                    while let Some(f) = fb.next_if(|f| f.after_seq < t.seq) {
                        apply_fb(&mut state, f);
                    }
                    if t.role == "agent" {
                        engine.agent_turn(&mut state, &t.text, Some(t.at));
                        waiting_turn = None;
                    } else {
                        engine.customer_turn(&mut state, &t.text, Some(t.at));
                        if waiting_turn.is_none() {
                            waiting_turn = Some(t.id.clone());
                        }
                        last_customer = Some((t.id.clone(), t.text.clone()));
                    }
                    seen.insert(t.id, t.seq);
                }
                for f in fb {
                    apply_fb(&mut state, f);
                }
                let summary = rec
                    .summary
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<Summary>(s).ok())
                    .unwrap_or_default();
                // Safety mode is a stored fact: replaying masked turns through a book that may
                // have changed could miss the incident, and it cannot see a resolve.
                if let Some(kind) = summary.safety {
                    state.restore_safety(kind);
                }
                Ok(Some(Loaded {
                    shop: rec.shop,
                    last_seq: rec.last_seq,
                    state,
                    seen,
                    summary,
                    waiting_turn,
                    follow_ups,
                    last_customer,
                }))
            })
            .await
            .map_err(internal)?;
        if let Some(Loaded {
            shop,
            last_seq,
            state,
            seen,
            summary,
            waiting_turn,
            follow_ups,
            last_customer,
        }) = loaded
        {
            inner.last_customer = last_customer;
            let _ = slot.owner.set(shop.clone());
            inner.shop = Some(shop);
            inner.last_seq = last_seq;
            inner.state = state;
            inner.seen = seen;
            inner.summary = summary;
            tracing::debug!(conversation = %slot.id, last_seq, "conversation resumed from the database");
            self.rearm(slot, inner, waiting_turn, follow_ups);
        }
        inner.loaded = true;
        Ok(())
    }

    /// Re-arms the timers of a conversation just loaded (see `load`).
    fn rearm(
        &self,
        slot: &Arc<Conversation>,
        inner: &mut Inner,
        waiting_turn: Option<String>,
        follow_ups: Vec<huashu_store::PendingFollowUp>,
    ) {
        if let (Some(since), Some(turn)) = (inner.summary.waiting_since, waiting_turn) {
            let elapsed = u64::try_from(now_ms().saturating_sub(since)).unwrap_or(0);
            let emitted = match inner.summary.sla.as_str() {
                "breach" => 2,
                "warn" => 1,
                _ => 0,
            };
            tracing::debug!(conversation = %slot.id, %turn, elapsed, emitted, "SLA clock re-armed");
            self.arm_waiting(
                slot,
                inner,
                turn,
                std::time::Duration::from_millis(elapsed),
                emitted,
            );
        }
        for p in follow_ups {
            let Ok(guard) = serde_json::from_str::<serde_json::Value>(&p.payload) else {
                continue;
            };
            let f = &guard["follow_up"];
            let (Some(due_in_ms), Some(text)) = (f["due_in_ms"].as_i64(), f["text"].as_str())
            else {
                continue;
            };
            let due_at = p.received_at.saturating_add(due_in_ms);
            tracing::debug!(conversation = %slot.id, turn = %p.turn, due_at, "follow-up re-armed");
            let f = huashu_engine::FollowUp {
                due_in_ms,
                text: text.to_string(),
            };
            self.arm_follow_up(slot, p.turn, f, due_at);
        }
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
                    Ok((slot, inner)) => shared.release(&slot, inner),
                    Err(e) => tracing::warn!(conversation = %id, error = %e.message, "not resumed"),
                }
            }
            if n > 0 {
                tracing::info!(conversations = n, "timers re-armed after start");
            }
        });
    }

    /// Pushes a summary frame to the shop's watchers.
    pub(crate) fn notify_watchers(&self, shop: &str, frame: &Utf8Bytes) {
        if let Some(mut list) = self.watchers.get_mut(shop) {
            list.retain(|o| o.push(frame.clone()));
        }
    }

    pub(crate) fn watch(&self, shop: &str, outbox: &Outbox) {
        let mut list = self.watchers.entry(shop.to_string()).or_default();
        if !list.iter().any(|o| o.id == outbox.id) {
            list.push(outbox.clone());
        }
    }

    pub(crate) fn unwatch(&self, shop: &str, conn_id: u64) {
        if let Some(mut list) = self.watchers.get_mut(shop) {
            list.retain(|o| o.id != conn_id);
        }
        self.watchers.remove_if(shop, |_, l| l.is_empty());
    }
}
