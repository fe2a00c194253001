//! The bus between huashu nodes: every committed conversation event is published on Redis
//! pub/sub with its seq, and delivered to the other nodes, whose consoles and supervisors then
//! see what a widget sent to any node.
//!
//! Redis pub/sub is at-most-once: a subscriber that is disconnected, or too slow, loses messages,
//! and a publisher whose connection breaks loses what it was sending. The bus therefore never
//! carries the only copy of anything: the database holds every event (committed before it is
//! published), and the bus only says "conversation C has events up to seq N now". What that
//! means for the two ends:
//! - A receiver keeps, per conversation, the last seq it delivered; `next` classifies a message
//!   as a duplicate, the next one in order, or one after a gap, which the receiver fills from the
//!   database before delivering it (`huashu-server`'s `cluster.rs`).
//! - After the subscription was re-established (Redis restarted, the connection broke), the
//!   receiver gets `Delivery::Resync`: messages of the outage are gone and may have been the last
//!   of their conversations, so no later message would reveal the gap; it re-reads the last seq
//!   of every conversation it serves from the database.
//! - The publisher keeps an event until Redis accepted it, retrying after a reconnect (with
//!   exponential backoff and jitter); only a queue overflow drops events (counted), which the
//!   receivers' gap detection then covers.
//!
//! The crate knows nothing of the store or the wire protocol: frames are opaque strings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// Errors of the bus: one enum for the crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bus URL: {0}")]
    Url(String),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Where the bus is and who this node is.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `redis://HOST:PORT[/DB]`.
    pub url: String,
    /// Channel prefix: nodes of one cluster share it; tests use a unique one.
    pub prefix: String,
    /// This node's id: its own messages are not delivered back to it.
    pub node: String,
    /// Events waiting for the publisher (beyond that, new events are dropped and counted).
    pub queue: usize,
}

impl BusConfig {
    /// A config with the default prefix (`huashu`) and queue (65,536 events).
    pub fn new(url: impl Into<String>, node: impl Into<String>) -> BusConfig {
        BusConfig {
            url: url.into(),
            prefix: "huashu".into(),
            node: node.into(),
            queue: 65_536,
        }
    }

    fn pattern(&self) -> String {
        format!("{}:ev:*", self.prefix)
    }

    fn channel(&self, shop: &str) -> String {
        format!("{}:ev:{shop}", self.prefix)
    }
}

/// Committed events of one conversation, `first..=last`, as one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The node that committed them.
    pub node: String,
    pub shop: String,
    /// The conversation's storage key.
    pub conversation: String,
    pub first: u64,
    pub last: u64,
    /// The frames exactly as stored and pushed, one per seq `first..=last`.
    pub frames: Vec<String>,
    /// The conversation-list summary frame after them (for the shop's watchers), if any.
    pub summary: Option<String>,
}

/// What a receiving node gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Event(Event),
    /// The subscription was re-established: messages may have been lost meanwhile.
    Resync,
}

/// How a message's seqs relate to the last seq a receiver delivered for the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing new (`last <= seen`): a late or repeated message.
    Duplicate,
    /// Continues the conversation (overlapping messages deliver only their new seqs).
    InOrder,
    /// Seqs `from..=to` were missed and must be read from the database first.
    Gap { from: u64, to: u64 },
}

/// Classifies a message `first..=last` for a receiver that delivered up to `seen`.
pub fn next(seen: u64, first: u64, last: u64) -> Next {
    if last <= seen {
        Next::Duplicate
    } else if first <= seen + 1 {
        Next::InOrder
    } else {
        Next::Gap {
            from: seen + 1,
            to: first - 1,
        }
    }
}

/// Counters of the bus, for `/metrics` and the load figures.
#[derive(Debug, Default)]
pub struct Stats {
    pub published: AtomicU64,
    /// Publish attempts that failed (the event is kept and retried).
    pub publish_errors: AtomicU64,
    /// Events dropped because the publisher's queue was full.
    pub dropped: AtomicU64,
    pub received: AtomicU64,
    /// Messages that could not be decoded (from an incompatible node).
    pub undecodable: AtomicU64,
    /// Connections (re-)established after a failure, publisher and subscriber.
    pub reconnects: AtomicU64,
}

/// The publishing end; the receiving end is the channel `Bus::start` returns.
#[derive(Debug, Clone)]
pub struct Bus {
    tx: mpsc::Sender<Event>,
    stats: Arc<Stats>,
    node: Arc<str>,
}

/// Backoff after a failed connection: 50 ms doubling to 2 s, with up to 50 % jitter so the
/// nodes of a cluster do not reconnect in lockstep after Redis restarts.
fn backoff(attempt: u32) -> Duration {
    let base = 50u64.saturating_mul(1 << attempt.min(6)).min(2_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    Duration::from_millis(base + (nanos % (base / 2 + 1)))
}

impl Bus {
    /// Starts the publisher and the subscriber tasks (needs a tokio runtime). Fails only on a
    /// malformed URL: an unreachable Redis is retried in the background, so nodes start (and
    /// serve their own clients) while Redis is down.
    pub fn start(config: BusConfig) -> Result<(Bus, mpsc::Receiver<Delivery>), Error> {
        let client =
            redis::Client::open(config.url.as_str()).map_err(|e| Error::Url(e.to_string()))?;
        let stats = Arc::new(Stats::default());
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let (deliver, deliveries) = mpsc::channel(config.queue.max(1));
        tokio::spawn(publisher(
            client.clone(),
            config.clone(),
            rx,
            Arc::clone(&stats),
        ));
        tokio::spawn(subscriber(
            client,
            config.clone(),
            deliver,
            Arc::clone(&stats),
        ));
        Ok((
            Bus {
                tx,
                stats,
                node: Arc::from(config.node.as_str()),
            },
            deliveries,
        ))
    }

    /// Queues committed events for the other nodes; never waits (a full queue drops and counts).
    pub fn publish(&self, event: Event) {
        if self.tx.try_send(event).is_err() {
            self.stats.dropped.fetch_add(1, Relaxed);
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }
}

/// Publishes queued events in order, keeping the one in hand until Redis took it.
async fn publisher(
    client: redis::Client,
    config: BusConfig,
    mut rx: mpsc::Receiver<Event>,
    stats: Arc<Stats>,
) {
    let mut pending: Option<(String, String)> = None;
    let mut attempt = 0u32;
    'connect: loop {
        let mut conn = match client.get_multiplexed_async_connection().await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "bus publisher cannot connect");
                if rx.is_closed() && pending.is_none() && rx.is_empty() {
                    return;
                }
                tokio::time::sleep(backoff(attempt)).await;
                attempt = attempt.saturating_add(1);
                continue;
            }
        };
        if attempt > 0 {
            stats.reconnects.fetch_add(1, Relaxed);
            tracing::info!("bus publisher reconnected");
        }
        attempt = 0;
        loop {
            let (channel, body) = match pending.take() {
                Some(p) => p,
                None => match rx.recv().await {
                    Some(event) => match serde_json::to_string(&event) {
                        Ok(body) => (config.channel(&event.shop), body),
                        Err(_) => continue,
                    },
                    None => return,
                },
            };
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(&body)
                .query_async(&mut conn)
                .await;
            match sent {
                Ok(_) => {
                    stats.published.fetch_add(1, Relaxed);
                }
                Err(e) => {
                    stats.publish_errors.fetch_add(1, Relaxed);
                    tracing::warn!(error = %e, "bus publish failed; retrying after reconnect");
                    pending = Some((channel, body));
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt = 1;
                    continue 'connect;
                }
            }
        }
    }
}

/// Subscribes to every shop's channel and forwards other nodes' events; re-subscribes after a
/// failure and then sends `Delivery::Resync`. Ends when the receiver is dropped.
async fn subscriber(
    client: redis::Client,
    config: BusConfig,
    deliver: mpsc::Sender<Delivery>,
    stats: Arc<Stats>,
) {
    let mut attempt = 0u32;
    let mut subscribed_before = false;
    loop {
        if deliver.is_closed() {
            return;
        }
        let mut pubsub = match client.get_async_pubsub().await {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "bus subscriber cannot connect");
                tokio::time::sleep(backoff(attempt)).await;
                attempt = attempt.saturating_add(1);
                continue;
            }
        };
        if let Err(e) = pubsub.psubscribe(config.pattern()).await {
            tracing::debug!(error = %e, "bus subscribe failed");
            tokio::time::sleep(backoff(attempt)).await;
            attempt = attempt.saturating_add(1);
            continue;
        }
        attempt = 0;
        if subscribed_before {
            stats.reconnects.fetch_add(1, Relaxed);
            tracing::info!("bus subscriber reconnected; resyncing from the database");
            if deliver.send(Delivery::Resync).await.is_err() {
                return;
            }
        }
        subscribed_before = true;
        let mut messages = pubsub.on_message();
        loop {
            let msg = tokio::select! {
                m = messages.next() => m,
                () = deliver.closed() => return,
            };
            let Some(msg) = msg else {
                tracing::warn!("bus subscription lost; reconnecting");
                break;
            };
            match serde_json::from_slice::<Event>(msg.get_payload_bytes()) {
                Ok(event) if event.node == config.node => {}
                Ok(event) => {
                    stats.received.fetch_add(1, Relaxed);
                    if deliver.send(Delivery::Event(event)).await.is_err() {
                        return;
                    }
                }
                Err(_) => {
                    stats.undecodable.fetch_add(1, Relaxed);
                }
            }
        }
        drop(messages);
        tokio::time::sleep(backoff(0)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tells_duplicates_order_and_gaps() {
        let cases = [
            // (seen, first, last, expected)
            (0, 1, 2, Next::InOrder),
            (2, 3, 3, Next::InOrder),
            (2, 2, 4, Next::InOrder),
            (4, 3, 4, Next::Duplicate),
            (4, 1, 1, Next::Duplicate),
            (4, 7, 8, Next::Gap { from: 5, to: 6 }),
            (0, 5, 5, Next::Gap { from: 1, to: 4 }),
        ];
        for (seen, first, last, want) in cases {
            assert_eq!(
                next(seen, first, last),
                want,
                "seen {seen}, {first}..={last}"
            );
        }
    }

    #[test]
    fn backoff_grows_to_a_cap_with_jitter() {
        assert!(backoff(0) >= Duration::from_millis(50));
        assert!(backoff(0) <= Duration::from_millis(75));
        for attempt in 6..40 {
            let d = backoff(attempt);
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_secs(3),
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_malformed_url_is_an_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let err = Bus::start(BusConfig::new("http://not-redis", "n1")).unwrap_err();
            assert!(matches!(err, Error::Url(_)), "{err}");
        });
    }

    #[test]
    fn bus_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Bus>();
    }
}
