//! Order lookup through the whole service: the real server in-process with the default book, a
//! stub order API (a real HTTP server on 127.0.0.1:0 started here) and real WebSocket clients.
//! A customer turn carrying an order number is acked and analysed first, without waiting for
//! the shop API; the `order` event and the refreshed suggestions (order slots filled) follow
//! when the API answers; a dead API only costs the card; without an API nothing changes.

mod server_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use huashu_server::OrderApi;
use serde_json::{Value, json};
use server_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;

const ORDER: &str = "2023112245678";
const ASK: &str = "我的订单2023112245678到哪了？怎么还没到";

fn default_book() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../phrasebooks/default"
    ))
}

/// A stub order API: counts requests; answers each one (a signed-for order) once `release`
/// is notified, or never when `answer` is false.
struct Stub {
    port: u16,
    hits: Arc<AtomicUsize>,
    release: Arc<Notify>,
}

async fn stub(answer: bool) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Notify::new());
    let (h, r) = (Arc::clone(&hits), Arc::clone(&release));
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let (h, r) = (Arc::clone(&h), Arc::clone(&r));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                if !answer {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                r.notified().await;
                let body = json!({
                    "id": ORDER, "status": "signed",
                    "items": [{"title": "手绘陶瓷马克杯", "sku": "demo-mug", "quantity": 1}],
                    "shipped_at": "2026-11-27 10:05", "signed_at": "2026-11-29 18:20",
                    "carrier": "中通快递", "tracking": "ZT1234567890",
                    "logistics": "已签收，签收人：快递柜"
                })
                .to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(resp.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    Stub {
        port,
        hits,
        release,
    }
}

fn api(stub: &Stub, timeout: Duration) -> OrderApi {
    let mut api = OrderApi::new(&format!("http://127.0.0.1:{}/orders/{{订单号}}", stub.port))
        .expect("template");
    api.timeout = timeout;
    api
}

fn texts(suggestions: &Value) -> Vec<String> {
    suggestions["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Sends `ASK`, checks it is acked and analysed, and returns the first suggestions event.
async fn ask(widget: &mut Client, agent: &mut Client, conv: &str, id: &str) -> Value {
    widget.send(turn(conv, id, "customer", ASK)).await;
    widget.expect("ack").await;
    let analysis = agent.expect("analysis").await;
    assert_eq!(analysis["turn"], id);
    agent.expect("suggestions").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_card_and_filled_scripts_follow_the_turn() {
    let stub = stub(true).await;
    // A long deadline: the test holds the answer back on purpose, on a busy machine.
    let s = InProcess::start(|c| {
        c.phrasebooks = default_book();
        c.order_api = Some(api(&stub, Duration::from_secs(20)));
    })
    .await;
    let mut agent = Client::hello(&s.url(), "agent", AGENT_A).await;
    agent.subscribe("o-1", 0).await;
    let mut widget = Client::hello(&s.url(), "widget", WIDGET_A).await;

    // The turn is acked, analysed and answered with suggestions while the API still holds its
    // answer: the lookup does not delay the turn.
    let first = ask(&mut widget, &mut agent, "o-1", "m-1").await;
    assert!(
        texts(&first).iter().all(|t| !t.contains("已签收")),
        "{first}"
    );
    stub.release.notify_one();

    let order = agent.expect("order").await;
    assert_eq!(order["conversation"], "o-1");
    assert_eq!(order["turn"], "m-1");
    assert_eq!(order["seq"].as_u64(), Some(3));
    let o = &order["order"];
    assert_eq!(
        (
            o["id"].as_str(),
            o["status"].as_str(),
            o["status_text"].as_str()
        ),
        (Some(ORDER), Some("signed"), Some("已签收"))
    );
    assert_eq!(o["items"][0]["title"], "手绘陶瓷马克杯");
    assert_eq!(o["tracking"], "ZT1234567890");
    let refreshed = agent.expect("suggestions").await;
    assert_eq!(refreshed["seq"].as_u64(), Some(4));
    assert_eq!(refreshed["turn"], "m-1");
    let t = texts(&refreshed);
    assert!(
        t.iter().any(|x| x.contains("2026-11-29 18:20已签收")
            || x.contains("最新物流是：已签收，签收人：快递柜")),
        "no filled order script in {t:?}"
    );
    assert!(t.iter().all(|x| !x.contains('{')), "{t:?}");

    // A reconnecting console replays the card.
    let mut again = Client::hello(&s.url(), "agent", AGENT_A).await;
    let (replay, last) = again.subscribe("o-1", 2).await;
    assert_eq!(last, 4);
    assert_eq!(
        replay.iter().map(|v| v["type"].clone()).collect::<Vec<_>>(),
        vec![json!("order"), json!("suggestions")]
    );

    // The same order again within a minute comes from the cache: no second request.
    ask(&mut widget, &mut agent, "o-1", "m-2").await;
    agent.expect("order").await;
    agent.expect("suggestions").await;
    assert_eq!(stub.hits.load(Ordering::SeqCst), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_order_api_costs_only_the_card() {
    let stub = stub(false).await;
    let s = InProcess::start(|c| {
        c.phrasebooks = default_book();
        c.order_api = Some(api(&stub, huashu_server::ORDER_API_MAX_TIMEOUT));
    })
    .await;
    let mut agent = Client::hello(&s.url(), "agent", AGENT_A).await;
    agent.subscribe("o-2", 0).await;
    let mut widget = Client::hello(&s.url(), "widget", WIDGET_A).await;
    ask(&mut widget, &mut agent, "o-2", "m-1").await;
    // The next turn is not held up by the pending lookup either.
    ask(&mut widget, &mut agent, "o-2", "m-2").await;
    // Wait until both lookups gave up (the /metrics counter), then: nothing was pushed.
    let failed = || {
        let (_, body) = http(s.addr, "GET", "/metrics", &[], "");
        body.lines()
            .find_map(|l| l.strip_prefix("huashu_order_lookups_total{result=\"failed\"} "))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    for _ in 0..200 {
        if failed() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed(), 2);
    agent.alive().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_order_api_nothing_changes() {
    let s = InProcess::start(|c| c.phrasebooks = default_book()).await;
    let mut agent = Client::hello(&s.url(), "agent", AGENT_A).await;
    agent.subscribe("o-3", 0).await;
    let mut widget = Client::hello(&s.url(), "widget", WIDGET_A).await;
    ask(&mut widget, &mut agent, "o-3", "m-1").await;
    agent.alive().await;
    let (_, metrics) = http(s.addr, "GET", "/metrics", &[], "");
    assert!(!metrics.contains("huashu_order_lookups_total"));
    s.stop().await;
}
