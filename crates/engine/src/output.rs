//! The result types of the engine, serialised as the `huashu analyze` JSONL contract (fixed) and
//! as the payloads of the WebSocket `analysis`, `suggestions` and `guard` events.

use huashu_phrasebook::Severity;
use huashu_suggest::Suggestion;
use huashu_understand::{Emotion, Entity, IntentScore, Understanding};
use serde::Serialize;

use crate::FollowUp;

/// One forbidden hit as shown to the agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardHit {
    pub rule: String,
    /// The rule's category id (`RuleCategory::as_str`), as the wire carries it.
    pub category: String,
    pub severity: Severity,
    /// Char offsets in the original text, end exclusive.
    pub start: usize,
    pub end: usize,
    /// The original text of the span.
    pub text: String,
    pub rewrite: String,
}

/// The guard's answer for one draft or sent agent turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftCheck {
    pub hits: Vec<GuardHit>,
    /// The whole text rewritten, clean when checked again; `None` when no hit is block or warn.
    pub rewritten: Option<String>,
}

/// One suggestion with its per-turn id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuggestionItem {
    pub id: String,
    #[serde(flatten)]
    pub suggestion: Suggestion,
}

/// Result of a customer turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerAnalysis {
    #[serde(flatten)]
    pub understanding: Understanding,
    pub suggestions: Vec<SuggestionItem>,
}

/// Result of an agent turn (sent message or draft).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentAnalysis {
    pub guard: Vec<GuardHit>,
    /// The whole turn rewritten (see [`DraftCheck::rewritten`]).
    pub rewritten: Option<String>,
    /// A follow-up the agent promised ("24小时内答复您"), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
}

/// One output line of `huashu analyze` **(fixed shape)**: every key is always present; customer
/// turns fill intents…suggestions and leave `guard` empty, agent turns the other way round
/// (`emotion` and `style` are `null` for them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyzeLine {
    pub intents: Vec<IntentScore>,
    pub emotion: Option<Emotion>,
    pub urgent: bool,
    /// Added after v1 (SPEC "Additions"): the incident kind of an urgent customer turn.
    pub urgent_kind: Option<huashu_phrasebook::UrgentKind>,
    pub style: Option<&'static str>,
    pub entities: Vec<Entity>,
    pub guard: Vec<GuardHit>,
    pub suggestions: Vec<SuggestionItem>,
    /// Additive to the fixed contract: `false` when the customer turn's intent is a low-confidence
    /// guess; `null` for agent turns.
    pub confident: Option<bool>,
    /// Agent lines only (additive to the fixed shape): the whole text rewritten, or `null` when
    /// no hit is block or warn. Absent from customer lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<Option<String>>,
}

impl From<CustomerAnalysis> for AnalyzeLine {
    fn from(a: CustomerAnalysis) -> Self {
        let u = a.understanding;
        AnalyzeLine {
            intents: u.intents,
            emotion: Some(u.emotion),
            urgent: u.urgent,
            urgent_kind: u.urgent_kind,
            style: Some(u.style.as_str()),
            entities: u.entities,
            guard: Vec::new(),
            suggestions: a.suggestions,
            confident: Some(u.confident),
            rewritten: None,
        }
    }
}

impl From<AgentAnalysis> for AnalyzeLine {
    fn from(a: AgentAnalysis) -> Self {
        AnalyzeLine {
            intents: Vec::new(),
            emotion: None,
            urgent: false,
            urgent_kind: None,
            style: None,
            entities: Vec::new(),
            guard: a.guard,
            suggestions: Vec::new(),
            confident: None,
            rewritten: Some(a.rewritten),
        }
    }
}
