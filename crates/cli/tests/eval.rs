//! `huashu eval` as a CI job runs it: the real binary on a small book and a labelled file. The
//! point is that its gates catch a regression — a book change that makes detection worse must
//! exit 1 — and that a file with nothing to score is an error, not a green run.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const BOOK: &str = "[book]\nname = \"t\"\n";

/// Intents with enough examples that a small model separates shipping from refunds.
const GOOD: &str = r#"
[[intent]]
id = "shipping"
keywords = ["快递", "物流", "发货"]
examples = ["快递到哪了", "物流三天没动", "什么时候发货", "包裹还没到"]

[[intent]]
id = "return_refund"
keywords = ["退款", "退货"]
examples = ["我要退货", "退款什么时候到账", "怎么申请退款", "不想要了能退吗"]
"#;

/// The same book after a careless edit: shipping lost its keywords and examples.
const REGRESSED: &str = r#"
[[intent]]
id = "shipping"
examples = ["在吗"]

[[intent]]
id = "return_refund"
keywords = ["退款", "退货"]
examples = ["我要退货", "退款什么时候到账", "怎么申请退款", "不想要了能退吗"]
"#;

const LABELLED: &str = concat!(
    r#"{"text":"我的快递到哪了","intents":["shipping"],"emotion":"neutral"}"#,
    "\n",
    r#"{"text":"物流一直不更新","intents":["shipping"],"emotion":"neutral","ambiguous":false}"#,
    "\n",
    r#"{"text":"退款还没到账","intents":["return_refund"],"emotion":"neutral"}"#,
    "\n",
    r#"{"text":"我想退货","intents":["return_refund"],"emotion":"neutral","ambiguous":true,"context":[{"role":"agent","text":"请问有什么可以帮您？"}]}"#,
    "\n",
);

fn book(dir: &Path, intents: &str) {
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(dir.join("book.toml"), BOOK).expect("write book");
    fs::write(dir.join("intents.toml"), intents).expect("write intents");
}

fn eval(book: &Path, file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_huashu"))
        .arg("eval")
        .arg(file)
        .arg("--phrasebooks")
        .arg(book)
        .args(extra)
        .output()
        .expect("run huashu eval")
}

#[test]
fn gates_pass_on_the_good_book_and_fail_on_the_regressed_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (good, bad) = (tmp.path().join("good"), tmp.path().join("bad"));
    book(&good, GOOD);
    book(&bad, REGRESSED);
    let file = tmp.path().join("labelled.jsonl");
    fs::write(&file, LABELLED).expect("write labelled");
    let gates = ["--min-intent-acc", "0.99", "--context"];

    let out = eval(&good, &file, &gates);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("4 customer lines (3 strict)"), "{stdout}");
    assert!(stdout.contains("primary intent confusion"), "{stdout}");

    let out = eval(&bad, &file, &gates);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gate failed: primary intent accuracy"),
        "{stderr}"
    );

    // The same gate on the strict rows only, and the JSON report carries both sets.
    let out = eval(
        &bad,
        &file,
        &["--strict", "--min-intent-acc", "0.99", "--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["all"]["lines"], 4);
    assert_eq!(report["strict"]["lines"], 3);
}

#[test]
fn a_file_without_labels_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = tmp.path().join("good");
    book(&good, GOOD);
    let file = tmp.path().join("unlabelled.jsonl");
    fs::write(&file, "{\"text\":\"快递到哪了\"}\nnot json\n").expect("write");
    let out = eval(&good, &file, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no labelled line"), "{stderr}");
}
