//! SLA timers: a `warn` and then a `breach` event while the customer's last turn waits for an
//! answer (reset by an agent turn), and a `follow_up` reminder when an agent's promise
//! ("24小时内答复您") falls due. Timer events are stored conversation events with a seq, like
//! analysis events, so a reconnecting console replays them.
//!
//! One tokio task per waiting conversation (not per turn), aborted by the agent's answer; a
//! generation number guards against a timer that fires while being aborted. Tokio time is used
//! throughout, so tests run them under `tokio::time::pause()`.
//!
//! The tasks die with the process; `Shared::load` re-arms them from the stored state (the
//! summary's `waiting_since` and `sla` level, the guard events' unreminded follow-ups) and
//! `Shared::resume_timers` loads every such conversation at start.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use huashu_engine::FollowUp;
use huashu_store::{EventsWrite, NewEvent, SlaWrite, Write};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::protocol::{self, Outbound, to_json};
use crate::shared::{Conversation, Inner, Shared, Waiting, now_ms};

impl Shared {
    /// Starts the SLA clock for a customer turn (caller holds the lock; no clock is running).
    pub(crate) fn start_waiting(&self, slot: &Arc<Conversation>, inner: &mut Inner, turn: String) {
        self.arm_waiting(slot, inner, turn, Duration::ZERO, 0);
    }

    /// Runs the SLA clock of a wait that began `elapsed` ago, of which `emitted` levels (0 none,
    /// 1 `warn`, 2 `warn` and `breach`) are already stored: a restart re-arms with what is left,
    /// and a level already past fires at once (caller holds the lock; no clock is running).
    pub(crate) fn arm_waiting(
        &self,
        slot: &Arc<Conversation>,
        inner: &mut Inner,
        turn: String,
        elapsed: Duration,
        emitted: u8,
    ) {
        inner.generation += 1;
        let generation = inner.generation;
        let me = self.me.clone();
        let conv = Arc::clone(slot);
        let (warn, breach) = (self.config.sla.warn, self.config.sla.breach);
        let now = Instant::now();
        let since = now.checked_sub(elapsed).unwrap_or(now);
        let start = now.checked_sub(elapsed.min(breach)).unwrap_or(now);
        let task = tokio::spawn(async move {
            if emitted < 1 {
                tokio::time::sleep_until(start + warn).await;
                let Some(shared) = me.upgrade() else { return };
                if !shared.sla_event(&conv, generation, "warn").await {
                    return;
                }
            }
            if emitted < 2 {
                tokio::time::sleep_until(start + breach).await;
                if let Some(shared) = me.upgrade() {
                    shared.sla_event(&conv, generation, "breach").await;
                }
            }
        });
        inner.waiting = Some(Waiting {
            turn,
            since,
            generation,
            timer: task.abort_handle(),
        });
    }

    /// Emits one SLA event if the same wait is still running; false when it is not.
    async fn sla_event(&self, slot: &Conversation, generation: u64, level: &'static str) -> bool {
        let mut inner = Arc::clone(&slot.inner).lock_owned().await;
        let Some(w) = inner
            .waiting
            .as_ref()
            .filter(|w| w.generation == generation)
        else {
            return false;
        };
        if inner.removed {
            return false;
        }
        let waiting_ms = i64::try_from(w.since.elapsed().as_millis()).unwrap_or(i64::MAX);
        let turn = w.turn.clone();
        let seq = inner.last_seq + 1;
        let payload = Outbound::Sla(protocol::Sla {
            conversation: &slot.id,
            seq,
            level,
            turn: &turn,
            waiting_ms,
        })
        .frame();
        let mut summary = inner.summary.clone();
        summary.sla = level.into();
        summary.seq = seq;
        let sla = SlaWrite {
            seq,
            level: level.into(),
            turn: Some(turn.clone()),
            waiting_ms,
        };
        if self
            .commit_timer_event(
                slot,
                &mut inner,
                seq,
                "sla",
                Some(turn),
                payload,
                summary,
                sla,
            )
            .await
        {
            tracing::info!(conversation = %slot.id, level, waiting_ms, "SLA");
        }
        true
    }

    /// Reminds the conversation's consoles of a promised follow-up when it falls due.
    pub(crate) fn schedule_follow_up(&self, slot: &Arc<Conversation>, turn: String, f: FollowUp) {
        let due_at = now_ms().saturating_add(f.due_in_ms);
        self.arm_follow_up(slot, turn, f, due_at);
    }

    /// Reminds of a follow-up due at server time `due_at` (ms): at once when already past (a
    /// restart re-arms the promises not yet reminded this way).
    pub(crate) fn arm_follow_up(
        &self,
        slot: &Arc<Conversation>,
        turn: String,
        f: FollowUp,
        due_at: i64,
    ) {
        let me = self.me.clone();
        let conv = Arc::clone(slot);
        let due_ms = u64::try_from(due_at.saturating_sub(now_ms())).unwrap_or(0);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(due_ms)).await;
            let Some(shared) = me.upgrade() else { return };
            let mut inner = Arc::clone(&conv.inner).lock_owned().await;
            if inner.removed {
                return;
            }
            let seq = inner.last_seq + 1;
            let payload = Outbound::FollowUp(protocol::FollowUpDue {
                conversation: &conv.id,
                seq,
                turn: &turn,
                text: &f.text,
                due_at,
            })
            .frame();
            let mut summary = inner.summary.clone();
            summary.seq = seq;
            let sla = SlaWrite {
                seq,
                level: "follow_up".into(),
                turn: Some(turn.clone()),
                waiting_ms: f.due_in_ms,
            };
            shared
                .commit_timer_event(
                    &conv,
                    &mut inner,
                    seq,
                    "follow_up",
                    Some(turn),
                    payload,
                    summary,
                    sla,
                )
                .await;
        });
    }

    /// Stores a timer event and pushes it (caller holds the lock).
    #[allow(clippy::too_many_arguments)]
    async fn commit_timer_event(
        &self,
        slot: &Conversation,
        inner: &mut Inner,
        seq: u64,
        kind: &'static str,
        turn: Option<String>,
        payload: String,
        mut summary: crate::shared::Summary,
        sla: SlaWrite,
    ) -> bool {
        let Some(shop) = inner.shop.clone() else {
            return false;
        };
        summary.updated_at = now_ms();
        let frame = Utf8Bytes::from(payload.as_str());
        let write = Write::Events(EventsWrite {
            conversation: slot.key.clone(),
            shop: shop.clone(),
            at: now_ms(),
            book: self.engine().meta().hash.clone(),
            events: vec![NewEvent {
                seq,
                kind: kind.into(),
                turn,
                payload,
            }],
            summary: Some(to_json(&summary)),
            sla: Some(sla),
        });
        if let Err(e) = self.db.write(write).await {
            tracing::warn!(conversation = %slot.id, error = %e, "timer event not stored");
            return false;
        }
        inner.last_seq = seq;
        inner.broadcast(&frame);
        let summary_frame = Utf8Bytes::from(summary.frame());
        inner.summary = summary;
        self.metrics.event(kind);
        let _ = Relaxed;
        self.notify_watchers(&shop, &summary_frame);
        true
    }
}
