//! The conversation's flags — urgent, threat, escalation (with its reasons), emotion trend and
//! safety mode — decided here and nowhere else. The server stores and pushes them, the console
//! shows them (`analysis.flags`, `guard.flags`, the summary's fields) and computes none of them,
//! so a rule changes in one place and every view follows.
//!
//! The rules, per customer turn (a *wait* runs from the first unanswered customer turn to the
//! next agent turn):
//! - `urgent`: some customer turn of the current wait was urgent; an agent turn clears it.
//! - `threat`: sticky; some customer turn of the conversation was a threat.
//! - `escalation`: some customer turn of the current wait asked for a human, or the escalation
//!   risk reached [`ESCALATION_RISK`]; kept by an agent turn, forgotten when a new wait starts.
//!   `escalation_reasons` says why (empty exactly when the flag is down).
//! - `trend`: the direction of the customer's anger (`ConversationState::trend`).
//! - `safety`: safety mode (`ConversationState::safety`): from the first urgent turn until an
//!   agent resolves it.

use huashu_phrasebook::UrgentKind;
use huashu_suggest::{ConversationState, ESCALATION_RISK, Trend};
use huashu_understand::Understanding;
use serde::{Deserialize, Serialize};

/// One cause of the escalation flag, as sent in `escalation_reasons`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EscalationReason {
    /// A customer turn of the wait has an `escalation` intent (a supervisor, manager, a human).
    AskedHuman,
    /// The risk is high and the customer threatened a complaint in this conversation (12315,
    /// 差评, 投诉, 曝光…).
    ComplaintThreat,
    /// The risk reached [`ESCALATION_RISK`]: `risk` when it was last raised, and over how many
    /// customer turns in a row it had been rising then (1 = only that turn).
    Risk { risk: f32, turns: u32 },
}

/// A conversation's flags after its latest turn. Serialised as the `flags` object of `analysis`
/// and `guard` events (safety mode travels as the event's own `safety` field).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Flags {
    pub urgent: bool,
    pub threat: bool,
    pub escalation: bool,
    /// Why `escalation` is up, oldest cause first; empty exactly when it is not (a summary
    /// stored by an older server may have the flag without reasons).
    pub escalation_reasons: Vec<EscalationReason>,
    pub trend: Trend,
    #[serde(skip)]
    pub safety: Option<UrgentKind>,
}

impl Flags {
    /// The flags after a customer turn (`state` has already observed it). `same_wait`: the
    /// customer was already waiting for an answer before this turn.
    pub(crate) fn after_customer(
        &self,
        same_wait: bool,
        u: &Understanding,
        state: &ConversationState,
    ) -> Flags {
        let threat = self.threat || u.threat;
        let escalation_reasons = reasons_after(
            &self.escalation_reasons,
            same_wait,
            Signals {
                asked: u.intents.iter().any(|i| i.id == "escalation"),
                // Sticky, like the flag: a threat earlier in the chat still weighs.
                threat,
                risk: state.escalation_risk(),
                rising_turns: state.risk_rising_turns(),
            },
        );
        Flags {
            urgent: (same_wait && self.urgent) || u.urgent,
            threat,
            escalation: (same_wait && self.escalation) || !escalation_reasons.is_empty(),
            escalation_reasons,
            trend: state.trend(),
            safety: state.safety(),
        }
    }

    /// The flags after an agent turn: answered, the customer no longer jumps the queue.
    /// (`escalation` stays: it describes the latest customer turns until the next wait starts.)
    pub(crate) fn after_agent(&self) -> Flags {
        Flags {
            urgent: false,
            ..self.clone()
        }
    }
}

/// What one customer turn tells about escalation.
#[derive(Debug, Clone, Copy)]
struct Signals {
    /// The turn has an `escalation` intent (any of its intents).
    asked: bool,
    /// Some customer turn of the conversation (this one included) was a threat.
    threat: bool,
    /// The conversation's escalation risk after the turn.
    risk: f32,
    /// Customer turns in a row that raised the risk, up to this one.
    rising_turns: u32,
}

/// The reasons after a customer turn. Within one wait they add up (`previous`); a new wait
/// starts from none. The flag is up exactly when the list is not empty.
fn reasons_after(
    previous: &[EscalationReason],
    same_wait: bool,
    s: Signals,
) -> Vec<EscalationReason> {
    let mut out: Vec<EscalationReason> = if same_wait {
        previous.to_vec()
    } else {
        Vec::new()
    };
    let add = |out: &mut Vec<EscalationReason>, r: EscalationReason| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    if s.asked {
        add(&mut out, EscalationReason::AskedHuman);
    }
    if s.risk >= ESCALATION_RISK {
        if s.threat {
            add(&mut out, EscalationReason::ComplaintThreat);
        }
        out.retain(|r| !matches!(r, EscalationReason::Risk { .. }));
        out.push(EscalationReason::Risk {
            risk: (s.risk * 100.0).round() / 100.0,
            turns: s.rising_turns.max(1),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::EscalationReason::*;
    use super::*;

    fn sig(asked: bool, threat: bool, risk: f32, rising_turns: u32) -> Signals {
        Signals {
            asked,
            threat,
            risk,
            rising_turns,
        }
    }

    #[test]
    fn asking_for_a_human_is_its_own_reason() {
        assert_eq!(
            reasons_after(&[], false, sig(true, false, 0.4, 1)),
            [AskedHuman]
        );
    }

    #[test]
    fn a_threat_counts_only_when_it_made_the_risk_high() {
        assert_eq!(reasons_after(&[], false, sig(false, true, 0.5, 1)), []);
        assert_eq!(
            reasons_after(&[], false, sig(false, true, 0.8, 3)),
            [
                ComplaintThreat,
                Risk {
                    risk: 0.8,
                    turns: 3
                }
            ]
        );
    }

    #[test]
    fn reasons_add_up_within_a_wait_and_reset_with_a_new_one() {
        let first = reasons_after(&[], false, sig(true, false, 0.3, 1));
        let second = reasons_after(&first, true, sig(false, false, 0.65, 2));
        assert_eq!(
            second,
            [
                AskedHuman,
                Risk {
                    risk: 0.65,
                    turns: 2
                }
            ]
        );
        // A calmer turn in the same wait keeps what was said; a new wait forgets it.
        assert_eq!(
            reasons_after(&second, true, sig(false, false, 0.5, 0)),
            second
        );
        assert_eq!(reasons_after(&second, false, sig(false, false, 0.5, 0)), []);
    }

    #[test]
    fn the_wire_shape_is_tagged_by_kind() {
        let json = serde_json::to_string(&[
            AskedHuman,
            Risk {
                risk: 0.72,
                turns: 3,
            },
        ])
        .unwrap();
        assert_eq!(
            json,
            r#"[{"kind":"asked_human"},{"kind":"risk","risk":0.72,"turns":3}]"#
        );
    }

    #[test]
    fn flags_serialise_without_safety_which_the_event_carries() {
        let f = Flags {
            urgent: true,
            trend: Trend::Rising,
            safety: Some(UrgentKind::Fire),
            ..Flags::default()
        };
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"urgent":true,"threat":false,"escalation":false,"escalation_reasons":[],"trend":"rising"}"#
        );
    }
}
