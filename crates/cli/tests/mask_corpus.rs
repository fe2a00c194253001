//! The masker against the repository's corpora: no order or tracking number the engine
//! extracts is masked (the false-mask rate this test prints and holds at zero), and every phone
//! number it extracts is. Run with `--nocapture` to see the figures.

use std::path::Path;

use huashu_engine::{ConversationState, Engine};

fn lines(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn order_and_tracking_numbers_survive_masking_and_phones_do_not() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phrasebooks/default");
    let engine = Engine::load(&book).expect("default book");
    let texts: Vec<String> = ["eval.jsonl", "guard_cases.jsonl"]
        .iter()
        .flat_map(|f| lines(f))
        .collect();
    let (mut ids, mut false_masked, mut phones, mut phones_missed, mut lines_masked) =
        (0, Vec::new(), 0, Vec::new(), 0);
    for text in &texts {
        let masked = huashu_store::mask(text);
        if masked != text.as_str() {
            lines_masked += 1;
        }
        let chars: Vec<char> = masked.chars().collect();
        let a = engine.customer_turn(&mut ConversationState::new(), text, None);
        for e in &a.understanding.entities {
            let span: String = chars[e.start..e.end].iter().collect();
            match e.kind {
                "order_id" | "tracking_no" => {
                    ids += 1;
                    if span != e.text {
                        false_masked.push((text.clone(), e.text.clone()));
                    }
                }
                "phone" => {
                    phones += 1;
                    if span == e.text {
                        phones_missed.push(text.clone());
                    }
                }
                _ => {}
            }
        }
    }
    eprintln!(
        "{} lines, {lines_masked} changed by the masker; {ids} order/tracking numbers, {} masked; {phones} phones, {} left unmasked",
        texts.len(),
        false_masked.len(),
        phones_missed.len()
    );
    assert!(
        ids >= 10,
        "the corpus has order and tracking numbers to check: {ids}"
    );
    assert!(false_masked.is_empty(), "{false_masked:?}");
    assert!(phones_missed.is_empty(), "{phones_missed:?}");
}
