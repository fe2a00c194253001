//! Safety mode over the wire with the real binary and the shipped default book: an urgent turn
//! puts the conversation in safety mode (`analysis.safety`), later calm turns stay in it with the
//! kind's first action first and nothing unsafe, a used suggestion brings a refreshed list, the
//! mode survives SIGKILL and a restart on the same database, and only `resolve` ends it — which
//! survives a restart too.

mod server_support;

use std::path::Path;

use serde_json::{Value, json};
use server_support::*;

const UNSAFE: &[&str] = &[
    "compensation",
    "keep_using",
    "coupon",
    "promotion",
    "review_request",
];

fn default_book() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../phrasebooks/default")
        .display()
        .to_string()
}

fn start(db: &str, tokens: &str) -> Binary {
    Binary::start(&[
        "--listen",
        "127.0.0.1:0",
        "--phrasebooks",
        &default_book(),
        "--db",
        db,
        "--tokens",
        tokens,
    ])
}

/// The next frame that is not an SLA timer event (this machine may be slow enough for the
/// customer's wait to pass the warning threshold mid-test).
async fn next(c: &mut Client) -> Value {
    loop {
        let v = c.recv().await;
        if v["type"] != "sla" {
            return v;
        }
    }
}

async fn expect(c: &mut Client, kind: &str) -> Value {
    let v = next(c).await;
    assert_eq!(v["type"], kind, "{v}");
    v
}

/// Sends a customer turn and returns its (analysis, suggestions) as the console receives them.
async fn customer(w: &mut Client, a: &mut Client, id: &str, text: &str) -> (Value, Value) {
    w.send(turn("s-1", id, "customer", text)).await;
    w.expect("ack").await;
    let analysis = expect(a, "analysis").await;
    let suggestions = expect(a, "suggestions").await;
    (analysis, suggestions)
}

fn scripts(s: &Value) -> Vec<String> {
    s["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["script"].as_str().expect("script").to_string())
        .collect()
}

fn assert_safe(s: &Value) {
    for item in s["items"].as_array().expect("items") {
        let tags = item["tags"].as_array().expect("tags");
        for t in tags {
            assert!(
                !UNSAFE.contains(&t.as_str().expect("tag")),
                "unsafe suggestion in safety mode: {item}"
            );
        }
        assert!(!item["tags"].to_string().contains("faq"), "{item}");
        assert!(
            item["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{item}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safety_mode_holds_across_turns_and_restarts_until_resolved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.db").display().to_string();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!("admin = \"{ADMIN}\"\n[[token]]\ntoken = \"{WIDGET_A}\"\nrole = \"widget\"\nshop = \"shop-a\"\n[[token]]\ntoken = \"{AGENT_A}\"\nrole = \"agent\"\nshop = \"shop-a\"\nagent = \"a-1\"\n"),
    )
    .expect("tokens");
    let tokens = tokens.display().to_string();

    let server = start(&db, &tokens);
    let mut w = Client::hello(&server.url(), "widget", WIDGET_A).await;
    let mut a = Client::hello(&server.url(), "agent", AGENT_A).await;
    a.subscribe("s-1", 0).await;

    let (an, sg) = customer(
        &mut w,
        &mut a,
        "m-1",
        "急！孩子把杯子礼盒里的小零件吞下去了！",
    )
    .await;
    assert_eq!(an["urgent"], true);
    assert_eq!(an["urgent_kind"], "swallow_choke");
    assert_eq!(an["safety"]["kind"], "swallow_choke");
    assert_eq!(an["safety"]["name"], "误食/窒息");
    assert_eq!(scripts(&sg)[0], "safety.swallow_choke.first", "{sg}");
    assert_eq!(sg["items"][0]["safety"], "first_action");
    assert_safe(&sg);

    // A calm later turn: not urgent itself, still in safety mode.
    let (an, sg) = customer(
        &mut w,
        &mut a,
        "m-2",
        "就是盒子里那个装饰小珠子，现在孩子一直咳嗽，怎么办",
    )
    .await;
    assert_eq!(an["urgent"], false);
    assert_eq!(an["urgent_kind"], Value::Null);
    assert_eq!(an["safety"]["kind"], "swallow_choke");
    assert_eq!(scripts(&sg)[0], "safety.swallow_choke.first", "{sg}");
    assert_safe(&sg);

    // Using the first action refreshes the list: it no longer leads.
    let used = sg["items"][0]["id"].as_str().expect("id").to_string();
    a.send(json!({"type":"feedback","conversation":"s-1","suggestion":used,"action":"used"}))
        .await;
    // The refreshed list (pushed to every subscriber) and the `noted` reply, in either order.
    let (x, y) = (next(&mut a).await, next(&mut a).await);
    let (refreshed, noted) = if x["type"] == "suggestions" {
        (x, y)
    } else {
        (y, x)
    };
    assert_eq!(noted["type"], "noted", "{noted}");
    assert_eq!(refreshed["type"], "suggestions", "{refreshed}");
    assert_eq!(refreshed["refresh"], true);
    assert_eq!(refreshed["turn"], "m-2");
    assert_ne!(
        scripts(&refreshed)[0],
        "safety.swallow_choke.first",
        "{refreshed}"
    );
    assert_safe(&refreshed);

    // SIGKILL and restart: the mode is rebuilt from the store.
    server.kill();
    let server = start(&db, &tokens);
    let mut w = Client::hello(&server.url(), "widget", WIDGET_A).await;
    let mut a = Client::hello(&server.url(), "agent", AGENT_A).await;
    let (replay, _) = a.subscribe("s-1", 0).await;
    assert!(
        replay.iter().any(|e| e["refresh"] == true),
        "the refreshed list is replayed"
    );
    let (an, sg) = customer(&mut w, &mut a, "m-3", "医生说要观察").await;
    assert_eq!(an["safety"]["kind"], "swallow_choke", "{an}");
    assert_safe(&sg);
    assert!(scripts(&sg)[0].starts_with("safety."), "{sg}");

    // Resolving ends it, for this server and the next one.
    a.send(json!({"type":"resolve","conversation":"s-1"})).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next(&mut a).await);
    }
    let of = |kind: &str| {
        seen.iter()
            .find(|v| v["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {seen:?}"))
            .clone()
    };
    let ev = of("safety");
    assert_eq!(ev["safety"], Value::Null);
    assert_eq!(ev["resolved"], "swallow_choke");
    assert_eq!(ev["by"], "a-1");
    assert_eq!(of("suggestions")["refresh"], true);
    assert_eq!(of("resolved")["changed"], true);
    a.send(json!({"type":"resolve","conversation":"s-1"})).await;
    assert_eq!(expect(&mut a, "resolved").await["changed"], false);

    server.kill();
    let server = start(&db, &tokens);
    let mut w = Client::hello(&server.url(), "widget", WIDGET_A).await;
    let mut a = Client::hello(&server.url(), "agent", AGENT_A).await;
    a.subscribe("s-1", 0).await;
    let (an, sg) = customer(&mut w, &mut a, "m-4", "好的，孩子没事了，谢谢").await;
    assert_eq!(an["safety"], Value::Null, "{an}");
    assert!(
        scripts(&sg).iter().all(|s| !s.starts_with("safety.")),
        "{sg}"
    );
    // A widget may not resolve.
    w.send(json!({"type":"resolve","conversation":"s-1"})).await;
    w.expect_error("forbidden").await;
    drop(server);
}
