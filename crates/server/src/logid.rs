//! Client-chosen ids in log lines, pseudonymised.
//!
//! Conversation and turn ids come from the shop's chat system or the widget, and nothing stops
//! one from holding personal data (a phone number or a name as a chat id). Log lines therefore
//! never print them: they print `LogId`, a keyed hash (SipHash with a random key drawn once per
//! process, std's `RandomState`), so lines of one conversation can be told apart and followed
//! within a run, but a logged value cannot be turned back into the id, nor checked against a
//! guess, without the key (which is never written anywhere).

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

/// A client id as it appears in the logs: 16 hex digits.
#[derive(Clone, Copy)]
pub(crate) struct LogId(u64);

impl LogId {
    pub(crate) fn of(id: &str) -> LogId {
        static KEY: OnceLock<RandomState> = OnceLock::new();
        LogId(KEY.get_or_init(RandomState::new).hash_one(id))
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_id_logs_the_same_and_no_id_logs_itself() {
        let phone = "13812345678";
        let shown = LogId::of(phone).to_string();
        assert_eq!(shown, LogId::of(phone).to_string(), "stable within a run");
        assert_ne!(shown, LogId::of("13812345679").to_string());
        assert_eq!(shown.len(), 16);
        assert!(!shown.contains(phone) && !format!("{:?}", LogId::of(phone)).contains(phone));
    }
}
