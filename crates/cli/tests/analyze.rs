//! `huashu analyze` as a user runs it: the real binary, JSONL in, JSONL out (fixed contract).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

fn book() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../phrasebooks/default").to_string()
}

/// Runs `huashu analyze` on `input` and returns the parsed output lines.
fn analyze(input: &str) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_huashu"))
        .args(["analyze", "--phrasebooks", &book()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn huashu");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer thread").expect("write stdin");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

const KEYS: &[&str] = &[
    "intents",
    "emotion",
    "urgent",
    "urgent_kind",
    "style",
    "entities",
    "guard",
    "suggestions",
];

#[test]
fn output_has_the_fixed_shape_in_order() {
    let out = analyze(concat!(
        r#"{"role":"customer","text":"我的快递怎么还没到，订单号2023112245678901","conversation":"c1"}"#,
        "\n",
        r#"{"role":"agent","text":"你去告啊","conversation":"c1"}"#,
        "\n",
        r#"{"role":"agent","text":"亲，我帮您催一下快递"}"#,
        "\n"
    ));
    assert_eq!(out.len(), 3);
    for line in &out {
        for key in KEYS {
            assert!(line.get(key).is_some(), "missing {key} in {line}");
        }
    }
    let customer = &out[0];
    assert!(
        customer["intents"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    assert!(customer["emotion"]["label"].is_string());
    assert!(customer["guard"].as_array().is_some_and(|a| a.is_empty()));

    let hit = &out[1]["guard"][0];
    assert_eq!(hit["category"], "provoke");
    assert_eq!(hit["severity"], "block");
    assert_eq!(hit["start"], 0);
    assert_eq!(hit["end"], 4);
    assert_eq!(hit["text"], "你去告啊");
    assert!(
        hit["rule"]
            .as_str()
            .is_some_and(|r| r.starts_with("provoke."))
    );
    assert!(hit["rewrite"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(out[1]["emotion"].is_null());
    assert_eq!(out[2]["guard"], serde_json::json!([]));
    // Additive: agent lines carry the whole text rewritten (null when clean); customer lines not.
    let rewritten = out[1]["rewritten"]
        .as_str()
        .expect("agent line with a hit: rewritten");
    assert!(
        !rewritten.contains('告') && !rewritten.is_empty(),
        "{rewritten}"
    );
    assert!(out[2]["rewritten"].is_null() && out[2].get("rewritten").is_some());
    assert!(customer.get("rewritten").is_none());
}

#[test]
fn bad_lines_report_their_number_and_processing_goes_on() {
    let out = analyze(concat!(
        "not json\n",
        r#"{"role":"customer"}"#,
        "\n",
        r#"{"role":"robot","text":"hi"}"#,
        "\n",
        "\n",
        r#"{"role":"customer","text":"\ud800 lone surrogate"}"#,
        "\n",
        r#"{"role":"agent","text":"你问我我怎么知道"}"#,
        "\n"
    ));
    assert_eq!(out.len(), 6);
    for (i, line) in out.iter().take(5).enumerate() {
        assert_eq!(line["line"], i + 1, "{line}");
        assert!(
            line["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{line}"
        );
    }
    assert_eq!(out[5]["guard"][0]["category"], "dismissive", "{}", out[5]);
}

#[test]
fn hostile_unicode_never_panics() {
    let texts = [
        "\u{0}\u{0}你\u{0}去\u{0}告\u{0}啊",
        "\u{202E}啊告去你\u{202C}",
        "e\u{301}\u{301}\u{301}你去告啊\u{301}",
        "👨‍👩‍👧‍👦你👍🏽去告啊",
        "\u{FEFF}\u{200B}\u{200D}",
        "ﾃｽﾄ ＡＢＣ ①②③",
    ];
    let input: String = texts
        .iter()
        .flat_map(|t| {
            ["customer", "agent"]
                .map(|role| serde_json::json!({ "role": role, "text": t }).to_string() + "\n")
        })
        .collect();
    let out = analyze(&input);
    assert_eq!(out.len(), texts.len() * 2);
    assert!(out.iter().all(|l| l.get("error").is_none()), "{out:?}");
}

#[test]
fn a_one_megabyte_line_is_handled() {
    let chunk = "亲，您的包裹已经发出了，请耐心等待。你去告啊！";
    let mut text = String::new();
    while text.len() < 1 << 20 {
        text.push_str(chunk);
    }
    let line = serde_json::json!({ "role": "agent", "text": text }).to_string() + "\n";
    let started = Instant::now();
    let out = analyze(&(line.clone() + &line.replace("agent", "customer")));
    let elapsed = started.elapsed();
    assert_eq!(out.len(), 2);
    let hits = out[0]["guard"].as_array().expect("guard array");
    assert!(
        hits.len() > 1000,
        "every repetition is caught: {}",
        hits.len()
    );
    // Not a timing assertion on speed, only a guard against quadratic blow-up (minutes).
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
}
