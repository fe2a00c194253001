//! FAQ retrieval: "is this turn one of the shop's repeated questions?" (seed 002: 35 % of
//! questions repeat). Every FAQ question is a document of a [`BigramIndex`] (grouped by entry).
//! A turn scores against each question by the IDF mass they share, relative to both the question
//! (did the customer ask *this*?) and the turn (is that what the turn is about?); an entry
//! scores as its best question.

use huashu_normalize::Normalizer;
use huashu_phrasebook::FaqEntry;

use crate::lexical::{BigramIndex, with_acc};

/// Minimum score for an answer to be suggested.
pub(crate) const THRESHOLD: f32 = 0.42;
/// Share of a question's IDF mass the turn must contain.
const MIN_QUESTION_COVERAGE: f32 = 0.5;

/// Inverted bigram index over every FAQ question of a book.
#[derive(Debug, Default)]
pub(crate) struct FaqIndex {
    index: BigramIndex,
    /// Entry of each question (document).
    entry_of: Vec<u32>,
}

/// A matched FAQ entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FaqHit {
    pub(crate) entry: usize,
    pub(crate) score: f32,
}

impl FaqIndex {
    pub(crate) fn new(norm: &Normalizer, entries: &[FaqEntry]) -> FaqIndex {
        let mut entry_of = Vec::new();
        let mut docs = Vec::new();
        for (e, entry) in entries.iter().enumerate() {
            for q in &entry.questions {
                entry_of.push(e as u32);
                docs.push((e as u32, q.as_str()));
            }
        }
        FaqIndex {
            index: BigramIndex::new(norm, docs),
            entry_of,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entry_of.is_empty()
    }

    /// The best (at most two) entries for the turn's bigrams, best first; `weight` scales an
    /// entry's score (intent agreement) before the threshold applies.
    pub(crate) fn search(
        &self,
        turn: &[u64],
        weight: impl Fn(usize) -> f32,
    ) -> [Option<FaqHit>; 2] {
        let mut best: [Option<FaqHit>; 2] = [None, None];
        if self.is_empty() || turn.is_empty() {
            return best;
        }
        with_acc(self.index.docs(), |acc| {
            let turn_mass = self.index.accumulate(turn, acc);
            if turn_mass <= 0.0 {
                return;
            }
            for (q, &shared) in acc.iter().enumerate() {
                if shared <= 0.0 {
                    continue;
                }
                let cov_q = shared / self.index.doc_weight(q).max(f32::EPSILON);
                if cov_q < MIN_QUESTION_COVERAGE {
                    continue;
                }
                let cov_t = shared / turn_mass;
                let entry = self.entry_of.get(q).map_or(0, |&e| e as usize);
                let score = (cov_q * cov_t).sqrt().min(1.0) * weight(entry);
                if score >= THRESHOLD {
                    insert(&mut best, FaqHit { entry, score });
                }
            }
        });
        best
    }
}

/// Keeps the two best hits of distinct entries (ties: lower entry index first).
fn insert(best: &mut [Option<FaqHit>; 2], hit: FaqHit) {
    let better =
        |a: &FaqHit, b: &FaqHit| a.score > b.score || (a.score == b.score && a.entry < b.entry);
    match best {
        [Some(b0), _] if b0.entry == hit.entry => {
            if hit.score > b0.score {
                b0.score = hit.score;
            }
        }
        [_, Some(b1)] if b1.entry == hit.entry => {
            if hit.score > b1.score {
                b1.score = hit.score;
            }
        }
        _ => {
            if best[0].is_none_or(|b0| better(&hit, &b0)) {
                best[1] = best[0];
                best[0] = Some(hit);
            } else if best[1].is_none_or(|b1| better(&hit, &b1)) {
                best[1] = Some(hit);
            }
        }
    }
    if let [Some(a), Some(b)] = best
        && better(b, a)
    {
        best.swap(0, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexical::TurnGrams;

    fn entry(id: &str, qs: &[&str]) -> FaqEntry {
        FaqEntry {
            id: id.into(),
            questions: qs.iter().map(|q| q.to_string()).collect(),
            answer: "a".into(),
            intent: None,
            source: String::new(),
            categories: Vec::new(),
            product: None,
            title: String::new(),
            origin: Default::default(),
        }
    }

    #[test]
    fn finds_the_asked_question() {
        let norm = Normalizer::new();
        let idx = FaqIndex::new(
            &norm,
            &[
                entry("ship", &["包邮吗", "运费多少"]),
                entry("when", &["什么时候发货", "几天能发货"]),
                entry("size", &["尺码怎么选", "我该穿什么码"]),
            ],
        );
        let cases: &[(&str, Option<usize>)] = &[
            ("你们家包邮吗？", Some(0)),
            ("请问几天发货呀", Some(1)),
            ("我170穿什么码合适", Some(2)),
            ("我要投诉你们", None),
            ("", None),
        ];
        for (text, want) in cases {
            let grams = TurnGrams::new(&norm, text);
            let got = idx.search(grams.as_slice(), |_| 1.0)[0].map(|h| h.entry);
            assert_eq!(got, *want, "{text}");
        }
    }
}
