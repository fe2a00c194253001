//! Per-conversation memory: what happened so far in one chat, so the next ranking can take it
//! into account (complaint stage, anger trend, repeated asks, waiting time, slot values, what was
//! already suggested and what the agent did with it).
//!
//! A `ConversationState` is owned by whoever serialises a conversation's turns (the server keeps
//! one per live chat in its conversation map; `huashu analyze` keeps one per `conversation`). It
//! is plain owned data (`Clone + Send`, no locks, no references into a phrasebook), so it survives
//! a phrasebook reload: scripts are remembered by a stable hash of their id, intents by their
//! index in the fixed [`INTENTS`] list. Every history it keeps is bounded, so a chat that runs
//! for hours costs the same memory as one that just started.

use std::collections::{BTreeMap, VecDeque};

use huashu_phrasebook::{INTENTS, UrgentKind};
use huashu_understand::{Context, Understanding};
use serde::{Deserialize, Serialize};

/// Emotion points kept for the trend.
const EMOTION_WINDOW: usize = 10;
/// Suggested scripts remembered (about six turns of five suggestions).
const SHOWN_CAP: usize = 32;
/// Dismissed / used scripts remembered.
const FEEDBACK_CAP: usize = 16;

/// Where a complaint is in the flow of seeds 003/004: 倾听/安抚 → 道歉 → 方案 → 跟进.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStage {
    /// Let the customer vent; acknowledge the feeling.
    #[default]
    ListenSoothe,
    /// The customer has been heard; apologise.
    Apologise,
    /// The agent apologised; now offer a concrete solution.
    Solution,
    /// A solution was offered; confirm, follow up, close.
    FollowUp,
}

impl ComplaintStage {
    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintStage::ListenSoothe => "listen_soothe",
            ComplaintStage::Apologise => "apologise",
            ComplaintStage::Solution => "solution",
            ComplaintStage::FollowUp => "follow_up",
        }
    }
}

/// Direction of the customer's anger over the last turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Rising,
    #[default]
    Steady,
    Falling,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Rising => "rising",
            Trend::Steady => "steady",
            Trend::Falling => "falling",
        }
    }
}

/// One point of the emotion trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EmotionPoint {
    pub label: &'static str,
    pub intensity: f32,
}

/// A script shown to the agent at a customer turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) id: u64,
    pub(crate) turn: u32,
    /// Position it was shown at (0 = top); feedback marks use 0.
    pub(crate) rank: u8,
}

/// Per-conversation memory. One per live conversation; owned by whoever serialises its turns.
#[derive(Debug, Clone, Default)]
pub struct ConversationState {
    /// Known slot values from earlier turns (订单号, 物流单号, …); latest wins.
    pub slots: BTreeMap<String, String>,
    turns: u32,
    agent_turns: u32,
    emotions: VecDeque<EmotionPoint>,
    trend: Trend,
    /// Customer turns per intent (primary intent only), indexed like [`INTENTS`].
    asks: [u32; INTENTS.len()],
    repeat_ask_turns: u32,
    last_repeat_ask: bool,
    last_customer_ms: Option<i64>,
    last_agent_ms: Option<i64>,
    /// First customer turn not yet answered by the agent.
    unanswered_since: Option<i64>,
    /// How long the customer had been waiting when they wrote the latest turn.
    last_wait_ms: i64,
    complaint: bool,
    stage: ComplaintStage,
    risk: f32,
    /// Consecutive customer turns that raised the risk (0 when the latest one did not).
    risk_rising_turns: u32,
    /// Safety mode (seed 004): set by the first urgent customer turn, kept through every later
    /// turn (urgent or not) until an agent resolves it; holds the most specific kind seen.
    safety: Option<UrgentKind>,
    pub(crate) shown: VecDeque<Mark>,
    pub(crate) dismissed: VecDeque<Mark>,
    pub(crate) used: VecDeque<Mark>,
    /// Sku of the catalogue product the conversation is about (named in a turn, or set by the
    /// integrator); see `catalog.rs`.
    pub(crate) product: Option<String>,
    /// Category named without a product (杯子 → 家居餐具), when no product is known.
    pub(crate) category: Option<huashu_phrasebook::ProductCategory>,
    /// The agent's latest line (bounded) and the customer's last clear topic: what a short
    /// follow-up (是的, 就那个赠品) refers to. See [`ConversationState::context`].
    last_agent_text: String,
    topic: Option<&'static str>,
}

/// At most this many chars of the agent's latest line are kept as context.
const CONTEXT_CHARS: usize = 120;

/// Words of an agent apology (moves the complaint to the solution stage).
const AGENT_APOLOGY: &[&str] = &[
    "抱歉",
    "对不起",
    "不好意思",
    "歉意",
    "致歉",
    "给您添麻烦",
    "深表",
];
/// Words of an agent offering a solution (moves the complaint to follow-up).
const AGENT_SOLUTION: &[&str] = &[
    "退款",
    "补发",
    "换货",
    "重发",
    "为您处理",
    "帮您处理",
    "给您处理",
    "申请",
    "赔偿",
    "补偿",
    "退货",
    "优惠券",
    "红包",
    "安排",
    "加急",
];
/// Words of an agent acknowledging feelings (listening done → apologise next).
const AGENT_SOOTHE: &[&str] = &[
    "理解",
    "别着急",
    "别生气",
    "不要着急",
    "心情",
    "感受",
    "明白您",
];

/// Intents that make a turn part of a complaint flow by themselves.
const COMPLAINT_INTENTS: &[&str] = &[
    "quality_issue",
    "complaint",
    "escalation",
    "service_attitude",
];

impl ConversationState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Customer turns seen so far.
    pub fn turns(&self) -> u32 {
        self.turns
    }

    /// Agent turns seen so far.
    pub fn agent_turns(&self) -> u32 {
        self.agent_turns
    }

    /// Where the complaint flow is (meaningful when [`Self::in_complaint`]).
    pub fn stage(&self) -> ComplaintStage {
        self.stage
    }

    /// The incident kind while the conversation is in safety mode, `None` otherwise.
    pub fn safety(&self) -> Option<UrgentKind> {
        self.safety
    }

    /// Ends safety mode (an agent resolved the incident); returns whether it was on.
    pub fn resolve_safety(&mut self) -> bool {
        self.safety.take().is_some()
    }

    /// Sets safety mode as recorded elsewhere (a server restoring a conversation from storage,
    /// where the stored fact wins over what replaying masked turns re-derives).
    pub fn restore_safety(&mut self, kind: Option<UrgentKind>) {
        self.safety = kind;
    }

    /// Whether a complaint flow is under way.
    pub fn in_complaint(&self) -> bool {
        self.complaint
    }

    /// Probability-like score in [0, 1] that the chat ends in an escalation or complaint.
    pub fn escalation_risk(&self) -> f32 {
        self.risk
    }

    /// How many customer turns in a row raised the escalation risk, up to the latest one (0 when
    /// the latest customer turn did not raise it): the "rising over N turns" of an alert.
    pub fn risk_rising_turns(&self) -> u32 {
        self.risk_rising_turns
    }

    /// Direction of the customer's anger over the last turns.
    pub fn trend(&self) -> Trend {
        self.trend
    }

    /// The last (at most ten) emotions, oldest first.
    pub fn emotions(&self) -> impl Iterator<Item = EmotionPoint> + '_ {
        self.emotions.iter().copied()
    }

    /// How often the customer raised `intent` as their main concern.
    pub fn ask_count(&self, intent: &str) -> u32 {
        intent_index(intent).map_or(0, |i| self.asks[i])
    }

    /// Whether the latest customer turn said they already asked.
    pub fn repeat_ask(&self) -> bool {
        self.last_repeat_ask
    }

    /// How long the customer has been waiting at `now_ms` (None when the agent spoke last).
    pub fn waiting_ms(&self, now_ms: i64) -> Option<i64> {
        self.unanswered_since
            .map(|t| now_ms.saturating_sub(t).max(0))
    }

    /// Time of the last customer turn and the last agent reply (ms), when given.
    pub fn last_times(&self) -> (Option<i64>, Option<i64>) {
        (self.last_customer_ms, self.last_agent_ms)
    }

    /// How to address the customer ({称呼}); `None` goes back to the book's default (亲).
    pub fn set_customer_name(&mut self, name: Option<&str>) {
        match name.map(clean_value) {
            Some(n) if !n.is_empty() => {
                self.slots.insert("称呼".to_string(), n);
            }
            _ => {
                self.slots.remove("称呼");
            }
        }
    }

    /// Sets a slot value by hand (integrator context such as 店铺); empty removes it.
    pub fn set_slot(&mut self, name: &str, value: &str) {
        let v = clean_value(value);
        if v.is_empty() {
            self.slots.remove(name);
        } else {
            self.slots.insert(name.to_string(), v);
        }
    }

    /// Sets the catalogue product the customer is looking at (the product page a chat was opened
    /// from); `None` or an empty sku forgets it. A later turn naming another product wins.
    pub fn set_product(&mut self, sku: Option<&str>) {
        self.product = sku
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if self.product.is_some() {
            self.category = None;
        }
    }

    /// Sku of the product the conversation is about, when one is known.
    pub fn product(&self) -> Option<&str> {
        self.product.as_deref()
    }

    /// What came before the next customer turn, for `Understander::analyze_in`.
    pub fn context(&self) -> Context<'_> {
        Context {
            agent: (!self.last_agent_text.is_empty()).then_some(self.last_agent_text.as_str()),
            topic: self.topic,
        }
    }

    /// Records a customer turn (call before `Suggester::suggest`).
    pub fn observe_customer(&mut self, u: &Understanding, at_ms: Option<i64>) {
        self.turns = self.turns.saturating_add(1);
        if u.confident && !matches!(u.primary_intent(), "other" | "greeting" | "thanks_closing") {
            self.topic = Some(u.primary_intent());
        }

        // Safety mode: entered on the first urgent turn, never left by a calm one.
        if let Some(k) = u.urgent_kind
            && self
                .safety
                .is_none_or(|cur| k.specificity() < cur.specificity())
        {
            self.safety = Some(k);
        }

        // Waiting: the customer writes again while still unanswered.
        if let Some(at) = at_ms {
            match self.unanswered_since {
                Some(first) => self.last_wait_ms = at.saturating_sub(first).max(0),
                None => {
                    self.unanswered_since = Some(at);
                    self.last_wait_ms = 0;
                }
            }
            self.last_customer_ms = Some(at);
        }

        // Emotion trajectory and trend.
        if self.emotions.len() == EMOTION_WINDOW {
            self.emotions.pop_front();
        }
        let intensity = if u.emotion.intensity.is_finite() {
            u.emotion.intensity.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.emotions.push_back(EmotionPoint {
            label: u.emotion.label,
            intensity,
        });
        self.trend = self.compute_trend();

        // Repeated asks.
        let primary = u.primary_intent();
        if let Some(i) = intent_index(primary) {
            self.asks[i] = self.asks[i].saturating_add(1);
        }
        self.last_repeat_ask = u.repeat_ask;
        if u.repeat_ask {
            self.repeat_ask_turns = self.repeat_ask_turns.saturating_add(1);
        }

        // Slots from entities; the latest value wins.
        for e in &u.entities {
            let slot = match e.kind {
                "order_id" => "订单号",
                "tracking_no" => "物流单号",
                "amount" => "金额",
                "size" => "尺码",
                "phone" => "手机号",
                _ => continue,
            };
            let value = if e.kind == "amount" {
                amount_value(&e.text)
            } else {
                clean_value(&e.text)
            };
            remember(&mut self.slots, slot, value);
            if let Some(name) = e.carrier.and_then(carrier_name) {
                remember(&mut self.slots, "快递公司", name.to_string());
            }
        }

        // Complaint flow: customer signals.
        let anger = anger_level(u.emotion.label, intensity);
        let complaint_turn = u.threat
            || (anger >= 0.3 && matches!(u.emotion.label, "anger" | "disappointment"))
            || u.intents.iter().any(|i| COMPLAINT_INTENTS.contains(&i.id));
        if complaint_turn && !self.complaint {
            self.complaint = true;
            self.stage = ComplaintStage::ListenSoothe;
        } else if self.complaint {
            let calm = matches!(u.emotion.label, "neutral" | "positive");
            self.stage = match self.stage {
                // The customer has calmed down: the listening worked, apologise next.
                ComplaintStage::ListenSoothe if calm => ComplaintStage::Apologise,
                // Thanks after a solution: follow up and close.
                ComplaintStage::Solution
                    if u.emotion.label == "positive" || primary == "thanks_closing" =>
                {
                    ComplaintStage::FollowUp
                }
                // Angrier or asking again after a solution: the solution did not land.
                ComplaintStage::FollowUp
                    if u.repeat_ask || (anger >= 0.5 && self.trend == Trend::Rising) =>
                {
                    ComplaintStage::Solution
                }
                s => s,
            };
        }

        let before = self.risk;
        self.risk = self.compute_risk(u, anger);
        self.risk_rising_turns = if self.risk > before + 0.005 {
            self.risk_rising_turns.saturating_add(1)
        } else {
            0
        };
    }

    /// Records an agent turn.
    pub fn observe_agent(&mut self, text: &str, at_ms: Option<i64>) {
        self.agent_turns = self.agent_turns.saturating_add(1);
        self.last_agent_text.clear();
        self.last_agent_text
            .extend(text.trim().chars().take(CONTEXT_CHARS));
        if let Some(at) = at_ms {
            self.last_agent_ms = Some(at);
        }
        self.unanswered_since = None;
        if !self.complaint {
            return;
        }
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        let apology = has(AGENT_APOLOGY);
        let solution = has(AGENT_SOLUTION);
        let soothe = has(AGENT_SOOTHE);
        let next = if solution {
            ComplaintStage::FollowUp
        } else if apology {
            ComplaintStage::Solution
        } else if soothe {
            ComplaintStage::Apologise
        } else {
            self.stage
        };
        // The flow only moves forward on agent turns; a customer turn may send it back.
        self.stage = self.stage.max(next);
        if solution {
            self.risk *= 0.8;
        } else if apology || soothe {
            self.risk *= 0.9;
        }
    }

    /// Records what the agent did with a suggestion. `suggestion` is the script/FAQ id or the
    /// engine's per-turn id (`"<turn>:<script>"`).
    pub fn feedback(&mut self, suggestion: &str, action: crate::FeedbackAction) {
        let id = id_hash(strip_turn(suggestion));
        let mark = Mark {
            id,
            turn: self.turns,
            rank: 0,
        };
        let list = match action {
            crate::FeedbackAction::Dismissed => &mut self.dismissed,
            crate::FeedbackAction::Used | crate::FeedbackAction::Edited => &mut self.used,
        };
        list.retain(|m| m.id != id);
        if list.len() == FEEDBACK_CAP {
            list.pop_front();
        }
        list.push_back(mark);
    }

    /// Records the scripts suggested at the current turn.
    pub(crate) fn record_shown(&mut self, id: u64, rank: usize) {
        if self.shown.len() == SHOWN_CAP {
            self.shown.pop_front();
        }
        self.shown.push_back(Mark {
            id,
            turn: self.turns,
            rank: rank.min(usize::from(u8::MAX)) as u8,
        });
    }

    fn compute_trend(&self) -> Trend {
        let n = self.emotions.len();
        if n < 2 {
            return Trend::Steady;
        }
        let level = |p: &EmotionPoint| anger_level(p.label, p.intensity);
        // Mean of the last two against the mean of up to three before them.
        let recent_n = 2.min(n - 1);
        let recent: f32 = self
            .emotions
            .iter()
            .rev()
            .take(recent_n)
            .map(level)
            .sum::<f32>()
            / recent_n as f32;
        let before_n = (n - recent_n).min(3);
        let before: f32 = self
            .emotions
            .iter()
            .rev()
            .skip(recent_n)
            .take(before_n)
            .map(level)
            .sum::<f32>()
            / before_n as f32;
        let d = recent - before;
        if d > 0.15 {
            Trend::Rising
        } else if d < -0.15 {
            Trend::Falling
        } else {
            Trend::Steady
        }
    }

    fn compute_risk(&self, u: &Understanding, anger: f32) -> f32 {
        let mut r = 0.5 * anger;
        if u.threat {
            r += 0.3;
        }
        for (rank, i) in u.intents.iter().enumerate() {
            r += match (i.id, rank) {
                ("escalation", 0) => 0.35,
                ("escalation", _) => 0.2,
                ("complaint", _) => 0.1,
                ("service_attitude", _) => 0.1,
                _ => 0.0,
            };
        }
        if u.urgent {
            r += 0.1;
        }
        r += 0.1 * self.repeat_ask_turns.min(3) as f32;
        let primary_asks = intent_index(u.primary_intent()).map_or(0, |i| self.asks[i]);
        if !matches!(u.primary_intent(), "greeting" | "thanks_closing" | "other") {
            r += 0.05 * primary_asks.saturating_sub(1).min(3) as f32;
        }
        if self.trend == Trend::Rising {
            r += 0.1;
        }
        r += match self.last_wait_ms {
            w if w >= 120_000 => 0.2,
            w if w >= 30_000 => 0.1,
            _ => 0.0,
        };
        // Risk builds up and cools down slowly: a calm turn after a storm is not yet safe.
        r.max(self.risk * 0.75).clamp(0.0, 1.0)
    }
}

/// How much an emotion counts as anger (for the trend and the risk).
pub(crate) fn anger_level(label: &str, intensity: f32) -> f32 {
    match label {
        "anger" => intensity,
        "disappointment" => 0.6 * intensity,
        "anxiety" => 0.3 * intensity,
        _ => 0.0,
    }
}

pub(crate) fn intent_index(id: &str) -> Option<usize> {
    INTENTS.iter().position(|i| *i == id)
}

/// Chinese name of a carrier code, as agents write it.
pub fn carrier_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "SF" => "顺丰",
        "ZTO" => "中通",
        "YTO" => "圆通",
        "YD" => "韵达",
        "STO" => "申通",
        "JD" => "京东",
        "EMS" => "EMS",
        _ => return None,
    })
}

/// Stable 64-bit FNV-1a of a script/FAQ id: what the state remembers instead of the id itself,
/// so recording a suggestion never allocates and survives a phrasebook reload.
pub(crate) fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `"12:shipping.delay"` → `"shipping.delay"`; anything else unchanged.
fn strip_turn(s: &str) -> &str {
    match s.split_once(':') {
        Some((turn, rest)) if !turn.is_empty() && turn.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => s,
    }
}

/// Stores a slot value (latest wins), reusing the key when the slot is already known.
fn remember(slots: &mut BTreeMap<String, String>, slot: &str, value: String) {
    if value.is_empty() {
        return;
    }
    match slots.get_mut(slot) {
        Some(v) => *v = value,
        None => {
            slots.insert(slot.to_string(), value);
        }
    }
}

/// Slot values never carry braces (they would look like an unfilled slot) and are trimmed.
fn clean_value(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !matches!(c, '{' | '}'))
        .collect()
}

/// "¥199.00" / "200元" / "３０块" → the number as written, without currency signs and units.
fn amount_value(s: &str) -> String {
    let v: String = s
        .chars()
        .filter_map(|c| match c {
            '0'..='9' | '.' => Some(c),
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            '．' => Some('.'),
            _ => None,
        })
        .collect();
    if v.is_empty() { clean_value(s) } else { v }
}
