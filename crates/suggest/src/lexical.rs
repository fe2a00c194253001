//! Char-bigram retrieval shared by FAQ matching and script relevance: texts are normalised
//! (`huashu-normalize`), cut into char bigrams and put in an inverted index with IDF weights, so
//! that rare bigrams (包邮, 发货) count more than common ones (您好). Chinese has no spaces, and
//! bigrams are the classic cheap unit for short-text matching.
//!
//! Built once per phrasebook; the per-turn path cuts the turn into at most [`MAX_TURN_BIGRAMS`]
//! sorted bigrams on the stack (normalising into a thread-local buffer) and accumulates shared
//! IDF mass per document into a stack array, so it allocates nothing for up to [`STACK_DOCS`]
//! documents.

use std::cell::RefCell;

use huashu_normalize::{NormText, Normalizer};

/// Documents scored with a stack accumulator; bigger indexes use a heap one.
pub(crate) const STACK_DOCS: usize = 512;
/// Turn bigrams considered (a chat turn is short; a pasted essay is cut).
pub(crate) const MAX_TURN_BIGRAMS: usize = 128;

thread_local! {
    static SCRATCH: RefCell<NormText> = RefCell::new(NormText::default());
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
    let mut w = 0;
    for r in 0..n {
        if w == 0 || s[r] != s[w - 1] {
            s[w] = s[r];
            w += 1;
        }
    }
    w
}

/// The distinct bigrams of one turn, on the stack.
#[derive(Debug)]
pub(crate) struct TurnGrams {
    grams: [u64; MAX_TURN_BIGRAMS],
    n: usize,
}

impl TurnGrams {
    pub(crate) fn new(norm: &Normalizer, text: &str) -> TurnGrams {
        let mut grams = [0u64; MAX_TURN_BIGRAMS];
        let n = if text.is_empty() {
            0
        } else {
            SCRATCH.with(|s| match s.try_borrow_mut() {
                Ok(mut buf) => {
                    norm.normalize_into(text, &mut buf);
                    bigrams_into(buf.as_str(), &mut grams)
                }
                // Re-entrancy cannot happen here, but never panic on the hot path.
                Err(_) => bigrams_into(norm.normalize(text).as_str(), &mut grams),
            })
        };
        TurnGrams { grams, n }
    }

    pub(crate) fn as_slice(&self) -> &[u64] {
        &self.grams[..self.n]
    }
}

/// Runs `f` with a zeroed accumulator of `n` floats (on the stack when small enough).
pub(crate) fn with_acc<R>(n: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    if n <= STACK_DOCS {
        let mut stack = [0f32; STACK_DOCS];
        f(&mut stack[..n])
    } else {
        f(&mut vec![0f32; n])
    }
}

/// Inverted bigram index over documents; documents belong to groups (an FAQ entry's questions
/// form one group) and IDF counts groups, so paraphrases of one question do not dilute it.
#[derive(Debug, Default)]
pub(crate) struct BigramIndex {
    /// Sum of the IDF of each document's distinct bigrams.
    doc_weight: Vec<f32>,
    /// Sorted distinct bigrams; `postings[i]` and `idf[i]` belong to `vocab[i]`.
    vocab: Vec<u64>,
    idf: Vec<f32>,
    postings: Vec<(u32, u32)>,
    /// Document indices, grouped per bigram.
    post: Vec<u32>,
}

impl BigramIndex {
    /// `docs` are (group, text) in document order; texts are normalised here.
    pub(crate) fn new<'a>(
        norm: &Normalizer,
        docs: impl IntoIterator<Item = (u32, &'a str)>,
    ) -> BigramIndex {
        let mut pairs: Vec<(u64, u32)> = Vec::new();
        let mut group_grams: Vec<(u64, u32)> = Vec::new();
        let mut groups = 0u32;
        let mut n_docs = 0u32;
        for (group, text) in docs {
            let text = norm.normalize_phrase(text);
            let mut grams = [0u64; 1024];
            let n = bigrams_into(&text, &mut grams);
            for &g in &grams[..n] {
                pairs.push((g, n_docs));
                group_grams.push((g, group));
            }
            groups = groups.max(group.saturating_add(1));
            n_docs += 1;
        }
        pairs.sort_unstable();
        group_grams.sort_unstable();
        group_grams.dedup();

        let mut idx = BigramIndex {
            doc_weight: vec![0.0; n_docs as usize],
            ..BigramIndex::default()
        };
        let n_groups = groups.max(1) as f32;
        let (mut i, mut j) = (0, 0);
        while i < pairs.len() {
            let g = pairs[i].0;
            let start = idx.post.len() as u32;
            while i < pairs.len() && pairs[i].0 == g {
                idx.post.push(pairs[i].1);
                i += 1;
            }
            let mut df = 0usize;
            while j < group_grams.len() && group_grams[j].0 == g {
                df += 1;
                j += 1;
            }
            let idf = (1.0 + n_groups / df.max(1) as f32).ln();
            idx.vocab.push(g);
            idx.idf.push(idf);
            idx.postings.push((start, idx.post.len() as u32));
            for &d in &idx.post[start as usize..] {
                if let Some(w) = idx.doc_weight.get_mut(d as usize) {
                    *w += idf;
                }
            }
        }
        idx
    }

    pub(crate) fn docs(&self) -> usize {
        self.doc_weight.len()
    }

    pub(crate) fn doc_weight(&self, doc: usize) -> f32 {
        self.doc_weight.get(doc).copied().unwrap_or(0.0)
    }

    /// Adds, per document, the IDF of the turn bigrams it contains to `acc` (len = docs());
    /// returns the IDF mass of the turn bigrams the index knows at all.
    pub(crate) fn accumulate(&self, turn: &[u64], acc: &mut [f32]) -> f32 {
        let mut mass = 0.0;
        for &g in turn {
            if let Ok(v) = self.vocab.binary_search(&g) {
                let w = self.idf[v];
                mass += w;
                let (s, e) = self.postings[v];
                for &d in &self.post[s as usize..e as usize] {
                    if let Some(a) = acc.get_mut(d as usize) {
                        *a += w;
                    }
                }
            }
        }
        mass
    }
}

/// Jaccard similarity of char bigrams from which two suggestions count as the same sentence
/// (an FAQ answer and a script that say the same thing with a word or two changed).
pub(crate) const NEAR_DUPLICATE: f32 = 0.6;

/// The distinct bigrams of normalised `text`, sorted (for the near-duplicate check).
pub(crate) fn text_bigrams(norm: &Normalizer, text: &str) -> Vec<u64> {
    let t = norm.normalize_phrase(text);
    let mut grams = [0u64; 1024];
    let n = bigrams_into(&t, &mut grams);
    grams[..n].to_vec()
}

/// Jaccard similarity of two sorted, distinct bigram lists (1.0 for two empty texts).
pub(crate) fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f32 / (a.len() + b.len() - both) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_by_bigram_jaccard() {
        let norm = Normalizer::new();
        // (a, b, near-duplicate?)
        const CASES: &[(&str, &str, bool)] = &[
            (
                "亲，现货订单48小时内发货，节假日顺延。",
                "亲，现货订单48小时内发货，节假日会顺延哦。",
                true,
            ),
            ("亲，请提供一下订单号。", "亲，请提供一下订单号。", true),
            (
                "亲，现货订单48小时内发货。",
                "亲，麻烦您提供一下订单号，我帮您查询。",
                false,
            ),
            ("", "", true),
        ];
        for &(a, b, want) in CASES {
            let j = jaccard(&text_bigrams(&norm, a), &text_bigrams(&norm, b));
            assert_eq!(j >= NEAR_DUPLICATE, want, "{a} / {b}: {j}");
        }
    }
}
