//! Chatwoot's `message_created` webhook payload → a huashu turn, or the reason it is ignored.
//!
//! Pure (no I/O) so every rule is a table test. The payload is Chatwoot's `Message#webhook_data`
//! plus `event`: `id`, `content`, `created_at`, `message_type` (`incoming` from the contact,
//! `outgoing` from an agent, a bot or an automation, `activity` for system lines such as
//! "assigned to…", `template` for bot forms), `private` (internal notes), `sender`
//! (`type`: `contact`, `user` for a human agent, `agent_bot`, …), `conversation` (its `id` is the
//! number shown in Chatwoot's URL) and `account`. Only what a customer or a human agent wrote
//! becomes a turn: private notes (including huashu's own write-back notes), activity, template
//! and bot messages are ignored, so huashu never analyses itself or a bot.

use serde::Deserialize;
use serde_json::Value;

use crate::protocol::Speaker;

/// A message that becomes a turn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChatwootTurn {
    pub(crate) account: u64,
    pub(crate) conversation: u64,
    pub(crate) message: u64,
    pub(crate) speaker: Speaker,
    pub(crate) text: String,
    /// Epoch ms from `created_at`, when it parses.
    pub(crate) at: Option<i64>,
    /// The contact's name (fills 称呼), when short enough.
    pub(crate) customer: Option<String>,
    /// Chatwoot user id of the agent who wrote an outgoing message.
    pub(crate) user: Option<u64>,
}

impl ChatwootTurn {
    /// Stable huashu conversation id: Chatwoot conversation numbers repeat across accounts.
    pub(crate) fn conversation_id(&self) -> String {
        format!("chatwoot:{}:{}", self.account, self.conversation)
    }

    /// Stable message id, so a redelivered webhook is acked as a duplicate.
    pub(crate) fn message_id(&self) -> String {
        format!("cw-{}", self.message)
    }

    /// The agent id huashu stores with an agent turn (the Dashboard App says the same).
    pub(crate) fn agent_id(&self) -> Option<String> {
        self.user.map(|u| format!("cw-{u}"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mapped {
    Turn(ChatwootTurn),
    /// Accepted and deliberately not a turn: `event`, `private`, `activity`, `template`, `bot`,
    /// `empty`.
    Ignored(&'static str),
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    event: String,
    id: Option<Value>,
    content: Option<String>,
    created_at: Option<Value>,
    message_type: Option<Value>,
    #[serde(default)]
    private: bool,
    sender: Option<Sender>,
    conversation: Option<IdOnly>,
    account: Option<IdOnly>,
}

#[derive(Deserialize)]
struct Sender {
    id: Option<Value>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: Option<Value>,
}

/// An id given as a JSON number or a string of digits.
fn id(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `message_type` as Chatwoot's webhook sends it (a name) or its push events do (the enum's
/// integer: incoming 0, outgoing 1, activity 2, template 3).
fn message_type(v: Option<&Value>) -> Option<&'static str> {
    match v? {
        Value::String(s) => match s.as_str() {
            "incoming" => Some("incoming"),
            "outgoing" => Some("outgoing"),
            "activity" => Some("activity"),
            "template" => Some("template"),
            _ => None,
        },
        Value::Number(n) => match n.as_u64()? {
            0 => Some("incoming"),
            1 => Some("outgoing"),
            2 => Some("activity"),
            3 => Some("template"),
            _ => None,
        },
        _ => None,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2024-03-05T10:11:12.345Z`, `2024-03-05T10:11:12+08:00`, `2020-03-03 13:05:57 UTC` or epoch
/// seconds → epoch ms.
pub(crate) fn parse_time(v: Option<&Value>) -> Option<i64> {
    let s = match v? {
        Value::Number(n) => return n.as_i64().map(|s| s.saturating_mul(1000)),
        Value::String(s) => s.trim(),
        _ => return None,
    };
    let b = s.as_bytes();
    if b.len() < 19 || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let three: String = frac[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        ms = three.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest.trim() {
        "" | "Z" | "UTC" | "+00:00" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 60 + o.get(4..6)?.parse::<i64>().ok()?)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_min * 60;
    (secs >= 0).then_some(secs * 1000 + ms)
}

/// Maps one webhook body. `Err` only for a body that is not a Chatwoot payload at all (not JSON,
/// or a `message_created` without the ids every such payload has).
pub(crate) fn map(body: &[u8], max_text: usize) -> Result<Mapped, String> {
    let p: Payload = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if p.event != "message_created" {
        return Ok(Mapped::Ignored("event"));
    }
    if p.private {
        return Ok(Mapped::Ignored("private"));
    }
    let kind = message_type(p.message_type.as_ref()).ok_or("unknown or missing message_type")?;
    let sender_kind = p.sender.as_ref().and_then(|s| s.kind.as_deref());
    let speaker = match kind {
        "incoming" => Speaker::Customer,
        "outgoing" if sender_kind == Some("user") => Speaker::Agent,
        "outgoing" => return Ok(Mapped::Ignored("bot")),
        "activity" => return Ok(Mapped::Ignored("activity")),
        _ => return Ok(Mapped::Ignored("template")),
    };
    let text = p.content.as_deref().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(Mapped::Ignored("empty"));
    }
    let text: String = text.chars().take(max_text).collect();
    let message = id(p.id.as_ref()).ok_or("missing message id")?;
    let conversation =
        id(p.conversation.as_ref().and_then(|c| c.id.as_ref())).ok_or("missing conversation.id")?;
    let account = id(p.account.as_ref().and_then(|a| a.id.as_ref())).ok_or("missing account.id")?;
    let (customer, user) = match speaker {
        Speaker::Customer => (
            p.sender
                .as_ref()
                .and_then(|s| s.name.as_deref())
                .map(str::trim)
                .filter(|n| !n.is_empty() && n.chars().count() <= 32)
                .map(str::to_string),
            None,
        ),
        Speaker::Agent => (None, id(p.sender.as_ref().and_then(|s| s.id.as_ref()))),
    };
    Ok(Mapped::Turn(ChatwootTurn {
        account,
        conversation,
        message,
        speaker,
        text,
        at: parse_time(p.created_at.as_ref()),
        customer,
        user,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base(message_type: Value, sender: Value) -> Value {
        json!({"event": "message_created", "id": 901, "content": " 快递怎么还没到 ",
               "created_at": "2026-11-30T08:00:01.250Z", "message_type": message_type,
               "private": false, "content_type": "text", "sender": sender,
               "conversation": {"id": 42, "inbox_id": 1}, "account": {"id": 7, "name": "店"}})
    }

    fn mapped(v: &Value) -> Mapped {
        map(v.to_string().as_bytes(), 2000).expect("maps")
    }

    #[test]
    fn incoming_and_outgoing_become_turns_with_stable_ids() {
        let contact = json!({"id": 5, "name": "张女士", "type": "contact"});
        let Mapped::Turn(t) = mapped(&base(json!("incoming"), contact)) else {
            panic!("incoming is a turn")
        };
        assert_eq!(t.speaker, Speaker::Customer);
        assert_eq!(t.text, "快递怎么还没到");
        assert_eq!(
            (t.conversation_id().as_str(), t.message_id().as_str()),
            ("chatwoot:7:42", "cw-901")
        );
        assert_eq!(t.customer.as_deref(), Some("张女士"));
        assert_eq!(t.at, Some(1_796_025_601_250));
        assert_eq!(t.agent_id(), None);

        let user = json!({"id": 3, "name": "小王", "type": "user"});
        let Mapped::Turn(t) = mapped(&base(json!(1), user)) else {
            panic!("outgoing by a user is a turn")
        };
        assert_eq!(
            (t.speaker, t.agent_id().as_deref(), t.customer),
            (Speaker::Agent, Some("cw-3"), None)
        );
    }

    #[test]
    fn notes_bots_activity_and_templates_are_ignored() {
        let user = json!({"id": 3, "type": "user"});
        let mut private = base(json!("outgoing"), user.clone());
        private["private"] = json!(true);
        let mut other_event = base(json!("incoming"), json!({"type": "contact"}));
        other_event["event"] = json!("conversation_created");
        let mut empty = base(json!("incoming"), json!({"type": "contact"}));
        empty["content"] = Value::Null;
        const CASES: &[(&str, &str)] = &[
            ("private", "private"),
            ("bot", "bot"),
            ("no_sender", "bot"),
            ("activity", "activity"),
            ("template", "template"),
            ("event", "event"),
            ("empty", "empty"),
        ];
        for (case, why) in CASES {
            let v = match *case {
                "private" => private.clone(),
                "bot" => base(json!("outgoing"), json!({"id": 1, "type": "agent_bot"})),
                "no_sender" => base(json!("outgoing"), Value::Null),
                "activity" => base(json!("activity"), Value::Null),
                "template" => base(json!(3), Value::Null),
                "event" => other_event.clone(),
                _ => empty.clone(),
            };
            assert_eq!(mapped(&v), Mapped::Ignored(why), "{case}");
        }
    }

    #[test]
    fn broken_payloads_are_errors_and_long_text_is_cut() {
        assert!(map(b"not json", 10).is_err());
        let mut v = base(json!("incoming"), json!({"type": "contact"}));
        v["conversation"] = json!({});
        assert!(map(v.to_string().as_bytes(), 10).is_err());
        let mut v = base(json!("incoming"), json!({"type": "contact"}));
        v["message_type"] = json!("sideways");
        assert!(map(v.to_string().as_bytes(), 10).is_err());
        let v = base(json!("incoming"), json!({"type": "contact"}));
        let Ok(Mapped::Turn(t)) = map(v.to_string().as_bytes(), 3) else {
            panic!("turn")
        };
        assert_eq!(t.text, "快递怎");
    }

    #[test]
    fn times_in_every_shape_chatwoot_sends() {
        const CASES: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2020-03-03 13:05:57 UTC", Some(1_583_240_757_000)),
            ("2020-03-03T21:05:57.5+08:00", Some(1_583_240_757_500)),
            ("2020-03-03", None),
            ("2020-13-03T00:00:00Z", None),
            ("2020-03-03T00:00:00 PST", None),
        ];
        for (s, want) in CASES {
            assert_eq!(parse_time(Some(&json!(s))), *want, "{s}");
        }
        assert_eq!(
            parse_time(Some(&json!(1_583_240_757))),
            Some(1_583_240_757_000)
        );
    }
}
