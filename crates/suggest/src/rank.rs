//! Ranking: turns one `Understanding` plus the conversation so far into 3–5 replies.
//!
//! Everything that does not depend on the turn is done once in [`Suggester::new`]: scripts are
//! compiled (slot templates, tag flags, stage index), grouped per intent, and the FAQ index is
//! built. The per-turn path only walks the few candidate lists the turn selects, scores each
//! script with plain arithmetic, keeps the best in a fixed-size array and allocates only the
//! returned suggestions.
//!
//! The score of a script (higher first; ties: `priority`, then id):
//!
//! ```text
//! score = relevance            10 primary intent · 4..8 secondary (by intent score)
//!                              · 6 pulled in as safety/escalation · 2 generic · 0 fallback
//!       + safety               +100 urgent/safety script on an urgent turn or in safety mode
//!                              (seed 004); in safety mode also +20 a script of the incident's
//!                              kind, +200 its first action until one was used, then
//!                              escalation +25 / follow-up +4 (before: escalation +4)
//!       + style (seed 003)     empathy-first turn: empathy/apology/soothe +4, solution +1
//!                              rational turn: solution +4, pure soothing −1
//!                              anxious turn: solution +1, empathy +1
//!       + complaint stage      apologise: apology +2.5, empathy +1
//!                              solution: solution +3, apology −4, soothing −1.5
//!                              follow_up: follow_up +4, solution +1, apology −4, soothing −1.5
//!       + words                +3 × share of the turn's (IDF-weighted) bigrams found in the
//!                              script text (几天能发货 → the script that talks about 发货)
//!       + escalation           +5 escalation script when asked for / risk ≥ 0.6
//!       + data                 +3 `data` script (states looked-up order facts; fillable only then)
//!       + history              shown in the last 2 turns −6 (was top) … −2.5 (was 5th),
//!                              earlier −2; used −3;
//!                              stage successor of a recently used script +1.5;
//!                              dismissed: excluded for 5 turns, −8 after
//! FAQ answer score = 6 + 10·match·fit (match·fit ≥ 0.42; +1 on rational or empathy-first turns),
//! with the same history terms; fit (see `faq_fit`) is 1.3 for the conversation's product's own
//! answers, 1.15 for its category's, 1 for general ones, 0.9 for category answers while the
//! category is unknown and 0 for another product's or another category's.
//! Scripts tagged with product categories are skipped when the conversation is about another.
//! ```
//!
//! Safety mode filters before scoring: scripts tagged with one of `UNSAFE_IN_SAFETY_TAGS`
//! (compensation, keep-using, coupons, promotions, review requests) and safety scripts of another
//! kind are never candidates, and no FAQ answer is offered. The returned list never holds two
//! near-duplicates (char-bigram Jaccard ≥ 0.6): the lower one gives way to the next candidate.

use huashu_phrasebook::{
    INTENT_NAMES, INTENTS, Intent, Phrasebook, ProductCategory, STAGE_NAMES, SafetyStep, Style,
    Tag, TagKind, UrgentKind,
};
use huashu_understand::Understanding;

use huashu_normalize::Normalizer;

use crate::catalog::{Catalog, Subject};
use crate::faq::FaqIndex;
use crate::lexical::{BigramIndex, NEAR_DUPLICATE, TurnGrams, jaccard, text_bigrams, with_acc};
use crate::slots::{SlotTable, Template};
use crate::state::{ComplaintStage, ConversationState, id_hash, intent_index};
use crate::{Error, Suggestion};

/// Most suggestions returned.
pub const MAX_SUGGESTIONS: usize = 5;
/// Fewest suggestions returned when the book has enough fillable scripts.
pub const MIN_SUGGESTIONS: usize = 3;
/// Candidates kept while ranking (more than returned, for the escalation swap).
const KEEP: usize = 8;
/// Turns a dismissed script stays hidden.
const DISMISS_TURNS: u32 = 5;
/// Bonus of a script whose text holds all of the turn's (known) bigrams.
const LEX_WEIGHT: f32 = 3.0;
/// Penalty of a script shown in the last two turns, by the position it was shown at.
const RECENT_PENALTY: [f32; 5] = [6.0, 4.5, 3.5, 3.0, 2.5];
/// FAQ match multiplier of the product's own answers and of its category's answers.
const PRODUCT_FIT: f32 = 1.3;
const CATEGORY_FIT: f32 = 1.15;
/// Risk from which an escalation script is offered unasked.
pub const ESCALATION_RISK: f32 = 0.6;

const EMPATHY: u16 = 1;
const APOLOGY: u16 = 1 << 1;
const SOLUTION: u16 = 1 << 2;
const SAFETY: u16 = 1 << 3;
const ESCALATION: u16 = 1 << 4;
const GENERIC: u16 = 1 << 5;
/// Tag `data`: the script states facts looked up for this conversation (order status).
const DATA: u16 = 1 << 6;
/// Bonus of a `data` script (it is only fillable once the lookup filled its slots): the
/// shop's own facts beat generic wording on the same subject.
const DATA_BONUS: f32 = 3.0;
/// Never offered in safety mode (one of `UNSAFE_IN_SAFETY_TAGS`). (It shared `DATA`'s bit
/// while tags were strings: every compensation/coupon/promotion script got the data bonus and
/// every data script was kept out of safety mode.)
const UNSAFE: u16 = 1 << 7;

const S_GREET: u8 = 0;
const S_SOOTHE: u8 = 1;
const S_CLARIFY: u8 = 2;
const S_SOLVE: u8 = 3;
const S_CLOSE: u8 = 5;
const S_FOLLOW_UP: u8 = 6;
const S_UNKNOWN: u8 = u8::MAX;

/// Intents whose questions an FAQ answer can serve.
const FAQ_INTENTS: &[&str] = &[
    "product_inquiry",
    "price_promo",
    "shipping",
    "return_refund",
    "order_change",
    "other",
];

/// Stages that naturally follow `stage` (bit mask over stage indices).
fn successors(stage: u8) -> u8 {
    let bit = |s: u8| 1u8 << s;
    match stage {
        S_GREET | S_SOOTHE => bit(S_CLARIFY) | bit(S_SOLVE),
        S_CLARIFY => bit(S_SOLVE),
        S_SOLVE => bit(S_FOLLOW_UP) | bit(S_CLOSE),
        4 | S_FOLLOW_UP => bit(S_CLOSE),
        _ => 0,
    }
}

#[derive(Debug)]
struct Compiled {
    id: String,
    hash: u64,
    intent: u8,
    stage: u8,
    /// Bit per [`huashu_phrasebook::EMOTIONS`] index; 0 = any emotion.
    emotions: u8,
    style: Option<Style>,
    urgent: bool,
    kind: Option<UrgentKind>,
    step: Option<SafetyStep>,
    flags: u16,
    priority: i32,
    tpl: Template,
    /// Sorted distinct bigrams of the template text, for the near-duplicate check (slots change
    /// a few chars at most, so the template's bigrams stand for the filled text's).
    grams: Vec<u64>,
    /// Product categories the script is tagged with (mask; 0 = fits every category).
    categories: u8,
    out_intent: String,
    out_stage: String,
    tags: Vec<String>,
    title: String,
}

impl Compiled {
    fn empathic(&self) -> bool {
        self.flags & (EMPATHY | APOLOGY) != 0 || self.stage == S_SOOTHE
    }
    fn solution(&self) -> bool {
        self.flags & SOLUTION != 0 || self.stage == S_SOLVE
    }
}

#[derive(Debug)]
struct CompiledFaq {
    id: String,
    hash: u64,
    intent: Option<u8>,
    /// Categories the answer is written for (mask; 0 = all).
    categories: u8,
    /// Catalogue index of the product a per-product answer is about.
    product: Option<u32>,
    tpl: Template,
    /// As [`Compiled::grams`].
    grams: Vec<u64>,
    source: String,
    title: String,
}

/// Compiled scripts and FAQ of one phrasebook: shared read-only (`Send + Sync`).
#[derive(Debug)]
pub struct Suggester {
    scripts: Vec<Compiled>,
    by_intent: [Vec<u32>; INTENTS.len()],
    urgent: Vec<u32>,
    escalation: Vec<u32>,
    generic: Vec<u32>,
    /// (id hash, script) sorted by hash: resolves remembered scripts to their intent and stage.
    by_hash: Vec<(u64, u32)>,
    slots: SlotTable,
    faq: Vec<CompiledFaq>,
    faq_index: FaqIndex,
    /// Bigrams of every script text (document = script index): relevance to the turn's words.
    lex: BigramIndex,
    catalog: Catalog,
    norm: Normalizer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Script(u32),
    Faq(u32),
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    score: f32,
    priority: i32,
    item: Item,
}

/// Everything about the turn the scorer needs, computed once per call.
struct Ctx<'a> {
    state: &'a ConversationState,
    /// Per script: IDF mass of the turn's bigrams found in its text; `lex_mass` is the total.
    lex: &'a [f32],
    lex_mass: f32,
    turn: u32,
    emotion_bit: u8,
    style: Style,
    urgent: bool,
    /// The incident kind while the conversation is in safety mode.
    safety: Option<UrgentKind>,
    /// A first-action script of that kind was already used by the agent.
    first_done: bool,
    /// Re-ranking the current turn after feedback (see `Suggester::refresh`).
    refresh: bool,
    empathy_first: bool,
    rational_first: bool,
    anxious: bool,
    stage: Option<ComplaintStage>,
    escalate: bool,
    /// What the conversation is about (catalogue product and/or category).
    subject: Subject,
    available: u64,
    /// (intent, successor stage mask) of recently used scripts.
    used_next: [(u8, u8); 4],
    used_n: usize,
}

impl Suggester {
    pub fn new(book: &Phrasebook) -> Result<Suggester, Error> {
        let mut slots = SlotTable::new(&book.slots);
        let mut problems = Vec::new();
        let mut scripts = Vec::with_capacity(book.scripts.len());
        let norm = Normalizer::new();
        for s in &book.scripts {
            let tpl = match Template::compile(&s.text, &mut slots) {
                Ok(t) => t,
                Err(msg) => {
                    problems.push(format!("{}: [{}] {msg}", s.origin, s.id));
                    continue;
                }
            };
            let intent = s.intent.index();
            let mut emotions = 0u8;
            for e in &s.emotions {
                emotions |= 1 << e.index();
            }
            let mut flags = 0u16;
            for t in &s.tags {
                let Tag::Kind(kind) = *t else {
                    continue; // a product category: `categories` below
                };
                flags |= match kind {
                    TagKind::Empathy => EMPATHY,
                    TagKind::Apology => APOLOGY,
                    TagKind::Solution => SOLUTION,
                    TagKind::Safety => SAFETY,
                    TagKind::Escalation => ESCALATION,
                    TagKind::Generic => GENERIC,
                    TagKind::Data => DATA,
                    TagKind::Compensation
                    | TagKind::KeepUsing
                    | TagKind::Coupon
                    | TagKind::Promotion
                    | TagKind::ReviewRequest => UNSAFE,
                };
            }
            match s.intent {
                Intent::Escalation => flags |= ESCALATION,
                Intent::Other => flags |= GENERIC,
                _ => {}
            }
            if s.urgent {
                flags |= SAFETY;
            }
            let stage = s.stage.index() as u8;
            let title = if !s.title.is_empty() {
                s.title.clone()
            } else if let Some(kind) = s.urgent_kind {
                format!("{} · {}", kind.name(), step_name(s.safety))
            } else {
                let intent_name = book
                    .intents
                    .iter()
                    .find(|d| d.id == s.intent.as_str() && !d.name.trim().is_empty())
                    .map_or(INTENT_NAMES.get(intent).copied().unwrap_or("其他"), |d| {
                        d.name.trim()
                    });
                let stage_name = STAGE_NAMES.get(usize::from(stage)).copied().unwrap_or("");
                if stage_name.is_empty() {
                    intent_name.to_string()
                } else {
                    format!("{intent_name} · {stage_name}")
                }
            };
            scripts.push(Compiled {
                id: s.id.clone(),
                hash: id_hash(&s.id),
                intent: intent as u8,
                stage,
                emotions,
                style: s.style,
                urgent: s.urgent,
                kind: s.urgent_kind,
                step: s.safety,
                flags,
                priority: s.priority,
                tpl,
                grams: text_bigrams(&norm, &s.text),
                categories: category_mask(s.categories()),
                out_intent: s.intent.as_str().to_string(),
                out_stage: s.stage.as_str().to_string(),
                tags: s.tags.iter().map(|t| t.as_str().to_string()).collect(),
                title,
            });
        }

        let catalog = Catalog::new(&norm, book);
        let mut faq = Vec::with_capacity(book.faq.len());
        for f in &book.faq {
            let product = match &f.product {
                None => None,
                Some(sku) => match catalog.index_of(sku) {
                    Some(i) => Some(i),
                    None => {
                        problems.push(format!("{}: [{}] unknown product {sku:?}", f.origin, f.id));
                        continue;
                    }
                },
            };
            match Template::compile(&f.answer, &mut slots) {
                Ok(tpl) => faq.push(CompiledFaq {
                    id: f.id.clone(),
                    hash: id_hash(&f.id),
                    intent: f.intent.map(|i| i.index() as u8),
                    categories: category_mask(f.categories.iter().copied()),
                    product,
                    tpl,
                    grams: text_bigrams(&norm, &f.answer),
                    source: f.source.trim().to_string(),
                    title: if f.title.is_empty() {
                        f.questions
                            .first()
                            .map_or_else(String::new, |q| q.trim().to_string())
                    } else {
                        f.title.clone()
                    },
                }),
                Err(msg) => problems.push(format!("{}: [{}] answer: {msg}", f.origin, f.id)),
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems.join("\n")));
        }
        if scripts.len() > u32::MAX as usize {
            return Err(Error::Invalid("too many scripts".into()));
        }

        // Candidate lists in id order, so that equal scores come out in a stable order.
        let mut order: Vec<u32> = (0..scripts.len() as u32).collect();
        order.sort_by(|&a, &b| scripts[a as usize].id.cmp(&scripts[b as usize].id));
        let mut by_intent: [Vec<u32>; INTENTS.len()] = Default::default();
        let (mut urgent, mut escalation, mut generic) = (Vec::new(), Vec::new(), Vec::new());
        for &i in &order {
            let s = &scripts[i as usize];
            by_intent[usize::from(s.intent)].push(i);
            if s.urgent || s.flags & SAFETY != 0 {
                urgent.push(i);
            }
            if s.flags & ESCALATION != 0 {
                escalation.push(i);
            }
            if s.flags & GENERIC != 0 {
                generic.push(i);
            }
        }
        let mut by_hash: Vec<(u64, u32)> = scripts
            .iter()
            .enumerate()
            .map(|(i, s)| (s.hash, i as u32))
            .collect();
        by_hash.sort_unstable();

        let faq_index = FaqIndex::new(&norm, &book.faq);
        let stripped: Vec<String> = book.scripts.iter().map(|s| strip_slots(&s.text)).collect();
        let lex = BigramIndex::new(
            &norm,
            stripped
                .iter()
                .enumerate()
                .map(|(i, t)| (i as u32, t.as_str())),
        );
        Ok(Suggester {
            scripts,
            by_intent,
            urgent,
            escalation,
            generic,
            by_hash,
            slots,
            faq,
            faq_index,
            lex,
            catalog,
            norm,
        })
    }

    /// Number of compiled scripts.
    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    /// 3–5 ranked suggestions for this turn (fewer only when the book has too few fillable
    /// scripts); records them as shown in `state`. Call `state.observe_customer` first.
    pub fn suggest(
        &self,
        u: &Understanding,
        text: &str,
        state: &mut ConversationState,
    ) -> Vec<Suggestion> {
        self.catalog.observe(&self.norm, text, state);
        self.suggest_in(u, text, state, false)
    }

    /// The list of the current turn again, after the agent used or dismissed a suggestion:
    /// the same order as before without what was just used or dismissed (the next candidates
    /// move up), and with the conversation's new facts (a used first action lets the
    /// escalation lead). Counts no new turn.
    pub fn refresh(
        &self,
        u: &Understanding,
        text: &str,
        state: &mut ConversationState,
    ) -> Vec<Suggestion> {
        self.suggest_in(u, text, state, true)
    }

    fn suggest_in(
        &self,
        u: &Understanding,
        text: &str,
        state: &mut ConversationState,
        refresh: bool,
    ) -> Vec<Suggestion> {
        let (ranked, keep) = self.rank(u, text, state, refresh);
        let mut out: Vec<Suggestion> = Vec::with_capacity(keep);
        let mut seen: Vec<&[u64]> = Vec::with_capacity(keep);
        let mut hashes: Vec<u64> = Vec::with_capacity(keep);
        for (n, c) in ranked.into_iter().enumerate() {
            // The first `keep` are the list; the rest only stand in for near-duplicates, up to
            // the minimum.
            if out.len() >= MAX_SUGGESTIONS || (n >= keep && out.len() >= MIN_SUGGESTIONS) {
                break;
            }
            let (hash, grams, suggestion) = match c.item {
                Item::Script(i) => {
                    let s = &self.scripts[i as usize];
                    let Some(text) = s.tpl.fill(&self.slots, &state.slots) else {
                        continue;
                    };
                    (
                        s.hash,
                        s.grams.as_slice(),
                        Suggestion {
                            script: s.id.clone(),
                            intent: s.out_intent.clone(),
                            stage: s.out_stage.clone(),
                            tags: s.tags.clone(),
                            title: s.title.clone(),
                            text,
                            source: None,
                            safety: s.step.map(SafetyStep::as_str),
                        },
                    )
                }
                Item::Faq(i) => {
                    let f = &self.faq[i as usize];
                    let Some(text) = f.tpl.fill(&self.slots, &state.slots) else {
                        continue;
                    };
                    let intent = f
                        .intent
                        .map_or(u.primary_intent(), |i| INTENTS[usize::from(i)]);
                    (
                        f.hash,
                        f.grams.as_slice(),
                        Suggestion {
                            script: f.id.clone(),
                            intent: intent.to_string(),
                            stage: "solve".to_string(),
                            tags: vec!["faq".to_string()],
                            title: f.title.clone(),
                            text,
                            source: (!f.source.is_empty()).then(|| f.source.clone()),
                            safety: None,
                        },
                    )
                }
            };
            let faq = matches!(c.item, Item::Faq(_));
            if let Some(dup) = seen
                .iter()
                .position(|g| jaccard(g, grams) >= NEAR_DUPLICATE)
            {
                // The same sentence twice: the FAQ answer (the shop's policy text, with its
                // source) takes the place of the script that says the same.
                if faq && !out[dup].tags.iter().any(|t| t == "faq") {
                    out[dup] = suggestion;
                    hashes[dup] = hash;
                    seen[dup] = grams;
                }
                continue;
            }
            seen.push(grams);
            hashes.push(hash);
            out.push(suggestion);
        }
        for (rank, hash) in hashes.into_iter().enumerate() {
            state.record_shown(hash, rank);
        }
        out
    }

    /// The ranked candidates, best first: the first `keep` (at most [`MAX_SUGGESTIONS`]) are
    /// the list, the rest stand-ins for near-duplicates.
    fn rank(
        &self,
        u: &Understanding,
        text: &str,
        state: &ConversationState,
        refresh: bool,
    ) -> (Vec<Cand>, usize) {
        let grams = TurnGrams::new(&self.norm, text);
        with_acc(self.scripts.len(), |lex| {
            let lex_mass = self.lex.accumulate(grams.as_slice(), lex);
            let mut ctx = self.context(u, state, lex, lex_mass);
            ctx.refresh = refresh;
            self.rank_in(u, grams.as_slice(), &ctx)
        })
    }

    fn rank_in(&self, u: &Understanding, grams: &[u64], ctx: &Ctx<'_>) -> (Vec<Cand>, usize) {
        let state = ctx.state;
        let mut top = TopK::default();

        // Intents of the turn: the primary weighs most.
        let primary_score = u.intents.first().map_or(0.0, |i| i.score);
        for (rank, i) in u.intents.iter().take(4).enumerate() {
            let Some(idx) = intent_index(i.id) else {
                continue;
            };
            let base = if rank == 0 {
                10.0
            } else {
                let ratio = if primary_score > 0.0 && i.score.is_finite() {
                    (i.score / primary_score).clamp(0.0, 1.0)
                } else {
                    0.5
                };
                4.0 + 4.0 * ratio
            };
            for &s in &self.by_intent[idx] {
                self.consider(ctx, s, base, &mut top);
            }
        }
        if ctx.urgent {
            for &s in &self.urgent {
                self.consider(ctx, s, 6.0, &mut top);
            }
        }
        // The best escalation script is also kept aside, so that it can be offered even when
        // the turn's own scripts fill every place.
        let mut esc = TopK::default();
        if ctx.escalate {
            for &s in &self.escalation {
                self.consider(ctx, s, 6.0, &mut top);
                self.consider(ctx, s, 6.0, &mut esc);
            }
        }
        if top.len < MAX_SUGGESTIONS {
            for &s in &self.generic {
                self.consider(ctx, s, 2.0, &mut top);
            }
        }
        if top.len < MIN_SUGGESTIONS {
            for s in 0..self.scripts.len() as u32 {
                self.consider(ctx, s, 0.0, &mut top);
            }
        }

        // FAQ answers for product/policy questions.
        if !ctx.urgent
            && !self.faq_index.is_empty()
            && u.intents.iter().any(|i| FAQ_INTENTS.contains(&i.id))
        {
            // Intent agreement × fit with the conversation's product and category.
            let weight = |e: usize| {
                let Some(f) = self.faq.get(e) else {
                    return 0.0;
                };
                let intent = match f.intent {
                    Some(fi)
                        if !u
                            .intents
                            .iter()
                            .any(|i| intent_index(i.id) == Some(usize::from(fi))) =>
                    {
                        0.85
                    }
                    _ => 1.0,
                };
                intent * faq_fit(f, ctx.subject)
            };
            let hits = self.faq_index.search(grams, weight);
            let best = hits[0].map_or(0.0, |h| h.score);
            for hit in hits.into_iter().flatten() {
                if hit.score < 0.8 * best {
                    continue;
                }
                let Some(f) = self.faq.get(hit.entry) else {
                    continue;
                };
                if !f.tpl.fillable(ctx.available, &self.slots, &state.slots) {
                    continue;
                }
                let Some(history) = history(ctx, f.hash) else {
                    continue;
                };
                // A near-verbatim match (≥ 0.8) leads; a loose one sits among the solutions.
                let mut score = 6.0 + 10.0 * hit.score + history;
                if ctx.rational_first || ctx.empathy_first {
                    score += 1.0;
                }
                top.insert(
                    Cand {
                        score,
                        priority: 0,
                        item: Item::Faq(hit.entry as u32),
                    },
                    |a, b| self.id_of(a).cmp(self.id_of(b)),
                );
            }
        }

        let ranked = &top.items[..top.len];
        // 3 always (when there are 3); the 4th and 5th only when not far behind the 3rd.
        let mut keep = ranked.len().min(MIN_SUGGESTIONS);
        if let Some(third) = ranked.get(MIN_SUGGESTIONS - 1) {
            while keep < ranked.len().min(MAX_SUGGESTIONS)
                && ranked[keep].score >= third.score - 8.0
            {
                keep += 1;
            }
        }
        let mut out: Vec<Cand> = Vec::with_capacity(keep);
        out.extend_from_slice(&ranked[..keep]);
        // Offer an escalation path when asked for or when the chat is about to blow up.
        if ctx.escalate
            && !out.iter().any(|c| self.is_escalation(c.item))
            && let Some(esc) = esc.items[..esc.len].first()
        {
            if out.len() >= MAX_SUGGESTIONS {
                out.pop();
            }
            out.push(*esc);
        }
        let keep = out.len();
        for c in ranked {
            if !out.iter().any(|o| o.item == c.item) {
                out.push(*c);
            }
        }
        (out, keep)
    }

    /// The score `id` would get this turn (white-box tests of the formula).
    #[cfg(test)]
    pub(crate) fn score_of(
        &self,
        u: &Understanding,
        state: &ConversationState,
        id: &str,
    ) -> Option<f32> {
        let ctx = self.context(u, state, &[], 0.0);
        let s = self.scripts.iter().position(|s| s.id == id)? as u32;
        let mut top = TopK::default();
        self.consider(&ctx, s, 10.0, &mut top);
        top.items[..top.len].first().map(|c| c.score)
    }

    fn script_by_hash(&self, hash: u64) -> Option<&Compiled> {
        let p = self.by_hash.partition_point(|(h, _)| *h < hash);
        match self.by_hash.get(p) {
            Some(&(h, i)) if h == hash => self.scripts.get(i as usize),
            _ => None,
        }
    }

    fn is_escalation(&self, item: Item) -> bool {
        matches!(item, Item::Script(i) if self.scripts[i as usize].flags & ESCALATION != 0)
    }

    fn id_of(&self, item: Item) -> &str {
        match item {
            Item::Script(i) => &self.scripts[i as usize].id,
            Item::Faq(i) => &self.faq[i as usize].id,
        }
    }

    fn context<'a>(
        &self,
        u: &Understanding,
        state: &'a ConversationState,
        lex: &'a [f32],
        lex_mass: f32,
    ) -> Ctx<'a> {
        let label = u.emotion.label;
        let intensity = if u.emotion.intensity.is_finite() {
            u.emotion.intensity
        } else {
            0.0
        };
        let negative = matches!(label, "anger" | "disappointment") && intensity >= 0.4;
        let empathy_first = negative
            || (u.style == Style::Emotional && !matches!(label, "positive" | "neutral"))
            || (u.style == Style::Emotional && state.in_complaint());
        let rational_first = !empathy_first && u.style == Style::Rational;
        let escalate = u.intents.iter().any(|i| i.id == "escalation")
            || state.escalation_risk() >= ESCALATION_RISK;

        let turn = state.turns();
        let safety = state.safety().or(u.urgent_kind);
        let first_done = safety.is_some_and(|kind| {
            state.used.iter().any(|m| {
                self.script_by_hash(m.id).is_some_and(|s| {
                    s.step == Some(SafetyStep::FirstAction) && s.kind.is_none_or(|k| k == kind)
                })
            })
        });
        let mut used_next = [(0u8, 0u8); 4];
        let mut used_n = 0;
        for m in state.used.iter().rev() {
            if used_n == used_next.len() || turn.saturating_sub(m.turn) > 2 {
                break;
            }
            let p = self.by_hash.partition_point(|(h, _)| *h < m.id);
            if let Some(&(h, i)) = self.by_hash.get(p)
                && h == m.id
            {
                let s = &self.scripts[i as usize];
                if s.stage != S_UNKNOWN {
                    used_next[used_n] = (s.intent, successors(s.stage));
                    used_n += 1;
                }
            }
        }

        Ctx {
            state,
            lex,
            lex_mass,
            turn,
            emotion_bit: emotion_index(label).map_or(0, |i| 1 << i),
            style: u.style,
            urgent: u.urgent || safety.is_some(),
            safety,
            first_done,
            refresh: false,
            empathy_first,
            rational_first,
            anxious: label == "anxiety" && intensity >= 0.5,
            stage: state.in_complaint().then(|| state.stage()),
            escalate,
            subject: self.catalog.subject(state),
            available: self.slots.available(&state.slots),
            used_next,
            used_n,
        }
    }

    /// Scores script `s` with relevance `base` and keeps it if it is among the best.
    fn consider(&self, ctx: &Ctx<'_>, s: u32, base: f32, top: &mut TopK) {
        let Some(c) = self.scripts.get(s as usize) else {
            return;
        };
        // Filters.
        if c.urgent && !ctx.urgent {
            return;
        }
        if let Some(kind) = ctx.safety
            && (c.flags & UNSAFE != 0 || c.kind.is_some_and(|k| k != kind))
        {
            return;
        }
        if c.emotions != 0 && c.emotions & ctx.emotion_bit == 0 {
            return;
        }
        if c.style.is_some_and(|st| st != ctx.style) {
            return;
        }
        // Written for other categories than the one this conversation is about.
        if c.categories != 0
            && let Some(cat) = ctx.subject.category
            && c.categories & cat.bit() == 0
        {
            return;
        }
        let Some(history) = history(ctx, c.hash) else {
            return;
        };
        if !c.tpl.fillable(ctx.available, &self.slots, &ctx.state.slots) {
            return;
        }

        let mut score = base + history;
        // Words of the turn in the script's text (几天能发货 → the script about 发货).
        if ctx.lex_mass > 0.0 {
            let shared = ctx.lex.get(s as usize).copied().unwrap_or(0.0);
            score += LEX_WEIGHT * (shared / ctx.lex_mass).min(1.0);
        }
        let empathic = c.empathic();
        let solution = c.solution();
        if ctx.urgent && c.flags & SAFETY != 0 {
            score += 100.0;
        }
        if let Some(kind) = ctx.safety {
            if c.kind == Some(kind) {
                score += 20.0;
            }
            score += match (c.step, ctx.first_done) {
                (Some(SafetyStep::FirstAction), false) if c.kind == Some(kind) => 200.0,
                (Some(SafetyStep::Escalation), true) => 25.0,
                (Some(SafetyStep::FollowUp), true) => 4.0,
                (Some(SafetyStep::Escalation), false) => 4.0,
                _ => 0.0,
            };
        }
        if ctx.empathy_first {
            if empathic {
                score += 4.0;
            } else if solution {
                score += 1.0;
            }
        } else if ctx.rational_first {
            if solution {
                score += 4.0;
            } else if empathic {
                score -= 1.0;
            }
        }
        if ctx.anxious {
            if solution {
                score += 1.0;
            }
            if empathic {
                score += 1.0;
            }
        }
        let apology = c.flags & APOLOGY != 0;
        let soothing = empathic && !solution && !apology;
        match ctx.stage {
            Some(ComplaintStage::Apologise) => {
                if apology {
                    score += 2.5;
                } else if empathic {
                    score += 1.0;
                }
            }
            Some(ComplaintStage::Solution) => {
                if solution {
                    score += 3.0;
                }
                if apology {
                    score -= 4.0;
                } else if soothing {
                    score -= 1.5;
                }
            }
            Some(ComplaintStage::FollowUp) => {
                if c.stage == S_FOLLOW_UP {
                    score += 4.0;
                } else if solution {
                    score += 1.0;
                }
                if apology {
                    score -= 4.0;
                } else if soothing {
                    score -= 1.5;
                }
            }
            Some(ComplaintStage::ListenSoothe) | None => {}
        }
        if c.flags & DATA != 0 {
            score += DATA_BONUS;
        }
        if ctx.escalate && c.flags & ESCALATION != 0 {
            score += 5.0;
        }
        if c.stage != S_UNKNOWN
            && ctx.used_next[..ctx.used_n]
                .iter()
                .any(|&(intent, next)| intent == c.intent && next & (1 << c.stage) != 0)
        {
            score += 1.5;
        }
        top.insert(
            Cand {
                score,
                priority: c.priority,
                item: Item::Script(s),
            },
            |a, b| self.id_of(a).cmp(self.id_of(b)),
        );
    }
}

/// How well an FAQ answer fits what the conversation is about (multiplies its match score):
/// the product's own answers first (and never another product's), then answers for its
/// category, then general ones; answers written for other categories are dropped, and
/// category-specific answers step back a little while the category is unknown.
fn faq_fit(f: &CompiledFaq, subject: Subject) -> f32 {
    match (f.product, subject.category) {
        (Some(p), _) => {
            if subject.product == Some(p) {
                PRODUCT_FIT
            } else {
                0.0
            }
        }
        (None, _) if f.categories == 0 => 1.0,
        (None, None) => 0.9,
        (None, Some(c)) if f.categories & c.bit() != 0 => CATEGORY_FIT,
        (None, Some(_)) => 0.0,
    }
}

fn category_mask(categories: impl Iterator<Item = ProductCategory>) -> u8 {
    categories.fold(0, |m, c| m | c.bit())
}

/// History term of an item: `None` when dismissed recently (never shown again soon).
fn history(ctx: &Ctx<'_>, hash: u64) -> Option<f32> {
    let st = ctx.state;
    let mut h = 0.0;
    // A refreshed list (same turn, after feedback) keeps the order the agent saw and drops
    // what the agent just used: its own turn's shown marks do not count, its used ones hide.
    if ctx.refresh && st.used.iter().any(|m| m.id == hash && m.turn == ctx.turn) {
        return None;
    }
    if let Some(d) = st.dismissed.iter().rev().find(|m| m.id == hash) {
        if ctx.turn.saturating_sub(d.turn) < DISMISS_TURNS {
            return None;
        }
        h -= 8.0;
    }
    if let Some(m) = st
        .shown
        .iter()
        .rev()
        .find(|m| m.id == hash && !(ctx.refresh && m.turn == ctx.turn))
    {
        // The more prominently it was just shown, the more it steps back: the same question
        // twice brings a different lead, not the same list again.
        h -= if ctx.turn.saturating_sub(m.turn) <= 2 {
            RECENT_PENALTY[usize::from(m.rank).min(RECENT_PENALTY.len() - 1)]
        } else {
            2.0
        };
    }
    if st
        .used
        .iter()
        .any(|m| m.id == hash && ctx.turn.saturating_sub(m.turn) <= 5)
    {
        h -= 3.0;
    }
    Some(h)
}

fn emotion_index(label: &str) -> Option<usize> {
    huashu_phrasebook::EMOTIONS.iter().position(|e| *e == label)
}

/// The best [`KEEP`] candidates, sorted best first; an item appears once (its best score).
struct TopK {
    items: [Cand; KEEP],
    len: usize,
}

impl Default for TopK {
    fn default() -> Self {
        TopK {
            items: [Cand {
                score: f32::NEG_INFINITY,
                priority: 0,
                item: Item::Script(0),
            }; KEEP],
            len: 0,
        }
    }
}

impl TopK {
    fn insert(&mut self, c: Cand, by_id: impl Fn(Item, Item) -> std::cmp::Ordering) {
        // Strict order: score, then priority, then the smaller id first.
        let before = |a: &Cand, b: &Cand| {
            a.score
                .total_cmp(&b.score)
                .then(a.priority.cmp(&b.priority))
                .then_with(|| by_id(b.item, a.item))
                .is_gt()
        };
        // Already present (reached through two candidate lists): keep the better entry.
        if let Some(pos) = self.items[..self.len].iter().position(|x| x.item == c.item) {
            if !before(&c, &self.items[pos]) {
                return;
            }
            self.items.copy_within(pos + 1..self.len, pos);
            self.len -= 1;
        }
        let mut at = self.len;
        while at > 0 && before(&c, &self.items[at - 1]) {
            at -= 1;
        }
        if at >= KEEP {
            return;
        }
        let end = if self.len == KEEP { KEEP - 1 } else { self.len };
        self.items.copy_within(at..end, at + 1);
        self.items[at] = c;
        self.len = (self.len + 1).min(KEEP);
    }
}

/// Script text without its `{slot}` placeholders (they are not words the customer types).
fn strip_slots(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_slot = false;
    for c in text.chars() {
        match c {
            '{' => in_slot = true,
            '}' => in_slot = false,
            _ if !in_slot => out.push(c),
            _ => {}
        }
    }
    out
}

/// zh-CN name of a safety-playbook step (derived titles).
fn step_name(step: Option<SafetyStep>) -> &'static str {
    match step {
        Some(SafetyStep::FirstAction) => "第一步",
        Some(SafetyStep::Escalation) => "升级处理",
        Some(SafetyStep::FollowUp) => "跟进",
        None => "安全处理",
    }
}
