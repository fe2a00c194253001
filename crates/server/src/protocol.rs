//! Protocol v1 on the wire, defined once: inbound messages parsed into `Inbound` with typed
//! errors (this file), and every outbound frame as `Outbound` (`outbound.rs`). No other module
//! writes a frame; `wire_tests.rs` checks that, and checks docs/PROTOCOL.md's examples against
//! these types. `js.rs` generates the browser's typedefs and labels from the same definitions.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Role;

mod outbound;
pub(crate) use outbound::*;

#[cfg(test)]
mod js;
#[cfg(test)]
mod samples;
#[cfg(test)]
mod wire_tests;

pub const PROTOCOL_VERSION: u32 = 1;

/// Close codes (besides the standard 1000/1001/1009/1011/1013).
pub mod close {
    /// Unauthenticated: wrong token, no or late `hello`, message before `hello`.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Outbound queue full: the client stopped reading.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// No frame (not even a pong) for two heartbeat intervals.
    pub const HEARTBEAT_TIMEOUT: u16 = 4000;
}

/// Error codes of `{"type":"error"}` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    UnknownType,
    MissingField,
    BadField,
    TooLarge,
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited,
    Overloaded,
    BinaryUnsupported,
    Internal,
    /// A frame the WebSocket layer refused (invalid UTF-8, protocol violation); the
    /// connection is then closed with 1007 or 1002.
    BadFrame,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::BadJson,
        ErrorCode::UnknownType,
        ErrorCode::MissingField,
        ErrorCode::BadField,
        ErrorCode::TooLarge,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::RateLimited,
        ErrorCode::Overloaded,
        ErrorCode::BinaryUnsupported,
        ErrorCode::Internal,
        ErrorCode::BadFrame,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::BadField => "bad_field",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::BinaryUnsupported => "binary_unsupported",
            ErrorCode::Internal => "internal",
            ErrorCode::BadFrame => "bad_frame",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A problem with one client message, sent back as an `error` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub code: ErrorCode,
    pub message: String,
    /// The offending message's `id` / `draft` / `conversation`, when known.
    pub r#ref: Option<String>,
}

impl ClientError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ClientError {
        ClientError {
            code,
            message: message.into(),
            r#ref: None,
        }
    }

    pub fn with_ref(mut self, r: Option<String>) -> ClientError {
        if self.r#ref.is_none() {
            self.r#ref = r;
        }
        self
    }

    /// The `error` frame (also the body of JSON API failures).
    pub fn frame(&self) -> String {
        Outbound::Error(ErrorFrame {
            code: self.code,
            message: &self.message,
            r#ref: self.r#ref.as_deref(),
        })
        .frame()
    }
}

/// JSON of a value that is not a frame (stored summaries, HTTP answers).
pub fn to_json<T: Serialize>(v: &T) -> String {
    // Serialising our own types (strings, numbers, maps with string keys) cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| String::from("{}"))
}

/// `Debug` is written by hand: the token and the visitor key must not reach a log.
#[derive(Clone, Deserialize)]
pub struct Hello {
    pub role: Role,
    pub token: String,
    pub shop: Option<String>,
    pub agent: Option<String>,
    /// Widget connections with a public widget token: the visitor's own secret, which binds
    /// the conversations this visitor starts (`claim.rs`).
    pub visitor: Option<String>,
}

impl std::fmt::Debug for Hello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hello")
            .field("role", &self.role)
            .field("shop", &self.shop)
            .field("agent", &self.agent)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Customer,
    Agent,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Customer => "customer",
            Speaker::Agent => "agent",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Turn {
    pub conversation: String,
    pub id: String,
    pub role: Speaker,
    pub text: String,
    pub at: Option<i64>,
    /// How to address the customer (fills the {称呼} slot).
    pub customer: Option<String>,
    /// Agent turns: the id of the agent who sent it (stored for per-agent analytics).
    pub agent: Option<String>,
    /// Customer turns: sku of the catalogue product the customer is looking at (the product
    /// page the chat was opened from); FAQ answers and scripts then fit that product.
    pub product: Option<String>,
    /// The shop backend's signature of the conversation id, for widget tokens with a signing
    /// secret (`claim.rs`).
    pub sig: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Send {
    pub conversation: String,
    pub id: String,
    pub text: String,
    pub at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subscribe {
    pub conversation: String,
    #[serde(default)]
    pub since: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Unsubscribe {
    pub conversation: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Draft {
    pub conversation: String,
    pub draft: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Used,
    Edited,
    Dismissed,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Used => "used",
            Action::Edited => "edited",
            Action::Dismissed => "dismissed",
        }
    }
}

/// An agent or supervisor ends a conversation's safety mode (the incident is handled).
#[derive(Debug, Clone, Deserialize)]
pub struct Resolve {
    pub conversation: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Feedback {
    pub conversation: String,
    pub suggestion: String,
    pub action: Action,
}

/// Asks for the unmasked value of a personal entity (phone, address, name) of a customer turn.
#[derive(Debug, Clone, Deserialize)]
pub struct Reveal {
    pub conversation: String,
    pub turn: String,
    /// Index in the turn's analysis `entities`.
    pub entity: u32,
}

/// A parsed client message.
#[derive(Debug, Clone)]
pub enum Inbound {
    Hello(Hello),
    Ping,
    Turn(Turn),
    Send(Send),
    Subscribe(Subscribe),
    Unsubscribe(Unsubscribe),
    Draft(Draft),
    Feedback(Feedback),
    Reveal(Reveal),
    Resolve(Resolve),
    Watch,
    Unwatch,
}

impl Inbound {
    /// What an error about this message refers to (`ref`).
    pub fn reference(&self) -> Option<&str> {
        match self {
            Inbound::Turn(t) => Some(&t.id),
            Inbound::Send(t) => Some(&t.id),
            Inbound::Draft(d) => Some(&d.draft),
            Inbound::Feedback(f) => Some(&f.suggestion),
            Inbound::Resolve(r) => Some(&r.conversation),
            Inbound::Subscribe(s) => Some(&s.conversation),
            Inbound::Unsubscribe(u) => Some(&u.conversation),
            Inbound::Reveal(r) => Some(&r.turn),
            Inbound::Hello(_) | Inbound::Ping | Inbound::Watch | Inbound::Unwatch => None,
        }
    }
}

/// Every `type` a client may send, in `Inbound`'s order (for the wire checks and the JS).
#[cfg(test)]
pub(crate) const INBOUND_TYPES: &[&str] = &[
    "hello",
    "ping",
    "turn",
    "send",
    "subscribe",
    "unsubscribe",
    "draft",
    "feedback",
    "reveal",
    "resolve",
    "watch",
    "unwatch",
];

fn fields<T: DeserializeOwned>(v: Value) -> Result<T, ClientError> {
    serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        let code = if msg.starts_with("missing field") {
            ErrorCode::MissingField
        } else {
            ErrorCode::BadField
        };
        ClientError::new(code, msg)
    })
}

/// Parses one text frame. The error carries `ref` whenever the message had an id.
pub fn parse(text: &str) -> Result<Inbound, ClientError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ClientError::new(ErrorCode::BadJson, format!("not JSON: {e}")))?;
    let Value::Object(map) = &value else {
        return Err(ClientError::new(
            ErrorCode::BadJson,
            "a message is a JSON object",
        ));
    };
    let r#ref = ["id", "draft", "suggestion", "turn", "conversation"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
        .map(str::to_string);
    let kind = match map.get("type") {
        None => {
            return Err(
                ClientError::new(ErrorCode::MissingField, "missing field `type`").with_ref(r#ref),
            );
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(
                ClientError::new(ErrorCode::BadField, "`type` must be a string").with_ref(r#ref),
            );
        }
    };
    let parsed = match kind.as_str() {
        "hello" => fields(value).map(Inbound::Hello),
        "ping" => Ok(Inbound::Ping),
        "turn" => fields(value).map(Inbound::Turn),
        "send" => fields(value).map(Inbound::Send),
        "subscribe" => fields(value).map(Inbound::Subscribe),
        "unsubscribe" => fields(value).map(Inbound::Unsubscribe),
        "draft" => fields(value).map(Inbound::Draft),
        "feedback" => fields(value).map(Inbound::Feedback),
        "reveal" => fields(value).map(Inbound::Reveal),
        "resolve" => fields(value).map(Inbound::Resolve),
        "watch" => Ok(Inbound::Watch),
        "unwatch" => Ok(Inbound::Unwatch),
        other => Err(ClientError::new(
            ErrorCode::UnknownType,
            format!(
                "unknown message type `{}`",
                other.chars().take(40).collect::<String>()
            ),
        )),
    };
    parsed.map_err(|e| e.with_ref(r#ref))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &[(&str, Option<ErrorCode>)] = &[
        (r#"{"type":"ping"}"#, None),
        (
            r#"{"type":"turn","conversation":"c","id":"m","role":"customer","text":"hi"}"#,
            None,
        ),
        ("not json", Some(ErrorCode::BadJson)),
        ("[1,2]", Some(ErrorCode::BadJson)),
        (r#"{"conversation":"c"}"#, Some(ErrorCode::MissingField)),
        (r#"{"type":7}"#, Some(ErrorCode::BadField)),
        (r#"{"type":"dance"}"#, Some(ErrorCode::UnknownType)),
        (
            r#"{"type":"turn","conversation":"c","id":"m","role":"customer"}"#,
            Some(ErrorCode::MissingField),
        ),
        (
            r#"{"type":"turn","conversation":"c","id":"m","role":"robot","text":"x"}"#,
            Some(ErrorCode::BadField),
        ),
        (
            r#"{"type":"subscribe","conversation":"c","since":"zero"}"#,
            Some(ErrorCode::BadField),
        ),
        (
            r#"{"type":"subscribe","conversation":"c","since":-1}"#,
            Some(ErrorCode::BadField),
        ),
        (
            r#"{"type":"feedback","conversation":"c","suggestion":"s","action":"loved"}"#,
            Some(ErrorCode::BadField),
        ),
    ];

    #[test]
    fn parse_cases() {
        for (text, want) in CASES {
            assert_eq!(parse(text).err().map(|e| e.code), *want, "{text}");
        }
    }

    #[test]
    fn errors_carry_the_message_id() {
        let e = parse(r#"{"type":"turn","conversation":"c","id":"m-9","role":"customer"}"#)
            .expect_err("missing text");
        assert_eq!(e.r#ref.as_deref(), Some("m-9"));
        assert!(e.frame().contains(r#""code":"missing_field""#));
        // A reveal refers to its turn (as its handled errors do), not to the conversation.
        let e = parse(r#"{"type":"reveal","conversation":"c","turn":"m-3","entity":"first"}"#)
            .expect_err("entity is an index");
        assert_eq!(
            (e.code, e.r#ref.as_deref()),
            (ErrorCode::BadField, Some("m-3"))
        );
    }
}
