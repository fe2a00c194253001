//! Property tests: normalise + guard never panic on any Unicode, and every hit maps to a
//! non-empty, in-bounds span of the original text.

use huashu_guard::Guard;
use huashu_phrasebook::parse_str;
use proptest::prelude::*;

const BOOK: &str = r#"
[book]
name = "p"
[[rule]]
id = "provoke.go_sue"
category = "provoke"
severity = "block"
phrases = ["你去告", "告"]
patterns = ["我都说了?[几两三\\d]+遍", ".{0,3}滚", "(?m)^你?等会?$"]
allow = ["告诉"]
rewrite = "抱歉"
[[rule]]
id = "rude_opening.wei"
category = "rude_opening"
severity = "warn"
phrases = ["喂"]
position = "start"
allow = ["喂养"]
rewrite = "您好"
"#;

fn guard() -> Guard {
    Guard::new(&parse_str(&[("book.toml", BOOK)]).expect("parses").rules).expect("compiles")
}

fn check(guard: &Guard, text: &str) {
    let n = text.chars().count();
    for h in guard.check(text) {
        assert!(
            h.start < h.end && h.end <= n,
            "{h:?} in {text:?} ({n} chars)"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_string(text in any::<String>()) {
        check(&guard(), &text);
    }

    #[test]
    fn forbidden_chars_mixed_with_noise(parts in proptest::collection::vec(
        prop_oneof![
            Just("你"), Just("去"), Just("告"), Just("啊"), Just("诉"), Just("喂"), Just("养"),
            Just("滚"), Just("遍"), Just("3"), Just(" "), Just("。"), Just("😡"), Just("\u{200d}"),
            Just("\u{301}"), Just("\u{0}"), Just("妳"), Just("Ａ"), Just("\u{202e}"), Just("\n"),
            Just("等"), Just("会"), Just("！"),
        ],
        0..40,
    )) {
        check(&guard(), &parts.concat());
    }
}
