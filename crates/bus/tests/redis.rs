//! The bus against a real Redis: the machine's (127.0.0.1:6379, channels under a unique prefix,
//! so other tests sharing it are not disturbed; pub/sub stores no keys, so there is nothing to
//! clean up) and, for the restart test, a private `redis-server` on a port of its own.
//!
//! Redis must be running (see the README: `.ci/run` starts it); these tests fail, never skip,
//! when it is not.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use huashu_bus::{Bus, BusConfig, Delivery, Event};
use tokio::sync::mpsc::Receiver;

const MACHINE_REDIS: &str = "redis://127.0.0.1:6379";

fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("test-bus-{name}-{}-{nanos}", std::process::id())
}

fn require_redis(addr: &str) {
    if std::net::TcpStream::connect(addr).is_err() {
        panic!(
            "Redis is not reachable on {addr}; start it with: redis-server --daemonize yes \
             --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no"
        );
    }
}

fn config(url: &str, prefix: &str, node: &str) -> BusConfig {
    BusConfig {
        prefix: prefix.to_string(),
        ..BusConfig::new(url, node)
    }
}

fn event(node: &str, conversation: &str, first: u64, last: u64) -> Event {
    Event {
        node: node.into(),
        shop: "shop-1".into(),
        conversation: conversation.into(),
        first,
        last,
        frames: (first..=last).map(|s| format!("{{\"seq\":{s}}}")).collect(),
        summary: Some(format!("{{\"type\":\"conversation\",\"seq\":{last}}}")),
    }
}

async fn recv(rx: &mut Receiver<Delivery>, within: Duration) -> Option<Delivery> {
    tokio::time::timeout(within, rx.recv()).await.ok().flatten()
}

/// Publishes `probe` events until the subscriber is listening (a subscription is not instant).
async fn wait_until_subscribed(a: &Bus, rx: &mut Receiver<Delivery>) {
    for i in 0..100 {
        a.publish(event(a.node(), "probe", i + 1, i + 1));
        if let Some(Delivery::Event(e)) = recv(rx, Duration::from_millis(100)).await
            && e.conversation == "probe"
        {
            // Drain probes still in flight.
            while recv(rx, Duration::from_millis(200)).await.is_some() {}
            return;
        }
    }
    panic!("subscriber never received a probe");
}

#[tokio::test]
async fn events_reach_other_nodes_in_order_and_not_their_sender() {
    require_redis("127.0.0.1:6379");
    let prefix = unique_prefix("order");
    let (a, mut a_rx) = Bus::start(config(MACHINE_REDIS, &prefix, "a")).expect("bus a");
    let (b, mut b_rx) = Bus::start(config(MACHINE_REDIS, &prefix, "b")).expect("bus b");
    wait_until_subscribed(&a, &mut b_rx).await;
    for s in 1..=50 {
        a.publish(event("a", "c1", 2 * s - 1, 2 * s));
    }
    let mut seen = 0;
    while seen < 100 {
        match recv(&mut b_rx, Duration::from_secs(5)).await {
            Some(Delivery::Event(e)) if e.conversation == "c1" => {
                assert_eq!(e.first, seen + 1, "in publish order");
                assert_eq!(e.frames.len(), 2);
                assert_eq!(e.node, "a");
                seen = e.last;
            }
            Some(Delivery::Event(_)) => {}
            other => panic!("after seq {seen}: {other:?}"),
        }
    }
    // a's own events are not delivered back to a; b's are.
    b.publish(event("b", "c2", 1, 1));
    loop {
        match recv(&mut a_rx, Duration::from_secs(5)).await {
            Some(Delivery::Event(e)) if e.conversation == "c2" => {
                assert_eq!(e.node, "b");
                break;
            }
            Some(Delivery::Event(e)) => assert_ne!(e.node, "a", "own event delivered back"),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        a.stats()
            .published
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 50
    );
    assert_eq!(
        b.stats().dropped.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

/// A private Redis that the test may kill and restart (the machine's is shared by others).
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> PrivateRedis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut r = PrivateRedis { port, child: None };
        r.restart();
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on the PATH (Debian package redis-server)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("private redis-server did not start on {}", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_redis_restart_loses_nothing_published_and_tells_receivers_to_resync() {
    let mut redis = PrivateRedis::start();
    let prefix = unique_prefix("restart");
    let (a, _a_rx) = Bus::start(config(&redis.url(), &prefix, "a")).expect("bus a");
    let (_b, mut b_rx) = Bus::start(config(&redis.url(), &prefix, "b")).expect("bus b");
    wait_until_subscribed(&a, &mut b_rx).await;
    a.publish(event("a", "c", 1, 1));
    assert!(matches!(
        recv(&mut b_rx, Duration::from_secs(5)).await,
        Some(Delivery::Event(Event { first: 1, .. }))
    ));

    let published = |bus: &Bus| {
        bus.stats()
            .published
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = published(&a);
    redis.kill();
    // Published while Redis is down: kept by the publisher and sent after the restart.
    a.publish(event("a", "c", 2, 2));
    a.publish(event("a", "c", 3, 4));
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.restart();

    let mut resynced = false;
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(resynced && published(&a) >= before + 2) && tokio::time::Instant::now() < deadline {
        match recv(&mut b_rx, Duration::from_millis(200)).await {
            Some(Delivery::Resync) => resynced = true,
            Some(Delivery::Event(e)) if e.conversation == "c" => got.push(e.last),
            Some(Delivery::Event(_)) | None => {}
        }
    }
    assert!(resynced, "the receiver was told to resync after the outage");
    assert!(
        published(&a) >= before + 2,
        "both events of the outage were published after the restart"
    );
    // Whether b was subscribed again before they went out is a race (at-most-once: the ones
    // it missed are what `Resync` re-reads from the database); what it got came in order,
    // and everything after the resync arrives.
    a.publish(event("a", "c", 5, 5));
    loop {
        match recv(&mut b_rx, Duration::from_secs(5)).await {
            Some(Delivery::Event(e)) if e.conversation == "c" => {
                got.push(e.last);
                if e.last == 5 {
                    break;
                }
            }
            Some(_) => {}
            None => panic!("no event after the resync: {got:?}"),
        }
    }
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order: {got:?}");
    assert!(
        a.stats()
            .publish_errors
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    assert!(
        a.stats()
            .reconnects
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}

#[tokio::test]
async fn a_node_starts_while_redis_is_down_and_connects_later() {
    let mut redis = PrivateRedis::start();
    redis.kill();
    let prefix = unique_prefix("late");
    let (a, _a_rx) = Bus::start(config(&redis.url(), &prefix, "a")).expect("starts without Redis");
    let (_b, mut b_rx) = Bus::start(config(&redis.url(), &prefix, "b")).expect("starts");
    tokio::time::sleep(Duration::from_millis(200)).await;
    redis.restart();
    // Until b is subscribed, probes may be lost (at-most-once); then everything arrives.
    wait_until_subscribed(&a, &mut b_rx).await;
    a.publish(event("a", "c", 1, 1));
    loop {
        match recv(&mut b_rx, Duration::from_secs(5)).await {
            Some(Delivery::Event(e)) if e.conversation == "c" => break,
            Some(_) => {}
            None => panic!("event after the late start never arrived"),
        }
    }
}
