//! A compiled phrasebook — guard, understanding and suggestions behind one type — plus the checks
//! (lint) and measurements (eval) QA leads run on books.
//!
//! `Engine` is immutable once compiled and shared behind an `Arc`; a reload compiles a new one and
//! swaps the `Arc`, so a turn is always analysed by exactly one book. `Engine::step` (`step.rs`)
//! is the one decision per chat turn: analysis, the conversation's flags (`flags.rs`), timers to
//! arm and facts to store, as data.

mod check;
mod diff;
mod engine;
mod eval;
mod flags;
mod followup;
mod lint;
mod output;
mod rewrite;
mod step;

pub use check::{
    BookCorpus, CheckOptions, CheckReport, EvalDelta, HELD_OUT_EVERY, NamedCorpus, Refusal,
    RefusalKind, Side, Tolerance, builtin_corpus, check, check_book, held_out, parse_corpus,
};
pub use diff::{Change, DiffReport, TranscriptLine, diff};
pub use engine::{Engine, EngineError};
pub use eval::{
    ContextTurn, EvalOptions, EvalReport, Figures, LabelledLine, Miss, Prf, Rows, evaluate,
    evaluate_with,
};
pub use flags::{EscalationReason, Flags};
pub use followup::FollowUp;
pub use huashu_suggest::{ConversationState, ESCALATION_RISK, FeedbackAction, Trend};
pub use huashu_understand::{Entity, Understanding};
pub use lint::lint;
pub use output::{
    AgentAnalysis, AnalyzeLine, CustomerAnalysis, DraftCheck, GuardHit, SuggestionItem,
};
pub use step::{Analysis, Chat, Speaker, Timer, Turn, TurnFacts, TurnOutcome, Wait};
