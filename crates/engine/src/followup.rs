//! Spotting follow-ups an agent promises ("24小时内答复您", "稍后联系您") so the service can remind
//! the agent when they fall due (seed 000: 24 h follow-up promises).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// A promise found in an agent turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// Milliseconds after the agent turn when the promise falls due.
    pub due_in_ms: i64,
    /// The promising words, as written.
    pub text: String,
}

static PROMISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<n>[0-9]+|[一两二三四五六七八九十半]+)\s*(?P<unit>个?小时|分钟|天|个?工作日)(之?内|以内|后)?
        [^。！？!?\n]{0,12}?(答复|回复|联系|处理|反馈|给您|告知|回电|核实)
        |(?P<soon>稍后|晚些|待会|等会|回头|明天|今天之内|今天下班前)[^。！？!?\n]{0,8}?(答复|回复|联系|反馈|给您|告知|回电)",
    )
    .expect("static regex")
});

fn chinese_number(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    let digit = |c: char| {
        "零一二三四五六七八九"
            .chars()
            .position(|d| d == c)
            .map(|p| p as i64)
    };
    match s {
        "两" => Some(2),
        "半" => Some(0),
        "十" => Some(10),
        _ => {
            let chars: Vec<char> = s.chars().collect();
            match chars.as_slice() {
                [c] => digit(*c),
                ['十', c] => digit(*c).map(|d| 10 + d),
                [c, '十'] => digit(*c).map(|d| d * 10),
                [a, '十', b] => Some(digit(*a)? * 10 + digit(*b)?),
                _ => None,
            }
        }
    }
}

/// The first follow-up promise in `text`, if any.
pub fn find(text: &str) -> Option<FollowUp> {
    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    let caps = PROMISE.captures(text)?;
    let whole = caps.get(0)?.as_str().to_string();
    if caps.name("soon").is_some() {
        let due = match &caps["soon"] {
            "明天" => 24 * HOUR,
            "今天之内" | "今天下班前" => 8 * HOUR,
            _ => 30 * MIN,
        };
        return Some(FollowUp {
            due_in_ms: due,
            text: whole,
        });
    }
    let raw = caps.name("n")?.as_str();
    let unit = caps.name("unit")?.as_str();
    let n = if raw == "半" {
        0
    } else {
        chinese_number(raw)?
    };
    let due = if unit.ends_with("小时") {
        if raw == "半" { 30 * MIN } else { n * HOUR }
    } else if unit == "分钟" {
        n * MIN
    } else {
        // 天 / 工作日: count calendar days; a day and a working day are not told apart here.
        n * 24 * HOUR
    };
    (due > 0).then_some(FollowUp {
        due_in_ms: due,
        text: whole,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &[(&str, Option<i64>)] = &[
        ("我们会在24小时内答复您", Some(24 * 3_600_000)),
        ("两个小时内给您回复", Some(2 * 3_600_000)),
        ("3个工作日内处理完毕并联系您", Some(3 * 86_400_000)),
        ("稍后联系您", Some(30 * 60_000)),
        ("明天给您回电", Some(86_400_000)),
        ("半小时内给您答复", Some(30 * 60_000)),
        ("好的，收到", None),
        ("快递一般3天到", None),
    ];

    #[test]
    fn promises() {
        for (text, want) in CASES {
            assert_eq!(find(text).map(|f| f.due_in_ms), *want, "{text}");
        }
    }
}
