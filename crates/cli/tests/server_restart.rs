//! `huashu serve` as a user runs it (the real binary): the console line, refusing a public address
//! without tokens, and surviving SIGKILL: after a restart on the same database every acked turn
//! is there exactly once, re-sent turns are recognised, and `since` resumes without gaps.

mod server_support;

use std::collections::{BTreeMap, HashMap};
use std::process::Command;

use serde_json::json;
use server_support::*;

fn book_arg() -> String {
    fixture_book().display().to_string()
}

#[test]
fn a_public_address_without_tokens_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_huashu"))
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--phrasebooks",
            &book_arg(),
            "--db",
        ])
        .arg(dir.path().join("x.db"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tokens"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_token_serves_every_role_of_shop_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.db");
    let server = Binary::start(&[
        "--listen",
        "127.0.0.1:0",
        "--phrasebooks",
        &book_arg(),
        "--db",
        db.to_str().expect("utf-8"),
    ]);
    let token = server
        .token
        .clone()
        .expect("generated token in the console line");
    assert_eq!(token.len(), 32, "{}", server.console_line);
    for role in ["widget", "agent", "supervisor"] {
        let mut c = Client::connect(&server.url()).await;
        c.send(json!({"type":"hello","role":role,"token":token}))
            .await;
        assert_eq!(c.expect("welcome").await["shop"], "default");
    }
    let (status, _) = http(
        server.addr,
        "POST",
        "/api/reload",
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    );
    assert_eq!(status, 200, "the generated token is also the admin token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_restart_loses_no_acked_turn_and_doubles_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.db");
    let db = db.to_str().expect("utf-8").to_string();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!("admin = \"{ADMIN}\"\n[[token]]\ntoken = \"{WIDGET_A}\"\nrole = \"widget\"\nshop = \"shop-a\"\n[[token]]\ntoken = \"{AGENT_A}\"\nrole = \"agent\"\nshop = \"shop-a\"\n"),
    )
    .expect("tokens");
    let tokens = tokens.to_str().expect("utf-8").to_string();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--phrasebooks",
        &book_arg(),
        "--db",
        &db,
        "--tokens",
        &tokens,
        "--rate",
        "100000",
    ];

    let server = Binary::start(&args);
    assert!(
        server.token.is_none(),
        "no token printed with a token file: {}",
        server.console_line
    );
    let convs = ["k-1", "k-2", "k-3"];
    // Phase 1: acked turns, then a pipelined burst cut short by SIGKILL.
    let mut w = Client::hello(&server.url(), "widget", WIDGET_A).await;
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut sent: Vec<(String, String, String)> = Vec::new();
    for i in 0..30 {
        let conv = convs[i % 3];
        let id = format!("m-{i}");
        let role = if i % 4 == 3 { "agent" } else { "customer" };
        w.send(turn(conv, &id, role, "订单什么时候到")).await;
        let ack = w.expect("ack").await;
        acked.insert(format!("{conv}/{id}"), ack["seq"].as_u64().expect("seq"));
        sent.push((conv.into(), id, role.into()));
    }
    for i in 30..230 {
        let conv = convs[i % 3];
        let id = format!("m-{i}");
        let role = if i % 4 == 3 { "agent" } else { "customer" };
        w.send(turn(conv, &id, role, "在吗在吗")).await;
        sent.push((conv.into(), id, role.into()));
    }
    // Collect a few acks of the burst, then kill mid-stream.
    for _ in 0..40 {
        let ack = w.expect("ack").await;
        acked.insert(
            format!(
                "{}/{}",
                ack["conversation"].as_str().expect("c"),
                ack["id"].as_str().expect("id")
            ),
            ack["seq"].as_u64().expect("seq"),
        );
    }
    server.kill();
    while let Seen::Json(ack) = w.next().await {
        if ack["type"] == "ack" {
            acked.insert(
                format!(
                    "{}/{}",
                    ack["conversation"].as_str().expect("c"),
                    ack["id"].as_str().expect("id")
                ),
                ack["seq"].as_u64().expect("seq"),
            );
        }
    }
    assert!(acked.len() >= 70, "{} acked before the kill", acked.len());

    // Phase 2: restart on the same database and re-send everything.
    let server = Binary::start(&args);
    let mut w = Client::hello(&server.url(), "widget", WIDGET_A).await;
    let mut final_seq: HashMap<String, u64> = HashMap::new();
    for (conv, id, role) in &sent {
        w.send(turn(conv, id, role, "重发")).await;
        let ack = w.expect("ack").await;
        let key = format!("{conv}/{id}");
        let seq = ack["seq"].as_u64().expect("seq");
        if let Some(&before) = acked.get(&key) {
            assert_eq!(seq, before, "acked turn {key} keeps its seq");
            assert_eq!(
                ack["duplicate"], true,
                "acked turn {key} is not processed twice"
            );
        }
        final_seq.insert(key, seq);
    }
    // Every conversation replays as gap-free seqs with each turn exactly once.
    let mut a = Client::hello(&server.url(), "agent", AGENT_A).await;
    for conv in convs {
        let (events, last) = a.subscribe(conv, 0).await;
        let seqs: Vec<u64> = events
            .iter()
            .map(|e| e["seq"].as_u64().expect("seq"))
            .collect();
        assert_eq!(
            seqs,
            (1..=last).collect::<Vec<_>>(),
            "{conv}: gap-free replay"
        );
        let mut per_turn: BTreeMap<String, usize> = BTreeMap::new();
        for e in &events {
            if e["type"] == "analysis" || e["type"] == "guard" {
                *per_turn
                    .entry(e["turn"].as_str().expect("turn").to_string())
                    .or_default() += 1;
            }
        }
        let expected: Vec<&String> = sent
            .iter()
            .filter(|(c, _, _)| c == conv)
            .map(|(_, id, _)| id)
            .collect();
        assert_eq!(per_turn.len(), expected.len(), "{conv}: every turn present");
        assert!(
            per_turn.values().all(|&n| n == 1),
            "{conv}: no turn doubled: {per_turn:?}"
        );
        // Resuming from the middle gives exactly the rest.
        let mid = last / 2;
        let mut b = Client::hello(&server.url(), "agent", AGENT_A).await;
        let (rest, last2) = b.subscribe(conv, mid).await;
        assert_eq!(last2, last);
        assert_eq!(rest.first().map(|e| e["seq"].as_u64()), Some(Some(mid + 1)));
        assert_eq!(rest.len() as u64, last - mid);
    }
    // Live events still flow after the restart.
    w.send(turn("k-1", "after-restart", "customer", "好的"))
        .await;
    let seq = w.expect("ack").await["seq"].as_u64().expect("seq");
    assert_eq!(a.expect("analysis").await["seq"], seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_gracefully_and_keeps_every_acked_turn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.db");
    let server = Binary::start(&[
        "--listen",
        "127.0.0.1:0",
        "--phrasebooks",
        &book_arg(),
        "--db",
        db.to_str().expect("utf-8"),
    ]);
    let token = server.token.clone().expect("token");
    let mut w = Client::hello(&server.url(), "widget", &token).await;
    for i in 0..20 {
        w.send(turn("g-1", &format!("m-{i}"), "customer", "你好"))
            .await;
        w.expect("ack").await;
    }
    let pid = server.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    assert_eq!(w.next().await, Seen::Close(1001));
    let mut server = server;
    let exit = server.child.wait().expect("wait");
    assert!(exit.success(), "{exit:?}");
    let store = huashu_store::Store::open(&db, huashu_store::Durability::Normal).expect("db");
    assert_eq!(store.count(huashu_store::Table::Turns).expect("count"), 20);
}
