//! The in-memory phrasebook: what every engine crate compiles from. Plain data, no matchers.

use std::collections::BTreeMap;
use std::fmt;

pub use crate::sets::{EmotionLabel, Intent, REFUSED_TAGS, RuleCategory, Stage, Tag, TagKind};

/// Where a definition was written: file name inside the book directory and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The twelve intent ids of the SPEC, in [`Intent`] order (per-intent arrays index by these).
pub const INTENTS: &[&str] = Intent::IDS;

/// The five emotion label ids of the SPEC, in [`EmotionLabel`] order.
pub const EMOTIONS: &[&str] = EmotionLabel::IDS;

/// Forbidden-phrase category ids of the SPEC, in [`RuleCategory`] order.
pub const CATEGORIES: &[&str] = RuleCategory::IDS;

/// Script stage ids, in [`Stage`] order.
pub const STAGES: &[&str] = Stage::IDS;

/// What kind of safety incident an urgent turn reports (fixed ids of SPEC.md "Additions"). Each
/// kind has its own first action (seed 004: safety first), so the book groups its urgent
/// triggers and its safety scripts by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UrgentKind {
    /// Swallowed object, choking (误食、噎住、窒息).
    SwallowChoke,
    /// Allergy, skin reaction (过敏、红肿、起疹).
    Allergy,
    /// Burn, scald (烫伤、烧伤).
    Burn,
    /// Electric shock, leakage (触电、漏电).
    Electric,
    /// Smoke, fire, explosion, battery swelling (冒烟、起火、爆炸、鼓包).
    Fire,
    /// Gas leak (燃气泄漏、煤气味).
    Gas,
    /// Food poisoning, foreign body in food (食物中毒、吃出异物).
    Food,
    /// Injury, fall, cut (受伤、摔倒、割伤).
    Injury,
    /// A pet harmed (宠物误食、中毒、受伤).
    Pet,
    /// Any other safety or serious-loss case (就医, 诈骗/盗刷…).
    Other,
}

impl UrgentKind {
    /// Every kind, in the order a turn that names several picks one: the most specific first
    /// (a pet that swallowed a part is a pet case; 去医院 alone is `other`).
    pub const ALL: [UrgentKind; 10] = [
        UrgentKind::Pet,
        UrgentKind::SwallowChoke,
        UrgentKind::Gas,
        UrgentKind::Fire,
        UrgentKind::Electric,
        UrgentKind::Allergy,
        UrgentKind::Food,
        UrgentKind::Burn,
        UrgentKind::Injury,
        UrgentKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UrgentKind::SwallowChoke => "swallow_choke",
            UrgentKind::Allergy => "allergy",
            UrgentKind::Burn => "burn",
            UrgentKind::Electric => "electric",
            UrgentKind::Fire => "fire",
            UrgentKind::Gas => "gas",
            UrgentKind::Food => "food",
            UrgentKind::Injury => "injury",
            UrgentKind::Pet => "pet",
            UrgentKind::Other => "other",
        }
    }

    /// The zh-CN label agents see.
    pub fn name(self) -> &'static str {
        match self {
            UrgentKind::SwallowChoke => "误食/窒息",
            UrgentKind::Allergy => "过敏/皮肤反应",
            UrgentKind::Burn => "烫伤/烧伤",
            UrgentKind::Electric => "触电/漏电",
            UrgentKind::Fire => "冒烟/起火/爆炸",
            UrgentKind::Gas => "燃气泄漏",
            UrgentKind::Food => "食品安全",
            UrgentKind::Injury => "人身受伤",
            UrgentKind::Pet => "宠物受害",
            UrgentKind::Other => "其他紧急情况",
        }
    }

    pub fn parse(s: &str) -> Option<UrgentKind> {
        UrgentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Position in [`UrgentKind::ALL`]: lower is more specific.
    pub fn specificity(self) -> usize {
        UrgentKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(UrgentKind::ALL.len())
    }
}

impl fmt::Display for UrgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for UrgentKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for UrgentKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UrgentKind::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown urgent kind {s:?}")))
    }
}

/// Where a safety script sits in a safety playbook: what is said first, then the escalation
/// (专人、主管、赔付流程 without promises), then the follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SafetyStep {
    FirstAction,
    Escalation,
    FollowUp,
}

impl SafetyStep {
    pub fn as_str(self) -> &'static str {
        match self {
            SafetyStep::FirstAction => "first_action",
            SafetyStep::Escalation => "escalation",
            SafetyStep::FollowUp => "follow_up",
        }
    }
    pub fn parse(s: &str) -> Option<SafetyStep> {
        match s {
            "first_action" => Some(SafetyStep::FirstAction),
            "escalation" => Some(SafetyStep::Escalation),
            "follow_up" => Some(SafetyStep::FollowUp),
            _ => None,
        }
    }
}

/// Script tags that must never be suggested while a conversation is in safety mode: offering
/// compensation, asking to keep using the product, coupons, promotions, review requests. The
/// suggester filters on these tags; `huashu lint` checks that scripts saying such things carry
/// them.
pub const UNSAFE_IN_SAFETY_TAGS: &[TagKind] = &[
    TagKind::Compensation,
    TagKind::KeepUsing,
    TagKind::Coupon,
    TagKind::Promotion,
    TagKind::ReviewRequest,
];

/// zh-CN names of [`STAGES`], same order (titles derived from intent + stage).
pub const STAGE_NAMES: &[&str] = Stage::NAMES;

/// zh-CN names of [`INTENTS`], same order.
pub const INTENT_NAMES: &[&str] = Intent::NAMES;

/// How bad a forbidden hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Style advice (prefer 您 over 你).
    Hint,
    /// Should be rewritten before sending.
    Warn,
    /// Must not be sent.
    Block,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Hint => "hint",
            Severity::Warn => "warn",
            Severity::Block => "block",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "hint" => Some(Severity::Hint),
            "warn" => Some(Severity::Warn),
            "block" => Some(Severity::Block),
            _ => None,
        }
    }

    /// The zh-CN name agents see.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Hint => "措辞提示",
            Severity::Warn => "建议修改",
            Severity::Block => "禁止发送",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Severity::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown severity {s:?} (expected block, warn or hint)"
            ))
        })
    }
}

/// Where in the text a forbidden rule may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Position {
    #[default]
    Anywhere,
    /// Only as the first thing said (a reply opening with 喂).
    Start,
}

/// A customer style of seed 003.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    Rational,
    Emotional,
}

impl Style {
    pub fn as_str(self) -> &'static str {
        match self {
            Style::Rational => "rational",
            Style::Emotional => "emotional",
        }
    }
    pub fn parse(s: &str) -> Option<Style> {
        match s {
            "rational" => Some(Style::Rational),
            "emotional" => Some(Style::Emotional),
            _ => None,
        }
    }
}

/// `[book]`: identity of the book, shown in the console and stored with every event.
#[derive(Debug, Clone, Default)]
pub struct BookMeta {
    pub name: String,
    pub version: String,
    pub description: String,
    /// SHA-256 (hex, first 16 chars) over the book's files in name order: changes whenever a
    /// QA lead changes anything, so figures can be compared between versions.
    pub hash: String,
    /// `[book] corpus`: the training-corpus folder as written, relative to the book (another
    /// book's corpus can be shared: `"../default/corpus"`). `None`: the book's own `corpus/`
    /// folder, when there is one.
    pub corpus: Option<String>,
}

/// `[[rule]]`: one forbidden-phrase rule for agent text.
#[derive(Debug, Clone, PartialEq)]
pub struct ForbiddenRule {
    pub id: String,
    pub category: RuleCategory,
    pub severity: Severity,
    /// Literal phrases, matched on normalised text.
    pub phrases: Vec<String>,
    /// Regexes (Rust `regex` syntax) matched on normalised text.
    pub patterns: Vec<String>,
    /// Allow-contexts: a hit covered by an occurrence of one of these, or overlapped by one that
    /// starts before it (帮您催 + 催什么), is not a hit; never across a sentence break.
    pub allow: Vec<String>,
    /// Require a word boundary on both sides (always on for one-character phrases).
    pub boundary: bool,
    pub position: Position,
    /// The standard phrase to say instead.
    pub rewrite: String,
    pub note: String,
    pub origin: Origin,
}

/// `[[intent]]`: detection data for one of [`INTENTS`].
#[derive(Debug, Clone)]
pub struct IntentDef {
    pub id: String,
    pub name: String,
    /// Keyword → weight (typically 0.5–2.0).
    pub keywords: Vec<(String, f32)>,
    /// Regex → weight.
    pub patterns: Vec<(String, f32)>,
    /// Example utterances the load-time model trains on.
    pub examples: Vec<String>,
    pub origin: Origin,
}

/// `[[emotion]]`: lexicon and examples for one of [`EMOTIONS`].
#[derive(Debug, Clone)]
pub struct EmotionDef {
    pub label: String,
    pub words: Vec<(String, f32)>,
    pub patterns: Vec<(String, f32)>,
    pub examples: Vec<String>,
    pub origin: Origin,
}

/// `[modifiers]`: words that change how emotion and urgency words count.
#[derive(Debug, Clone, Default)]
pub struct Modifiers {
    /// Negate a following lexicon word within a short window (我不生气).
    pub negators: Vec<String>,
    /// Multiply the weight of a following lexicon word (太, 非常).
    pub intensifiers: Vec<(String, f32)>,
    /// Soften a following word (有点, 稍微).
    pub diminishers: Vec<(String, f32)>,
}

/// `[urgent]`: safety and serious-loss triggers (seed 004: safety first). Triggers listed
/// directly under `[urgent]` are of kind `other`; `[[urgent.group]]` tables give a kind.
#[derive(Debug, Clone, Default)]
pub struct UrgentDef {
    pub words: Vec<String>,
    pub patterns: Vec<String>,
    /// Benign contexts that contain a trigger (防过敏, 不会漏电吧? is still a question…).
    pub allow: Vec<String>,
    /// Triggers grouped by the kind of incident they report.
    pub groups: Vec<UrgentGroup>,
    pub origin: Origin,
}

/// `[[urgent.group]]`: the triggers of one [`UrgentKind`].
#[derive(Debug, Clone)]
pub struct UrgentGroup {
    pub kind: UrgentKind,
    pub words: Vec<String>,
    pub patterns: Vec<String>,
    pub origin: Origin,
}

/// `[style]`: markers of rational vs emotional customers (seed 003).
#[derive(Debug, Clone, Default)]
pub struct StyleDef {
    pub rational: Vec<(String, f32)>,
    pub emotional: Vec<(String, f32)>,
    pub origin: Origin,
}

/// `[[script]]`: one reply template.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub id: String,
    pub intent: Intent,
    pub stage: Stage,
    /// Emotion filter: empty means any emotion.
    pub emotions: Vec<EmotionLabel>,
    /// Style filter: `None` means any style.
    pub style: Option<Style>,
    /// Only for urgent (safety) turns and conversations in safety mode.
    pub urgent: bool,
    /// The incident kind this safety script is for (implies `urgent`); `None` fits any kind.
    pub urgent_kind: Option<UrgentKind>,
    /// Its place in the safety playbook (implies `urgent`).
    pub safety: Option<SafetyStep>,
    /// Short zh-CN label shown to the agent above the text (empty: derived from intent + stage).
    pub title: String,
    /// What the script is for (empathy, solution, …) and the product categories it fits.
    pub tags: Vec<Tag>,
    /// Text with `{slot}` placeholders, every slot declared in `[slots]`.
    pub text: String,
    /// Higher comes first among equals (default 0).
    pub priority: i32,
    pub origin: Origin,
}

impl Script {
    /// The product categories named among the script's tags (`tags = ["solution", "服装鞋包"]`):
    /// such a script fits only conversations about those categories (or about no known one).
    pub fn categories(&self) -> impl Iterator<Item = ProductCategory> + '_ {
        self.tags.iter().filter_map(|t| match t {
            Tag::Category(c) => Some(*c),
            Tag::Kind(_) => None,
        })
    }

    /// Whether the script carries this behaviour tag.
    pub fn has(&self, kind: TagKind) -> bool {
        self.tags.contains(&Tag::Kind(kind))
    }
}

/// `[[faq]]`: a repeated question and the answer the shop gives.
#[derive(Debug, Clone)]
pub struct FaqEntry {
    pub id: String,
    /// Ways customers ask it.
    pub questions: Vec<String>,
    pub answer: String,
    /// Intent the entry belongs to (optional).
    pub intent: Option<Intent>,
    /// Where the answer comes from (policy name, page), shown to the agent.
    pub source: String,
    /// Short zh-CN label shown to the agent (empty: the first question).
    pub title: String,
    /// Product categories the answer applies to; empty means every category (`"all"`).
    pub categories: Vec<ProductCategory>,
    /// The catalogue product (sku) this answer is about, for per-product FAQ (`[[product.faq]]`).
    pub product: Option<String>,
    pub origin: Origin,
}

/// The merchandise categories of a general store (fixed ids; the TOML may use either the id or
/// the Chinese name). FAQ answers and scripts are tagged with the categories they fit, so that a
/// mug question never gets clothing washing advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProductCategory {
    /// 服装鞋包: clothing, shoes, bags.
    Apparel,
    /// 家居餐具: home goods, tableware, kitchenware.
    Home,
    /// 数码家电: electronics, accessories, appliances.
    Digital,
    /// 食品生鲜: food and fresh produce.
    Food,
    /// 美妆个护: cosmetics, skincare, personal care.
    Beauty,
    /// 母婴玩具: baby products and toys.
    BabyToys,
}

impl ProductCategory {
    pub const ALL: [ProductCategory; 6] = [
        ProductCategory::Apparel,
        ProductCategory::Home,
        ProductCategory::Digital,
        ProductCategory::Food,
        ProductCategory::Beauty,
        ProductCategory::BabyToys,
    ];

    /// Stable id (reports, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            ProductCategory::Apparel => "apparel",
            ProductCategory::Home => "home",
            ProductCategory::Digital => "digital",
            ProductCategory::Food => "food",
            ProductCategory::Beauty => "beauty",
            ProductCategory::BabyToys => "baby_toys",
        }
    }

    /// The Chinese name QA leads write and agents read.
    pub fn name(self) -> &'static str {
        match self {
            ProductCategory::Apparel => "服装鞋包",
            ProductCategory::Home => "家居餐具",
            ProductCategory::Digital => "数码家电",
            ProductCategory::Food => "食品生鲜",
            ProductCategory::Beauty => "美妆个护",
            ProductCategory::BabyToys => "母婴玩具",
        }
    }

    /// Parses an id or a Chinese name.
    pub fn parse(s: &str) -> Option<ProductCategory> {
        let s = s.trim();
        ProductCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.name() == s)
    }

    /// Bit of this category in a category mask (`u8`).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for ProductCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[[product]]` (usually in `catalog.toml`): one catalogue product of the shop.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub sku: String,
    pub title: String,
    /// Other names customers use for it (马克杯, 杯子); matched like the title.
    pub aliases: Vec<String>,
    pub category: ProductCategory,
    /// Attribute → value (材质 = 陶瓷), in file order; shown to the agent.
    pub attributes: Vec<(String, String)>,
    pub origin: Origin,
}

/// `[[category]]`: words that name a category without naming a product (杯子, 碗 → 家居餐具).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryWords {
    pub category: ProductCategory,
    pub words: Vec<String>,
    pub origin: Origin,
}

/// One labelled customer line of the book's training corpus (`corpus/*.tsv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusLine {
    /// One or more of [`INTENTS`], primary first.
    pub intents: Vec<String>,
    /// One of [`EMOTIONS`].
    pub emotion: String,
    pub text: String,
    /// The agent's previous line, for a reply that only makes sense after it (是的).
    pub context: Option<String>,
    /// File (relative to the book directory) and 1-based line.
    pub origin: Origin,
}

/// A compiled-from-nothing, validated book: the input of every engine crate.
#[derive(Debug, Clone, Default)]
pub struct Phrasebook {
    pub meta: BookMeta,
    /// Slot name → default value (empty = no default: filled from entities/context or not shown).
    pub slots: BTreeMap<String, String>,
    pub rules: Vec<ForbiddenRule>,
    pub intents: Vec<IntentDef>,
    pub emotions: Vec<EmotionDef>,
    pub modifiers: Modifiers,
    pub urgent: UrgentDef,
    pub style: StyleDef,
    pub scripts: Vec<Script>,
    /// Shop FAQ and the per-product FAQ of the catalogue (those carry `product`).
    pub faq: Vec<FaqEntry>,
    /// Labelled customer lines the models train on, besides the intents' and emotions' examples.
    pub corpus: Vec<CorpusLine>,
    /// The shop's catalogue (`[[product]]`).
    pub products: Vec<Product>,
    /// Category words (`[[category]]`).
    pub category_words: Vec<CategoryWords>,
}

impl serde::Serialize for Style {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
