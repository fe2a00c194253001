//! `huashu export` as a QA lead runs it: a database written through the store API (as the
//! service writes it), exported with the real binary, and the export fed to `huashu diff`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use huashu_store::{Durability, NewEvent, Store, TurnWrite, Write};
use serde_json::Value;

fn default_book() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../phrasebooks/default"
    ))
}

fn huashu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_huashu"))
        .args(args)
        .output()
        .expect("run huashu")
}

/// 2024-11-22 12:00 +08:00.
const NOON_22: i64 = 1_732_248_000_000;

fn turn(shop: &str, conv: &str, id: &str, seq: u64, role: &str, text: &str, at: i64) -> Write {
    Write::Turn(TurnWrite {
        conversation: conv.into(),
        shop: shop.into(),
        id: id.into(),
        seq,
        role: role.into(),
        text: text.into(),
        at,
        received_at: at + 20,
        book: "hash-1".into(),
        // The service stores the sending agent with agent turns.
        agent: (role == "agent").then(|| "a-7".to_string()),
        events: vec![NewEvent {
            seq,
            kind: if role == "agent" { "guard" } else { "analysis" }.into(),
            turn: Some(id.into()),
            payload: "{}".into(),
        }],
        summary: None,
        agent_hit_rules: (role == "agent").then(Vec::new),
        visitor: None,
    })
}

fn database(dir: &Path) -> PathBuf {
    let path = dir.join("huashu.db");
    let mut store = Store::open(&path, Durability::Normal).expect("open");
    let day = 86_400_000;
    let writes = [
        turn(
            "shop-1",
            "c-1",
            "m-1",
            1,
            "customer",
            "我的快递怎么还没到，电话13812345678",
            NOON_22,
        ),
        turn(
            "shop-1",
            "c-1",
            "m-2",
            2,
            "agent",
            "亲，这个问题我们明天处理完毕",
            NOON_22 + 8_000,
        ),
        turn(
            "shop-1",
            "c-1",
            "m-3",
            3,
            "customer",
            "好的谢谢",
            NOON_22 + 30_000,
        ),
        turn(
            "shop-1",
            "c-2",
            "n-1",
            1,
            "customer",
            "衣服有色差，我要退货",
            NOON_22 + day,
        ),
        turn(
            "shop-1",
            "c-2",
            "n-2",
            2,
            "agent",
            "你去告啊",
            NOON_22 + day + 5_000,
        ),
        turn(
            "shop-2",
            "x-1",
            "y-1",
            1,
            "customer",
            "别的店铺的对话",
            NOON_22,
        ),
    ];
    for r in store.apply(&writes).expect("transaction") {
        r.expect("write");
    }
    path
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn export_writes_masked_jsonl_per_shop_and_since() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let db = db.to_str().expect("utf-8 path");

    let out = huashu(&["export", "--db", db, "--shop", "shop-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = lines(&String::from_utf8(out.stdout).expect("utf-8"));
    let ids: Vec<_> = all.iter().map(|l| l["id"].as_str().unwrap_or("")).collect();
    assert_eq!(ids, ["m-1", "m-2", "m-3", "n-1", "n-2"]);
    let first = &all[0];
    assert_eq!(first["conversation"], "c-1");
    assert_eq!(first["role"], "customer");
    assert_eq!(first["at"], NOON_22);
    assert_eq!(first["time"], "2024-11-22T12:00:00+08:00");
    assert_eq!(first["shop"], "shop-1");
    assert_eq!(first["book"], "hash-1");
    // `agent` only where the turn was stored with one (agent turns).
    assert!(first.get("agent").is_none(), "{first}");
    assert_eq!(all[1]["agent"], "a-7");
    // PII stays masked: the phone number never leaves the database.
    let text = first["text"].as_str().expect("text");
    assert!(
        !text.contains("13812345678") && text.starts_with("我的快递"),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exported 5 turns of 2 conversations"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --since is a local date; --out writes a file.
    let file = dir.path().join("since.jsonl");
    let out = huashu(&[
        "export",
        "--db",
        db,
        "--since",
        "2024-11-23",
        "--out",
        file.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let since = lines(&std::fs::read_to_string(&file).expect("export file"));
    let ids: Vec<_> = since
        .iter()
        .map(|l| l["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["n-1", "n-2"]);

    // Usage errors exit 2.
    assert_eq!(
        huashu(&["export", "--db", db, "--since", "tomorrow"])
            .status
            .code(),
        Some(2)
    );
    let missing = dir.path().join("missing.db");
    assert_eq!(
        huashu(&["export", "--db", missing.to_str().expect("path")])
            .status
            .code(),
        Some(2)
    );
    assert!(!missing.exists(), "export must not create a database");
}

#[test]
fn an_export_feeds_huashu_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let export = dir.path().join("shop-1.jsonl");
    let out = huashu(&[
        "export",
        "--db",
        db.to_str().expect("path"),
        "--shop",
        "shop-1",
        "--out",
        export.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The candidate book: the default one plus a rule that flags one exported agent line.
    let new = dir.path().join("candidate");
    std::fs::create_dir(&new).expect("dir");
    copy_tree(&default_book(), &new);
    let forbidden = new.join("forbidden.toml");
    let mut text = std::fs::read_to_string(&forbidden).expect("forbidden.toml");
    text.push_str(
        "\n[[rule]]\nid = \"overpromise.export_test\"\ncategory = \"overpromise\"\nseverity = \"warn\"\n\
         phrases = [\"明天处理完毕\"]\nrewrite = \"我们会尽快为您处理，有进展第一时间通知您。\"\n",
    );
    std::fs::write(&forbidden, text).expect("edit");

    let old = default_book();
    let out = huashu(&[
        "diff",
        "--old",
        old.to_str().expect("path"),
        "--new",
        new.to_str().expect("path"),
        "--json",
        export.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no skipped lines: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("diff JSON");
    assert_eq!(
        (
            report["customer_lines"].as_u64(),
            report["agent_lines"].as_u64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(report["lines_newly_flagged"], 1);
    let gained = &report["hits_gained"]["overpromise.export_test"];
    assert_eq!(gained["count"], 1);
    assert!(
        gained["examples"][0]
            .as_str()
            .unwrap_or("")
            .contains("明天处理完毕"),
        "{gained}"
    );

    // As a CI gate: the benign export gains a hit → exit 1.
    let gate = huashu(&[
        "diff",
        "--old",
        old.to_str().expect("path"),
        "--new",
        new.to_str().expect("path"),
        "--fail-on",
        "gained-hits",
        export.to_str().expect("path"),
    ]);
    assert_eq!(gate.status.code(), Some(1));
}

/// Copies a book directory with its subfolders (the training corpus lives in `corpus/`).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let p = entry.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}
