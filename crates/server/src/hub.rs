//! The conversation hub: every live conversation (its lock, its in-memory state, its
//! subscribers) and the consoles watching a shop's conversation list.
//!
//! Lifecycle and primitives:
//! - `conversations`: `DashMap<key, Arc<Conversation>>`, sharded so lookups of different
//!   conversations do not contend. Each `Conversation` holds a `tokio::sync::Mutex<Inner>`: the
//!   turns of one conversation are processed in order (the lock is held across the commit
//!   await, which is why it is tokio's), different conversations in parallel. A slot is created
//!   on first use, loaded lazily from the database (`load`: the engine's `Chat` rebuilt by
//!   replaying the stored turns, the flags and the wait as stored), and removed only while it
//!   has no turns, no subscribers and no running SLA clock (a removed slot is flagged so a task
//!   that was waiting for its lock retries).
//! - `watchers`: `DashMap<shop, Vec<Outbox>>`: consoles that watch a shop's conversation list.
//!   Pushing is `try_send`, so the shard lock is never held across a wait.
//!
//! The hub knows the store only to load a conversation; it arms no timers (a load returns what
//! to resume, `Shared::lock` hands it to `timers`) and decides nothing about a turn.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use huashu_engine::{Chat, ConversationState, Engine, FeedbackAction, Flags, Wait};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::db::Db;
use crate::logid::LogId;
use crate::outbox::Outbox;
use crate::protocol::{ClientError, ErrorCode, Outbound, SummaryFrame};
use crate::shared::internal;
use crate::timers::SlaClock;

/// The conversation-list entry pushed to watchers (`conversation` frames) and stored with the
/// conversation (the `conversations` snapshot after a restart). Its flags are the engine's
/// (`Summary::show`), never computed here.
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
    /// `Flags::urgent`.
    pub(crate) urgent: bool,
    /// `Flags::threat`.
    pub(crate) threat: bool,
    /// `Flags::escalation`.
    pub(crate) escalation: bool,
    /// `Flags::escalation_reasons`.
    pub(crate) escalation_reasons: Vec<huashu_engine::EscalationReason>,
    /// `Flags::trend` (added after v1; absent from summaries stored before).
    pub(crate) trend: Option<huashu_engine::Trend>,
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

    /// Shows the engine's flags and wait.
    pub(crate) fn show(&mut self, flags: &Flags, wait: Option<&Wait>) {
        self.urgent = flags.urgent;
        self.threat = flags.threat;
        self.escalation = flags.escalation;
        self.escalation_reasons
            .clone_from(&flags.escalation_reasons);
        self.trend = Some(flags.trend);
        self.safety = Some(flags.safety);
        self.safety_name = flags.safety.map(|k| k.name());
        self.waiting_since = wait.map(|w| w.since_ms);
    }

    /// The flags as stored, for a conversation read back (`replayed`: the state rebuilt from
    /// its turns, whose safety mode stands only when the summary predates safety mode).
    fn flags(&self, replayed: &ConversationState) -> Flags {
        Flags {
            urgent: self.urgent,
            threat: self.threat,
            escalation: self.escalation,
            escalation_reasons: self.escalation_reasons.clone(),
            trend: replayed.trend(),
            safety: self.safety.unwrap_or(replayed.safety()),
        }
    }
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
    /// What the engine remembers between turns (state, flags, wait).
    pub(crate) chat: Chat,
    /// Turn id → seq of its first event (idempotency).
    pub(crate) seen: HashMap<String, u64>,
    pub(crate) subscribers: Vec<Outbox>,
    pub(crate) summary: Summary,
    /// The SLA clock of the current wait, while it runs (see `timers.rs`).
    pub(crate) waiting: Option<SlaClock>,
    /// Bumped per SLA clock, so a clock that fires while being stopped does nothing.
    pub(crate) generation: u64,
    /// Unmasked personal values of recent customer turns, for `reveal` (see `personal.rs`).
    pub(crate) personal: crate::personal::PersonalValues,
    /// The latest customer turn (id, text): what a refreshed suggestion list is ranked for.
    pub(crate) last_customer: Option<(String, String)>,
    /// The digest of the widget visitor key the conversation is bound to (stored with its
    /// first turn; see `claim.rs`).
    pub(crate) visitor: Option<[u8; 32]>,
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

/// What a conversation read back from the database had running: its timers died with the
/// process, `timers::Timers::resume` arms them again.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    /// The wait's first customer turn, when the customer is waiting.
    pub(crate) waiting_turn: Option<String>,
    pub(crate) follow_ups: Vec<huashu_store::PendingFollowUp>,
}

/// A conversation as read back from the database by `load`.
struct Loaded {
    shop: String,
    last_seq: u64,
    chat: Chat,
    seen: HashMap<String, u64>,
    summary: Summary,
    resume: Resume,
    last_customer: Option<(String, String)>,
    visitor: Option<[u8; 32]>,
}

#[derive(Debug)]
pub(crate) struct Hub {
    conversations: DashMap<String, Arc<Conversation>>,
    watchers: DashMap<String, Vec<Outbox>>,
    db: Arc<Db>,
}

/// Every live conversation (what a test walks to stop the timers of a service it drops).
impl<'a> IntoIterator for &'a Hub {
    type Item = dashmap::mapref::multiple::RefMulti<'a, String, Arc<Conversation>>;
    type IntoIter = dashmap::iter::Iter<'a, String, Arc<Conversation>>;

    fn into_iter(self) -> Self::IntoIter {
        self.conversations.iter()
    }
}

impl Hub {
    pub(crate) fn new(db: Arc<Db>) -> Hub {
        Hub {
            conversations: DashMap::new(),
            watchers: DashMap::new(),
            db,
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

    /// A live conversation, without creating or loading it.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Conversation>> {
        self.conversations.get(key).map(|c| Arc::clone(&c))
    }

    /// Locks a conversation by its key (`huashu_store::conversation_key`), creating and
    /// loading it as needed; a conversation just read back comes with what to resume.
    pub(crate) async fn lock(
        &self,
        key: &str,
        engine: &Arc<Engine>,
    ) -> Result<(Locked, Option<Resume>), ClientError> {
        loop {
            let slot = self.slot(key);
            let mut inner = Arc::clone(&slot.inner).lock_owned().await;
            if inner.removed {
                continue;
            }
            let resume = if inner.loaded {
                None
            } else {
                self.load(&slot, &mut inner, engine).await?
            };
            return Ok(((slot, inner), resume));
        }
    }

    /// Drops a slot that holds nothing worth keeping (no turns, no subscribers, no clock),
    /// e.g. after a draft, subscribe or analyze on an id that does not exist.
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
    /// and the `Chat` — its `ConversationState` by replaying stored (masked) turns and feedback
    /// through the current engine on the blocking pool, its flags and wait as stored.
    async fn load(
        &self,
        slot: &Arc<Conversation>,
        inner: &mut Inner,
        engine: &Arc<Engine>,
    ) -> Result<Option<Resume>, ClientError> {
        let engine = Arc::clone(engine);
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
                // Flags and safety mode are stored facts: replaying masked turns through a
                // book that may have changed could miss the incident, and cannot see a resolve.
                let flags = summary.flags(&state);
                let wait = summary
                    .waiting_since
                    .zip(waiting_turn.clone())
                    .map(|(since_ms, turn)| Wait { turn, since_ms });
                Ok(Some(Loaded {
                    visitor: rec.visitor,
                    shop: rec.shop,
                    last_seq: rec.last_seq,
                    chat: Chat::restore(state, flags, wait),
                    seen,
                    summary,
                    resume: Resume {
                        waiting_turn,
                        follow_ups,
                    },
                    last_customer,
                }))
            })
            .await
            .map_err(internal)?;
        inner.loaded = true;
        let Some(l) = loaded else {
            return Ok(None);
        };
        inner.last_customer = l.last_customer;
        inner.visitor = l.visitor;
        let _ = slot.owner.set(l.shop.clone());
        inner.shop = Some(l.shop);
        inner.last_seq = l.last_seq;
        inner.chat = l.chat;
        inner.seen = l.seen;
        inner.summary = l.summary;
        tracing::debug!(conversation = %LogId::of(&slot.id), last_seq = l.last_seq, "conversation resumed from the database");
        Ok(Some(l.resume))
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
