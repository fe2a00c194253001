//! FAQ retrieval: "is this turn one of the shop's repeated questions?" (seed 002: 35 % of
//! questions repeat). Each FAQ question is normalised and cut into char bigrams at compile time
//! and put in an inverted index with IDF weights (rare bigrams such as 包邮 count more than 你们).
//! A turn scores against every question by the IDF mass they share, relative to both the
//! question (did the customer ask *this*?) and the turn (is that what the turn is about?).
//!
//! The per-turn path normalises into a thread-local buffer and accumulates into a stack array,
//! so it allocates nothing for books of up to [`STACK_QUESTIONS`] questions.

use std::cell::RefCell;

use huashu_normalize::{NormText, Normalizer};
use huashu_phrasebook::FaqEntry;

/// Questions scored with a stack accumulator; bigger books use a heap one.
const STACK_QUESTIONS: usize = 512;
/// Turn bigrams considered (a chat turn is short; a pasted essay is cut).
const MAX_TURN_BIGRAMS: usize = 128;
/// Minimum score for an answer to be suggested.
pub(crate) const THRESHOLD: f32 = 0.42;
/// Share of a question's IDF mass the turn must contain.
const MIN_QUESTION_COVERAGE: f32 = 0.5;

thread_local! {
    static SCRATCH: RefCell<NormText> = RefCell::new(NormText::default());
}

#[derive(Debug, Clone, Copy)]
struct Question {
    entry: u16,
    /// Sum of the IDF of its distinct bigrams.
    weight: f32,
}

/// Inverted bigram index over every FAQ question of a book.
#[derive(Debug, Default)]
pub(crate) struct FaqIndex {
    norm: Normalizer,
    questions: Vec<Question>,
    /// Sorted distinct bigrams; `postings[i]` and `idf[i]` belong to `vocab[i]`.
    vocab: Vec<u64>,
    idf: Vec<f32>,
    postings: Vec<(u32, u32)>,
    /// Question indices, grouped per bigram.
    post: Vec<u32>,
}

/// A matched FAQ entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FaqHit {
    pub(crate) entry: usize,
    pub(crate) score: f32,
}

fn bigram(a: char, b: char) -> u64 {
    (u64::from(u32::from(a)) << 21) | u64::from(u32::from(b))
}

/// Distinct bigrams of normalised text, sorted; at most `N`.
fn bigrams_into<const N: usize>(text: &str, out: &mut [u64; N]) -> usize {
    let mut n = 0;
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if let Some(p) = prev {
            if n == N {
                break;
            }
            out[n] = bigram(p, c);
            n += 1;
        }
        prev = Some(c);
    }
    let s = &mut out[..n];
    s.sort_unstable();
    // In-place dedup of the sorted prefix.
    let mut w = 0;
    for r in 0..n {
        if w == 0 || s[r] != s[w - 1] {
            s[w] = s[r];
            w += 1;
        }
    }
    w
}

impl FaqIndex {
    pub(crate) fn new(entries: &[FaqEntry]) -> FaqIndex {
        let norm = Normalizer::new();
        // (bigram, question) pairs and per-entry document frequency.
        let mut pairs: Vec<(u64, u32)> = Vec::new();
        let mut questions = Vec::new();
        let mut entry_bigrams: Vec<(u64, u16)> = Vec::new();
        for (e, entry) in entries.iter().enumerate().take(usize::from(u16::MAX)) {
            for q in &entry.questions {
                let text = norm.normalize_phrase(q);
                let mut grams = [0u64; MAX_TURN_BIGRAMS];
                let n = bigrams_into(&text, &mut grams);
                if n == 0 {
                    continue;
                }
                let qi = questions.len() as u32;
                questions.push(Question {
                    entry: e as u16,
                    weight: 0.0,
                });
                for &g in &grams[..n] {
                    pairs.push((g, qi));
                    entry_bigrams.push((g, e as u16));
                }
            }
        }
        pairs.sort_unstable();
        entry_bigrams.sort_unstable();
        entry_bigrams.dedup();

        let n_entries = entries.len().max(1) as f32;
        let mut idx = FaqIndex {
            norm,
            questions,
            ..FaqIndex::default()
        };
        let mut i = 0;
        let mut j = 0;
        while i < pairs.len() {
            let g = pairs[i].0;
            let start = idx.post.len() as u32;
            while i < pairs.len() && pairs[i].0 == g {
                idx.post.push(pairs[i].1);
                i += 1;
            }
            let mut df = 0usize;
            while j < entry_bigrams.len() && entry_bigrams[j].0 == g {
                df += 1;
                j += 1;
            }
            let idf = (1.0 + n_entries / df.max(1) as f32).ln();
            idx.vocab.push(g);
            idx.idf.push(idf);
            idx.postings.push((start, idx.post.len() as u32));
            for &q in &idx.post[start as usize..] {
                if let Some(question) = idx.questions.get_mut(q as usize) {
                    question.weight += idf;
                }
            }
        }
        idx
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }

    /// The best (at most two) entries for `text`, best first, with their scores; `weight`
    /// scales an entry's score (intent agreement) before the threshold applies.
    pub(crate) fn search(&self, text: &str, weight: impl Fn(usize) -> f32) -> [Option<FaqHit>; 2] {
        let mut best: [Option<FaqHit>; 2] = [None, None];
        if self.is_empty() {
            return best;
        }
        let mut grams = [0u64; MAX_TURN_BIGRAMS];
        let n = SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut buf) => {
                self.norm.normalize_into(text, &mut buf);
                bigrams_into(buf.as_str(), &mut grams)
            }
            // Re-entrancy cannot happen here, but never panic on the hot path.
            Err(_) => bigrams_into(self.norm.normalize(text).as_str(), &mut grams),
        });
        if n == 0 {
            return best;
        }

        let mut stack = [0f32; STACK_QUESTIONS];
        let mut heap;
        let acc: &mut [f32] = if self.questions.len() <= STACK_QUESTIONS {
            &mut stack[..self.questions.len()]
        } else {
            heap = vec![0f32; self.questions.len()];
            &mut heap
        };

        let mut turn_mass = 0.0f32;
        for &g in &grams[..n] {
            if let Ok(v) = self.vocab.binary_search(&g) {
                let w = self.idf[v];
                turn_mass += w;
                let (s, e) = self.postings[v];
                for &q in &self.post[s as usize..e as usize] {
                    acc[q as usize] += w;
                }
            }
        }
        if turn_mass <= 0.0 {
            return best;
        }

        for (q, &shared) in acc.iter().enumerate() {
            if shared <= 0.0 {
                continue;
            }
            let question = self.questions[q];
            let cov_q = shared / question.weight.max(f32::EPSILON);
            if cov_q < MIN_QUESTION_COVERAGE {
                continue;
            }
            let cov_t = shared / turn_mass;
            let entry = usize::from(question.entry);
            let score = (cov_q * cov_t).sqrt().min(1.0) * weight(entry);
            if score < THRESHOLD {
                continue;
            }
            insert(&mut best, FaqHit { entry, score });
        }
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

    fn entry(id: &str, qs: &[&str]) -> FaqEntry {
        FaqEntry {
            id: id.into(),
            questions: qs.iter().map(|q| q.to_string()).collect(),
            answer: "a".into(),
            intent: None,
            source: String::new(),
            origin: Default::default(),
        }
    }

    #[test]
    fn finds_the_asked_question() {
        let idx = FaqIndex::new(&[
            entry("ship", &["包邮吗", "运费多少"]),
            entry("when", &["什么时候发货", "几天能发货"]),
            entry("size", &["尺码怎么选", "我该穿什么码"]),
        ]);
        let cases: &[(&str, Option<usize>)] = &[
            ("你们家包邮吗？", Some(0)),
            ("请问几天发货呀", Some(1)),
            ("我170穿什么码合适", Some(2)),
            ("我要投诉你们", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = idx.search(text, |_| 1.0)[0].map(|h| h.entry);
            assert_eq!(got, *want, "{text}");
        }
    }
}
