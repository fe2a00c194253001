//! What happens to a conversation: turns (analysed, stored, acked, pushed), subscriptions with
//! replay, feedback, drafts and one-off analysis. All of it runs under the conversation's lock
//! (see `shared.rs`), which is what makes seq numbers gap-free and replay + live duplicate-free.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use huashu_engine::{AnalyzeLine, ConversationState, DraftCheck, FeedbackAction};
use huashu_store::{DraftWrite, FeedbackWrite, NewEvent, RevealWrite, TurnWrite, Write};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::outbox::Outbox;
use crate::protocol::{
    self, Action, ClientError, ErrorCode, Outbound, SafetyMode, Speaker, to_json,
};
use crate::shared::{Inner, Session, Shared, internal, now_ms};

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

impl Shared {
    /// Processes one turn: analyse, commit turn + events, then ack and push. A re-sent
    /// (conversation, id) returns the stored seq and changes nothing.
    pub(crate) async fn accept_turn(
        &self,
        session: &Session,
        mut t: TurnInput,
        received: Instant,
    ) -> Result<Ack, ClientError> {
        // Free text besides `text` is masked once, here, so the summary, the stored events and
        // the live frames all carry the masked form (`text` itself is analysed first: the
        // engine must see the digits of an order number; every payload is masked after).
        if let Some(c) = t.customer.as_mut()
            && let std::borrow::Cow::Owned(m) = huashu_store::mask(c)
        {
            *c = m;
        }
        let (slot, mut inner) = self.lock_in(&session.shop, &t.conversation).await?;
        Shared::check_shop(&slot, &mut inner, &session.shop, true)?;
        if let Some(&seq) = inner.seen.get(&t.id) {
            self.metrics.turns_duplicate.fetch_add(1, Relaxed);
            return Ok(Ack {
                seq,
                duplicate: true,
            });
        }
        let engine = self.engine();
        let book = engine.meta().hash.clone();
        let received_at = now_ms();
        let at = t.at.unwrap_or(received_at);
        let seq = inner.last_seq + 1;
        // Analyse on a copy: if the commit fails nothing changes and the client may retry.
        let mut state = inner.state.clone();
        let mut summary = inner.summary.clone();
        let mut events: Vec<NewEvent> = Vec::with_capacity(2);
        let mut agent_hit_rules = None;
        let mut follow_up = None;
        // Customer turns: the text with personal entities masked, and their values (memory only).
        let mut masked_text: Option<String> = None;
        let mut personal = Vec::new();
        let mut order = None;
        match t.speaker {
            Speaker::Customer => {
                if let Some(sku) = t.product.as_deref().filter(|s| s.len() <= 128) {
                    state.set_product(Some(sku));
                }
                let mut a = engine.customer_turn(&mut state, &t.text, Some(at));
                let (text, values) =
                    crate::personal::mask_personal(&t.text, &mut a.understanding.entities);
                personal = values;
                let text = &*masked_text.insert(text);
                let u = &a.understanding;
                if self.orders.is_some() {
                    order = crate::orders::order_number(
                        u.entities.iter().map(|e| (e.kind, e.text.as_str())),
                    )
                    .map(|id| (id, t.text.clone()));
                }
                events.push(NewEvent {
                    seq,
                    kind: "analysis".into(),
                    turn: Some(t.id.clone()),
                    payload: Outbound::Analysis(protocol::Analysis {
                        conversation: &t.conversation,
                        seq,
                        turn: &t.id,
                        role: "customer",
                        text,
                        at,
                        customer: t.customer.as_deref(),
                        safety: SafetyMode::of(&state),
                        understanding: u,
                    })
                    .masked_frame(),
                });
                events.push(NewEvent {
                    seq: seq + 1,
                    kind: "suggestions".into(),
                    turn: Some(t.id.clone()),
                    payload: Outbound::Suggestions(protocol::Suggestions {
                        conversation: &t.conversation,
                        seq: seq + 1,
                        turn: &t.id,
                        items: &a.suggestions,
                        refresh: false,
                    })
                    .masked_frame(),
                });
                summary.intent = Some(u.primary_intent().to_string());
                summary.emotion = Some(u.emotion.label.to_string());
                summary.intensity = Some(u.emotion.intensity);
                // Within one wait the flags add up; an agent answer clears them.
                let same_wait = inner.waiting.is_some();
                summary.urgent = (same_wait && summary.urgent) || u.urgent;
                summary.threat = summary.threat || u.threat;
                summary.safety = Some(state.safety());
                summary.safety_name = state.safety().map(|k| k.name());
                summary.escalation_reasons = crate::escalation::reasons_after(
                    &summary.escalation_reasons,
                    same_wait,
                    crate::escalation::TurnSignals {
                        asked: u.intents.iter().any(|i| i.id == "escalation"),
                        // Sticky, like the flag: a threat earlier in the chat still weighs.
                        threat: summary.threat,
                        risk: state.escalation_risk(),
                        rising_turns: state.risk_rising_turns(),
                    },
                );
                // A summary stored before reasons existed may have the flag without them.
                summary.escalation =
                    (same_wait && summary.escalation) || !summary.escalation_reasons.is_empty();
                if t.customer.is_some() {
                    summary.customer = t.customer.clone();
                }
                if inner.waiting.is_none() {
                    summary.waiting_since = Some(received_at);
                    summary.sla = "ok".into();
                }
            }
            Speaker::Agent => {
                let a = engine.agent_turn(&mut state, &t.text, Some(at));
                events.push(NewEvent {
                    seq,
                    kind: "guard".into(),
                    turn: Some(t.id.clone()),
                    payload: Outbound::TurnGuard(protocol::TurnGuard {
                        conversation: &t.conversation,
                        seq,
                        turn: &t.id,
                        role: "agent",
                        text: &t.text,
                        at,
                        hits: &a.guard,
                        rewritten: a.rewritten.as_deref(),
                        follow_up: a.follow_up.as_ref(),
                    })
                    .masked_frame(),
                });
                for h in &a.guard {
                    self.metrics.guard_hit(&h.category);
                }
                agent_hit_rules = Some(a.guard.iter().map(|h| h.rule.clone()).collect());
                follow_up = a.follow_up;
                summary.waiting_since = None;
                summary.sla = "ok".into();
                // Answered: the customer no longer jumps the queue. (`escalation` stays: it
                // describes the latest customer turns until the next wait starts.)
                summary.urgent = false;
            }
        }
        let last = seq + events.len() as u64 - 1;
        summary.seq = last;
        summary.turns += 1;
        summary.last_role = Some(t.speaker.as_str().into());
        summary.last_text = Some(truncate(masked_text.as_deref().unwrap_or(&t.text), 60));
        summary.last_at = Some(at);
        summary.updated_at = received_at;
        let summary_json = to_json(&summary);
        let frames: Vec<Utf8Bytes> = events
            .iter()
            .map(|e| Utf8Bytes::from(e.payload.as_str()))
            .collect();
        let kinds: Vec<String> = events.iter().map(|e| e.kind.clone()).collect();
        let customer_text = (t.speaker == Speaker::Customer).then(|| t.text.clone());
        let write = Write::Turn(TurnWrite {
            conversation: slot.key.clone(),
            shop: session.shop.clone(),
            id: t.id.clone(),
            seq,
            role: t.speaker.as_str().into(),
            text: masked_text.unwrap_or(t.text),
            at,
            received_at,
            book,
            agent: match t.speaker {
                Speaker::Agent => t.agent.filter(|a| !a.is_empty()),
                Speaker::Customer => None,
            },
            events,
            summary: Some(summary_json),
            agent_hit_rules,
        });
        self.db.write(write).await.map_err(internal)?;
        // Committed: make it visible, in this order, still under the lock.
        inner.state = state;
        if let Some(text) = customer_text {
            inner.last_customer = Some((t.id.clone(), text));
        }
        inner.last_seq = last;
        inner.seen.insert(t.id.clone(), seq);
        inner.personal.keep(&t.id, personal);
        let summary_frame = Utf8Bytes::from(summary.frame());
        inner.summary = summary;
        for f in &frames {
            inner.broadcast(f);
        }
        for k in &kinds {
            self.metrics.event(k);
        }
        match t.speaker {
            Speaker::Customer => {
                self.metrics.turns_customer.fetch_add(1, Relaxed);
                if inner.waiting.is_none() {
                    self.start_waiting(&slot, &mut inner, t.id.clone());
                }
            }
            Speaker::Agent => {
                self.metrics.turns_agent.fetch_add(1, Relaxed);
                if let Some(w) = inner.waiting.take() {
                    w.timer.abort();
                }
                if let Some(f) = follow_up {
                    self.schedule_follow_up(&slot, t.id.clone(), f);
                }
            }
        }
        self.notify_watchers(&session.shop, &summary_frame);
        self.metrics.turn_push.observe(received.elapsed());
        if let Some((order, text)) = order {
            // After the push, outside the turn's path: a slow shop API never delays a turn.
            let turns = (inner.state.turns(), inner.state.agent_turns());
            self.spawn_order_lookup(
                &slot,
                crate::orders::AfterTurn {
                    shop: session.shop.clone(),
                    order,
                    turn: t.id.clone(),
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

    /// Registers `outbox` for live events of a conversation and returns the last seq `L`:
    /// events `<= L` are all committed and must be replayed from the database; every event
    /// `> L` will be pushed to `outbox`. Both sides of `L` are decided under the conversation
    /// lock, which is what rules out gaps and duplicates. The flag is true when this connection
    /// was already subscribed (nothing changes then).
    pub(crate) async fn subscribe(
        &self,
        session: &Session,
        conversation: &str,
        outbox: &Outbox,
    ) -> Result<(u64, bool), ClientError> {
        let (slot, mut inner) = self.lock_in(&session.shop, conversation).await?;
        Shared::check_shop(&slot, &mut inner, &session.shop, true)?;
        let already = inner.subscribers.iter().any(|o| o.id == outbox.id);
        if !already {
            inner.subscribers.push(outbox.clone());
        }
        Ok((inner.last_seq, already))
    }

    pub(crate) async fn unsubscribe(&self, shop: &str, conversation: &str, conn_id: u64) {
        let Some(slot) = self
            .conversations
            .get(&huashu_store::conversation_key(shop, conversation))
            .map(|s| std::sync::Arc::clone(&s))
        else {
            return;
        };
        let mut inner = std::sync::Arc::clone(&slot.inner).lock_owned().await;
        if inner.removed {
            return;
        }
        inner.subscribers.retain(|o| o.id != conn_id);
        self.release(&slot, inner);
    }

    /// Locks a conversation of the session's shop that has at least one turn (`not_found`
    /// otherwise, and the empty slot is dropped): what feedback, resolve and reveal act on.
    async fn lock_existing(
        &self,
        session: &Session,
        conversation: &str,
    ) -> Result<crate::shared::Locked, ClientError> {
        let (slot, mut inner) = self.lock_in(&session.shop, conversation).await?;
        if inner.shop.is_none() || inner.last_seq == 0 {
            self.release(&slot, inner);
            return Err(ClientError::new(
                ErrorCode::NotFound,
                "no such conversation",
            ));
        }
        Shared::check_shop(&slot, &mut inner, &session.shop, false)?;
        Ok((slot, inner))
    }

    /// Stores feedback and tells the conversation state (so the suggester can learn from it).
    pub(crate) async fn feedback(
        &self,
        session: &Session,
        conversation: &str,
        suggestion: &str,
        action: Action,
    ) -> Result<(), ClientError> {
        let (slot, mut inner) = self.lock_existing(session, conversation).await?;
        // Suggestion ids are `<turn>:<script>`; a bare script id is accepted too.
        let script = suggestion.split_once(':').map_or(suggestion, |(_, s)| s);
        self.db
            .write(Write::Feedback(FeedbackWrite {
                conversation: slot.key.clone(),
                suggestion: suggestion.to_string(),
                script: script.to_string(),
                action: action.as_str().into(),
                agent: session.agent.clone(),
                after_seq: inner.last_seq,
                at: now_ms(),
            }))
            .await
            .map_err(internal)?;
        let action = match action {
            Action::Used => FeedbackAction::Used,
            Action::Edited => FeedbackAction::Edited,
            Action::Dismissed => FeedbackAction::Dismissed,
        };
        inner.state.feedback(script, action);
        self.metrics.feedback.fetch_add(1, Relaxed);
        self.refresh_suggestions(&slot, &mut inner).await;
        Ok(())
    }

    /// Pushes (and stores) a fresh `suggestions` event for the latest customer turn, ranked
    /// with the feedback just given: a used script steps back, a dismissed one is gone, and
    /// every console of the conversation (and a later replay) shows the same list. A failure
    /// to store it only costs the refresh.
    async fn refresh_suggestions(&self, slot: &crate::shared::Conversation, inner: &mut Inner) {
        let (Some((turn, text)), Some(shop)) = (inner.last_customer.clone(), inner.shop.clone())
        else {
            return;
        };
        let engine = self.engine();
        let mut state = inner.state.clone();
        let items = engine.resuggest(&mut state, &text);
        let seq = inner.last_seq + 1;
        let payload = Outbound::Suggestions(protocol::Suggestions {
            conversation: &slot.id,
            seq,
            turn: &turn,
            items: &items,
            refresh: true,
        })
        .masked_frame();
        let mut summary = inner.summary.clone();
        summary.seq = seq;
        summary.updated_at = now_ms();
        if self
            .commit_events(
                slot,
                inner,
                &shop,
                seq,
                "suggestions",
                Some(turn),
                payload,
                summary,
            )
            .await
        {
            inner.state = state;
        }
    }

    /// Stores one event not caused by a turn with the conversation's new summary, then pushes
    /// it to subscribers and the summary to watchers (caller holds the lock).
    #[allow(clippy::too_many_arguments)]
    async fn commit_events(
        &self,
        slot: &crate::shared::Conversation,
        inner: &mut Inner,
        shop: &str,
        seq: u64,
        kind: &'static str,
        turn: Option<String>,
        payload: String,
        summary: crate::shared::Summary,
    ) -> bool {
        let write = Write::Events(huashu_store::EventsWrite {
            conversation: slot.key.clone(),
            shop: shop.to_string(),
            at: now_ms(),
            book: self.engine().meta().hash.clone(),
            events: vec![NewEvent {
                seq,
                kind: kind.into(),
                turn,
                payload: payload.clone(),
            }],
            summary: Some(to_json(&summary)),
            sla: None,
        });
        if let Err(e) = self.db.write(write).await {
            tracing::warn!(conversation = %slot.id, error = %e, "event not stored");
            return false;
        }
        inner.last_seq = seq;
        inner.broadcast(&Utf8Bytes::from(payload));
        let summary_frame = Utf8Bytes::from(summary.frame());
        inner.summary = summary;
        self.metrics.event(kind);
        self.notify_watchers(shop, &summary_frame);
        true
    }

    /// `resolve`: an agent or supervisor of the shop ends the conversation's safety mode. A
    /// `safety` event (kind null, who resolved it) is stored and pushed; the summary, which a
    /// restart restores safety mode from, no longer carries the kind. Returns whether safety
    /// mode was on.
    pub(crate) async fn resolve(
        &self,
        session: &Session,
        conversation: &str,
    ) -> Result<bool, ClientError> {
        let (slot, mut inner) = self.lock_existing(session, conversation).await?;
        let Some(kind) = inner.state.safety() else {
            return Ok(false);
        };
        let Some(shop) = inner.shop.clone() else {
            return Ok(false);
        };
        let seq = inner.last_seq + 1;
        let at = now_ms();
        let payload = Outbound::Safety(protocol::Safety {
            conversation,
            seq,
            safety: None,
            resolved: kind,
            by: session.agent.as_deref(),
            at,
        })
        .masked_frame();
        let mut summary = inner.summary.clone();
        summary.seq = seq;
        summary.safety = Some(None);
        summary.safety_name = None;
        summary.updated_at = at;
        if !self
            .commit_events(
                &slot, &mut inner, &shop, seq, "safety", None, payload, summary,
            )
            .await
        {
            return Err(internal("safety event not stored"));
        }
        inner.state.resolve_safety();
        self.refresh_suggestions(&slot, &mut inner).await;
        Ok(true)
    }

    /// The unmasked value of a personal entity, for the shop's agent (see `personal.rs`). The
    /// reveal is recorded for QA (who, which turn and entity, which kind; never the value).
    pub(crate) async fn reveal(
        &self,
        session: &Session,
        conversation: &str,
        turn: &str,
        entity: u32,
    ) -> Result<crate::personal::PersonalValue, ClientError> {
        let (slot, inner) = self.lock_existing(session, conversation).await?;
        let Some(value) = inner.personal.get(turn, entity).cloned() else {
            return Err(ClientError::new(
                ErrorCode::NotFound,
                "no personal value for this turn and entity (values are kept in memory only, for turns since the server started)",
            ));
        };
        self.db
            .write(Write::Reveal(RevealWrite {
                conversation: slot.key.clone(),
                turn: turn.to_string(),
                entity,
                kind: value.kind.to_string(),
                agent: session.agent.clone(),
                at: now_ms(),
            }))
            .await
            .map_err(internal)?;
        tracing::info!(conversation, turn, entity, kind = value.kind, agent = ?session.agent, "personal value revealed");
        Ok(value)
    }

    /// Checks an unsent draft. Flagged drafts are stored (without delaying the reply).
    pub(crate) async fn draft(
        &self,
        session: &Session,
        conversation: &str,
        draft: &str,
        text: &str,
    ) -> Result<DraftCheck, ClientError> {
        // No lookup: a draft names a conversation of the session's own shop by construction
        // (the stored key is scoped), so there is nothing to check and nothing to leak.
        let check = self.engine().review_draft(text);
        let hits = &check.hits;
        self.metrics.drafts.fetch_add(1, Relaxed);
        if !hits.is_empty() {
            for h in hits {
                self.metrics.guard_hit(&h.category);
            }
            let write = Write::Draft(DraftWrite {
                conversation: huashu_store::conversation_key(&session.shop, conversation),
                draft: draft.to_string(),
                agent: session.agent.clone(),
                text: text.to_string(),
                rules: hits.iter().map(|h| h.rule.clone()).collect(),
                categories: hits.iter().map(|h| h.category.clone()).collect(),
                at: now_ms(),
            });
            if let Some(shared) = self.me.upgrade() {
                tokio::spawn(async move { shared.db.write_detached(write).await });
            }
        }
        Ok(check)
    }

    /// `POST /api/analyze`: one turn analysed without storing anything. With a conversation id
    /// it is analysed against a copy of that conversation's state (which is not changed).
    pub(crate) async fn analyze(
        &self,
        shop: &str,
        speaker: Speaker,
        text: &str,
        conversation: Option<&str>,
    ) -> Result<AnalyzeLine, ClientError> {
        let mut state = match conversation {
            None => ConversationState::new(),
            Some(id) => {
                let (slot, mut inner) = self.lock_in(shop, id).await?;
                Shared::check_shop(&slot, &mut inner, shop, false)?;
                let state = inner.state.clone();
                self.release(&slot, inner);
                state
            }
        };
        let engine = self.engine();
        Ok(match speaker {
            Speaker::Customer => engine.customer_turn(&mut state, text, None).into(),
            Speaker::Agent => engine.agent_turn(&mut state, text, None).into(),
        })
    }
}
