//! `huashu check CANDIDATE --against PUBLISHED`: the publishing gate as a QA lead (or CI) runs
//! it. Each damaging candidate must exit 1 and name its reason; an unchanged one must pass.
//! Small books keep the debug binary quick; the shipped book is gated in the engine's tests.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const BOOK: &str = "[book]\nname = \"t\"\n";

const INTENTS: &str = r#"
[[intent]]
id = "shipping"
keywords = ["快递", "物流", "发货"]
examples = ["快递到哪了", "物流三天没动", "什么时候发货", "包裹还没到"]

[[intent]]
id = "return_refund"
keywords = ["退款", "退货"]
examples = ["我要退货", "退款什么时候到账", "怎么申请退款", "不想要了能退吗"]
"#;

/// A careless edit: shipping lost its keywords and examples.
const INTENTS_REGRESSED: &str = r#"
[[intent]]
id = "shipping"
examples = ["在吗"]

[[intent]]
id = "return_refund"
keywords = ["退款", "退货"]
examples = ["我要退货", "退款什么时候到账", "怎么申请退款", "不想要了能退吗"]
"#;

const RULES: &str = r#"
[[rule]]
id = "provoke.go_sue"
category = "provoke"
severity = "block"
phrases = ["你去告", "有本事你去投诉"]
rewrite = "非常抱歉给您带来不便，我们一定尽力为您解决。"

[[rule]]
id = "impatience.hurry"
category = "impatience"
severity = "block"
phrases = ["催什么催"]
rewrite = "非常理解您着急的心情，我马上为您查询。"

[[rule]]
id = "dismissive.dont_know"
category = "dismissive"
severity = "warn"
phrases = ["你问我我怎么知道"]
rewrite = "这个问题我帮您确认一下。"
"#;

const BROAD: &str = "\n[[rule]]\nid = \"dismissive.too_broad\"\ncategory = \"dismissive\"\nseverity = \"block\"\nphrases = [\"不知道\", \"催一下\"]\nrewrite = \"这个问题我帮您确认一下。\"\n";

const LABELLED: &str = concat!(
    r#"{"text":"我的快递到哪了","intents":["shipping"],"emotion":"neutral"}"#,
    "\n",
    r#"{"text":"物流一直不更新","intents":["shipping"],"emotion":"neutral"}"#,
    "\n",
    r#"{"text":"退款还没到账","intents":["return_refund"],"emotion":"neutral"}"#,
    "\n",
);

fn book(dir: &Path, intents: &str, rules: &str) {
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(dir.join("book.toml"), BOOK).expect("write book");
    fs::write(dir.join("intents.toml"), intents).expect("write intents");
    fs::write(dir.join("forbidden.toml"), rules).expect("write rules");
}

fn check(candidate: &Path, published: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_huashu"))
        .arg("check")
        .arg(candidate)
        .arg("--against")
        .arg(published)
        .args(extra)
        .output()
        .expect("run huashu check")
}

#[test]
fn damaging_candidates_are_refused_with_their_reason() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let published = tmp.path().join("published");
    book(&published, INTENTS, RULES);
    let corpus = tmp.path().join("held-out.jsonl");
    fs::write(&corpus, LABELLED).expect("write corpus");
    let broad = format!("{RULES}{BROAD}");
    let dup = format!(
        "{RULES}\n[[rule]]\nid = \"provoke.go_sue\"\ncategory = \"provoke\"\nseverity = \"warn\"\nphrases = [\"别烦\"]\nrewrite = \"好的。\"\n"
    );
    // (case, intents, rules, exit code, stderr must contain)
    let cases: &[(&str, &str, &str, i32, &str)] = &[
        ("unchanged", INTENTS, RULES, 0, "check passed"),
        (
            "block rule on 不知道/催一下",
            INTENTS,
            &broad,
            1,
            "正常回复开始被拦截",
        ),
        (
            "emptied forbidden.toml",
            INTENTS,
            "# 全部删除\n",
            1,
            "没有任何忌语规则",
        ),
        ("lint problem", INTENTS, &dup, 1, "lint 发现"),
        (
            "intent accuracy drop",
            INTENTS_REGRESSED,
            RULES,
            1,
            "held-out.jsonl：主意图准确率",
        ),
    ];
    for (i, &(what, intents, rules, code, needle)) in cases.iter().enumerate() {
        let candidate = tmp.path().join(format!("candidate-{i}"));
        book(&candidate, intents, rules);
        let out = check(
            &candidate,
            &published,
            &["--corpus", corpus.to_str().expect("path")],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{what}: {stderr}\n{stdout}");
        assert!(stderr.contains(needle), "{what}: {stderr}");
        // Both books side by side on every corpus.
        if code == 0 {
            assert!(
                stdout.contains("published") && stdout.contains("candidate"),
                "{what}: {stdout}"
            );
        }
    }
}

#[test]
fn errors_do_not_repeat_their_cause() {
    // (args, text that must appear exactly once on stderr)
    const CASES: &[(&[&str], &str)] = &[
        (&["lint", "/nonexistent-huashu-book"], "os error 2"),
        (&["eval", "/nonexistent-huashu.jsonl"], "os error 2"),
    ];
    for &(args, once) in CASES {
        let out = Command::new(env!("CARGO_BIN_EXE_huashu"))
            .args(args)
            .output()
            .expect("run huashu");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.matches(once).count(), 1, "{args:?}: {stderr}");
    }
}
