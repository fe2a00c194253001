//! The conversation requests other than turns (those are `turn.rs`): subscriptions with replay,
//! feedback (and the refreshed list it causes), resolve, reveal, drafts and one-off analysis.
//! Whatever touches a conversation runs under its lock (see `hub.rs`), which is what makes seq
//! numbers gap-free and replay + live duplicate-free.

use std::sync::atomic::Ordering::Relaxed;

use huashu_engine::{AnalyzeLine, ConversationState, DraftCheck, FeedbackAction};
use huashu_store::{DraftWrite, FeedbackWrite, NewEvent, RevealWrite, Write};

use crate::hub::{Conversation, Hub, Inner, Locked};
use crate::logid::LogId;
use crate::outbox::Outbox;
use crate::protocol::{self, Action, ClientError, ErrorCode, Outbound, Speaker};
use crate::shared::{Session, Shared, internal, now_ms};

impl Shared {
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
        Hub::check_shop(&slot, &mut inner, &session.shop, true)?;
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
        else {
            return;
        };
        let mut inner = std::sync::Arc::clone(&slot.inner).lock_owned().await;
        if inner.removed {
            return;
        }
        inner.subscribers.retain(|o| o.id != conn_id);
        self.conversations.release(&slot, inner);
    }

    /// Locks a conversation of the session's shop that has at least one turn (`not_found`
    /// otherwise, and the empty slot is dropped): what feedback, resolve and reveal act on.
    async fn lock_existing(
        &self,
        session: &Session,
        conversation: &str,
    ) -> Result<Locked, ClientError> {
        let (slot, mut inner) = self.lock_in(&session.shop, conversation).await?;
        if inner.shop.is_none() || inner.last_seq == 0 {
            self.conversations.release(&slot, inner);
            return Err(ClientError::new(
                ErrorCode::NotFound,
                "no such conversation",
            ));
        }
        Hub::check_shop(&slot, &mut inner, &session.shop, false)?;
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
        inner.chat.state.feedback(script, action);
        self.metrics.feedback.fetch_add(1, Relaxed);
        self.refresh_suggestions(&slot, &mut inner).await;
        Ok(())
    }

    /// Pushes (and stores) a fresh `suggestions` event for the latest customer turn, ranked
    /// with the feedback just given: a used script steps back, a dismissed one is gone, and
    /// every console of the conversation (and a later replay) shows the same list. A failure
    /// to store it only costs the refresh.
    async fn refresh_suggestions(&self, slot: &Conversation, inner: &mut Inner) {
        let Some((turn, text)) = inner.last_customer.clone() else {
            return;
        };
        let engine = self.engine();
        let mut state = inner.chat.state.clone();
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
        let event = NewEvent {
            seq,
            kind: "suggestions".into(),
            turn: Some(turn),
            payload,
        };
        let summary = inner.summary.clone();
        if self
            .commit_events(slot, inner, vec![event], summary, None)
            .await
        {
            inner.chat.state = state;
        }
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
        let Some(kind) = inner.chat.state.safety() else {
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
        let mut chat = inner.chat.clone();
        chat.resolve_safety();
        let mut summary = inner.summary.clone();
        summary.show(&chat.flags, chat.wait.as_ref());
        let event = NewEvent {
            seq,
            kind: "safety".into(),
            turn: None,
            payload,
        };
        if !self
            .commit_events(&slot, &mut inner, vec![event], summary, None)
            .await
        {
            return Err(internal("safety event not stored"));
        }
        inner.chat = chat;
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
        tracing::info!(conversation = %LogId::of(conversation), turn = %LogId::of(turn), entity, kind = value.kind, agent = ?session.agent, "personal value revealed");
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
                Hub::check_shop(&slot, &mut inner, shop, false)?;
                let state = inner.chat.state.clone();
                self.conversations.release(&slot, inner);
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
