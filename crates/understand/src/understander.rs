//! [`Understander`]: a book compiled for customer turns, and the per-turn pipeline.
//!
//! Lifecycle: built once per phrasebook (at load and on every reload), then immutable and shared
//! read-only behind the engine's `Arc` by every connection; a reload builds a new one and swaps
//! it. Per-turn buffers live in a [`Scratch`] — a thread-local one by default (a `RefCell`: a
//! thread runs one turn at a time, so no lock is needed), so `analyze` allocates only the
//! `Understanding` it returns.

use std::cell::RefCell;

use huashu_normalize::{NormText, Normalizer, Options};
use huashu_phrasebook::{EMOTIONS, INTENTS, Phrasebook};

use crate::Error;
use crate::compile::{self, Models};
use crate::entities::{self, Ch};
use crate::intent::{self, Evidence};
use crate::lexicon::{Hit, Lexicon, Tag};
use crate::surface::Surface;
use crate::tuning::Tuning;
use crate::turn::Turn;
use crate::types::{Context, Understanding};
use crate::{emotion, style, urgent};

/// Reusable per-turn buffers. One per thread is kept automatically; pass your own to
/// [`Understander::analyze_with`] to control where they live.
#[derive(Debug, Default)]
pub struct Scratch {
    norm: NormText,
    folded: NormText,
    chars: Vec<Ch>,
    bytes: Vec<u32>,
    hits: Vec<Hit>,
    loose: Vec<Tag>,
    rows: Vec<u32>,
    surface: Surface,
    /// The agent's previous line, normalised (context of a short follow-up).
    context: NormText,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Sizes of what was compiled, for lint output and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Distinct normalised literals in the shared automaton.
    pub literals: usize,
    /// Regex patterns in the shared set (book + built-in).
    pub patterns: usize,
    /// Training examples of the intent and emotion models (keywords included).
    pub intent_examples: usize,
    pub emotion_examples: usize,
    /// Distinct char n-grams the models know.
    pub features: usize,
}

/// Why a turn got its intents: per intent, keyword/pattern weight, model probability and the
/// combined score (what `huashu eval`/`diff` can show a QA lead).
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// `(intent id, keyword+pattern weight, model probability, score)` for every intent, in
    /// `INTENTS` order.
    pub intents: Vec<(&'static str, f32, f32, f32)>,
    /// `(label, model probability)` for every emotion, in `EMOTIONS` order.
    pub emotion_model: Vec<(&'static str, f32)>,
    /// The normalised text the lexicons and models saw.
    pub normalized: String,
}

/// Configures an [`Understander`]: `Understander::builder().tuning(t).build(&book)?`.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    tuning: Tuning,
}

impl Builder {
    pub fn tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    pub fn build(self, book: &Phrasebook) -> Result<Understander, Error> {
        let norm = Normalizer::with_options(Options::default());
        let fold = Normalizer::with_options(Options {
            fold_chinese: true,
            fold_width: true,
            fold_case: true,
            skip_noise: false,
            collapse_repeats: false,
        });
        let (lexicon, patterns) = compile::lexicon(book, norm)?;
        let models = compile::models(book, norm, &self.tuning);
        let stats = Stats {
            literals: lexicon.len(),
            patterns,
            intent_examples: models.intent_examples,
            emotion_examples: models.emotion_examples,
            features: models.vocab.len(),
        };
        Ok(Understander {
            norm,
            fold,
            lexicon,
            models,
            tuning: self.tuning,
            stats,
        })
    }
}

/// Compiled understanding data of one phrasebook: shared read-only across connections.
#[derive(Debug)]
pub struct Understander {
    norm: Normalizer,
    /// 1:1 fold for entities: width, case, traditional → simplified; nothing dropped or merged.
    fold: Normalizer,
    lexicon: Lexicon,
    models: Models,
    tuning: Tuning,
    stats: Stats,
}

/// Model probabilities of one piece of normalised text.
fn predict(
    models: &Models,
    text: &str,
    rows: &mut Vec<u32>,
) -> (Option<[f32; intent::N]>, Option<[f32; emotion::N]>) {
    if text.is_empty() {
        return (None, None);
    }
    let n = models.vocab.lookup(text, rows);
    (
        models.intent.as_ref().map(|m| m.predict(rows, n)),
        models.emotion.as_ref().map(|m| m.predict(rows, n)),
    )
}

impl Understander {
    /// Compiles `book` with the default [`Tuning`]: lexicon automaton, pattern set, and the two
    /// models (trained here, deterministically).
    pub fn new(book: &Phrasebook) -> Result<Understander, Error> {
        Builder::default().build(book)
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// Understands one customer turn. Never fails: unknown text is `other`/neutral.
    pub fn analyze(&self, text: &str) -> Understanding {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.analyze_with(text, &mut s),
            // Re-entered on this thread (cannot happen today): use fresh buffers.
            Err(_) => self.analyze_with(text, &mut Scratch::default()),
        })
    }

    /// Per-intent evidence of a turn, for tools that show a QA lead why.
    pub fn explain(&self, text: &str) -> Explanation {
        let mut s = Scratch::default();
        let symbol_hits = self.prepare(text, &mut s);
        let (ip, ep) = predict(&self.models, s.norm.as_str(), &mut s.rows);
        let turn = Turn {
            norm: &s.norm,
            hits: &s.hits,
            loose: &s.loose,
            surface: &s.surface,
            symbol_hits,
        };
        let kw = intent::keyword_weights(&turn, None);
        let ip = ip.unwrap_or([0.0; intent::N]);
        let scores = intent::scores(&kw, Some(&ip), self.tuning.keyword_scale);
        let ep = ep.unwrap_or([0.0; emotion::N]);
        Explanation {
            intents: (0..intent::N)
                .map(|i| (INTENTS[i], kw.weight[i], ip[i], scores[i]))
                .collect(),
            emotion_model: (0..emotion::N).map(|l| (EMOTIONS[l], ep[l])).collect(),
            normalized: s.norm.as_str().to_string(),
        }
    }

    fn prepare(&self, text: &str, s: &mut Scratch) -> u32 {
        s.surface.scan(text);
        self.norm.normalize_into(text, &mut s.norm);
        self.lexicon.scan(
            s.norm.as_str(),
            text,
            s.surface.symbols > 0,
            &mut s.hits,
            &mut s.loose,
        )
    }

    /// Understands a customer turn in its conversation: when the turn's own words leave the
    /// intent unsure (是的, 能帮忙催一下吗, 就那个赠品), the agent's last line and the topic of
    /// the customer's earlier turns lend it theirs.
    pub fn analyze_in(&self, text: &str, ctx: &Context<'_>) -> Understanding {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.analyze_full(text, ctx, &mut s),
            Err(_) => self.analyze_full(text, ctx, &mut Scratch::default()),
        })
    }

    /// [`Understander::analyze`] with caller-owned buffers.
    pub fn analyze_with(&self, text: &str, s: &mut Scratch) -> Understanding {
        self.analyze_full(text, &Context::default(), s)
    }

    /// The context's vote per intent: the topic one-hot and the intent model on the agent's
    /// line, each with its weight; `None` without context.
    fn context_prior(
        &self,
        ctx: &Context<'_>,
        norm: &mut NormText,
        rows: &mut Vec<u32>,
    ) -> Option<[f32; intent::N]> {
        let t = &self.tuning;
        let mut q = [0f32; intent::N];
        let mut any = false;
        if let Some(topic) = ctx
            .topic
            .and_then(|id| INTENTS.iter().position(|x| *x == id))
        {
            q[topic] += t.context_topic;
            any = true;
        }
        if let Some(agent) = ctx.agent.filter(|a| !a.trim().is_empty()) {
            self.norm.normalize_into(agent, norm);
            if let (Some(p), _) = predict(&self.models, norm.as_str(), rows) {
                for (x, p) in q.iter_mut().zip(p) {
                    *x += t.context_agent * p;
                }
                any = true;
            }
        }
        // Greeting, thanks and other are what a turn says by itself, never lent by context.
        for i in [0, intent::THANKS, intent::OTHER] {
            q[i] = 0.0;
        }
        any.then_some(q)
    }

    fn analyze_full(&self, text: &str, ctx: &Context<'_>, s: &mut Scratch) -> Understanding {
        let symbol_hits = self.prepare(text, s);
        let (intent_p, emotion_p) = predict(&self.models, s.norm.as_str(), &mut s.rows);
        let t = &self.tuning;

        let turn = Turn {
            norm: &s.norm,
            hits: &s.hits,
            loose: &s.loose,
            surface: &s.surface,
            symbol_hits,
        };
        let threat = threat(&turn);
        let repeat_ask = turn.loose.contains(&Tag::RepeatAsk)
            || turn.hits.iter().any(|h| h.tag == Tag::RepeatAsk);

        let mut kw = intent::keyword_weights(&turn, None);
        if threat {
            // A threat is a complaint even when the book forgot the word.
            kw.weight[intent::COMPLAINT] = kw.weight[intent::COMPLAINT].max(1.0);
        }
        let scores = intent::scores(&kw, intent_p.as_ref(), t.keyword_scale);
        let model = intent_p.unwrap_or([0.0; intent::N]);
        let clause_tops = self.clause_tops(&turn, &mut s.rows);
        let question = turn.surface.breaks.iter().any(|b| b.1);
        let thanks_word = kw.weight[intent::THANKS] >= 1.0;
        let mut intents = Vec::with_capacity(3);
        let evidence = Evidence {
            scores: &scores,
            model: &model,
            keywords: &kw,
            clause_tops,
            threat,
            question,
            thanks_word,
        };
        intent::select(evidence, t, &mut intents);
        let mut confident = is_confident(&intents, &scores, t);
        if !confident && let Some(q) = self.context_prior(ctx, &mut s.context, &mut s.rows) {
            let lend = |a: &[f32; intent::N]| -> [f32; intent::N] {
                std::array::from_fn(|i| 1.0 - (1.0 - a[i]) * (1.0 - q[i]))
            };
            let (scores, model) = (lend(&scores), lend(&model));
            let evidence = Evidence {
                scores: &scores,
                model: &model,
                ..evidence
            };
            intent::select(evidence, t, &mut intents);
            // The conversation settled what the turn alone left open.
            confident = intents
                .first()
                .is_some_and(|i| i.id != "other" && i.score >= t.primary);
        }

        let urgent_kind = urgent::urgent(&turn);
        let urgent = urgent_kind.is_some();
        let cues = emotion_cues(&intents);
        let (emotion, ev) = emotion::score(
            &turn,
            emotion_p.as_ref(),
            threat,
            repeat_ask,
            urgent,
            cues,
            t,
        );

        let mut entities = Vec::new();
        let sf = &s.surface;
        if sf.digits > 0 || sf.letters > 0 || sf.money > 0 {
            self.fold.normalize_into(text, &mut s.folded);
            s.chars.clear();
            s.chars.extend(
                s.folded
                    .as_str()
                    .chars()
                    .zip(s.folded.spans())
                    .map(|(c, sp)| (c, sp.start, sp.end)),
            );
            entities::extract(text, &s.chars, &mut s.bytes, &mut entities);
        }
        let turn = Turn {
            norm: &s.norm,
            hits: &s.hits,
            loose: &s.loose,
            surface: &s.surface,
            symbol_hits,
        };
        let style = style::style(&turn, &emotion, ev, &entities);

        Understanding {
            intents,
            emotion,
            urgent,
            urgent_kind,
            style,
            entities,
            threat,
            repeat_ask,
            confident,
        }
    }

    /// Bit `i` set when intent `i` is the best of one clause of a multi-clause turn, with a
    /// clause score of at least `Tuning::secondary`.
    fn clause_tops(&self, turn: &Turn<'_>, rows: &mut Vec<u32>) -> u16 {
        let breaks = &turn.surface.breaks;
        if breaks.len() < 2 {
            return 0;
        }
        let spans = turn.norm.spans();
        let text = turn.text();
        let mut mask = 0u16;
        let mut start = 0u32;
        let mut clauses = 0;
        for &(b, _) in breaks {
            let at = spans.partition_point(|sp| sp.start < b);
            let end = spans.get(at).map_or(text.len() as u32, |sp| sp.byte);
            if end <= start {
                continue;
            }
            let Some(clause) = text.get(start as usize..end as usize) else {
                break;
            };
            let kw = intent::keyword_weights(turn, Some((start, end)));
            let (p, _) = predict(&self.models, clause, rows);
            let s = intent::scores(&kw, p.as_ref(), self.tuning.keyword_scale);
            let top = intent::best_content(&s);
            if s[top] >= self.tuning.secondary {
                mask |= 1 << top;
            }
            clauses += 1;
            start = end;
        }
        if clauses < 2 { 0 } else { mask }
    }
}

/// Whether the primary intent is more than a guess: its score reaches `Tuning::confident`. An
/// `other` that only means "nothing else fits" (就那个) is a guess; one the book's evidence says
/// (an acknowledgement, a bare order number) is not.
fn is_confident(
    intents: &[crate::types::IntentScore],
    scores: &[f32; intent::N],
    t: &Tuning,
) -> bool {
    match intents.first() {
        Some(i) if i.id == "other" => scores[intent::OTHER] >= t.confident,
        Some(i) => i.score >= t.confident,
        None => false,
    }
}

/// Anger prior per intent: complaints about the service itself and demands for a manager come
/// angry far more often than calm; framing-only turns (在吗？？) carry no mood in their punctuation.
fn emotion_cues(intents: &[crate::types::IntentScore]) -> emotion::Cues {
    let mut anger_prior = 0f32;
    for i in intents {
        let w = match i.id {
            "service_attitude" => 0.7,
            "escalation" => 0.3,
            "complaint" => 0.3,
            _ => 0.0,
        };
        anger_prior = anger_prior.max(w * i.score);
    }
    emotion::Cues {
        framing_only: intents
            .iter()
            .all(|i| matches!(i.id, "greeting" | "thanks_closing")),
        anger_prior,
        defect: intents
            .first()
            .is_some_and(|i| matches!(i.id, "quality_issue" | "shipping")),
    }
}

/// A threat word (built-in or a complaint keyword of the book) that no negator reaches.
fn threat(turn: &Turn<'_>) -> bool {
    if turn.loose.contains(&Tag::Threat) {
        return true;
    }
    turn.hits.iter().any(|h| {
        let is_threat = match h.tag {
            Tag::Threat => true,
            Tag::Intent { intent, weight } => intent as usize == intent::COMPLAINT && weight > 0.0,
            _ => false,
        };
        is_threat && !turn.negated(h)
    })
}
