//! Service counters and latency histograms, rendered as Prometheus text at `GET /metrics`.
//!
//! Plain atomics (Relaxed: each counter is independent, a scrape needs no consistent snapshot)
//! and one DashMap for guard hits by category, whose names come from the phrasebook.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use dashmap::DashMap;

use crate::auth::Role;
use crate::protocol::ErrorCode;

/// Bucket upper bounds in microseconds.
const BOUNDS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
    5_000_000,
];

#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BOUNDS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BOUNDS_US.iter().position(|&b| us <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }

    /// Observations so far.
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, bound) in self.buckets.iter().zip(BOUNDS_US) {
            cumulative += b.load(Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}\"}} {cumulative}",
                bound as f64 / 1e6
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Event kinds counted by `huashu_events_total`.
pub const EVENT_KINDS: [&str; 5] = ["analysis", "suggestions", "guard", "sla", "follow_up"];

#[derive(Debug, Default)]
pub struct Metrics {
    /// Open WebSocket connections: [before hello, widget, agent, supervisor].
    connections: [AtomicI64; 4],
    pub turns_customer: AtomicU64,
    pub turns_agent: AtomicU64,
    pub turns_duplicate: AtomicU64,
    pub drafts: AtomicU64,
    pub feedback: AtomicU64,
    events: [AtomicU64; EVENT_KINDS.len()],
    /// Turn frame received → its events queued to every subscriber (after commit).
    pub turn_push: Histogram,
    /// Draft frame received → guard reply written.
    pub draft_guard: Histogram,
    /// Group-commit transaction time in the writer thread.
    pub commit: Histogram,
    /// The writer's own once-a-second checkpoint (it delays the next commit by this much).
    pub wal_checkpoint: Histogram,
    guard_hits: DashMap<String, AtomicU64>,
    pub reloads_ok: AtomicU64,
    pub reloads_failed: AtomicU64,
    errors: [AtomicU64; ErrorCode::ALL.len()],
    pub slow_consumers: AtomicU64,
    pub refused_connections: AtomicU64,
    pub http_requests: AtomicU64,
    /// HTTP requests whose head or body did not arrive within its deadline (408).
    pub http_timeouts: AtomicU64,
    /// WebSocket connections failed for a protocol violation (1002), invalid UTF-8 (1007) or
    /// an oversized frame (1009).
    pub protocol_violations: AtomicU64,
}

fn role_index(role: Option<Role>) -> usize {
    match role {
        None => 0,
        Some(Role::Widget) => 1,
        Some(Role::Agent) => 2,
        Some(Role::Supervisor) => 3,
    }
}

impl Metrics {
    pub fn connection_opened(&self, role: Option<Role>) {
        self.connections[role_index(role)].fetch_add(1, Relaxed);
    }

    pub fn connection_closed(&self, role: Option<Role>) {
        self.connections[role_index(role)].fetch_sub(1, Relaxed);
    }

    pub fn event(&self, kind: &str) {
        if let Some(i) = EVENT_KINDS.iter().position(|k| *k == kind) {
            self.events[i].fetch_add(1, Relaxed);
        }
    }

    pub fn error(&self, code: ErrorCode) {
        self.errors[code.index()].fetch_add(1, Relaxed);
    }

    pub fn guard_hit(&self, category: &str) {
        if let Some(c) = self.guard_hits.get(category) {
            c.fetch_add(1, Relaxed);
            return;
        }
        self.guard_hits
            .entry(category.to_string())
            .or_default()
            .fetch_add(1, Relaxed);
    }

    pub fn render(&self, book: &huashu_phrasebook::BookMeta) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP huashu_connections Open WebSocket connections by role.\n# TYPE huashu_connections gauge"
        );
        for (i, role) in ["pending", "widget", "agent", "supervisor"]
            .iter()
            .enumerate()
        {
            let _ = writeln!(
                out,
                "huashu_connections{{role=\"{role}\"}} {}",
                self.connections[i].load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP huashu_turns_total Accepted turns by speaker.\n# TYPE huashu_turns_total counter"
        );
        let _ = writeln!(
            out,
            "huashu_turns_total{{role=\"customer\"}} {}",
            self.turns_customer.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "huashu_turns_total{{role=\"agent\"}} {}",
            self.turns_agent.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP huashu_turns_duplicate_total Re-sent turns acked again without processing.\n# TYPE huashu_turns_duplicate_total counter"
        );
        let _ = writeln!(
            out,
            "huashu_turns_duplicate_total {}",
            self.turns_duplicate.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP huashu_events_total Stored conversation events by type.\n# TYPE huashu_events_total counter"
        );
        for (i, kind) in EVENT_KINDS.iter().enumerate() {
            let _ = writeln!(
                out,
                "huashu_events_total{{type=\"{kind}\"}} {}",
                self.events[i].load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP huashu_drafts_total Drafts checked.\n# TYPE huashu_drafts_total counter\nhuashu_drafts_total {}",
            self.drafts.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP huashu_feedback_total Suggestion feedback stored.\n# TYPE huashu_feedback_total counter\nhuashu_feedback_total {}",
            self.feedback.load(Relaxed)
        );
        self.turn_push.render(
            &mut out,
            "huashu_turn_push_seconds",
            "Turn received to events queued to subscribers.",
        );
        self.draft_guard.render(
            &mut out,
            "huashu_draft_guard_seconds",
            "Draft received to guard reply written.",
        );
        self.commit.render(
            &mut out,
            "huashu_commit_seconds",
            "Group-commit transaction time.",
        );
        self.wal_checkpoint.render(
            &mut out,
            "huashu_wal_checkpoint_seconds",
            "The database writer's own WAL checkpoint (once a second; delays the next commit).",
        );
        let _ = writeln!(
            out,
            "# HELP huashu_guard_hits_total Forbidden-phrase hits (drafts and sent turns) by category.\n# TYPE huashu_guard_hits_total counter"
        );
        let mut hits: Vec<(String, u64)> = self
            .guard_hits
            .iter()
            .map(|e| (e.key().clone(), e.value().load(Relaxed)))
            .collect();
        hits.sort();
        for (cat, n) in hits {
            let cat = cat.replace(['"', '\\', '\n'], "_");
            let _ = writeln!(out, "huashu_guard_hits_total{{category=\"{cat}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP huashu_reloads_total Phrasebook reloads by result.\n# TYPE huashu_reloads_total counter"
        );
        let _ = writeln!(
            out,
            "huashu_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "huashu_reloads_total{{result=\"failed\"}} {}",
            self.reloads_failed.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP huashu_errors_total Error frames sent by code.\n# TYPE huashu_errors_total counter"
        );
        for code in ErrorCode::ALL {
            let _ = writeln!(
                out,
                "huashu_errors_total{{code=\"{}\"}} {}",
                code.as_str(),
                self.errors[code.index()].load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP huashu_slow_consumers_total Connections closed because they stopped reading.\n# TYPE huashu_slow_consumers_total counter\nhuashu_slow_consumers_total {}",
            self.slow_consumers.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP huashu_refused_connections_total Connections refused at the limit.\n# TYPE huashu_refused_connections_total counter\nhuashu_refused_connections_total {}",
            self.refused_connections.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP huashu_http_requests_total Plain HTTP requests.\n# TYPE huashu_http_requests_total counter\nhuashu_http_requests_total {}",
            self.http_requests.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP huashu_http_timeouts_total HTTP requests whose head or body missed its deadline.\n# TYPE huashu_http_timeouts_total counter\nhuashu_http_timeouts_total {}",
            self.http_timeouts.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP huashu_protocol_violations_total WebSockets failed with 1002, 1007 or 1009.\n# TYPE huashu_protocol_violations_total counter\nhuashu_protocol_violations_total {}",
            self.protocol_violations.load(Relaxed)
        );
        let esc = |s: &str| s.replace(['"', '\\', '\n'], "_");
        let _ = writeln!(
            out,
            "# HELP huashu_book_info The phrasebook in use.\n# TYPE huashu_book_info gauge"
        );
        let _ = writeln!(
            out,
            "huashu_book_info{{name=\"{}\",version=\"{}\",hash=\"{}\"}} 1",
            esc(&book.name),
            esc(&book.version),
            esc(&book.hash)
        );
        out
    }
}
