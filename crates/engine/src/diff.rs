//! `huashu diff`: what a phrasebook change would do to real traffic, before it is published.
//!
//! Both books replay the same transcripts, each with its own conversation state, and the
//! differences are counted per rule / intent / emotion / suggestion with example lines.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::{ConversationState, Engine};

/// One transcript line (the `huashu analyze` input; eval and export lines fit too).
#[derive(Debug, Clone, Deserialize)]
pub struct TranscriptLine {
    pub role: String,
    pub text: String,
    #[serde(default)]
    pub conversation: Option<String>,
    #[serde(default)]
    pub at: Option<i64>,
}

/// How often something changed, with a few example lines.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Change {
    pub count: usize,
    pub examples: Vec<String>,
}

impl Change {
    const EXAMPLES: usize = 3;
    fn add(&mut self, line: usize, text: &str) {
        self.count += 1;
        if self.examples.len() < Self::EXAMPLES {
            self.examples.push(format!("{line}: {text}"));
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    pub old_book: String,
    pub new_book: String,
    pub customer_lines: usize,
    pub agent_lines: usize,
    /// Guard hits (block/warn/hint) by rule id that the new book adds / no longer finds.
    pub hits_gained: BTreeMap<String, Change>,
    pub hits_lost: BTreeMap<String, Change>,
    /// Agent lines that had no block/warn hit and now have one, and the reverse.
    pub lines_newly_flagged: usize,
    pub lines_no_longer_flagged: usize,
    /// "old → new" primary intent, emotion label, urgent flag and top suggestion changes.
    pub intent_changes: BTreeMap<String, Change>,
    pub emotion_changes: BTreeMap<String, Change>,
    pub urgent_changes: BTreeMap<String, Change>,
    pub top_suggestion_changes: BTreeMap<String, Change>,
}

impl DiffReport {
    /// True when nothing observable changed.
    pub fn is_empty(&self) -> bool {
        self.hits_gained.is_empty()
            && self.hits_lost.is_empty()
            && self.intent_changes.is_empty()
            && self.emotion_changes.is_empty()
            && self.urgent_changes.is_empty()
            && self.top_suggestion_changes.is_empty()
    }
}

/// Replays `(line number, line)` pairs through both engines.
pub fn diff(old: &Engine, new: &Engine, lines: &[(usize, TranscriptLine)]) -> DiffReport {
    let mut r = DiffReport {
        old_book: format!("{} {}", old.meta().name, old.meta().hash),
        new_book: format!("{} {}", new.meta().name, new.meta().hash),
        ..Default::default()
    };
    let mut states: HashMap<String, (ConversationState, ConversationState)> = HashMap::new();
    for (n, line) in lines {
        let mut scratch = Default::default();
        let (so, sn) = match &line.conversation {
            Some(id) => states.entry(id.clone()).or_default(),
            None => &mut scratch,
        };
        if line.role == "agent" {
            r.agent_lines += 1;
            let a = old.agent_turn(so, &line.text, line.at).guard;
            let b = new.agent_turn(sn, &line.text, line.at).guard;
            let key = |h: &crate::GuardHit| (h.rule.clone(), h.start, h.end);
            let ka: Vec<_> = a.iter().map(key).collect();
            let kb: Vec<_> = b.iter().map(key).collect();
            for k in kb.iter().filter(|k| !ka.contains(k)) {
                r.hits_gained
                    .entry(k.0.clone())
                    .or_default()
                    .add(*n, &line.text);
            }
            for k in ka.iter().filter(|k| !kb.contains(k)) {
                r.hits_lost
                    .entry(k.0.clone())
                    .or_default()
                    .add(*n, &line.text);
            }
            let serious = |hits: &[crate::GuardHit]| {
                hits.iter()
                    .any(|h| h.severity != huashu_phrasebook::Severity::Hint)
            };
            match (serious(&a), serious(&b)) {
                (false, true) => r.lines_newly_flagged += 1,
                (true, false) => r.lines_no_longer_flagged += 1,
                _ => {}
            }
            continue;
        }
        r.customer_lines += 1;
        let a = old.customer_turn(so, &line.text, line.at);
        let b = new.customer_turn(sn, &line.text, line.at);
        let (ua, ub) = (&a.understanding, &b.understanding);
        let note = |map: &mut BTreeMap<String, Change>, x: &str, y: &str| {
            if x != y {
                map.entry(format!("{x} → {y}"))
                    .or_default()
                    .add(*n, &line.text);
            }
        };
        note(
            &mut r.intent_changes,
            ua.primary_intent(),
            ub.primary_intent(),
        );
        note(&mut r.emotion_changes, ua.emotion.label, ub.emotion.label);
        note(
            &mut r.urgent_changes,
            if ua.urgent { "urgent" } else { "not urgent" },
            if ub.urgent { "urgent" } else { "not urgent" },
        );
        let top = |s: &[crate::SuggestionItem]| {
            s.first()
                .map(|i| i.suggestion.script.clone())
                .unwrap_or_else(|| "(none)".into())
        };
        note(
            &mut r.top_suggestion_changes,
            &top(&a.suggestions),
            &top(&b.suggestions),
        );
    }
    r
}
