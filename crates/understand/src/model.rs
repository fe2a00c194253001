//! The small, fast models trained at load time on a book's example utterances, so a QA lead
//! improves detection by adding examples, with no code change.
//!
//! Features are the char 1-, 2- and 3-grams of the *normalised* text (digits folded to `0` and
//! runs of them to one, text start/end markers on the 2- and 3-grams). Up to three chars pack
//! exactly into a `u64` (21 bits each), so "hashing" is collision-free; the vocabulary is the set
//! of n-grams seen in training, in a `HashMap` with a cheap mixing hasher. Unseen n-grams carry
//! no weight and are skipped at inference. Feature values are `1/sqrt(n)` so long and short turns
//! give comparable logits.
//!
//! Each model is a multinomial logistic regression (softmax) trained with plain SGD, class-balanced
//! sample weights, a fixed-seed xorshift shuffle (deterministic: the same book always yields the
//! same model) and Polyak averaging over the second half of the epochs; then the centred
//! log-likelihoods of a multinomial naive Bayes model over the same features are blended into its
//! weights (`TrainOptions::bayes`), which makes it generalise better to text unlike the corpus.

// Index loops over the K classes read like the maths and let the compiler unroll them.
#![allow(clippy::needless_range_loop)]

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Mixes a `u64` key (the packed n-gram) into a well-spread hash: keys are exact, not random.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MixHasher(u64);

impl Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // splitmix64 finaliser.
        let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        self.0 = z ^ (z >> 31);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type Map = HashMap<u64, u32, BuildHasherDefault<MixHasher>>;

/// Examples at which a class gets half of the naive Bayes blend (see `blend_bayes`).
const BAYES_PRIOR_EXAMPLES: f32 = 50.0;

const NONE: u64 = 0x1F_FFFF;
const BOS: u64 = 2;
const EOS: u64 = 3;

#[inline]
fn key(a: u64, b: u64, c: u64) -> u64 {
    (a << 42) | (b << 21) | c
}

/// Calls `f` with every n-gram key of normalised `text`.
#[inline]
pub(crate) fn ngrams(text: &str, mut f: impl FnMut(u64)) {
    let (mut p2, mut p1) = (NONE, BOS);
    let mut prev_digit = false;
    for c in text.chars() {
        let digit = c.is_ascii_digit();
        if digit && prev_digit {
            continue;
        }
        prev_digit = digit;
        let c = if digit {
            u64::from(b'0')
        } else {
            u64::from(u32::from(c))
        };
        f(key(c, NONE, NONE));
        f(key(p1, c, NONE));
        if p2 != NONE {
            f(key(p2, p1, c));
        }
        p2 = p1;
        p1 = c;
    }
    if p1 != BOS {
        f(key(p1, EOS, NONE));
        if p2 != NONE {
            f(key(p2, p1, EOS));
        }
    }
}

/// The n-gram vocabulary shared by all models of a book.
#[derive(Debug, Default)]
pub(crate) struct Vocab {
    map: Map,
}

impl Vocab {
    /// Row ids of `text`'s n-grams, adding unseen ones (training).
    pub(crate) fn intern(&mut self, text: &str, rows: &mut Vec<u32>) {
        rows.clear();
        ngrams(text, |k| {
            let next = self.map.len() as u32;
            rows.push(*self.map.entry(k).or_insert(next));
        });
    }

    /// Row ids of `text`'s known n-grams and the total n-gram count (inference).
    pub(crate) fn lookup(&self, text: &str, rows: &mut Vec<u32>) -> usize {
        rows.clear();
        let mut n = 0;
        ngrams(text, |k| {
            n += 1;
            if let Some(&r) = self.map.get(&k) {
                rows.push(r);
            }
        });
        n
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// One training example: vocabulary rows, n-gram count, class, sample weight.
#[derive(Debug, Clone)]
pub(crate) struct Example {
    pub rows: Vec<u32>,
    pub class: usize,
    pub weight: f32,
}

/// A softmax classifier over `K` classes; classes without examples are inactive (probability 0).
#[derive(Debug, Clone)]
pub(crate) struct Softmax<const K: usize> {
    w: Vec<[f32; K]>,
    b: [f32; K],
    active: [bool; K],
}

/// Training knobs (from `Tuning`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrainOptions {
    pub epochs: usize,
    pub lr: f32,
    pub l2: f32,
    /// Exponent of the class-balancing weights: 1 = every class weighs as much as the mean
    /// class, 0 = the corpus' own class mix (real chats are mostly calm and plain).
    pub balance: f32,
    /// Weight of the naive Bayes log-likelihoods blended into the trained weights (0 = none).
    pub bayes: f32,
    /// Additive smoothing of those naive Bayes counts.
    pub bayes_alpha: f32,
    /// Softmax temperature (> 1 flattens the probabilities), fitted on held-out corpus folds.
    pub temperature: f32,
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[inline]
fn scale(n: usize) -> f32 {
    if n == 0 { 0.0 } else { 1.0 / (n as f32).sqrt() }
}

impl<const K: usize> Softmax<K> {
    /// Trains on `examples` over a vocabulary of `n_rows`. `None` when fewer than two classes
    /// have examples (nothing to discriminate).
    pub(crate) fn train(n_rows: usize, examples: &[Example], opts: TrainOptions) -> Option<Self> {
        let mut counts = [0f32; K];
        for e in examples {
            if let Some(c) = counts.get_mut(e.class) {
                *c += e.weight;
            }
        }
        let mut active = [false; K];
        for (a, &c) in active.iter_mut().zip(&counts) {
            *a = c > 0.0;
        }
        let n_active = active.iter().filter(|&&a| a).count();
        if n_active < 2 {
            return None;
        }
        // Class-balanced weights: every active class weighs as much as the mean class.
        let mean = counts.iter().sum::<f32>() / n_active as f32;
        let mut class_w = [0f32; K];
        for k in 0..K {
            if active[k] {
                class_w[k] = (mean / counts[k]).powf(opts.balance);
            }
        }

        let mut m = Softmax {
            w: vec![[0.0; K]; n_rows],
            b: [0.0; K],
            active,
        };
        let mut avg_w = vec![[0.0f32; K]; n_rows];
        let mut avg_b = [0.0f32; K];
        let mut snapshots = 0f32;
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let mut logits = [0f32; K];
        for epoch in 0..opts.epochs {
            for i in (1..order.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            let lr = opts.lr / (1.0 + 0.15 * epoch as f32);
            for &i in &order {
                let Some(e) = examples.get(i) else { continue };
                let Some(&cw) = class_w.get(e.class) else {
                    continue;
                };
                let v = scale(e.rows.len());
                m.logits_rows(&e.rows, v, &mut logits);
                m.softmax_in_place(&mut logits);
                // Gradient of the cross-entropy: p - y.
                for k in 0..K {
                    let y = if k == e.class { 1.0 } else { 0.0 };
                    logits[k] = (logits[k] - y) * cw * e.weight;
                }
                for &r in &e.rows {
                    if let Some(row) = m.w.get_mut(r as usize) {
                        for k in 0..K {
                            row[k] -= lr * (logits[k] * v + opts.l2 * row[k]);
                        }
                    }
                }
                for k in 0..K {
                    m.b[k] -= lr * logits[k];
                }
            }
            if epoch >= opts.epochs / 2 {
                snapshots += 1.0;
                for (a, w) in avg_w.iter_mut().zip(&m.w) {
                    for k in 0..K {
                        a[k] += w[k];
                    }
                }
                for k in 0..K {
                    avg_b[k] += m.b[k];
                }
            }
        }
        if snapshots > 0.0 {
            for a in &mut avg_w {
                for x in a.iter_mut() {
                    *x /= snapshots;
                }
            }
            for x in &mut avg_b {
                *x /= snapshots;
            }
            m.w = avg_w;
            m.b = avg_b;
        }
        if opts.bayes > 0.0 {
            m.blend_bayes(examples, &class_w, opts.bayes, opts.bayes_alpha);
        }
        if opts.temperature > 0.0 && opts.temperature != 1.0 {
            // Calibration: logits / T, folded into the weights (no cost per turn).
            let inv = 1.0 / opts.temperature;
            for row in &mut m.w {
                for x in row.iter_mut() {
                    *x *= inv;
                }
            }
            for x in &mut m.b {
                *x *= inv;
            }
        }
        Some(m)
    }

    /// Adds `beta` × the centred log-likelihoods of a multinomial naive Bayes model, counted on
    /// the same (class-balanced) examples with additive smoothing `alpha`, to the weights.
    ///
    /// Both models are linear in the n-gram features, so the blend is one weight table and costs
    /// nothing at inference. Naive Bayes scores every n-gram by how often each class used it on
    /// its own; logistic regression lets frequent n-grams explain away rarer ones that co-occur
    /// with them in training. On text unlike the training lines (real chats, where most of a
    /// turn's n-grams were never seen together) the per-n-gram view holds up better, and on the
    /// training distribution the blend is no worse (see the README's measurements).
    fn blend_bayes(&mut self, examples: &[Example], class_w: &[f32; K], beta: f32, alpha: f32) {
        let n_rows = self.w.len();
        let mut counts = vec![[0f32; K]; n_rows];
        let mut totals = [0f32; K];
        let mut lines = [0f32; K];
        for e in examples {
            if let Some(n) = lines.get_mut(e.class) {
                *n += e.weight;
            }
            let Some(&cw) = class_w.get(e.class) else {
                continue;
            };
            let w = cw * e.weight;
            for &r in &e.rows {
                if let Some(c) = counts.get_mut(r as usize) {
                    c[e.class] += w;
                }
            }
            totals[e.class] += w * e.rows.len() as f32;
        }
        let v = n_rows as f32;
        // A class's counts are only as good as its number of examples: with a handful (a small
        // book) they are noise, so its share of the blend grows with them.
        let share: [f32; K] =
            std::array::from_fn(|k| beta * lines[k] / (lines[k] + BAYES_PRIOR_EXAMPLES));
        for (row, c) in self.w.iter_mut().zip(&counts) {
            let mut lp = [0f32; K];
            let mut mean = 0.0;
            let mut n_active = 0.0;
            for k in 0..K {
                if !self.active[k] {
                    continue;
                }
                lp[k] = ((c[k] + alpha) / (totals[k] + alpha * v)).ln();
                mean += lp[k];
                n_active += 1.0;
            }
            mean /= n_active;
            for k in 0..K {
                if self.active[k] {
                    row[k] += share[k] * (lp[k] - mean);
                }
            }
        }
    }

    #[inline]
    fn logits_rows(&self, rows: &[u32], v: f32, out: &mut [f32; K]) {
        *out = self.b;
        for &r in rows {
            if let Some(row) = self.w.get(r as usize) {
                for k in 0..K {
                    out[k] += row[k] * v;
                }
            }
        }
    }

    #[inline]
    fn softmax_in_place(&self, z: &mut [f32; K]) {
        let mut max = f32::NEG_INFINITY;
        for k in 0..K {
            if self.active[k] && z[k] > max {
                max = z[k];
            }
        }
        let mut sum = 0.0;
        for k in 0..K {
            z[k] = if self.active[k] {
                (z[k] - max).exp()
            } else {
                0.0
            };
            sum += z[k];
        }
        if sum > 0.0 {
            for x in z.iter_mut() {
                *x /= sum;
            }
        }
    }

    /// Class probabilities for a turn whose known rows are `rows` out of `n` n-grams.
    pub(crate) fn predict(&self, rows: &[u32], n: usize) -> [f32; K] {
        let mut z = [0f32; K];
        self.logits_rows(rows, scale(n), &mut z);
        self.softmax_in_place(&mut z);
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngram_keys_are_exact_and_fold_digits() {
        let mut a = Vec::new();
        ngrams("单号123", |k| a.push(k));
        let mut b = Vec::new();
        ngrams("单号9", |k| b.push(k));
        assert_eq!(a, b);
        let mut c = Vec::new();
        ngrams("", |k| c.push(k));
        assert!(c.is_empty());
    }

    #[test]
    fn learns_a_toy_split_deterministically() {
        let data = [
            ("快递到哪了", 0),
            ("物流不动", 0),
            ("我要退款", 1),
            ("退货怎么退", 1),
        ];
        let mut vocab = Vocab::default();
        let mut examples = Vec::new();
        for (t, c) in data {
            let mut rows = Vec::new();
            vocab.intern(t, &mut rows);
            examples.push(Example {
                rows,
                class: c,
                weight: 1.0,
            });
        }
        let opts = TrainOptions {
            epochs: 24,
            lr: 0.6,
            l2: 1e-4,
            balance: 1.0,
            bayes: 0.4,
            bayes_alpha: 0.03,
            temperature: 1.0,
        };
        let m = Softmax::<3>::train(vocab.len(), &examples, opts);
        let m = m.expect("two classes");
        let mut rows = Vec::new();
        let n = vocab.lookup("快递呢", &mut rows);
        let p = m.predict(&rows, n);
        assert!(p[0] > 0.6, "{p:?}");
        assert_eq!(p[2], 0.0);
        let again = Softmax::<3>::train(vocab.len(), &examples, opts);
        assert_eq!(again.map(|m| m.predict(&rows, n)), Some(p));
    }
}
