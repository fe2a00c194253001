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
    sigkill_and_restart_on(&dir, &db).await;
}

/// The same on PostgreSQL (`--db postgres://…`): fails, never skips, without PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_restart_on_postgres_loses_no_acked_turn_and_doubles_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg = huashu_store::TempDatabase::new().expect("PostgreSQL for the server tests");
    sigkill_and_restart_on(&dir, pg.url()).await;
}

async fn sigkill_and_restart_on(dir: &tempfile::TempDir, db: &str) {
    let db = db.to_string();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        // The widget side is the shop's chat system: it sends agent turns too (integration).
        format!("admin = \"{ADMIN}\"\n[[token]]\ntoken = \"{WIDGET_A}\"\nrole = \"integration\"\nshop = \"shop-a\"\n[[token]]\ntoken = \"{AGENT_A}\"\nrole = \"agent\"\nshop = \"shop-a\"\n"),
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
    // A console follows k-1 live until the kill; it resumes with `since` afterwards.
    let mut follower = Client::hello(&server.url(), "agent", AGENT_A).await;
    follower.subscribe("k-1", 0).await;
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
    // What the follower saw live before the kill: consecutive seqs from 1.
    let mut seen_live = Vec::new();
    while let Seen::Json(e) = follower.next().await {
        seen_live.push(e["seq"].as_u64().expect("seq"));
    }
    assert_eq!(
        seen_live,
        (1..=seen_live.len() as u64).collect::<Vec<_>>(),
        "live events before the kill are gap-free"
    );
    // Every acked k-1 turn's first event reached the follower or is after what it saw.
    let resume_from = seen_live.last().copied().unwrap_or(0);

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
    // The follower reconnects and resumes with `since` = the last seq it saw: it gets exactly
    // the rest, so what it saw before plus the replay is every event once, with every acked
    // turn of k-1 in it.
    let mut follower = Client::hello(&server.url(), "agent", AGENT_A).await;
    let (rest, last) = follower.subscribe("k-1", resume_from).await;
    let mut all = seen_live.clone();
    all.extend(rest.iter().map(|e| e["seq"].as_u64().expect("seq")));
    assert_eq!(all, (1..=last).collect::<Vec<_>>(), "resume with since");
    let resumed_turns: Vec<&str> = rest.iter().filter_map(|e| e["turn"].as_str()).collect();
    for (key, &seq) in &acked {
        if let Some(id) = key.strip_prefix("k-1/")
            && seq > resume_from
        {
            assert!(
                resumed_turns.contains(&id),
                "acked {key} is in the resumed replay"
            );
        }
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

fn signal(server: &Binary, sig: &str) {
    let pid = server.child.id().to_string();
    let status = Command::new("kill")
        .args([sig, &pid])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {sig} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_burst_closes_1001_commits_every_acked_turn_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.db");
    let server = Binary::start(&[
        "--listen",
        "127.0.0.1:0",
        "--phrasebooks",
        &book_arg(),
        "--db",
        db.to_str().expect("utf-8"),
        "--rate",
        "100000",
    ]);
    let token = server.token.clone().expect("token");
    let mut console = Client::hello(&server.url(), "agent", &token).await;
    console.subscribe("g-1", 0).await;
    let mut w = Client::hello(&server.url(), "widget", &token).await;
    for i in 0..20 {
        w.send(turn("g-1", &format!("m-{i}"), "customer", "你好"))
            .await;
        w.expect("ack").await;
    }
    // A pipelined burst; SIGTERM lands while it is being processed.
    for i in 20..420 {
        w.send(turn("g-1", &format!("m-{i}"), "customer", "在吗"))
            .await;
    }
    let mut acked: Vec<String> = (0..20).map(|i| format!("m-{i}")).collect();
    for _ in 0..10 {
        acked.push(w.expect("ack").await["id"].as_str().expect("id").into());
    }
    signal(&server, "-TERM");
    let close = loop {
        match w.next().await {
            Seen::Json(v) if v["type"] == "ack" => {
                acked.push(v["id"].as_str().expect("id").into());
            }
            Seen::Json(v) => panic!("unexpected {v}"),
            other => break other,
        }
    };
    assert_eq!(
        close,
        Seen::Close(1001),
        "widget told the server is going away"
    );
    let console_close = loop {
        match console.next().await {
            Seen::Json(_) => continue,
            other => break other,
        }
    };
    assert_eq!(console_close, Seen::Close(1001), "console too");
    let mut server = server;
    let exit = server.child.wait().expect("wait");
    assert!(exit.success(), "{exit:?}");
    // Every acked turn is in the database (a turn committed but not acked may be there too: the
    // widget re-sends it and gets `duplicate`).
    let store =
        huashu_store::Store::open(std::path::Path::new(&db), huashu_store::Durability::Normal)
            .expect("db");
    let stored: std::collections::HashSet<String> = store
        .turns(&huashu_store::conversation_key("default", "g-1"))
        .expect("turns")
        .into_iter()
        .map(|t| t.id)
        .collect();
    for id in &acked {
        assert!(stored.contains(id), "acked {id} survived SIGTERM");
    }
    assert!(stored.len() >= acked.len());
    // The listener is gone.
    assert!(std::net::TcpStream::connect(server.addr).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_book_under_traffic_and_a_broken_book_keeps_the_old_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let book = copy_book(dir.path());
    let db = dir.path().join("h.db");
    let server = Binary::start(&[
        "--listen",
        "127.0.0.1:0",
        "--phrasebooks",
        book.to_str().expect("utf-8"),
        "--db",
        db.to_str().expect("utf-8"),
        "--rate",
        "100000",
        // No SLA event may slip into the seq arithmetic below, however slow the machine.
        "--sla-warn-ms",
        "3600000",
        "--sla-breach-ms",
        "7200000",
    ]);
    let token = server.token.clone().expect("token");
    let addr = server.addr;
    let book_hash = move || -> String {
        let (status, body) = http(addr, "GET", "/api/book", &[], "");
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["hash"].as_str().expect("hash").to_string()
    };
    let mut console = Client::hello(&server.url(), "agent", &token).await;
    console.subscribe("h-1", 0).await;
    // Traffic all along: one widget sending turns, each acked, until told to stop.
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let url = server.url();
    let wtoken = token.clone();
    let sender = tokio::spawn(async move {
        let mut w = Client::hello(&url, "widget", &wtoken).await;
        let mut n = 0u64;
        loop {
            n += 1;
            let stopping = stop_rx.try_recv().is_ok();
            let id = if stopping {
                "end".to_string()
            } else {
                format!("m-{n}")
            };
            w.send(turn("h-1", &id, "customer", "什么时候发货")).await;
            assert_eq!(w.expect("ack").await["seq"], 2 * n - 1);
            if stopping {
                return n;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    // The console reads all along (it would be closed as a slow consumer otherwise).
    let reader = tokio::spawn(async move {
        let mut seqs = Vec::new();
        loop {
            let v = console.recv().await;
            seqs.push(v["seq"].as_u64().expect("seq"));
            if v["type"] == "suggestions" && v["turn"] == "end" {
                return (seqs, console);
            }
        }
    });
    let before = tokio::task::spawn_blocking(book_hash).await.expect("hash");
    let file = book.join("book.toml");
    let good = std::fs::read_to_string(&file).expect("book");
    std::fs::write(
        &file,
        format!("{good}\n[[rule]]\nid = \"insult.hup\"\ncategory = \"insult\"\nseverity = \"block\"\nphrases = [\"神经病啊\"]\nrewrite = \"抱歉\"\n"),
    )
    .expect("write book");
    signal(&server, "-HUP");
    let wait_for_new_hash = {
        move || {
            for _ in 0..200 {
                let h = book_hash();
                if h != before {
                    return h;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            panic!("SIGHUP did not reload the book within 10 s");
        }
    };
    let after = tokio::task::spawn_blocking(wait_for_new_hash)
        .await
        .expect("reloaded");
    // A broken book: SIGHUP keeps the current one and the server keeps serving.
    std::fs::write(&file, format!("{good}\n[[rule]]\nid = \"broken\"\n")).expect("write");
    signal(&server, "-HUP");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        tokio::task::spawn_blocking(book_hash).await.expect("hash"),
        after,
        "a broken book is not loaded"
    );
    let _ = stop_tx.send(());
    let n = sender.await.expect("every turn acked in order");
    assert!(n >= 2, "traffic during the reloads");
    // The console got every event of every turn, in order, across both reloads.
    let (seqs, mut console) = reader.await.expect("console");
    assert_eq!(seqs, (1..=2 * n).collect::<Vec<_>>());
    // The reloaded book's new rule is live.
    console
        .send(json!({"type":"draft","conversation":"h-1","draft":"d-1","text":"你神经病啊"}))
        .await;
    assert_eq!(
        console.expect("guard").await["hits"][0]["rule"],
        "insult.hup"
    );
    let (_, metrics) = http(addr, "GET", "/metrics", &[], "");
    for needle in [
        "huashu_reloads_total{result=\"ok\"} 1",
        "huashu_reloads_total{result=\"failed\"} 1",
    ] {
        assert!(metrics.contains(needle), "{needle}:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigkill_a_waiting_customer_still_gets_its_sla_events_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("h.db");
    let db = db.to_str().expect("utf-8").to_string();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!("[[token]]\ntoken = \"{WIDGET_A}\"\nrole = \"widget\"\nshop = \"shop-a\"\n[[token]]\ntoken = \"{SUPER_A}\"\nrole = \"supervisor\"\nshop = \"shop-a\"\n"),
    )
    .expect("tokens");
    let tokens = tokens.to_str().expect("utf-8").to_string();
    let start = |warn: &str, breach: &str| {
        Binary::start(&[
            "--listen",
            "127.0.0.1:0",
            "--phrasebooks",
            &book_arg(),
            "--db",
            &db,
            "--tokens",
            &tokens,
            "--sla-warn-ms",
            warn,
            "--sla-breach-ms",
            breach,
        ])
    };
    // Before the kill the SLA is long: no clock fires while w-1's customer waits.
    let server = start("3600000", "7200000");
    let mut w = Client::hello(&server.url(), "widget", WIDGET_A).await;
    w.send(turn("w-1", "m-1", "customer", "人呢？")).await;
    assert_eq!(w.expect("ack").await["seq"], 1);
    server.kill();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;

    // Restarted with an SLA the wait has already outlasted: both levels fire at once, without
    // any client touching w-1.
    let server = start("300", "600");
    let store = || {
        huashu_store::Store::open(std::path::Path::new(&db), huashu_store::Durability::Normal)
            .expect("db")
    };
    let mut levels = Vec::new();
    for _ in 0..200 {
        levels = store()
            .sla_events(&huashu_store::conversation_key("shop-a", "w-1"))
            .expect("sla")
            .into_iter()
            .map(|s| (s.level, s.turn))
            .collect();
        if levels.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let m1 = Some("m-1".to_string());
    assert_eq!(
        levels,
        [("warn".to_string(), m1.clone()), ("breach".to_string(), m1)]
    );
    let mut a = Client::hello(&server.url(), "supervisor", SUPER_A).await;
    let (events, last) = a.subscribe("w-1", 2).await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().expect("type"),
                e["level"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds, [("sla", "warn"), ("sla", "breach")]);
    assert_eq!(last, 4);

    // A further kill and restart emits neither level again.
    server.kill();
    let server = start("300", "600");
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(
        store()
            .sla_events(&huashu_store::conversation_key("shop-a", "w-1"))
            .expect("sla")
            .len(),
        2
    );
    drop(server);
}
