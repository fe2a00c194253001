//! `Engine`: one compiled phrasebook and the per-turn entry points.

use std::path::Path;

use huashu_guard::Guard;
use huashu_phrasebook::{BookMeta, Phrasebook, Problem, Problems};
use huashu_suggest::{ConversationState, Suggester};
use huashu_understand::Understander;

use crate::followup;
use crate::output::{AgentAnalysis, CustomerAnalysis, DraftCheck, GuardHit, SuggestionItem};
use crate::rewrite;

/// Why a book could not be turned into an engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Load(#[from] huashu_phrasebook::Error),
    #[error("{0}")]
    Compile(Problems),
}

/// A compiled phrasebook. Immutable and `Send + Sync`: share it behind an `Arc`.
#[derive(Debug)]
pub struct Engine {
    book: Phrasebook,
    guard: Guard,
    understander: Understander,
    suggester: Suggester,
}

impl Engine {
    /// Reads and compiles the book in `dir`.
    pub fn load(dir: &Path) -> Result<Engine, EngineError> {
        Engine::compile(huashu_phrasebook::load_dir(dir)?)
    }

    /// Compiles a parsed book; every compile problem is reported, nothing is half-built.
    pub fn compile(book: Phrasebook) -> Result<Engine, EngineError> {
        let mut problems = Vec::new();
        let guard = Guard::builder().build(&book.rules).map_err(|errs| {
            problems.extend(errs.into_iter().map(|e| match e {
                huashu_guard::Error::Invalid {
                    origin,
                    id,
                    message,
                } => Problem {
                    origin,
                    id: Some(id),
                    message,
                },
                other => problem(other.to_string()),
            }))
        });
        let understander = Understander::new(&book).map_err(|e| match e {
            huashu_understand::Error::Invalid {
                origin,
                id,
                message,
            } => problems.push(Problem {
                origin,
                id: Some(id),
                message,
            }),
            #[allow(unreachable_patterns)]
            other => problems.push(problem(other.to_string())),
        });
        let suggester = Suggester::new(&book).map_err(|e| problems.push(problem(e.to_string())));
        match (guard, understander, suggester) {
            (Ok(guard), Ok(understander), Ok(suggester)) => Ok(Engine {
                book,
                guard,
                understander,
                suggester,
            }),
            _ => Err(EngineError::Compile(Problems(problems))),
        }
    }

    pub fn meta(&self) -> &BookMeta {
        &self.book.meta
    }

    pub fn book(&self) -> &Phrasebook {
        &self.book
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    pub fn understander(&self) -> &Understander {
        &self.understander
    }

    /// Analyses a customer turn, updates the conversation and ranks suggestions.
    pub fn customer_turn(
        &self,
        conv: &mut ConversationState,
        text: &str,
        at_ms: Option<i64>,
    ) -> CustomerAnalysis {
        let understanding = self.understander.analyze_in(text, &conv.context());
        conv.observe_customer(&understanding, at_ms);
        let turn = conv.turns();
        // A "not sure" intent is shown, but does not pick the scripts: they follow the emotion
        // and the conversation instead.
        let unsure;
        let for_scripts = if understanding.confident {
            &understanding
        } else {
            let mut u = understanding.clone();
            u.intents = vec![huashu_understand::IntentScore {
                id: "other",
                score: understanding.intents.first().map_or(0.0, |i| i.score),
            }];
            unsure = u;
            &unsure
        };
        let suggestions = self
            .suggester
            .suggest(for_scripts, text, conv)
            .into_iter()
            .map(|s| SuggestionItem {
                id: format!("{turn}:{}", s.script),
                suggestion: s,
            })
            .collect();
        CustomerAnalysis {
            understanding,
            suggestions,
        }
    }

    /// Ranks suggestions again for the conversation's latest customer turn without counting a
    /// new turn: after the agent used or dismissed a suggestion, the list they see is refreshed
    /// (the used one steps back through the conversation's history, a dismissed one is gone).
    pub fn resuggest(
        &self,
        conv: &mut ConversationState,
        last_customer_text: &str,
    ) -> Vec<SuggestionItem> {
        let understanding = self.understander.analyze(last_customer_text);
        let turn = conv.turns();
        self.suggester
            .refresh(&understanding, last_customer_text, conv)
            .into_iter()
            .map(|s| SuggestionItem {
                id: format!("{turn}:{}", s.script),
                suggestion: s,
            })
            .collect()
    }

    /// Checks a sent agent turn and records it in the conversation.
    pub fn agent_turn(
        &self,
        conv: &mut ConversationState,
        text: &str,
        at_ms: Option<i64>,
    ) -> AgentAnalysis {
        conv.observe_agent(text, at_ms);
        let DraftCheck { hits, rewritten } = self.review_draft(text);
        AgentAnalysis {
            guard: hits,
            rewritten,
            follow_up: followup::find(text),
        }
    }

    /// Checks an unsent draft: the forbidden hits, with spans in `text`.
    pub fn check_draft(&self, text: &str) -> Vec<GuardHit> {
        let hits = self.guard.check(text);
        self.guard_hits(text, hits)
    }

    /// Checks a draft and, when it has a block/warn hit, rewrites the whole of it (see
    /// `rewrite.rs`): what the draft `guard` reply and the `guard` event carry.
    pub fn review_draft(&self, text: &str) -> DraftCheck {
        let hits = self.guard.check(text);
        let rewritten = rewrite::rewrite(&self.guard, text, &hits);
        DraftCheck {
            hits: self.guard_hits(text, hits),
            rewritten,
        }
    }

    fn guard_hits(&self, text: &str, hits: Vec<huashu_guard::Hit>) -> Vec<GuardHit> {
        if hits.is_empty() {
            return Vec::new();
        }
        // Hits come in text order: walk the char offsets once instead of once per hit.
        let mut cursor = CharCursor::new(text);
        hits.into_iter()
            .map(|h| {
                let rule = &self.guard.rules()[h.rule];
                GuardHit {
                    rule: rule.id.clone(),
                    category: rule.category.as_str().to_string(),
                    severity: rule.severity,
                    start: h.start,
                    end: h.end,
                    text: cursor.slice(h.start, h.end).to_owned(),
                    rewrite: rule.rewrite.clone(),
                }
            })
            .collect()
    }
}

/// Maps char offsets to byte offsets, cheaply for offsets that only move forward.
struct CharCursor<'a> {
    text: &'a str,
    char_pos: usize,
    byte_pos: usize,
}

impl<'a> CharCursor<'a> {
    fn new(text: &'a str) -> Self {
        CharCursor {
            text,
            char_pos: 0,
            byte_pos: 0,
        }
    }

    fn byte_of(&mut self, char_offset: usize) -> usize {
        if char_offset < self.char_pos {
            self.char_pos = 0;
            self.byte_pos = 0;
        }
        for c in self.text[self.byte_pos..].chars() {
            if self.char_pos == char_offset {
                break;
            }
            self.char_pos += 1;
            self.byte_pos += c.len_utf8();
        }
        self.byte_pos
    }

    /// The text between two char offsets; the cursor stays at `start`, so overlapping hits
    /// that begin later never send it back to the beginning.
    fn slice(&mut self, start: usize, end: usize) -> &'a str {
        let from = self.byte_of(start);
        let text = self.text;
        let len: usize = text[from..]
            .chars()
            .take(end.saturating_sub(start))
            .map(char::len_utf8)
            .sum();
        &text[from..from + len]
    }
}

fn problem(message: String) -> Problem {
    Problem {
        origin: Default::default(),
        id: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Engine>();
    }
}
