//! Alternate readings of a draft for evasive spellings: pinyin in place of hanzi (full syllables
//! "ni去投诉啊", "你去tousu吧", tone marks "nǐ去告啊" — the normaliser strips those — or initials
//! "你去ts吧") and common homophone stand-ins ("泥去告啊", 尼/妮 for 你).
//!
//! Why this shape: expanding every rule phrase into its pinyin spellings at compile time
//! multiplies the automaton (3ⁿ spellings of an n-char phrase with initials) and makes short,
//! ambiguous Latin patterns. Instead, a draft that holds ASCII letters or a listed homophone (rare
//! in real drafts) gets one more reading: each Latin run that spells syllables of the book's own
//! rule chars is replaced by the chars it most plausibly stands for — chosen by which adjacent
//! char pairs occur in the rules (a Viterbi pass over the few candidates) — and the usual scan runs
//! on that reading with its spans still mapped to the original text. A hit found only there
//! counts when enough real hanzi anchor it (see [`accept`]): English words, model numbers
//! ("NI-3"), URLs and place names ("gaoan 高安") do not spell a rule phrase next to its hanzi.

use std::collections::{HashMap, HashSet};

use huashu_normalize::NormText;
use pinyin::ToPinyinMulti;

/// Homophone and look-alike stand-ins → the char they stand for. Only used where the reading
/// completes a rule phrase around real hanzi ("泥去告啊"), never on their own ("尼龙", "泥土").
const HOMOPHONES: &[[char; 2]] = &[
    ['泥', '你'],
    ['尼', '你'],
    ['妮', '你'],
    ['倪', '你'],
    ['伲', '你'],
    ['昵', '你'],
    ['拟', '你'],
    ['恁', '您'],
    ['玛', '妈'],
    ['衮', '滚'],
];

/// At most this many candidate chars per pinyin unit (most used in the rules first): an initial
/// ("s") stands for dozens of the rules' chars, and the right one must be among them.
const MAX_CANDIDATES: usize = 64;
/// Latin runs longer than this are never read as initials ("nqg" yes, "https" no).
const MAX_INITIALS: usize = 4;

/// What one char of an alternate reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// As in the normalised text.
    Same,
    /// A full pinyin syllable read as a char.
    Syllable,
    /// A pinyin initial read as a char.
    Initial,
    /// A homophone stand-in read as the char it stands for.
    Homophone,
}

/// The book-specific pinyin data, built once per [`crate::Guard`].
#[derive(Debug, Default)]
pub(crate) struct Readings {
    /// Toneless syllable → chars of the rules read that way, most used first.
    syllables: HashMap<String, Vec<char>>,
    /// First letter → chars of the rules whose reading starts with it, most used first.
    initials: HashMap<u8, Vec<char>>,
    /// Longest syllable, in bytes.
    longest: usize,
    /// Adjacent char pairs of the rules' phrases and pattern literals.
    bigrams: HashSet<(char, char)>,
}

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// True for chars that make a draft worth an alternate reading (keep in step with
/// `HOMOPHONES`; a test checks it).
#[inline]
fn triggers(c: char) -> bool {
    c.is_ascii_lowercase()
        || matches!(
            c,
            '泥' | '尼' | '妮' | '倪' | '伲' | '昵' | '拟' | '恁' | '玛' | '衮'
        )
}

impl Readings {
    /// Builds from the normalised phrases and the pattern sources of a book.
    pub(crate) fn build<'a>(
        phrases: impl Iterator<Item = &'a str>,
        patterns: impl Iterator<Item = &'a str>,
    ) -> Readings {
        let mut count: HashMap<char, usize> = HashMap::new();
        let mut bigrams = HashSet::new();
        let mut add_run = |run: &mut Vec<char>| {
            for &c in run.iter() {
                *count.entry(c).or_default() += 1;
            }
            for w in run.windows(2) {
                bigrams.insert((w[0], w[1]));
            }
            run.clear();
        };
        let mut run = Vec::new();
        for text in phrases.chain(patterns) {
            for c in text.chars() {
                if is_cjk(c) {
                    run.push(c);
                } else {
                    add_run(&mut run);
                }
            }
            add_run(&mut run);
        }
        let mut chars: Vec<(char, usize)> = count.into_iter().collect();
        chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut syllables: HashMap<String, Vec<char>> = HashMap::new();
        let mut initials: HashMap<u8, Vec<char>> = HashMap::new();
        for &(c, _) in &chars {
            let Some(multi) = c.to_pinyin_multi() else {
                continue;
            };
            let mut firsts = Vec::new();
            for p in multi {
                let plain: String = p
                    .plain()
                    .chars()
                    .map(|c| if c == 'ü' || c == 'v' { 'u' } else { c })
                    .collect();
                let Some(&first) = plain.as_bytes().first() else {
                    continue;
                };
                if !firsts.contains(&first) {
                    firsts.push(first);
                }
                let list = syllables.entry(plain).or_default();
                if list.len() < MAX_CANDIDATES && !list.contains(&c) {
                    list.push(c);
                }
            }
            for first in firsts {
                let list = initials.entry(first).or_default();
                if list.len() < MAX_CANDIDATES && !list.contains(&c) {
                    list.push(c);
                }
            }
        }
        let longest = syllables.keys().map(String::len).max().unwrap_or(0);
        Readings {
            syllables,
            initials,
            longest,
            bigrams,
        }
    }

    /// Whether `hay` (normalised) may read differently: it holds ASCII letters or a homophone.
    #[inline]
    pub(crate) fn worth_reading(&self, hay: &str) -> bool {
        !self.syllables.is_empty() && hay.chars().any(triggers)
    }

    /// Writes the alternate reading of `norm` into `alt` (spans still point at the original
    /// text) and the kind of each of its chars into `kinds`. Returns false when nothing reads
    /// differently.
    pub(crate) fn read(&self, norm: &NormText, alt: &mut NormText, kinds: &mut Vec<Kind>) -> bool {
        alt.clear();
        kinds.clear();
        let hay = norm.as_str();
        let spans = norm.spans();
        let chars: Vec<char> = hay.chars().collect();
        // Units: (candidates, kind, first char index, last char index); candidates borrow the
        // tables or the text, so a reading allocates only these two vectors.
        let mut units: Vec<(&[char], Kind, usize, usize)> = Vec::with_capacity(chars.len());
        let mut changed = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_lowercase() {
                let mut j = i;
                while j < chars.len() && chars[j].is_ascii_lowercase() {
                    j += 1;
                }
                let digit_next = |k: Option<&char>| k.is_some_and(char::is_ascii_digit);
                let next_to_digit = digit_next(i.checked_sub(1).and_then(|k| chars.get(k)))
                    || digit_next(chars.get(j));
                let run: String = chars[i..j].iter().collect();
                match (!next_to_digit).then(|| self.segment(&run)).flatten() {
                    Some(parts) => {
                        let mut at = i;
                        for (len, kind) in parts {
                            let cands = match kind {
                                Kind::Syllable => self.syllables.get(&run[at - i..at - i + len]),
                                _ => self.initials.get(&run.as_bytes()[at - i]),
                            };
                            let cands = cands.map_or(&chars[at..=at], Vec::as_slice);
                            units.push((cands, kind, at, at + len - 1));
                            at += len;
                        }
                        changed = true;
                    }
                    None => {
                        for k in i..j {
                            units.push((&chars[k..=k], Kind::Same, k, k));
                        }
                    }
                }
                i = j;
                continue;
            }
            match HOMOPHONES.iter().find(|pair| pair[0] == c) {
                Some(pair) => {
                    units.push((pair, Kind::Homophone, i, i));
                    changed = true;
                }
                None => units.push((&chars[i..=i], Kind::Same, i, i)),
            }
            i += 1;
        }
        if !changed {
            return false;
        }
        let chosen = self.choose(&units);
        for ((cands, kind, first, last), pick) in units.iter().zip(chosen) {
            let (Some(a), Some(b)) = (spans.get(*first), spans.get(*last)) else {
                continue;
            };
            let c = cands.get(pick).copied().unwrap_or(chars[*first]);
            let kind = if *kind == Kind::Homophone && c == chars[*first] {
                Kind::Same
            } else {
                *kind
            };
            alt.push(c, a.start, b.end);
            kinds.push(kind);
        }
        true
    }

    /// Splits a Latin run into full syllables of the book's chars (fewest units), or, for a short
    /// run, into initials. `None` when it is neither (an English word, a URL).
    fn segment(&self, run: &str) -> Option<Vec<(usize, Kind)>> {
        let n = run.len();
        // best[k] = fewest syllables covering run[..k], with the last syllable's length.
        let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
        best[0] = Some((0, 0));
        for k in 1..=n {
            for len in 1..=self.longest.min(k) {
                let Some((units, _)) = best[k - len] else {
                    continue;
                };
                if self.syllables.contains_key(&run[k - len..k])
                    && best[k].is_none_or(|(u, _)| units + 1 < u)
                {
                    best[k] = Some((units + 1, len));
                }
            }
        }
        if best[n].is_some() {
            let mut parts = Vec::new();
            let mut k = n;
            while k > 0 {
                let (_, len) = best[k]?;
                parts.push((len, Kind::Syllable));
                k -= len;
            }
            parts.reverse();
            return Some(parts);
        }
        if n <= MAX_INITIALS && run.bytes().all(|b| self.initials.contains_key(&b)) {
            return Some(vec![(1, Kind::Initial); n]);
        }
        None
    }

    /// Per unit, the index of the candidate that makes the most rule bigrams with its neighbours
    /// (ties: the earlier, more used candidate).
    fn choose(&self, units: &[(&[char], Kind, usize, usize)]) -> Vec<usize> {
        let n = units.len();
        let mut score: Vec<Vec<i32>> = Vec::with_capacity(n);
        let mut back: Vec<Vec<usize>> = Vec::with_capacity(n);
        for (u, (cands, _, _, _)) in units.iter().enumerate() {
            let width = cands.len().max(1);
            let mut s = vec![0i32; width];
            let mut b = vec![0usize; width];
            if u > 0 {
                let prev = units[u - 1].0;
                for (ci, &c) in cands.iter().enumerate() {
                    let mut best = (i32::MIN, 0);
                    for (pi, &p) in prev.iter().enumerate() {
                        let v = score[u - 1].get(pi).copied().unwrap_or(0)
                            + i32::from(self.bigrams.contains(&(p, c)));
                        if v > best.0 {
                            best = (v, pi);
                        }
                    }
                    if best.0 == i32::MIN {
                        best = (score[u - 1].first().copied().unwrap_or(0), 0);
                    }
                    s[ci] = best.0;
                    b[ci] = best.1;
                }
            }
            score.push(s);
            back.push(b);
        }
        let mut out = vec![0usize; n];
        if let Some(last) = score.last() {
            let mut pick = 0;
            for (i, &v) in last.iter().enumerate() {
                if v > last[pick] {
                    pick = i;
                }
            }
            for u in (0..n).rev() {
                out[u] = pick;
                pick = back[u].get(pick).copied().unwrap_or(0);
            }
        }
        out
    }
}

/// Whether a hit found only in the alternate reading counts, given the kinds of the chars it
/// covers: pinyin initials need two real hanzi around them and no more initials than hanzi;
/// full syllables need one real hanzi or two syllables; a homophone needs one real hanzi.
pub(crate) fn accept(kinds: impl Iterator<Item = Kind>) -> bool {
    let (mut same, mut syllable, mut initial, mut homophone) = (0, 0, 0, 0);
    for k in kinds {
        match k {
            Kind::Same => same += 1,
            Kind::Syllable => syllable += 1,
            Kind::Initial => initial += 1,
            Kind::Homophone => homophone += 1,
        }
    }
    if syllable + initial + homophone == 0 {
        return false;
    }
    if initial > 0 {
        return same >= 2 && same >= initial;
    }
    same >= 1 || syllable >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_homophone_triggers_a_reading() {
        for &[v, _] in HOMOPHONES {
            assert!(triggers(v), "{v}");
        }
    }

    /// (kinds of the covered chars, accepted).
    const ACCEPT: &[(&[Kind], bool)] = &[
        (&[Kind::Same, Kind::Same], false),
        (&[Kind::Syllable, Kind::Same, Kind::Same], true),
        (&[Kind::Syllable], false),
        (&[Kind::Syllable, Kind::Syllable], true),
        (
            &[Kind::Initial, Kind::Initial, Kind::Same, Kind::Same],
            true,
        ),
        (
            &[
                Kind::Initial,
                Kind::Initial,
                Kind::Initial,
                Kind::Same,
                Kind::Same,
            ],
            false,
        ),
        (&[Kind::Initial, Kind::Same], false),
        (&[Kind::Homophone, Kind::Same], true),
        (&[Kind::Homophone], false),
    ];

    #[test]
    fn hits_need_real_hanzi_around_guessed_ones() {
        for &(kinds, expected) in ACCEPT {
            assert_eq!(accept(kinds.iter().copied()), expected, "{kinds:?}");
        }
    }

    #[test]
    fn latin_runs_split_into_the_books_syllables_or_initials() {
        let r = Readings::build(["你去告", "投诉", "啊"].into_iter(), std::iter::empty());
        let lens = |run: &str| {
            r.segment(run).map(|p| {
                p.iter()
                    .map(|&(len, k)| (len, k == Kind::Syllable))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(lens("gaoa"), Some(vec![(3, true), (1, true)]));
        assert_eq!(lens("tousu"), Some(vec![(3, true), (2, true)]));
        assert_eq!(lens("ts"), Some(vec![(1, false), (1, false)]));
        assert_eq!(lens("https"), None);
        assert_eq!(lens("iphone"), None);
    }
}
