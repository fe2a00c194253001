//! Compiling a phrasebook's forbidden rules into one automaton plus prefiltered regexes.

use std::collections::HashMap;

use huashu_normalize::Normalizer;
use huashu_phrasebook::{ForbiddenRule, Position};
use regex::{Regex, RegexBuilder};
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::Error;
use crate::alias::Readings;
use crate::matcher::Matcher;
pub use crate::matcher::MatcherKind;

/// What an automaton pattern stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// A literal phrase of rule `rule`.
    Phrase { rule: u32, boundary: bool },
    /// A literal prefix of regex `regex`: the regex has to run.
    Trigger { regex: u32 },
}

#[derive(Debug)]
pub(crate) struct RegexRule {
    pub(crate) rule: u32,
    pub(crate) re: Regex,
    /// Written in multi-line mode (`(?m)`): normalisation drops the punctuation that ends a
    /// sentence, so `^`/`$` of such a pattern match at sentence boundaries of the original text
    /// (the regex runs once per sentence) instead of only at the ends of the whole text.
    pub(crate) per_sentence: bool,
}

/// Per-rule data needed after a candidate is found.
#[derive(Debug)]
pub(crate) struct RuleData {
    /// Normalised allow-contexts.
    pub(crate) allow: Vec<String>,
    pub(crate) boundary: bool,
    pub(crate) position: Position,
}

/// Compiled forbidden rules of one phrasebook. Immutable; share it behind an `Arc`.
#[derive(Debug)]
pub struct Guard {
    pub(crate) rules: Vec<ForbiddenRule>,
    pub(crate) data: Vec<RuleData>,
    pub(crate) matcher: Matcher,
    /// Automaton pattern `i` stands for `targets[target_ranges[i].0 .. target_ranges[i].1]`.
    pub(crate) target_ranges: Vec<(u32, u32)>,
    pub(crate) targets: Vec<Target>,
    pub(crate) regexes: Vec<RegexRule>,
    /// Regexes without a usable literal prefix: they run on every text.
    pub(crate) always: Vec<u32>,
    pub(crate) normalizer: Normalizer,
    /// Pinyin readings of the rules' chars, for evasive spellings.
    pub(crate) readings: Readings,
}

/// Configures how a [`Guard`] is built.
#[derive(Debug, Clone, Default)]
pub struct GuardBuilder {
    kind: MatcherKind,
}

impl GuardBuilder {
    /// Forces an automaton engine (default: chosen by list size).
    pub fn matcher(mut self, kind: MatcherKind) -> Self {
        self.kind = kind;
        self
    }

    /// Compiles `rules`; every problem is reported, nothing is half-built.
    pub fn build(&self, rules: &[ForbiddenRule]) -> Result<Guard, Vec<Error>> {
        let normalizer = Normalizer::new();
        let mut errors = Vec::new();
        let mut pattern_ids: HashMap<String, usize> = HashMap::new();
        let mut per_pattern: Vec<Vec<Target>> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut add = |pattern: String, target: Target| {
            let id = *pattern_ids.entry(pattern.clone()).or_insert_with(|| {
                patterns.push(pattern);
                per_pattern.push(Vec::new());
                per_pattern.len() - 1
            });
            per_pattern[id].push(target);
        };
        let mut regexes = Vec::new();
        let mut always = Vec::new();
        let mut data = Vec::with_capacity(rules.len());

        for (ri, rule) in rules.iter().enumerate() {
            let invalid = |message: String| Error::Invalid {
                origin: rule.origin.clone(),
                id: rule.id.clone(),
                message,
            };
            for phrase in &rule.phrases {
                let norm = normalizer.normalize_phrase(phrase);
                if norm.is_empty() {
                    errors.push(invalid(format!(
                        "phrase {phrase:?} is empty once normalised (only spaces/punctuation/emoji)"
                    )));
                    continue;
                }
                let boundary = rule.boundary || norm.chars().count() == 1;
                add(
                    norm,
                    Target::Phrase {
                        rule: ri as u32,
                        boundary,
                    },
                );
            }
            for pattern in &rule.patterns {
                match compile_regex(pattern, &normalizer) {
                    Ok((re, prefixes, per_sentence)) => {
                        let id = regexes.len() as u32;
                        regexes.push(RegexRule {
                            rule: ri as u32,
                            re,
                            per_sentence,
                        });
                        match prefixes {
                            Some(prefixes) => {
                                for p in prefixes {
                                    add(p, Target::Trigger { regex: id });
                                }
                            }
                            None => always.push(id),
                        }
                    }
                    Err(msg) => errors.push(invalid(msg)),
                }
            }
            let mut allow = Vec::with_capacity(rule.allow.len());
            for a in &rule.allow {
                let norm = normalizer.normalize_phrase(a);
                if norm.is_empty() {
                    errors.push(invalid(format!(
                        "allow-context {a:?} is empty once normalised"
                    )));
                } else {
                    allow.push(norm);
                }
            }
            data.push(RuleData {
                allow,
                boundary: rule.boundary,
                position: rule.position,
            });
        }

        let matcher = match Matcher::build(self.kind, &patterns) {
            Ok(m) => m,
            Err(e) => {
                errors.push(Error::Automaton(e));
                Matcher::Empty
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let readings = Readings::build(
            patterns.iter().map(String::as_str),
            rules
                .iter()
                .flat_map(|r| r.patterns.iter().map(String::as_str)),
        );
        let mut targets = Vec::new();
        let mut target_ranges = Vec::with_capacity(per_pattern.len());
        for list in per_pattern {
            let start = targets.len() as u32;
            targets.extend(list);
            target_ranges.push((start, targets.len() as u32));
        }
        Ok(Guard {
            rules: rules.to_vec(),
            data,
            matcher,
            target_ranges,
            targets,
            regexes,
            always,
            normalizer,
            readings,
        })
    }
}

/// Regex trigger literals are cut to this many chars (see `compile_regex`).
const TRIGGER_CHARS: usize = 4;

/// A compiled rule regex, the literal prefixes every match starts with (`None` when there is no
/// usable finite set: the regex then runs on every text) and whether it anchors to lines
/// (sentences).
type CompiledRegex = (Regex, Option<Vec<String>>, bool);

/// Compiles a rule regex and extracts its literal prefixes.
fn compile_regex(pattern: &str, normalizer: &Normalizer) -> Result<CompiledRegex, String> {
    let re = RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid pattern {pattern:?}: {e}"))?;
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid pattern {pattern:?}: {e}"))?;
    let per_sentence = hir.properties().look_set().contains_anchor_line();
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_total(512);
    let seq = extractor.extract(&hir);
    let Some(lits) = seq.literals() else {
        return Ok((re, None, per_sentence));
    };
    let mut prefixes = Vec::with_capacity(lits.len());
    for lit in lits {
        let bytes = lit.as_bytes();
        let valid = match std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        };
        if valid.is_empty() {
            return Ok((re, None, per_sentence));
        }
        let lower = valid.to_lowercase();
        if lit.is_exact() || valid.len() == bytes.len() {
            match normal_form(&lower, normalizer) {
                NormalForm::Normal => {}
                // One branch of an alternation meets the next with the same character
                // (不要|要 then 要): that path never occurs in normalised text, others still do.
                NormalForm::OnlyRepeats => continue,
                NormalForm::Changed => {
                    let norm = normalizer.normalize_phrase(valid);
                    return Err(format!(
                        "pattern {pattern:?} contains {valid:?}, which never occurs in normalised \
                         text (write {norm:?}: simplified, lower-case, no punctuation, no repeats)"
                    ));
                }
            }
        }
        // The prefix only gates the regex and says where to start it, so a few chars of it do:
        // alternations multiply into hundreds of long literals per regex otherwise, which bloats
        // the automaton and its build time for no selectivity worth having.
        let cut = lower
            .char_indices()
            .nth(TRIGGER_CHARS)
            .map_or(lower.len(), |(i, _)| i);
        prefixes.push(lower[..cut].to_owned());
    }
    if prefixes.is_empty() {
        return Err(format!(
            "pattern {pattern:?} can never match normalised text (repeated characters are \
             collapsed to one before matching)"
        ));
    }
    prefixes.sort();
    prefixes.dedup();
    Ok((re, Some(prefixes), per_sentence))
}

/// How a lower-cased literal relates to its normalised form.
enum NormalForm {
    /// It is its own normalised form.
    Normal,
    /// It differs only by a run of a repeated char, which normalisation collapses.
    OnlyRepeats,
    /// Some char folds to another or is noise.
    Changed,
}

/// Classifies `lower` char by char, as the normaliser would treat it, without allocating (this
/// runs for every literal of every regex alternation).
fn normal_form(lower: &str, normalizer: &Normalizer) -> NormalForm {
    let mut repeats = false;
    let mut last = None;
    for c in lower.chars() {
        if normalizer.fold_char(c) != Some(c) {
            return NormalForm::Changed;
        }
        if last == Some(c) && !c.is_ascii_digit() {
            repeats = true;
        }
        last = Some(c);
    }
    if repeats {
        NormalForm::OnlyRepeats
    } else {
        NormalForm::Normal
    }
}

impl Guard {
    /// Compiles with default settings.
    pub fn new(rules: &[ForbiddenRule]) -> Result<Guard, Error> {
        GuardBuilder::default()
            .build(rules)
            .map_err(|mut errs| errs.remove(0))
    }

    pub fn builder() -> GuardBuilder {
        GuardBuilder::default()
    }

    /// The rules, indexed by [`crate::Hit::rule`].
    pub fn rules(&self) -> &[ForbiddenRule] {
        &self.rules
    }

    /// Number of distinct automaton patterns (phrases plus regex prefixes).
    pub fn pattern_count(&self) -> usize {
        self.target_ranges.len()
    }

    /// Which engine the automaton uses ("aho-corasick", "daachorse" or "empty").
    pub fn matcher_name(&self) -> &'static str {
        match self.matcher {
            Matcher::Aho(_) => "aho-corasick",
            Matcher::Daac(_) => "daachorse",
            Matcher::Empty => "empty",
        }
    }
}
