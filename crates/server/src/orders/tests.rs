//! The order API client against a real HTTP server started by the test (tokio TcpListener on
//! 127.0.0.1:0): every answer shape of the contract, 404, a server that never answers, garbage,
//! the cache and the breaker; plus the pure parts (URL templates, times, breaker states).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// An order API stub: answers by the order id's prefix (see `answer`), counts requests and
/// records their Authorization headers.
struct Stub {
    port: u16,
    hits: Arc<AtomicUsize>,
    auth: Arc<Mutex<Vec<String>>>,
}

const JSON: &str = r#"{"status":"in_transit","items":[{"title":"手绘陶瓷马克杯","sku":"demo-mug","quantity":2},{"title":"  "}],"shipped_at":1764393720000,"signed_at":null,"carrier":"顺丰速运","tracking":"SF1234567890123","logistics":"【杭州】快件已到达杭州转运中心{x}","address":"不在合同里，不转发"}"#;

fn answer(id: &str) -> Option<String> {
    let json = |id: &str| JSON.replacen('{', &format!("{{\"id\":\"{id}\","), 1);
    let ok = |body: String| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    Some(if id.starts_with("OK") {
        ok(json(id))
    } else if id.starts_with("CHUNK") {
        let body = json(id);
        let (a, b) = body.split_at(body.len() / 2);
        format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        )
    } else if id.starts_with("CLOSE") {
        format!("HTTP/1.1 200 OK\r\n\r\n{}", json(id))
    } else if id.starts_with("MISSING") {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()
    } else if id.starts_with("GARBAGE") {
        ok("{not json".into())
    } else if id.starts_with("ERR") {
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".into()
    } else if id.starts_with("WRONG") {
        ok(json("SOMEONE-ELSES"))
    } else if id.starts_with("BADSTATUS") {
        ok(r#"{"status":"lost"}"#.into())
    } else {
        // SLOW…: never answers.
        return None;
    })
}

async fn stub() -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let auth = Arc::new(Mutex::new(Vec::new()));
    let (h, a) = (Arc::clone(&hits), Arc::clone(&auth));
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let (h, a) = (Arc::clone(&h), Arc::clone(&a));
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
                let head = String::from_utf8_lossy(&buf).into_owned();
                for line in head.lines() {
                    if let Some(v) = line.strip_prefix("Authorization: ") {
                        a.lock().expect("auth log").push(v.to_string());
                    }
                }
                let path = head.split(' ').nth(1).unwrap_or("");
                let id = path.rsplit('/').next().unwrap_or("");
                match answer(id) {
                    Some(resp) => {
                        let _ = tcp.write_all(resp.as_bytes()).await;
                        let _ = tcp.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            });
        }
    });
    Stub { port, hits, auth }
}

fn api(stub: &Stub) -> OrderApi {
    let mut api = OrderApi::new(&format!(
        "http://127.0.0.1:{}/shops/{{店铺}}/orders/{{订单号}}",
        stub.port
    ))
    .expect("template")
    .with_token("s3cret")
    .expect("token");
    // Generous for a loaded test machine; the 300 ms default is tested on the SLOW order.
    api.timeout = Duration::from_secs(5);
    api.breaker_failures = 100;
    api
}

#[derive(Debug, PartialEq)]
enum Want {
    Found,
    NotFound,
    Failed(&'static str),
}

#[tokio::test]
async fn lookup_outcomes_against_a_real_http_server() {
    let stub = stub().await;
    let orders = Orders::new(api(&stub));
    const CASES: &[(&str, Want)] = &[
        ("OK-1", Want::Found),
        ("CHUNK-1", Want::Found),
        ("CLOSE-1", Want::Found),
        ("MISSING-1", Want::NotFound),
        ("GARBAGE-1", Want::Failed("outside the contract")),
        ("ERR-1", Want::Failed("HTTP 500")),
        ("WRONG-1", Want::Failed("answered order")),
        ("BADSTATUS-1", Want::Failed("unknown variant `lost`")),
    ];
    for (id, want) in CASES {
        let got = orders.lookup("shop-a", id).await;
        match (&got, want) {
            (Lookup::Found(o), Want::Found) => {
                assert_eq!(o.id, *id);
                assert_eq!(o.status, OrderStatus::InTransit);
                assert_eq!(o.status_text, "运输中");
                assert_eq!(o.items.len(), 1, "blank item titles are dropped: {o:?}");
                assert_eq!(o.items[0].quantity, 2);
                assert_eq!(o.shipped_at.as_deref(), Some("2025-11-29 13:22"));
                assert_eq!(o.signed_at, None);
                assert_eq!(o.carrier.as_deref(), Some("顺丰速运"));
                assert_eq!(
                    o.logistics.as_deref(),
                    Some("【杭州】快件已到达杭州转运中心x")
                );
            }
            (Lookup::NotFound, Want::NotFound) => {}
            (Lookup::Failed(why), Want::Failed(part)) => {
                assert!(why.contains(part), "{id}: {why}");
            }
            _ => panic!("{id}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(stub.hits.load(Ordering::SeqCst), CASES.len());
    let auth = stub.auth.lock().expect("auth log").clone();
    assert!(auth.iter().all(|a| a == "Bearer s3cret"), "{auth:?}");
    // Unknown fields (the address) are not forwarded.
    let Lookup::Found(o) = orders.lookup("shop-a", "OK-1").await else {
        panic!("OK-1 found");
    };
    assert!(!to_json(&o).contains("address"), "{}", to_json(&o));
}

#[tokio::test]
async fn an_api_that_never_answers_times_out_at_300_ms() {
    let stub = stub().await;
    let mut api = api(&stub);
    api.timeout = MAX_TIMEOUT;
    let orders = Orders::new(api);
    match orders.lookup("shop-a", "SLOW-1").await {
        Lookup::Failed(why) => assert!(why.contains("no answer within 300ms"), "{why}"),
        other => panic!("{other:?}"),
    }
    // A dead port fails too (connection refused), without waiting for the deadline.
    let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = dead.local_addr().expect("addr").port();
    drop(dead);
    let orders = Orders::new(
        OrderApi::new(&format!("http://127.0.0.1:{port}/o/{{订单号}}")).expect("template"),
    );
    assert!(matches!(orders.lookup("s", "1").await, Lookup::Failed(_)));
}

#[tokio::test]
async fn answers_found_and_not_found_are_cached_per_shop_and_order() {
    let stub = stub().await;
    let orders = Orders::new(api(&stub));
    for _ in 0..3 {
        assert!(matches!(
            orders.lookup("shop-a", "OK-7").await,
            Lookup::Found(_)
        ));
        assert_eq!(orders.lookup("shop-a", "MISSING-7").await, Lookup::NotFound);
    }
    assert_eq!(stub.hits.load(Ordering::SeqCst), 2);
    assert_eq!(orders.stats.cache_hits.load(Relaxed), 4);
    // Another shop's order with the same number is its own entry.
    assert!(matches!(
        orders.lookup("shop-b", "OK-7").await,
        Lookup::Found(_)
    ));
    assert_eq!(stub.hits.load(Ordering::SeqCst), 3);
    // Failures are not cached: the API is asked again.
    for _ in 0..2 {
        assert!(matches!(
            orders.lookup("shop-a", "ERR-7").await,
            Lookup::Failed(_)
        ));
    }
    assert_eq!(stub.hits.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let stub = stub().await;
    let mut api = api(&stub);
    api.cache_size = 3;
    let orders = Orders::new(api);
    for i in 0..10 {
        orders.lookup("shop-a", &format!("OK-{i}")).await;
    }
    assert_eq!(orders.cached(), 3);
    // The newest survive.
    assert!(matches!(
        orders.lookup("shop-a", "OK-9").await,
        Lookup::Found(_)
    ));
    assert_eq!(stub.hits.load(Ordering::SeqCst), 10);
}

#[tokio::test]
async fn the_breaker_opens_after_n_failures_and_skips_the_api() {
    let stub = stub().await;
    let mut api = api(&stub);
    api.breaker_failures = 3;
    api.breaker_cooldown = Duration::from_secs(3600);
    let orders = Orders::new(api);
    for _ in 0..3 {
        assert!(matches!(
            orders.lookup("shop-a", "ERR-1").await,
            Lookup::Failed(_)
        ));
    }
    for id in ["ERR-1", "OK-1"] {
        assert_eq!(orders.lookup("shop-a", id).await, Lookup::Skipped, "{id}");
    }
    assert_eq!(stub.hits.load(Ordering::SeqCst), 3);
    assert_eq!(orders.stats.skipped.load(Relaxed), 2);
}

#[tokio::test]
async fn a_success_between_failures_resets_the_count() {
    let stub = stub().await;
    let mut api = api(&stub);
    api.breaker_failures = 2;
    let orders = Orders::new(api);
    for id in ["ERR-1", "OK-1", "ERR-2", "OK-2", "ERR-3"] {
        assert_ne!(orders.lookup("shop-a", id).await, Lookup::Skipped, "{id}");
    }
    assert_eq!(stub.hits.load(Ordering::SeqCst), 5);
}

#[test]
fn breaker_states_over_time() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let timeout = Duration::from_millis(300);
    let mut b = Breaker::default();
    // Two failures of a limit of three: still closed.
    b.failure(t0, 3, s(30));
    b.failure(t0, 3, s(30));
    assert!(b.allow(t0, timeout));
    // The third opens it for the cool-down.
    b.failure(t0, 3, s(30));
    assert!(!b.allow(t0 + s(29), timeout));
    // After the cool-down one trial goes out; a second one meanwhile does not.
    assert!(b.allow(t0 + s(30), timeout));
    assert!(!b.allow(t0 + s(30), timeout));
    // The trial failed: closed again only after another cool-down.
    b.failure(t0 + s(31), 3, s(30));
    assert!(!b.allow(t0 + s(60), timeout));
    assert!(b.allow(t0 + s(61), timeout));
    // The trial succeeded: closed, failures counted from zero.
    b.success();
    assert!(b.allow(t0 + s(61), timeout));
    b.failure(t0 + s(62), 3, s(30));
    assert!(b.allow(t0 + s(62), timeout));
    // A trial whose task vanished does not keep the breaker open forever.
    let mut b = Breaker::default();
    b.failure(t0, 1, s(1));
    assert!(b.allow(t0 + s(1), timeout));
    assert!(!b.allow(t0 + s(1) + Duration::from_millis(100), timeout));
    assert!(b.allow(t0 + s(2), timeout));
}

#[test]
fn url_templates() {
    const OK: &[(&str, &str, u16, &str)] = &[
        (
            "http://127.0.0.1:9000/orders/{订单号}",
            "127.0.0.1",
            9000,
            "/orders/A%2FB%20C",
        ),
        (
            "http://orders.shop.internal/api?id={订单号}&shop={店铺}",
            "orders.shop.internal",
            80,
            "/api?id=A%2FB%20C&shop=shop-1",
        ),
        ("http://[::1]:81/{订单号}", "::1", 81, "/A%2FB%20C"),
    ];
    for (t, host, port, path) in OK {
        let api = OrderApi::new(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!((api.host.as_str(), api.port), (*host, *port), "{t}");
        assert_eq!(api.path_for("shop-1", "A/B C"), *path, "{t}");
    }
    const BAD: &[&str] = &[
        "https://shop/orders/{订单号}",
        "http://shop/orders/",
        "http:///orders/{订单号}",
        "http://shop:99999/orders/{订单号}",
        "http://user:pw@shop/orders/{订单号}",
        "ftp://shop/{订单号}",
    ];
    for t in BAD {
        assert!(OrderApi::new(t).is_err(), "{t}");
    }
    let api = OrderApi::new("http://h/{订单号}").expect("template");
    assert!(api.clone().with_token("a b").is_err());
    assert!(api.clone().with_token("line\nbreak").is_err());
    assert!(
        api.clone()
            .with_timeout(Duration::from_millis(301))
            .is_err()
    );
    assert!(api.clone().with_timeout(Duration::ZERO).is_err());
    let api = api.with_token("secret-value").expect("token");
    assert!(!format!("{api:?}").contains("secret-value"));
}

#[test]
fn times_are_shown_in_beijing_time() {
    const CASES: &[(i64, Option<&str>)] = &[
        (1_764_393_720_000, Some("2025-11-29 13:22")),
        (951_782_400_000, Some("2000-02-29 08:00")),
        (4_102_444_799_999, Some("2100-01-01 07:59")),
        (0, None),
        (-5, None),
    ];
    for (ms, want) in CASES {
        assert_eq!(beijing_time(*ms).as_deref(), *want, "{ms}");
    }
}

#[test]
fn slots_state_only_what_the_api_sent() {
    const CASES: &[(&str, &[(&str, &str)])] = &[
        (r#"{"status":"paid"}"#, &[("订单状态", "已付款，待发货")]),
        (
            r#"{"status":"signed","shipped_at":"11-28 09:00","signed_at":"11-30 18:20","logistics":"已签收，签收人：门卫"}"#,
            &[
                ("订单状态", "已签收"),
                ("物流状态", "已签收，签收人：门卫"),
                ("发货时间", "11-28 09:00"),
                ("签收时间", "11-30 18:20"),
            ],
        ),
    ];
    for (json, want) in CASES {
        let o = Order::parse(json.as_bytes(), "1").unwrap_or_else(|e| panic!("{json}: {e}"));
        let got = o.slots();
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(got, *want, "{json}");
    }
}

/// (entity kind, text) pairs of a turn.
type Entities = &'static [(&'static str, &'static str)];

#[test]
fn order_numbers_come_from_the_last_order_entity() {
    let cases: &[(Entities, Option<&str>)] = &[
        (&[("order_id", "2023112245678")], Some("2023112245678")),
        (
            &[
                ("order_id", "111"),
                ("phone", "13800000000"),
                ("order_id", " 222 "),
            ],
            Some("222"),
        ),
        (&[("tracking_no", "SF123")], None),
        (&[], None),
    ];
    for (entities, want) in cases {
        assert_eq!(
            order_number(entities.iter().copied()).as_deref(),
            *want,
            "{entities:?}"
        );
    }
}
