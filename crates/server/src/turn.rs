//! The life of a turn in the service, one short function per step:
//!
//! 1. **validate** — free text other than the turn's own (the customer's name) is masked once,
//!    here, and integrator context is bounded;
//! 2. **lock** — the conversation's lock (`hub.rs`): turns of one conversation are ordered; a
//!    re-sent (conversation, id) is acked with its first seq and changes nothing;
//! 3. **engine step** — `Engine::step` on a copy of the conversation's `Chat`: analysis, flags,
//!    timers, facts — decided by the engine, nothing here;
//! 4. **commit** — the turn, its events and the new summary in one store write (atomic: a turn
//!    is never stored without its events, nor acked before they are);
//! 5. **publish** — the copy becomes the conversation's state, the events go to subscribers and
//!    the summary to the shop's watchers;
//! 6. **arm** — the outcome's timers (`timers.rs`);
//! 7. **ack** — the seq of the turn's first event.
//!
//! If the commit fails nothing has changed (the `Chat` copy is dropped) and the client may retry.
//! Personal values are masked in one layer: `prepare` masks the customer's personal entities at
//! their spans and every stored or pushed payload (`Outbound::masked_frame`); the engine sees the raw text.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use huashu_engine::{
    AgentAnalysis, Analysis, Chat, CustomerAnalysis, Engine, Flags, Timer, Turn, TurnOutcome,
};
use huashu_store::{NewEvent, TurnWrite, Write};
use tokio::sync::OwnedMutexGuard;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::claim::{self, Claim};
use crate::hub::{Conversation, Hub, Inner, Summary};
use crate::personal::PersonalValue;
use crate::protocol::{self, ClientError, Outbound, SafetyMode, Speaker, to_json};
use crate::shared::{Session, Shared, internal, now_ms};

/// A turn as accepted from a widget `turn` or an agent `send`.
#[derive(Debug, Clone)]
pub(crate) struct TurnInput {
    pub(crate) conversation: String,
    pub(crate) id: String,
    pub(crate) speaker: Speaker,
    pub(crate) text: String,
    pub(crate) at: Option<i64>,
    pub(crate) customer: Option<String>,
    /// Agent turns: the agent who sent it (stored with the turn; ignored for customer turns).
    pub(crate) agent: Option<String>,
    /// Customer turns: the catalogue product (sku) the customer is looking at, when the widget
    /// knows it. Kept in the conversation state (not stored: lost on a restart).
    pub(crate) product: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ack {
    pub(crate) seq: u64,
    pub(crate) duplicate: bool,
}

/// A turn's outcome made ready: what changes once its write (`TurnWrite`) is stored.
struct Prepared {
    /// The turn id and the seq of its first event.
    id: String,
    seq: u64,
    /// The state after the turn (replaces the conversation's on commit).
    chat: Chat,
    summary: Summary,
    /// The stored events' payloads, pushed as they are.
    frames: Vec<(Utf8Bytes, String)>,
    timers: Vec<Timer>,
    /// Customer turns: unmasked personal values (memory only, see `personal.rs`), the raw text
    /// a refreshed list is ranked for, and an order number to look up.
    personal: Vec<PersonalValue>,
    customer_text: Option<String>,
    order: Option<String>,
    /// Agent turns: the categories hit (metrics).
    hit_categories: Vec<String>,
}

impl Shared {
    /// Processes one turn: validate → lock → engine step → commit → publish → arm → ack.
    pub(crate) async fn accept_turn(
        &self,
        session: &Session,
        t: TurnInput,
        received: Instant,
    ) -> Result<Ack, ClientError> {
        let t = validate(t);
        let (slot, mut inner) = self.lock_for_turn(session, &t).await?;
        // Before the duplicate check: another visitor must not even learn a turn's seq.
        let claim = claim_visitor(session, &inner)?;
        if let Some(&seq) = inner.seen.get(&t.id) {
            self.metrics.turns_duplicate.fetch_add(1, Relaxed);
            return Ok(Ack {
                seq,
                duplicate: true,
            });
        }
        let engine = self.engine();
        let received_at = now_ms();
        let mut chat = inner.chat.clone();
        let outcome = engine.step(&mut chat, &engine_turn(&t, received_at));
        let seq = inner.last_seq + 1;
        let (mut write, prepared) = prepare(
            &slot,
            &inner,
            session,
            t,
            outcome,
            chat,
            &engine,
            received_at,
        );
        let turn_id = prepared.id.clone();
        write.visitor = claim;
        self.db.write(Write::Turn(write)).await.map_err(internal)?;
        if claim.is_some() {
            inner.visitor = claim;
        }
        let (timers, order) = self.publish_turn(&mut inner, &session.shop, prepared);
        self.timers.arm(&slot, &mut inner, &timers);
        self.metrics.turn_push.observe(received.elapsed());
        if let Some((order, text)) = order.filter(|_| self.orders.is_some()) {
            // After the push, outside the turn's path: a slow shop API never delays a turn.
            let turns = (inner.chat.state.turns(), inner.chat.state.agent_turns());
            self.spawn_order_lookup(
                &slot,
                crate::orders::AfterTurn {
                    shop: session.shop.clone(),
                    order,
                    turn: turn_id,
                    text,
                    turns,
                },
            );
        }
        drop(inner);
        Ok(Ack {
            seq,
            duplicate: false,
        })
    }

    /// Step 2: the conversation's lock, claimed for the session's shop.
    async fn lock_for_turn(
        &self,
        session: &Session,
        t: &TurnInput,
    ) -> Result<(Arc<Conversation>, OwnedMutexGuard<Inner>), ClientError> {
        let (slot, mut inner) = self.lock_in(&session.shop, &t.conversation).await?;
        Hub::check_shop(&slot, &mut inner, &session.shop, true)?;
        Ok((slot, inner))
    }

    /// Step 5, once committed: the new state becomes the conversation's, in this order, still
    /// under the lock; returns what is left to do (timers; an order lookup with the raw text).
    fn publish_turn(
        &self,
        inner: &mut Inner,
        shop: &str,
        p: Prepared,
    ) -> (Vec<Timer>, Option<(String, String)>) {
        let id = p.id;
        inner.chat = p.chat;
        if let Some(text) = &p.customer_text {
            inner.last_customer = Some((id.clone(), text.clone()));
        }
        inner.last_seq = p.summary.seq;
        inner.seen.insert(id.clone(), p.seq);
        inner.personal.keep(&id, p.personal);
        let summary_frame = Utf8Bytes::from(p.summary.frame());
        inner.summary = p.summary;
        for (frame, kind) in &p.frames {
            inner.broadcast(frame);
            self.metrics.event(kind);
        }
        for c in &p.hit_categories {
            self.metrics.guard_hit(c);
        }
        match p.customer_text {
            Some(_) => self.metrics.turns_customer.fetch_add(1, Relaxed),
            None => self.metrics.turns_agent.fetch_add(1, Relaxed),
        };
        self.conversations.notify_watchers(shop, &summary_frame);
        (p.timers, p.order.zip(p.customer_text))
    }
}

/// Step 1: free text besides `text` is masked once, here, so the summary, the stored events and
/// the live frames all carry the masked form (`text` itself is analysed first: the engine must
/// see the digits of an order number; every payload is masked after). An over-long sku is
/// ignored.
fn validate(mut t: TurnInput) -> TurnInput {
    if let Some(c) = t.customer.as_mut()
        && let std::borrow::Cow::Owned(m) = huashu_store::mask(c)
    {
        *c = m;
    }
    if t.product.as_ref().is_some_and(|s| s.len() > 128) {
        t.product = None;
    }
    t
}

fn engine_turn(t: &TurnInput, received_at: i64) -> Turn<'_> {
    Turn {
        speaker: match t.speaker {
            Speaker::Customer => huashu_engine::Speaker::Customer,
            Speaker::Agent => huashu_engine::Speaker::Agent,
        },
        id: &t.id,
        text: &t.text,
        at_ms: t.at.unwrap_or(received_at),
        received_ms: received_at,
        product: match t.speaker {
            Speaker::Customer => t.product.as_deref(),
            Speaker::Agent => None,
        },
    }
}

/// Between step 3 and 4: the outcome as stored events (masked), the summary after the turn and
/// the one write that commits them.
#[allow(clippy::too_many_arguments)]
fn prepare(
    slot: &Conversation,
    inner: &Inner,
    session: &Session,
    t: TurnInput,
    outcome: TurnOutcome,
    chat: Chat,
    engine: &Engine,
    received_at: i64,
) -> (TurnWrite, Prepared) {
    let seq = inner.last_seq + 1;
    let at = t.at.unwrap_or(received_at);
    let TurnOutcome {
        analysis,
        flags,
        timers,
    } = outcome;
    let mut summary = inner.summary.clone();
    let mut personal = Vec::new();
    let mut order = None;
    let mut hit_categories = Vec::new();
    let mut agent_hit_rules = None;
    let (events, stored_text) = match analysis {
        Analysis::Customer(mut a) => {
            let (text, values) =
                crate::personal::mask_personal(&t.text, &mut a.understanding.entities);
            personal = values;
            let u = &a.understanding;
            order =
                crate::orders::order_number(u.entities.iter().map(|e| (e.kind, e.text.as_str())));
            summary.intent = Some(u.primary_intent().to_string());
            summary.emotion = Some(u.emotion.label.to_string());
            summary.intensity = Some(u.emotion.intensity);
            if t.customer.is_some() {
                summary.customer = t.customer.clone();
            }
            if timers.iter().any(|x| matches!(x, Timer::StartSla { .. })) {
                summary.sla = "ok".into();
            }
            let events = customer_events(&t, seq, at, &text, &a, &flags, &chat);
            (events, text)
        }
        Analysis::Agent(a) => {
            hit_categories = a.guard.iter().map(|h| h.category.clone()).collect();
            agent_hit_rules = Some(a.guard.iter().map(|h| h.rule.clone()).collect());
            summary.sla = "ok".into();
            (agent_events(&t, seq, at, &a, &flags), t.text.clone())
        }
    };
    summary.show(&flags, chat.wait.as_ref());
    summary.seq = seq + events.len() as u64 - 1;
    summary.turns += 1;
    summary.last_role = Some(t.speaker.as_str().into());
    summary.last_text = Some(truncate(&stored_text, 60));
    summary.last_at = Some(at);
    summary.updated_at = received_at;
    let frames = events
        .iter()
        .map(|e| (Utf8Bytes::from(e.payload.as_str()), e.kind.clone()))
        .collect();
    let customer_text = (t.speaker == Speaker::Customer).then(|| t.text.clone());
    let write = TurnWrite {
        conversation: slot.key.clone(),
        shop: session.shop.clone(),
        id: t.id.clone(),
        seq,
        role: t.speaker.as_str().into(),
        text: stored_text,
        at,
        received_at,
        book: engine.meta().hash.clone(),
        agent: match t.speaker {
            Speaker::Agent => t.agent.filter(|a| !a.is_empty()),
            Speaker::Customer => None,
        },
        events,
        summary: Some(to_json(&summary)),
        agent_hit_rules,
        visitor: None,
    };
    let prepared = Prepared {
        id: t.id,
        seq,
        chat,
        summary,
        frames,
        timers,
        personal,
        customer_text,
        order,
        hit_categories,
    };
    (write, prepared)
}

/// A customer turn's `analysis` and `suggestions` events.
fn customer_events(
    t: &TurnInput,
    seq: u64,
    at: i64,
    text: &str,
    a: &CustomerAnalysis,
    flags: &Flags,
    chat: &Chat,
) -> Vec<NewEvent> {
    let analysis = Outbound::Analysis(protocol::Analysis {
        conversation: &t.conversation,
        seq,
        turn: &t.id,
        role: "customer",
        text,
        at,
        customer: t.customer.as_deref(),
        safety: SafetyMode::of(&chat.state),
        flags,
        understanding: &a.understanding,
    });
    let suggestions = Outbound::Suggestions(protocol::Suggestions {
        conversation: &t.conversation,
        seq: seq + 1,
        turn: &t.id,
        items: &a.suggestions,
        refresh: false,
    });
    vec![
        NewEvent {
            seq,
            kind: "analysis".into(),
            turn: Some(t.id.clone()),
            payload: analysis.masked_frame(),
        },
        NewEvent {
            seq: seq + 1,
            kind: "suggestions".into(),
            turn: Some(t.id.clone()),
            payload: suggestions.masked_frame(),
        },
    ]
}

/// An agent turn's `guard` event.
fn agent_events(
    t: &TurnInput,
    seq: u64,
    at: i64,
    a: &AgentAnalysis,
    flags: &Flags,
) -> Vec<NewEvent> {
    let guard = Outbound::TurnGuard(protocol::TurnGuard {
        conversation: &t.conversation,
        seq,
        turn: &t.id,
        role: "agent",
        text: &t.text,
        at,
        hits: &a.guard,
        rewritten: a.rewritten.as_deref(),
        follow_up: a.follow_up.as_ref(),
        flags,
    });
    vec![NewEvent {
        seq,
        kind: "guard".into(),
        turn: Some(t.id.clone()),
        payload: guard.masked_frame(),
    }]
}

fn truncate(s: &str, n: usize) -> String {
    let masked = huashu_store::mask(s);
    if masked.chars().count() <= n {
        masked.into_owned()
    } else {
        let mut t: String = masked.chars().take(n).collect();
        t.push('…');
        t
    }
}

/// Checks a visitor-bound session against the conversation (under its lock): `Ok(Some(d))`
/// when this turn claims a new conversation for visitor `d` (stored with the turn), `Ok(None)`
/// when the turn may go in as it is. See `claim.rs`.
fn claim_visitor(session: &Session, inner: &Inner) -> Result<Option<[u8; 32]>, ClientError> {
    let forbidden = |m: &str| Err(ClientError::new(crate::protocol::ErrorCode::Forbidden, m));
    match &session.claim {
        Claim::Any | Claim::Signed(_) => Ok(None),
        Claim::Visitor(None) => forbidden(claim::NO_VISITOR),
        Claim::Visitor(Some(d)) => match &inner.visitor {
            Some(bound) if d.matches(bound) => Ok(None),
            Some(_) => forbidden(claim::OTHER_VISITOR),
            // Started by a server-side token (or before bindings existed): not claimable.
            None if inner.last_seq > 0 => forbidden(claim::OTHER_VISITOR),
            None => Ok(Some(d.0)),
        },
    }
}
