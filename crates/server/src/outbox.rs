//! A connection's queue of pushed frames (events, summaries) and the way producers tell it that it
//! fell too far behind.
//!
//! Producers (turn processing, SLA timers) never wait for a slow client: they `try_send`; when the
//! bounded queue is full the subscriber is dropped from the list and the connection is kicked
//! (closed with 4008), so one console that stops reading costs the others nothing.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Sending side, cloned into every subscription list the connection is in.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    pub(crate) id: u64,
    tx: mpsc::Sender<Utf8Bytes>,
    kick: Arc<Notify>,
}

/// Receiving side, owned by the connection task.
#[derive(Debug)]
pub(crate) struct Inbox {
    pub(crate) rx: mpsc::Receiver<Utf8Bytes>,
    pub(crate) kick: Arc<Notify>,
}

pub(crate) fn outbox(id: u64, capacity: usize) -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let kick = Arc::new(Notify::new());
    (
        Outbox {
            id,
            tx,
            kick: Arc::clone(&kick),
        },
        Inbox { rx, kick },
    )
}

impl Outbox {
    /// Queues a frame; `false` means this subscriber is gone (closed or kicked for being slow)
    /// and should be removed from the list it is in.
    pub(crate) fn push(&self, frame: Utf8Bytes) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.kick.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}
