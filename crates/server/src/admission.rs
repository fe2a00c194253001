//! Who gets a connection slot: the total connection limit, the refusal budget past it, and the
//! per-IP limit, decided in the accept loop before any byte is read.
//!
//! Why here and not after the request head: a flood of sockets that never send anything must be
//! refused without holding a file descriptor for the whole head deadline. Accepted sockets take
//! a `Slot` (an RAII guard, so every exit path of a connection task gives it back); a socket
//! past the limit but within `refusal_slots` is answered 503 / `overloaded` + 1013 under a short
//! deadline; beyond that it is closed at once.
//!
//! Counters: one `AtomicUsize` for the total (read on every accept) and a `DashMap<IpAddr,
//! usize>` for the per-IP counts (sharded, entries removed when they drop to zero so the map
//! never outgrows the open connections).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use dashmap::DashMap;

use crate::config::Limits;

/// The connection counters shared by the accept loop and the connection tasks.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    open: AtomicUsize,
    refusing: AtomicUsize,
    per_ip: DashMap<IpAddr, usize>,
}

/// What the accept loop does with a new socket.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Serve it; the slot is given back when dropped.
    Serve(Slot),
    /// Answer it with a refusal (503 / 1013) within the refusal deadline.
    Refuse(Slot, Refusal),
    /// Close it at once: not even a refusal fits.
    Drop,
}

/// Why a connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The server is at `max_connections`.
    Overloaded,
    /// The peer's address is at `max_per_ip`.
    PerIp,
}

impl Refusal {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refusal::Overloaded => "too many connections, retry later",
            Refusal::PerIp => "too many connections from this address, retry later",
        }
    }
}

/// A held connection slot (total, and per IP when counted).
#[derive(Debug)]
pub(crate) struct Slot {
    admission: Arc<Admission>,
    ip: Option<IpAddr>,
    refusing: bool,
}

impl Admission {
    /// Connections currently holding a slot (served or being refused).
    pub(crate) fn open(&self) -> usize {
        self.open.load(Relaxed)
    }

    /// Decides for a socket from `ip`.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Verdict {
        let counted_ip = (limits.max_per_ip > 0
            && !(limits.per_ip_exempt_loopback && ip.is_loopback()))
        .then_some(ip);
        let over_total = self.open.load(Relaxed) >= limits.max_connections;
        let over_ip = counted_ip.is_some_and(|ip| {
            self.per_ip
                .get(&ip)
                .is_some_and(|n| *n >= limits.max_per_ip)
        });
        if !over_total && !over_ip {
            return Verdict::Serve(self.take(counted_ip, false));
        }
        if self.refusing.load(Relaxed) >= limits.refusal_slots {
            return Verdict::Drop;
        }
        let why = if over_total {
            Refusal::Overloaded
        } else {
            Refusal::PerIp
        };
        // A refused socket is not counted per IP: its slot is the refusal budget's.
        Verdict::Refuse(self.take(None, true), why)
    }

    fn take(self: &Arc<Self>, ip: Option<IpAddr>, refusing: bool) -> Slot {
        if refusing {
            self.refusing.fetch_add(1, Relaxed);
        } else {
            self.open.fetch_add(1, Relaxed);
        }
        if let Some(ip) = ip {
            *self.per_ip.entry(ip).or_insert(0) += 1;
        }
        Slot {
            admission: Arc::clone(self),
            ip,
            refusing,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let a = &self.admission;
        if self.refusing {
            a.refusing.fetch_sub(1, Relaxed);
        } else {
            a.open.fetch_sub(1, Relaxed);
        }
        if let Some(ip) = self.ip {
            a.per_ip.remove_if_mut(&ip, |_, n| {
                *n = n.saturating_sub(1);
                *n == 0
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_ip: usize, refusals: usize) -> Limits {
        Limits {
            max_connections: max,
            max_per_ip: per_ip,
            refusal_slots: refusals,
            per_ip_exempt_loopback: true,
            ..Limits::default()
        }
    }

    fn kind(v: &Verdict) -> &'static str {
        match v {
            Verdict::Serve(_) => "serve",
            Verdict::Refuse(_, Refusal::Overloaded) => "overloaded",
            Verdict::Refuse(_, Refusal::PerIp) => "per_ip",
            Verdict::Drop => "drop",
        }
    }

    #[test]
    fn total_limit_then_refusal_budget_then_drop() {
        let a = Arc::new(Admission::default());
        let l = limits(2, 0, 1);
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let held: Vec<Verdict> = (0..4).map(|_| a.admit(ip, &l)).collect();
        let kinds: Vec<&str> = held.iter().map(kind).collect();
        assert_eq!(kinds, ["serve", "serve", "overloaded", "drop"]);
        assert_eq!(a.open(), 2);
        drop(held);
        assert_eq!(a.open(), 0);
        assert_eq!(kind(&a.admit(ip, &l)), "serve");
    }

    #[test]
    fn per_ip_limit_counts_each_address_and_exempts_loopback() {
        let a = Arc::new(Admission::default());
        let l = limits(100, 2, 10);
        let one: IpAddr = "10.0.0.1".parse().expect("ip");
        let two: IpAddr = "10.0.0.2".parse().expect("ip");
        let lo: IpAddr = "127.0.0.1".parse().expect("ip");
        let cases: &[(IpAddr, &str)] = &[
            (one, "serve"),
            (one, "serve"),
            (one, "per_ip"),
            (two, "serve"),
            (lo, "serve"),
            (lo, "serve"),
            (lo, "serve"),
        ];
        let mut held = Vec::new();
        for (ip, want) in cases {
            let v = a.admit(*ip, &l);
            assert_eq!(kind(&v), *want, "{ip}");
            held.push(v);
        }
        held.clear();
        assert!(a.per_ip.is_empty(), "entries removed at zero");
        let strict = Limits {
            per_ip_exempt_loopback: false,
            ..l
        };
        let _x = a.admit(lo, &strict);
        let _y = a.admit(lo, &strict);
        assert_eq!(kind(&a.admit(lo, &strict)), "per_ip");
    }
}
