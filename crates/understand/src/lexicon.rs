//! The one automaton every lexicon of a book shares, so a turn is scanned once.
//!
//! Intent keywords, emotion words, modifiers, urgent triggers and allow-contexts, style markers
//! and the built-in cues (threats, repeat-asks, hypothetical and past markers) are normalised
//! with the same [`Normalizer`] as the turn, deduplicated, and compiled into one overlapping
//! Aho-Corasick automaton whose pattern ids map to one or more [`Tag`]s. Regex patterns of every
//! section go into one `RegexSet`; a set only says *which* patterns matched, so regex evidence has
//! no position (it is never negated — recall first).
//!
//! Entries that normalise to nothing (emoji, ：）) are *symbol literals*: they go into a second,
//! tiny automaton run on the original text, only when the turn has symbol chars at all, and also
//! count as evidence without a position.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use huashu_normalize::Normalizer;
use huashu_phrasebook::Origin;
use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::Error;

/// What a lexicon entry means. Indices point into `INTENTS` / `EMOTIONS`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tag {
    Intent {
        intent: u8,
        weight: f32,
    },
    Emotion {
        label: u8,
        weight: f32,
    },
    Negator,
    Intensifier(f32),
    Diminisher(f32),
    /// An urgent trigger word of one incident kind.
    Urgent(huashu_phrasebook::UrgentKind),
    /// An urgent pattern's match: context + trigger, the trigger usually at its end.
    UrgentPattern(huashu_phrasebook::UrgentKind),
    UrgentAllow,
    Style {
        emotional: bool,
        weight: f32,
    },
    Threat,
    RepeatAsk,
    /// 会, 会不会, 是否…: the turn may be asking about a possibility, not reporting a fact.
    /// The kind says whether the marker needs a question and whether 了 undoes it.
    Hypothetical(crate::builtin::Hypo),
    /// 了, 已经, 刚才…: something happened.
    Past,
}

impl Tag {
    pub(crate) fn is_modifier(self) -> bool {
        matches!(self, Tag::Intensifier(_) | Tag::Diminisher(_))
    }
}

/// One lexicon hit: byte offsets in the normalised text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub start: u32,
    pub end: u32,
    pub tag: Tag,
}

/// Collects entries, then compiles them.
pub(crate) struct LexiconBuilder {
    norm: Normalizer,
    index: HashMap<String, usize>,
    words: Vec<String>,
    tags: Vec<Vec<Tag>>,
    symbols: Vec<(String, Tag)>,
    patterns: Vec<(String, Tag, Origin, String)>,
}

impl LexiconBuilder {
    pub(crate) fn new(norm: Normalizer) -> Self {
        LexiconBuilder {
            norm,
            index: HashMap::new(),
            words: Vec::new(),
            tags: Vec::new(),
            symbols: Vec::new(),
            patterns: Vec::new(),
        }
    }

    /// Whether `symbol` is already a symbol literal (so a built-in default must not double it).
    pub(crate) fn has_symbol(&self, symbol: &str) -> bool {
        self.symbols.iter().any(|(s, _)| s == symbol.trim())
    }

    /// Adds a literal; entries that normalise to nothing (pure punctuation) are ignored.
    pub(crate) fn word(&mut self, word: &str, tag: Tag) {
        let w = self.norm.normalize_phrase(word);
        if w.is_empty() {
            let raw = word.trim();
            if !raw.is_empty() && !self.symbols.iter().any(|(s, t)| s == raw && *t == tag) {
                self.symbols.push((raw.to_string(), tag));
            }
            return;
        }
        let id = match self.index.get(&w) {
            Some(&id) => id,
            None => {
                let id = self.words.len();
                self.index.insert(w.clone(), id);
                self.words.push(w);
                self.tags.push(Vec::new());
                id
            }
        };
        if let Some(tags) = self.tags.get_mut(id)
            && !tags.contains(&tag)
        {
            tags.push(tag);
        }
    }

    /// Adds a regex (matched on normalised text); `origin`/`id` name it in errors.
    pub(crate) fn pattern(&mut self, pattern: &str, tag: Tag, origin: &Origin, id: &str) {
        self.patterns
            .push((pattern.to_string(), tag, origin.clone(), id.to_string()));
    }

    /// Whether matches of patterns with `tag` need positions: urgent patterns do, so that allow
    /// contexts, negation and the hypothetical-question rule apply to them as to words.
    fn located(tag: Tag) -> bool {
        matches!(tag, Tag::UrgentPattern(_))
    }

    pub(crate) fn build(self) -> Result<Lexicon, Error> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&self.words)
            .map_err(|e| Error::Invalid {
                origin: Origin::default(),
                id: "lexicon".into(),
                message: format!("cannot build the lexicon automaton: {e}"),
            })?;
        let mut ranges = Vec::with_capacity(self.tags.len());
        let mut flat = Vec::new();
        for tags in &self.tags {
            let a = flat.len() as u32;
            flat.extend_from_slice(tags);
            ranges.push((a, flat.len() as u32));
        }
        let set = if self.patterns.is_empty() {
            None
        } else {
            let built = RegexSetBuilder::new(self.patterns.iter().map(|p| p.0.as_str()))
                .size_limit(16 << 20)
                .build();
            match built {
                Ok(set) => Some(set),
                // The set's error does not say which pattern broke: find it so the QA lead
                // gets file, line and id.
                Err(set_err) => {
                    for (p, _, origin, id) in &self.patterns {
                        if let Err(e) = Regex::new(p) {
                            return Err(Error::Invalid {
                                origin: origin.clone(),
                                id: id.clone(),
                                message: format!("bad pattern {p:?}: {e}"),
                            });
                        }
                    }
                    return Err(Error::Invalid {
                        origin: Origin::default(),
                        id: "patterns".into(),
                        message: format!("cannot compile the pattern set: {set_err}"),
                    });
                }
            }
        };
        let symbols = if self.symbols.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(self.symbols.iter().map(|s| s.0.as_str()))
                .map_err(|e| Error::Invalid {
                    origin: Origin::default(),
                    id: "lexicon".into(),
                    message: format!("cannot build the symbol automaton: {e}"),
                })?;
            Some((ac, self.symbols.iter().map(|s| s.1).collect()))
        };
        let mut located = Vec::with_capacity(self.patterns.len());
        for (p, tag, origin, id) in &self.patterns {
            located.push(if Self::located(*tag) {
                Some(Regex::new(p).map_err(|e| Error::Invalid {
                    origin: origin.clone(),
                    id: id.clone(),
                    message: format!("bad pattern {p:?}: {e}"),
                })?)
            } else {
                None
            });
        }
        Ok(Lexicon {
            ac,
            ranges,
            tags: flat,
            symbols,
            set,
            located,
            set_tags: self.patterns.into_iter().map(|p| p.1).collect(),
        })
    }
}

/// The compiled lexicon of a book.
#[derive(Debug)]
pub(crate) struct Lexicon {
    ac: AhoCorasick,
    /// Pattern id → range in `tags`.
    ranges: Vec<(u32, u32)>,
    tags: Vec<Tag>,
    /// Symbol literals (emoji…) matched on the original text, and their tags.
    symbols: Option<(AhoCorasick, Vec<Tag>)>,
    set: Option<RegexSet>,
    set_tags: Vec<Tag>,
    /// Per set pattern: the pattern alone, when its matches become positioned hits.
    located: Vec<Option<Regex>>,
}

impl Lexicon {
    /// Appends every (overlapping) literal hit of normalised `text` to `hits`, and the tag of every
    /// matching pattern and (when `symbols`) every symbol literal of `original` to `loose`. Both
    /// are cleared first. Returns the number of symbol-literal hits.
    /// At most this many literal hits are kept per turn (hostile input: thousands of 快递 in one
    /// message); real turns have a few dozen.
    pub(crate) const MAX_HITS: usize = 1024;

    pub(crate) fn scan(
        &self,
        text: &str,
        original: &str,
        symbols: bool,
        hits: &mut Vec<Hit>,
        loose: &mut Vec<Tag>,
    ) -> u32 {
        hits.clear();
        loose.clear();
        for m in self.ac.find_overlapping_iter(text) {
            if hits.len() >= Self::MAX_HITS {
                break;
            }
            let Some(&(a, b)) = self.ranges.get(m.pattern().as_usize()) else {
                continue;
            };
            for &tag in self.tags.get(a as usize..b as usize).unwrap_or(&[]) {
                hits.push(Hit {
                    start: m.start() as u32,
                    end: m.end() as u32,
                    tag,
                });
            }
        }
        hits.sort_unstable_by_key(|h| (h.start, u32::MAX - h.end));
        if let Some(set) = &self.set
            && !text.is_empty()
        {
            let mut located = false;
            for i in set.matches(text).iter() {
                let Some(&tag) = self.set_tags.get(i) else {
                    continue;
                };
                match self.located.get(i) {
                    Some(Some(re)) => {
                        for m in re.find_iter(text) {
                            if hits.len() < Self::MAX_HITS && m.end() > m.start() {
                                hits.push(Hit {
                                    start: m.start() as u32,
                                    end: m.end() as u32,
                                    tag,
                                });
                                located = true;
                            }
                        }
                    }
                    _ => loose.push(tag),
                }
            }
            if located {
                hits.sort_unstable_by_key(|h| (h.start, u32::MAX - h.end));
            }
        }
        let mut n = 0;
        if symbols && let Some((ac, tags)) = &self.symbols {
            for m in ac.find_overlapping_iter(original) {
                if let Some(&t) = tags.get(m.pattern().as_usize()) {
                    loose.push(t);
                    n += 1;
                }
            }
        }
        n
    }

    pub(crate) fn len(&self) -> usize {
        self.ranges.len()
    }
}
