//! Timers: the SLA clock of a waiting customer (a `warn` and then a `breach` event, stopped by
//! the agent's answer) and follow-up reminders when an agent's promise ("24小时内答复您") falls
//! due. The engine decides which timers a turn arms (`huashu_engine::Timer`, data in the turn's
//! outcome); this module carries them out, and `fire` is the one place a due timer becomes a
//! stored, pushed event with a seq (so a reconnecting console replays it like any other).
//!
//! Lifecycle and primitives: one tokio task per running SLA clock (per waiting conversation,
//! not per turn), its `AbortHandle` kept in the conversation's `Inner::waiting` and aborted by
//! `StopSla`; a generation number guards against a clock that fires while being stopped. One
//! task per promised follow-up. Tasks hold a `Weak<Shared>`, so they never keep a stopped
//! service alive. Tokio time is used throughout, so tests run them under
//! `tokio::time::pause()`.
//!
//! The tasks die with the process: a conversation read back from the database comes with what
//! was running (`hub::Resume`: the stored wait's `waiting_since` and `sla` level, the guard
//! events' unreminded follow-ups) and `resume` arms it again, firing at once what is past;
//! `Shared::resume_timers` loads every such conversation at start.

use std::sync::{Arc, Weak};
use std::time::Duration;

use huashu_engine::{FollowUp, Timer};
use huashu_store::{NewEvent, SlaWrite};
use tokio::time::Instant;

use crate::config::Sla;
use crate::hub::{Conversation, Inner, Resume};
use crate::logid::LogId;
use crate::protocol::{self, Outbound};
use crate::shared::{Shared, now_ms};

/// The running SLA clock of a wait.
#[derive(Debug)]
pub(crate) struct SlaClock {
    pub(crate) turn: String,
    pub(crate) since: Instant,
    pub(crate) generation: u64,
    pub(crate) timer: tokio::task::AbortHandle,
}

/// A timer that fell due.
#[derive(Debug)]
enum Due {
    /// The SLA clock `generation` reached `level` (`warn` or `breach`).
    Sla {
        generation: u64,
        level: &'static str,
    },
    /// A promise made in `turn` is due at server time `due_at`.
    FollowUp {
        turn: String,
        follow_up: FollowUp,
        due_at: i64,
    },
}

#[derive(Debug)]
pub(crate) struct Timers {
    sla: Sla,
    me: Weak<Shared>,
}

impl Timers {
    pub(crate) fn new(sla: Sla, me: Weak<Shared>) -> Timers {
        Timers { sla, me }
    }

    /// Carries out what a turn's outcome says (caller holds the conversation lock).
    pub(crate) fn arm(&self, slot: &Arc<Conversation>, inner: &mut Inner, timers: &[Timer]) {
        for t in timers {
            match t {
                Timer::StartSla { turn, .. } => {
                    // The wait begins now: the engine's `since_ms` is this turn's received time.
                    if inner.waiting.is_none() {
                        self.start_sla(slot, inner, turn.clone(), Duration::ZERO, 0);
                    }
                }
                Timer::StopSla => {
                    if let Some(w) = inner.waiting.take() {
                        w.timer.abort();
                    }
                }
                Timer::FollowUp {
                    turn,
                    due_at_ms,
                    follow_up,
                } => {
                    // Made just now: due in `due_in_ms` of (tokio) time from here.
                    let after = Duration::from_millis(follow_up.due_in_ms.max(0).unsigned_abs());
                    self.follow_up(slot, turn.clone(), follow_up.clone(), *due_at_ms, after);
                }
            }
        }
    }

    /// Re-arms the timers of a conversation just read back from the database.
    pub(crate) fn resume(&self, slot: &Arc<Conversation>, inner: &mut Inner, resume: Resume) {
        if let (Some(since), Some(turn)) = (inner.summary.waiting_since, resume.waiting_turn) {
            let elapsed = u64::try_from(now_ms().saturating_sub(since)).unwrap_or(0);
            let emitted = match inner.summary.sla.as_str() {
                "breach" => 2,
                "warn" => 1,
                _ => 0,
            };
            tracing::debug!(conversation = %LogId::of(&slot.id), turn = %LogId::of(&turn), elapsed, emitted, "SLA clock re-armed");
            self.start_sla(slot, inner, turn, Duration::from_millis(elapsed), emitted);
        }
        for p in resume.follow_ups {
            let Ok(guard) = serde_json::from_str::<serde_json::Value>(&p.payload) else {
                continue;
            };
            let f = &guard["follow_up"];
            let (Some(due_in_ms), Some(text)) = (f["due_in_ms"].as_i64(), f["text"].as_str())
            else {
                continue;
            };
            let due_at = p.received_at.saturating_add(due_in_ms);
            tracing::debug!(conversation = %LogId::of(&slot.id), turn = %LogId::of(&p.turn), due_at, "follow-up re-armed");
            let f = FollowUp {
                due_in_ms,
                text: text.to_string(),
            };
            let after =
                Duration::from_millis(due_at.saturating_sub(now_ms()).max(0).unsigned_abs());
            self.follow_up(slot, p.turn, f, due_at, after);
        }
    }

    /// Runs the SLA clock of a wait that began `elapsed` ago, of which `emitted` levels (0 none,
    /// 1 `warn`, 2 `warn` and `breach`) are already stored: a restart re-arms with what is left,
    /// and a level already past fires at once (caller holds the lock; no clock is running).
    fn start_sla(
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
        let (warn, breach) = (self.sla.warn, self.sla.breach);
        let now = Instant::now();
        let since = now.checked_sub(elapsed).unwrap_or(now);
        let start = now.checked_sub(elapsed.min(breach)).unwrap_or(now);
        let task = tokio::spawn(async move {
            if emitted < 1 {
                tokio::time::sleep_until(start + warn).await;
                let level = "warn";
                if !fire(&me, &conv, Due::Sla { generation, level }).await {
                    return;
                }
            }
            if emitted < 2 {
                tokio::time::sleep_until(start + breach).await;
                let level = "breach";
                fire(&me, &conv, Due::Sla { generation, level }).await;
            }
        });
        inner.waiting = Some(SlaClock {
            turn,
            since,
            generation,
            timer: task.abort_handle(),
        });
    }

    /// Reminds of a follow-up due at server time `due_at` (ms), `after` from now (zero: at
    /// once, for a promise already past).
    fn follow_up(
        &self,
        slot: &Arc<Conversation>,
        turn: String,
        follow_up: FollowUp,
        due_at: i64,
        after: Duration,
    ) {
        let me = self.me.clone();
        let conv = Arc::clone(slot);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let due = Due::FollowUp {
                turn,
                follow_up,
                due_at,
            };
            fire(&me, &conv, due).await;
        });
    }
}

/// A due timer becomes a stored, pushed event — if it still applies: an SLA clock only while
/// the same wait runs (false when it does not, which ends the clock), anything only while the
/// conversation is live.
async fn fire(me: &Weak<Shared>, conv: &Conversation, due: Due) -> bool {
    let Some(shared) = me.upgrade() else {
        return false;
    };
    let mut inner = Arc::clone(&conv.inner).lock_owned().await;
    if inner.removed {
        return false;
    }
    let seq = inner.last_seq + 1;
    let mut summary = inner.summary.clone();
    summary.seq = seq;
    let (kind, turn, payload, sla) = match &due {
        Due::Sla { generation, level } => {
            let Some(w) = inner
                .waiting
                .as_ref()
                .filter(|w| w.generation == *generation)
            else {
                return false;
            };
            let waiting_ms = i64::try_from(w.since.elapsed().as_millis()).unwrap_or(i64::MAX);
            let payload = Outbound::Sla(protocol::Sla {
                conversation: &conv.id,
                seq,
                level,
                turn: &w.turn,
                waiting_ms,
            })
            .frame();
            summary.sla = (*level).into();
            let sla = SlaWrite {
                seq,
                level: (*level).into(),
                turn: Some(w.turn.clone()),
                waiting_ms,
            };
            ("sla", w.turn.clone(), payload, sla)
        }
        Due::FollowUp {
            turn,
            follow_up,
            due_at,
        } => {
            let payload = Outbound::FollowUp(protocol::FollowUpDue {
                conversation: &conv.id,
                seq,
                turn,
                text: &follow_up.text,
                due_at: *due_at,
            })
            .frame();
            let sla = SlaWrite {
                seq,
                level: "follow_up".into(),
                turn: Some(turn.clone()),
                waiting_ms: follow_up.due_in_ms,
            };
            ("follow_up", turn.clone(), payload, sla)
        }
    };
    let event = NewEvent {
        seq,
        kind: kind.into(),
        turn: Some(turn),
        payload,
    };
    let stored = shared
        .commit_events(conv, &mut inner, vec![event], summary, Some(sla))
        .await;
    if let (true, Due::Sla { level, .. }) = (stored, &due) {
        tracing::info!(conversation = %LogId::of(&conv.id), level, "SLA");
    }
    true
}
