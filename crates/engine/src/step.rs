//! `Engine::step`: the engine decides, the server carries. One turn plus what the engine
//! remembers of its conversation ([`Chat`]) becomes a [`TurnOutcome`]: the analysis to push,
//! the conversation's [`Flags`], the timers to arm and the facts to store — all as data.
//!
//! Pure and synchronous: no clock (the caller passes the turn's times), no I/O, no tokio. The
//! server calls it on a copy of the conversation's `Chat` under the conversation lock and keeps
//! the copy only once the turn is committed, so a failed commit changes nothing; `huashu
//! analyze`, replays and tests call it the same way without a runtime.

use huashu_phrasebook::UrgentKind;
use huashu_suggest::ConversationState;

use crate::flags::Flags;
use crate::output::{AgentAnalysis, CustomerAnalysis};
use crate::{Engine, FollowUp};

/// Who wrote a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Customer,
    Agent,
}

/// One turn as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Turn<'a> {
    pub speaker: Speaker,
    /// The client's turn id (names the wait and the follow-up it starts).
    pub id: &'a str,
    pub text: &'a str,
    /// When the turn was written (the client's `at`, else when it was received), ms.
    pub at_ms: i64,
    /// Server time the turn was received, ms: what SLA clocks and follow-ups count from.
    pub received_ms: i64,
    /// Customer turns: the catalogue product (sku) the customer is looking at, when known.
    pub product: Option<&'a str>,
}

/// What the engine remembers of one conversation between turns. Plain owned data (`Clone +
/// Send`, no references into a book), so it survives a reload and can be rebuilt on restart
/// (`Chat::restore`).
#[derive(Debug, Clone, Default)]
pub struct Chat {
    /// Ranking memory: emotions, stage, risk, slots, what was suggested and used.
    pub state: ConversationState,
    /// The flags after the latest turn.
    pub flags: Flags,
    /// The current wait (first unanswered customer turn), when the customer is waiting.
    pub wait: Option<Wait>,
}

impl Chat {
    /// A conversation read back from storage: `state` replayed from its turns, `flags` and
    /// `wait` as stored (stored facts win over what replaying masked turns re-derives; safety
    /// mode is put back into the state too, since only a stored `resolve` can end it).
    pub fn restore(mut state: ConversationState, mut flags: Flags, wait: Option<Wait>) -> Chat {
        state.restore_safety(flags.safety);
        flags.trend = state.trend();
        Chat { state, flags, wait }
    }

    /// Ends safety mode (an agent resolved the incident); returns the kind that was on.
    pub fn resolve_safety(&mut self) -> Option<UrgentKind> {
        let kind = self.state.safety();
        self.state.resolve_safety();
        self.flags.safety = None;
        kind
    }
}

/// A customer waiting for an answer since `since_ms` (server time), first turn `turn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub turn: String,
    pub since_ms: i64,
}

/// What the turn's analysis is, by speaker.
#[derive(Debug, Clone, PartialEq)]
pub enum Analysis {
    Customer(CustomerAnalysis),
    Agent(AgentAnalysis),
}

/// A timer the turn arms or stops, as data: the server's timer wheel carries it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Timer {
    /// A wait began: run the SLA clock (`warn`, then `breach`) of `turn` from `since_ms`.
    StartSla { turn: String, since_ms: i64 },
    /// The agent answered: the wait's SLA clock stops.
    StopSla,
    /// Remind the agent of a promise (`follow_up`, made in `turn`) at server time `due_at_ms`.
    FollowUp {
        turn: String,
        due_at_ms: i64,
        follow_up: FollowUp,
    },
}

/// Everything one turn decides.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnOutcome {
    pub analysis: Analysis,
    /// The conversation's flags after the turn (the same as the `Chat`'s).
    pub flags: Flags,
    pub timers: Vec<Timer>,
}

/// The facts of a turn a store keeps as columns (what analytics counts), borrowed from the
/// outcome.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TurnFacts<'a> {
    /// Customer turns: the primary intent and its score.
    pub intent: Option<(&'static str, f32)>,
    /// Customer turns: the emotion label and intensity.
    pub emotion: Option<(&'static str, f32)>,
    pub urgent_kind: Option<UrgentKind>,
    /// Customer turns: the scripts (or FAQ ids) shown, best first.
    pub scripts: Vec<&'a str>,
    /// Agent turns: the forbidden rules and categories hit, in text order.
    pub hit_rules: Vec<&'a str>,
    pub hit_categories: Vec<&'a str>,
    /// Agent turns: when a promised follow-up falls due (server time, ms).
    pub follow_up_due_ms: Option<i64>,
}

impl TurnOutcome {
    /// The facts to store with the turn.
    pub fn facts(&self) -> TurnFacts<'_> {
        match &self.analysis {
            Analysis::Customer(a) => {
                let u = &a.understanding;
                TurnFacts {
                    intent: u.intents.first().map(|i| (i.id, i.score)),
                    emotion: Some((u.emotion.label, u.emotion.intensity)),
                    urgent_kind: u.urgent_kind,
                    scripts: a
                        .suggestions
                        .iter()
                        .map(|s| s.suggestion.script.as_str())
                        .collect(),
                    ..TurnFacts::default()
                }
            }
            Analysis::Agent(a) => TurnFacts {
                hit_rules: a.guard.iter().map(|h| h.rule.as_str()).collect(),
                hit_categories: a.guard.iter().map(|h| h.category.as_str()).collect(),
                follow_up_due_ms: self.timers.iter().find_map(|t| match t {
                    Timer::FollowUp { due_at_ms, .. } => Some(*due_at_ms),
                    _ => None,
                }),
                ..TurnFacts::default()
            },
        }
    }
}

impl Engine {
    /// One turn: analyses it, updates `chat` (state, flags, wait) and says what to push, arm
    /// and store. Pure: the same `chat` and `turn` always give the same outcome.
    pub fn step(&self, chat: &mut Chat, turn: &Turn<'_>) -> TurnOutcome {
        let mut timers = Vec::new();
        let analysis = match turn.speaker {
            Speaker::Customer => {
                let same_wait = chat.wait.is_some();
                if let Some(sku) = turn.product {
                    chat.state.set_product(Some(sku));
                }
                let a = self.customer_turn(&mut chat.state, turn.text, Some(turn.at_ms));
                chat.flags = chat
                    .flags
                    .after_customer(same_wait, &a.understanding, &chat.state);
                if !same_wait {
                    chat.wait = Some(Wait {
                        turn: turn.id.to_string(),
                        since_ms: turn.received_ms,
                    });
                    timers.push(Timer::StartSla {
                        turn: turn.id.to_string(),
                        since_ms: turn.received_ms,
                    });
                }
                Analysis::Customer(a)
            }
            Speaker::Agent => {
                let a = self.agent_turn(&mut chat.state, turn.text, Some(turn.at_ms));
                chat.flags = chat.flags.after_agent();
                if chat.wait.take().is_some() {
                    timers.push(Timer::StopSla);
                }
                if let Some(f) = &a.follow_up {
                    timers.push(Timer::FollowUp {
                        turn: turn.id.to_string(),
                        due_at_ms: turn.received_ms.saturating_add(f.due_in_ms),
                        follow_up: f.clone(),
                    });
                }
                Analysis::Agent(a)
            }
        };
        TurnOutcome {
            analysis,
            flags: chat.flags.clone(),
            timers,
        }
    }
}
