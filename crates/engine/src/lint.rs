//! `huashu lint`: every invariant of a phrasebook that needs compiled matchers.
//!
//! Shape checks (unique ids, known categories, slots, intents, stages) happen while loading; this
//! adds: everything compiles (regexes, automaton, model), no script and no rewrite trips a
//! block/warn rule, every intent has examples to train on, every rule's rewrite is a finished,
//! standard-phrase sentence that promises nothing (the engine pastes it into the agent's draft as
//! it stands: see `rewrite.rs`); and the safety and truthfulness
//! rules of issue 10: a book that detects urgency has a first-action script for every urgent
//! kind, a script that offers compensation, keep-using, coupons, promotions or reviews carries
//! the tag safety mode filters on, and no script or FAQ answer states an order status, a
//! shipping time or an action taken unless the fact comes from a data slot.

use std::sync::LazyLock;

use huashu_phrasebook::{
    Origin, Phrasebook, Problem, SafetyStep, Severity, TagKind, UNSAFE_IN_SAFETY_TAGS, UrgentKind,
    slots_in,
};
use regex::Regex;

use crate::{Engine, EngineError, followup};

/// Placeholders an agent would have to fill in ("麻烦您先……", "XX先生", "{订单号}").
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"……|…|\.\.\.|[xX]{2}|[{}｛｝]|_{2,}|＿").expect("static regex"));

/// Claims of something already done ("已为您备注", "已经帮您加急").
static CLAIM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"已经?(为|帮|给|替)(您|你)|已经?(记录|备注|登记|提交|转交|转给|同步|标记|加急|申请|安排|处理好|退款|补发)",
    )
    .expect("static regex")
});

/// What is wrong with a rule's rewrite as a sentence to paste into a draft, if anything.
fn rewrite_problem(rewrite: &str) -> Option<String> {
    if rewrite.trim().is_empty() {
        return Some("rewrite is empty".into());
    }
    if let Some(m) = PLACEHOLDER.find(rewrite) {
        return Some(format!(
            "rewrite holds the placeholder {:?}: it is pasted into drafts as it stands",
            m.as_str()
        ));
    }
    if let Some(f) = followup::find(rewrite) {
        return Some(format!(
            "rewrite promises a follow-up ({:?}) the agent's draft did not make",
            f.text
        ));
    }
    if let Some(m) = CLAIM.find(rewrite) {
        return Some(format!(
            "rewrite claims something was done ({:?}) that nobody checked",
            m.as_str()
        ));
    }
    None
}

/// All problems of `book`; empty when it is fit to publish.
pub fn lint(book: &Phrasebook) -> Vec<Problem> {
    let engine = match Engine::compile(book.clone()) {
        Ok(e) => e,
        Err(EngineError::Compile(p)) => return p.0,
        Err(EngineError::Load(e)) => {
            return vec![Problem {
                origin: Default::default(),
                id: None,
                message: e.to_string(),
            }];
        }
    };
    lint_compiled(&engine)
}

/// [`lint`] of a book already compiled (the publishing gate compiles once).
pub fn lint_compiled(engine: &Engine) -> Vec<Problem> {
    let book = engine.book();
    let mut problems = Vec::new();
    for s in &book.scripts {
        let text = with_sample_slots(book, &s.text);
        for hit in engine.check_draft(&text) {
            if hit.severity != Severity::Hint {
                problems.push(Problem {
                    origin: s.origin.clone(),
                    id: Some(s.id.clone()),
                    message: format!(
                        "script text trips {} rule {} on {:?}",
                        hit.severity, hit.rule, hit.text
                    ),
                });
            }
        }
    }
    for r in &book.rules {
        if let Some(message) = rewrite_problem(&r.rewrite) {
            problems.push(Problem {
                origin: r.origin.clone(),
                id: Some(r.id.clone()),
                message,
            });
        }
        for hit in engine.check_draft(&r.rewrite) {
            if hit.severity != Severity::Hint {
                problems.push(Problem {
                    origin: r.origin.clone(),
                    id: Some(r.id.clone()),
                    message: format!(
                        "rewrite trips {} rule {} on {:?}",
                        hit.severity, hit.rule, hit.text
                    ),
                });
            }
        }
    }
    for f in &book.faq {
        for hit in engine.check_draft(&f.answer) {
            if hit.severity != Severity::Hint {
                problems.push(Problem {
                    origin: f.origin.clone(),
                    id: Some(f.id.clone()),
                    message: format!(
                        "FAQ answer trips {} rule {} on {:?}",
                        hit.severity, hit.rule, hit.text
                    ),
                });
            }
        }
    }
    safety_rules(book, &mut problems);
    for i in &book.intents {
        if i.examples.is_empty() && i.keywords.is_empty() && i.patterns.is_empty() {
            problems.push(Problem {
                origin: i.origin.clone(),
                id: Some(i.id.clone()),
                message: "intent has no keywords, patterns or examples: it can never be detected"
                    .into(),
            });
        }
    }
    problems
}

/// Words that show a script offers what safety mode must never offer, per tag of
/// [`UNSAFE_IN_SAFETY_TAGS`]. Matched on the raw text at lint time only; at run time the
/// suggester filters on the tags.
const UNSAFE_MARKERS: &[(TagKind, &[&str])] = &[
    (
        TagKind::Compensation,
        &["补偿", "赔偿", "心意", "红包", "返现", "补贴"],
    ),
    (
        TagKind::KeepUsing,
        &["继续使用", "继续用", "照常使用", "正常使用", "不影响使用"],
    ),
    (TagKind::Coupon, &["优惠券", "领券", "代金券", "无门槛"]),
    (
        TagKind::Promotion,
        &[
            "优惠", "满减", "折扣", "秒杀", "特价", "福利", "赠品", "加购",
        ],
    ),
    (
        TagKind::ReviewRequest,
        &["好评", "评价", "五星", "晒单", "评分"],
    ),
];

/// Phrases that state an order's status, a shipping time or an action already taken. A text
/// holding one must take the fact from a data slot ([`DATA_SLOTS`]) or say it as an offer or a
/// condition (我这就帮您备注…, 我帮您查一下是否已发货).
pub const CLAIM_MARKERS: &[&str] = &[
    "还未发货",
    "还没发货",
    "已发货",
    "已经发货",
    "已发出",
    "已经发出",
    "已签收",
    "已经签收",
    "已揽收",
    "已退款",
    "已经退款",
    "已帮您",
    "已为您",
    "已经帮您",
    "已经为您",
    "已同步",
    "已标记",
    "已备注",
    "已登记",
    "已加急",
    "已上报",
    "已升级",
    "已记录",
    "已经记录",
    "已处理",
    "已经处理",
    "已办理",
    "已经办理",
    "已安排",
    "已提交",
    "已联系",
    "已核实",
    "处理好了",
    "办理好了",
];

/// Slots filled from the shop's order data (empty defaults: a script using one shows only
/// when the lookup filled it).
pub const DATA_SLOTS: &[&str] = &["订单状态", "物流状态", "发货时间", "签收时间"];

fn problem_at(origin: &Origin, id: &str, message: String) -> Problem {
    Problem {
        origin: origin.clone(),
        id: Some(id.to_string()),
        message,
    }
}

/// Words that, just before a marker, make it a condition or a question rather than a claim
/// (如果已经发出…, 帮您查一下是否已发货).
const CONDITIONS: &[&str] = &["如果", "是否", "若", "要是", "假如", "万一"];

/// The claim marker in `text` when it uses no data slot and states it as a fact somewhere.
fn unbacked_claim(text: &str) -> Option<&'static str> {
    let backed = slots_in(text).is_ok_and(|slots| slots.iter().any(|s| DATA_SLOTS.contains(s)));
    if backed {
        return None;
    }
    CLAIM_MARKERS.iter().copied().find(|m| {
        text.match_indices(m).any(|(at, _)| {
            let head = &text[..at];
            let from = head.char_indices().rev().nth(2).map_or(0, |(i, _)| i);
            !CONDITIONS.iter().any(|c| head[from..].contains(c))
        })
    })
}

fn safety_rules(book: &Phrasebook, problems: &mut Vec<Problem>) {
    let u = &book.urgent;
    let detects = !u.words.is_empty() || !u.patterns.is_empty() || !u.groups.is_empty();
    if detects {
        for kind in UrgentKind::ALL {
            let has_first = book
                .scripts
                .iter()
                .any(|s| s.urgent_kind == Some(kind) && s.safety == Some(SafetyStep::FirstAction));
            if !has_first {
                problems.push(problem_at(
                    &u.origin,
                    kind.as_str(),
                    format!(
                        "urgent kind {kind} ({}) has no first-action script (urgent_kind = \"{kind}\", safety = \"first_action\")",
                        kind.name()
                    ),
                ));
            }
        }
    }
    for s in &book.scripts {
        for (tag, markers) in UNSAFE_MARKERS {
            debug_assert!(UNSAFE_IN_SAFETY_TAGS.contains(tag));
            if s.has(*tag) {
                continue;
            }
            if let Some(m) = markers.iter().find(|m| s.text.contains(*m)) {
                problems.push(problem_at(
                    &s.origin,
                    &s.id,
                    format!(
                        "script text offers {m:?}: tag it \"{tag}\" so that safety mode never suggests it"
                    ),
                ));
            }
        }
        if let Some(m) = unbacked_claim(&s.text) {
            problems.push(problem_at(
                &s.origin,
                &s.id,
                format!(
                    "script states {m:?} as done or known without a data slot ({}): say it as an offer or a condition",
                    DATA_SLOTS.iter().map(|d| format!("{{{d}}}")).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    for f in &book.faq {
        if let Some(m) = unbacked_claim(&f.answer) {
            problems.push(problem_at(
                &f.origin,
                &f.id,
                format!("FAQ answer states {m:?} as done or known without a data slot"),
            ));
        }
    }
}

/// The script text with each slot replaced by its default, or a neutral sample when it has none,
/// so the guard sees what an agent would actually send.
fn with_sample_slots(book: &Phrasebook, text: &str) -> String {
    let Ok(slots) = slots_in(text) else {
        return text.to_string();
    };
    let mut out = text.to_string();
    for slot in slots {
        let value = match book.slots.get(slot).map(String::as_str) {
            Some(v) if !v.is_empty() => v,
            _ => "123456",
        };
        out = out.replace(&format!("{{{slot}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = "[book]\nname = \"t\"\n[slots]\n\"称呼\" = \"亲\"\n\"订单状态\" = \"\"\n";

    fn first_actions() -> String {
        UrgentKind::ALL
            .iter()
            .map(|k| {
                format!(
                    "[[script]]\nid = \"safety.{k}\"\nintent = \"quality_issue\"\nstage = \"solve\"\nurgent_kind = \"{k}\"\nsafety = \"first_action\"\ntags = [\"safety\"]\ntext = \"{{称呼}}，请先停止使用，注意安全。\"\n"
                )
            })
            .collect()
    }

    fn problems(extra: &str, with_first_actions: bool) -> Vec<String> {
        let urgent = "[urgent]\nwords = [\"送医\"]\n";
        let scripts = if with_first_actions {
            format!("{}{extra}", first_actions())
        } else {
            extra.to_string()
        };
        let book = huashu_phrasebook::parse_str(&[
            ("book.toml", BOOK),
            ("urgent.toml", urgent),
            ("scripts.toml", &scripts),
        ])
        .expect("test book parses");
        lint(&book).iter().map(|p| p.to_string()).collect()
    }

    fn script(id: &str, tags: &str, text: &str) -> String {
        format!(
            "[[script]]\nid = \"{id}\"\nintent = \"shipping\"\nstage = \"solve\"\ntags = [{tags}]\ntext = \"{text}\"\n"
        )
    }

    /// (script id, tags, text, expected problem fragment or "" for clean)
    const CASES: &[(&str, &str, &str, &str)] = &[
        (
            "claim.status",
            "",
            "{称呼}，订单还未发货，可以修改地址。",
            "\"还未发货\"",
        ),
        (
            "claim.action",
            "",
            "{称呼}，我已帮您备注优先发货。",
            "\"已帮您\"",
        ),
        (
            "claim.escalated",
            "",
            "{称呼}，已同步给主管。",
            "\"已同步\"",
        ),
        (
            "claim.slot",
            "",
            "{称呼}，订单当前状态：{订单状态}，已发货的订单无法改地址。",
            "",
        ),
        (
            "offer.wording",
            "",
            "{称呼}，我这就帮您备注，并帮您查一下是否已经出库。",
            "",
        ),
        (
            "cond.shipped",
            "",
            "{称呼}，如果已经发出，我帮您联系快递改派。",
            "",
        ),
        (
            "claim.shipped",
            "",
            "{称呼}，给您补发的新品已经发出。",
            "\"已经发出\"",
        ),
        (
            "comp.untagged",
            "",
            "{称呼}，我们可以给您一些补偿。",
            "tag it \"compensation\"",
        ),
        (
            "comp.tagged",
            "\"compensation\"",
            "{称呼}，我们可以给您一些补偿。",
            "",
        ),
        (
            "keep.untagged",
            "\"compensation\"",
            "{称呼}，补偿您，商品您继续使用。",
            "tag it \"keep_using\"",
        ),
        (
            "review.untagged",
            "",
            "{称呼}，满意的话麻烦给个好评。",
            "tag it \"review_request\"",
        ),
    ];

    #[test]
    fn lint_catches_unbacked_claims_and_untagged_offers() {
        for &(id, tags, text, want) in CASES {
            let p = problems(&script(id, tags, text), true);
            let mine: Vec<&String> = p
                .iter()
                .filter(|m| m.contains(&format!("[{id}]")))
                .collect();
            if want.is_empty() {
                assert!(mine.is_empty(), "{id}: {mine:?}");
            } else {
                assert!(
                    mine.iter().any(|m| m.contains(want)),
                    "{id}: want {want}, got {p:?}"
                );
            }
        }
    }

    #[test]
    fn lint_wants_a_first_action_for_every_kind() {
        let p = problems("", false);
        for k in UrgentKind::ALL {
            assert!(
                p.iter()
                    .any(|m| m.contains(&format!("[{k}] urgent kind {k}"))),
                "{k}: {p:?}"
            );
        }
        let p = problems("", true);
        assert!(p.iter().all(|m| !m.contains("first-action")), "{p:?}");
    }

    /// (rewrite, whether lint objects).
    const REWRITE_CASES: &[(&str, bool)] = &[
        ("非常抱歉给您带来不便，我们一定尽力为您解决。", false),
        (
            "这个问题我需要进一步核实，麻烦您稍等，我确认后会尽快回复您。",
            false,
        ),
        ("这款的具体信息我直接为您整理好：……，随时问我。", true),
        ("麻烦您先...，您看可以吗？", true),
        ("XX先生您好，请稍等。", true),
        ("您好，{称呼}", true),
        ("我们会尽全力为您解决，24小时内答复您。", true),
        ("请您放心，我们会尽快（24小时内）答复您。", true),
        ("已为您备注优先发货。", true),
        ("我已经加急处理了。", true),
        ("", true),
    ];

    #[test]
    fn rewrites_with_placeholders_promises_or_claims_are_flagged() {
        for &(rewrite, flagged) in REWRITE_CASES {
            assert_eq!(
                rewrite_problem(rewrite).is_some(),
                flagged,
                "{rewrite:?}: {:?}",
                rewrite_problem(rewrite)
            );
        }
    }
}
