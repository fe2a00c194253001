//! Built-in cue lists: the few closed-class words every Chinese customer-service book needs.
//!
//! Modifiers here are only defaults, used when a book's `[modifiers]` list is empty; the other
//! cues (threats, repeat-asks, hypothetical and past markers) are grammar rather than shop
//! content, so they are always on and a book adds to them through its own sections.

/// Default negators (`[modifiers].negators`).
pub(crate) const NEGATORS: &[&str] = &[
    "不",
    "没",
    "没有",
    "别",
    "不是",
    "并不",
    "并没有",
    "不会",
    "未",
    "无",
    "毫无",
    "从不",
    "从没",
    "不用",
    "不要",
    "甭",
    "非",
];

/// Default intensifiers (`[modifiers].intensifiers`).
pub(crate) const INTENSIFIERS: &[(&str, f32)] = &[
    ("太", 1.5),
    ("非常", 1.5),
    ("特别", 1.4),
    ("超", 1.4),
    ("超级", 1.5),
    ("十分", 1.4),
    ("极其", 1.6),
    ("真的", 1.3),
    ("很", 1.3),
    ("好", 1.2),
    ("简直", 1.4),
    ("实在", 1.3),
    ("巨", 1.4),
    ("贼", 1.4),
    ("相当", 1.3),
];

/// Default diminishers (`[modifiers].diminishers`).
pub(crate) const DIMINISHERS: &[(&str, f32)] = &[
    ("有点", 0.6),
    ("有一点", 0.6),
    ("有些", 0.6),
    ("稍微", 0.5),
    ("略", 0.6),
    ("一点", 0.6),
    ("些许", 0.5),
];

/// Complaint threats (seed 000/004: 投诉, 差评, 12315, 消协, 曝光…). Complaint-intent keywords of
/// the book count as threats too.
pub(crate) const THREATS: &[&str] = &[
    "投诉",
    "差评",
    "12315",
    "消协",
    "消费者协会",
    "曝光",
    "举报",
    "工商局",
    "市场监管",
    "起诉",
    "告你们",
    "法院",
    "打官司",
    "律师",
    "找媒体",
    "维权",
    "黑猫",
];

/// Literal repeat-ask cues; the regexes below catch the counted forms.
pub(crate) const REPEAT_ASK: &[&str] = &[
    "又来问",
    "问了半天",
    "一直在问",
    "问过了",
    "问了好多",
    "说了好多",
    "说过了",
    "都问了",
    "问了又问",
    "再问一遍",
    "还要我说",
    "还要我问",
    "重复问",
];

/// Counted repeat-asks on normalised text (no punctuation, simplified): 第三次问了, 问了好几遍,
/// 说了多少遍了, 催了两次.
pub(crate) const REPEAT_ASK_PATTERNS: &[&str] = &[
    r"[问说催讲找]了?(好|很)?(几|多少|[两二三四五六七八九十百\d]+)(遍|次|回)",
    r"第[二三四五六七八九十\d]+[次遍回](来)?(问|说|催|找|联系|咨询|发消息|留言)",
];

/// Hypothetical markers: a trigger after one of these, in a question without 了, is a
/// pre-purchase question (这个会漏电吗), not an incident.
/// Kinds: [`Hypo::Ask`] only in a question (会, 容易); [`Hypo::Asks`] asks by itself (会不会过敏啊,
/// 是否); [`Hypo::Fear`] a worry about what may happen, question or not (怕他吞下去, 担心孩子放嘴里,
/// 防止受伤); [`Hypo::Conditional`] a supposition that even 了 does not turn into a report
/// (万一孩子误食了怎么办) — only 已经/刚才… do.
pub(crate) const HYPOTHETICAL: &[(&str, Hypo)] = &[
    ("会", Hypo::Ask),
    ("容易", Hypo::Ask),
    ("可能", Hypo::Ask),
    ("会不会", Hypo::Asks),
    ("能不能", Hypo::Asks),
    ("是否", Hypo::Asks),
    ("是不是", Hypo::Asks),
    ("有没有", Hypo::Asks),
    ("容不容易", Hypo::Asks),
    ("担心", Hypo::Fear),
    ("怕", Hypo::Fear),
    ("生怕", Hypo::Fear),
    ("以防", Hypo::Fear),
    ("防止", Hypo::Fear),
    ("避免", Hypo::Fear),
    ("以免", Hypo::Fear),
    ("免得", Hypo::Fear),
    ("万一", Hypo::Conditional),
    ("如果", Hypo::Conditional),
    ("要是", Hypo::Conditional),
    ("假如", Hypo::Conditional),
    ("假设", Hypo::Conditional),
];

/// Kind of a hypothetical marker (see [`HYPOTHETICAL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hypo {
    Ask,
    Asks,
    Fear,
    Conditional,
}

/// Past/incident markers: something already happened.
pub(crate) const PAST: &[&str] = &["了", "已经", "刚才", "刚刚", "突然", "结果", "昨天", "今天"];

/// Chars that may sit between a negator or modifier and the word it modifies (不是很急,
/// 一点都不生气, 不想投诉).
pub(crate) const FILLER: &str = "是很太会要用怎么那么算有觉得感到再也都特别一点儿还真的想说得";

/// Default emoji evidence (label, weight), used for every emoji the book's lexicons do not list.
/// Labels: anger, anxiety, disappointment, positive.
pub(crate) const EMOJI: &[(&str, &str, f32)] = &[
    ("😡", "anger", 0.9),
    ("🤬", "anger", 1.0),
    ("😠", "anger", 0.8),
    ("👿", "anger", 0.8),
    ("💢", "anger", 0.7),
    ("😤", "anger", 0.6),
    ("👎", "disappointment", 0.6),
    ("😭", "disappointment", 0.8),
    ("😢", "disappointment", 0.7),
    ("😞", "disappointment", 0.6),
    ("😔", "disappointment", 0.5),
    ("💔", "disappointment", 0.7),
    ("😩", "disappointment", 0.5),
    ("😫", "disappointment", 0.5),
    ("😓", "anxiety", 0.4),
    ("😰", "anxiety", 0.7),
    ("😱", "anxiety", 0.6),
    ("😨", "anxiety", 0.6),
    ("🙏", "anxiety", 0.35),
    ("⏰", "anxiety", 0.4),
    ("👍", "positive", 0.7),
    ("😊", "positive", 0.6),
    ("😄", "positive", 0.6),
    ("😁", "positive", 0.6),
    ("😀", "positive", 0.5),
    ("🥰", "positive", 0.7),
    ("😍", "positive", 0.7),
    ("❤", "positive", 0.6),
    ("👏", "positive", 0.6),
    ("🌹", "positive", 0.5),
    ("💯", "positive", 0.5),
    ("🤝", "positive", 0.4),
];
