//! Why a conversation's `escalation` flag is up. The console names the cause of an alert
//! ("asked for a supervisor", "threatened a complaint", "risk rising over N turns") from these
//! reasons instead of guessing it from the flag, so the decision lives in one place: here, next
//! to the flag it explains.

use serde::{Deserialize, Serialize};

/// One cause of the escalation flag, as sent in the summary's `escalation_reasons`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum EscalationReason {
    /// A customer turn of the wait has an `escalation` intent (a supervisor, manager, a human).
    AskedHuman,
    /// The risk is high and the customer threatened a complaint in this conversation (12315,
    /// 差评, 投诉, 曝光…).
    ComplaintThreat,
    /// The risk reached `ESCALATION_RISK`: `risk` when it was last raised, and over how many
    /// customer turns in a row it had been rising then (1 = only that turn).
    Risk { risk: f32, turns: u32 },
}

/// What one customer turn tells about escalation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TurnSignals {
    /// The turn has an `escalation` intent (any of its intents).
    pub(crate) asked: bool,
    /// Some customer turn of the conversation (this one included) was a threat.
    pub(crate) threat: bool,
    /// The conversation's escalation risk after the turn.
    pub(crate) risk: f32,
    /// Customer turns in a row that raised the risk, up to this one.
    pub(crate) rising_turns: u32,
}

/// The reasons after a customer turn. Within one wait they add up (`previous`); a new wait
/// starts from none. The flag is up exactly when the list is not empty.
pub(crate) fn reasons_after(
    previous: &[EscalationReason],
    same_wait: bool,
    s: TurnSignals,
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
    if s.risk >= huashu_engine::ESCALATION_RISK {
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

    fn sig(asked: bool, threat: bool, risk: f32, rising_turns: u32) -> TurnSignals {
        TurnSignals {
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
}
