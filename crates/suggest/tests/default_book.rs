//! The shipped `phrasebooks/default` works with the suggester: every intent gets at least three
//! suggestions on a plain neutral turn, and no turn shape ever shows a raw `{slot}`.

use std::path::Path;

use huashu_phrasebook::{EMOTIONS, INTENTS, Phrasebook, Style};
use huashu_suggest::{ConversationState, Suggester, Suggestion};
use huashu_understand::{Emotion, IntentScore, Understanding};

fn default_book() -> Phrasebook {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    huashu_phrasebook::load_dir(&dir).unwrap_or_else(|e| panic!("default book: {e}"))
}

fn understanding(
    intent: &'static str,
    emotion: &'static str,
    intensity: f32,
    style: Style,
) -> Understanding {
    Understanding {
        intents: vec![IntentScore {
            id: intent,
            score: 0.8,
        }],
        emotion: Emotion {
            label: emotion,
            intensity,
        },
        urgent: false,
        urgent_kind: None,
        style,
        entities: Vec::new(),
        threat: false,
        repeat_ask: false,
        confident: true,
    }
}

fn check(what: &str, out: &[Suggestion]) {
    assert!(out.len() <= 5, "{what}: {} suggestions", out.len());
    for (i, s) in out.iter().enumerate() {
        assert!(
            !s.text.contains('{') && !s.text.contains('}'),
            "{what}: raw slot in {}: {}",
            s.script,
            s.text
        );
        assert!(
            out[i + 1..].iter().all(|o| o.script != s.script),
            "{what}: {} twice",
            s.script
        );
    }
}

#[test]
fn every_intent_gets_three_suggestions_on_a_neutral_turn() {
    let s = Suggester::new(&default_book()).unwrap_or_else(|e| panic!("compile: {e}"));
    for intent in INTENTS {
        for style in [Style::Rational, Style::Emotional] {
            let u = understanding(intent, "neutral", 0.0, style);
            let mut st = ConversationState::new();
            st.observe_customer(&u, None);
            let out = s.suggest(&u, "", &mut st);
            let what = format!("{intent}/{style:?}");
            check(&what, &out);
            assert!(
                out.len() >= 3,
                "{what}: only {:?}",
                out.iter().map(|s| &s.script).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn no_turn_shape_shows_raw_slots() {
    let s = Suggester::new(&default_book()).unwrap_or_else(|e| panic!("compile: {e}"));
    for intent in INTENTS {
        for emotion in EMOTIONS {
            for style in [Style::Rational, Style::Emotional] {
                for urgent in [false, true] {
                    let mut u = understanding(intent, emotion, 0.8, style);
                    u.urgent = urgent;
                    u.threat = urgent;
                    let mut st = ConversationState::new();
                    // A few turns, so that history, stages and escalation all take part.
                    for turn in 0..4 {
                        st.observe_customer(&u, Some(turn * 40_000));
                        let out = s.suggest(&u, "请问包邮吗，几天发货", &mut st);
                        check(
                            &format!("{intent}/{emotion}/{style:?}/urgent={urgent}/{turn}"),
                            &out,
                        );
                        if urgent {
                            assert!(
                                !out.is_empty(),
                                "{intent}/{emotion}: nothing on an urgent turn"
                            );
                        }
                        st.observe_agent("非常抱歉，马上为您处理", Some(turn * 40_000 + 5_000));
                    }
                }
            }
        }
    }
}
