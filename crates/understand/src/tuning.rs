//! The knobs of detection, gathered so they can be documented, swept by the cross-validation
//! harness, and set through [`crate::Builder`]. The defaults are what the shipped books are
//! tuned for.

/// Thresholds and training settings of an [`crate::Understander`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// Training passes over the examples.
    pub epochs: usize,
    /// Initial SGD learning rate (decays as `lr / (1 + 0.15·epoch)`).
    pub learning_rate: f32,
    /// L2 penalty on the weights touched by an example.
    pub l2: f32,
    /// Sample weight of a keyword/lexicon word used as a training example (0 = not used).
    pub keyword_example_weight: f32,
    /// Class-balancing exponent of the intent model (1 = balanced classes, 0 = corpus mix).
    pub intent_balance: f32,
    /// Class-balancing exponent of the emotion model.
    pub emotion_balance: f32,
    /// Scale of keyword/pattern evidence against the model (1 = as written in the book).
    pub keyword_scale: f32,
    /// Scale of the emotion lexicon, punctuation and intent cues against the emotion model.
    pub emotion_lexicon_scale: f32,
    /// A non-neutral emotion's score must reach this multiple of the model's neutral probability.
    pub neutral_margin: f32,
    /// A primary intent scoring below this is "not sure" (`Understanding::confident` false).
    pub confident: f32,
    /// Weight of the conversation's earlier topic for a turn that is not sure by itself.
    pub context_topic: f32,
    /// Weight of the intent model's reading of the agent's last line, likewise.
    pub context_agent: f32,
    /// Sample weight of a corpus line's further intents (its primary weighs 1).
    pub corpus_secondary_weight: f32,
    /// Minimum score of the primary intent (below it: `other`, unless the model is decisive).
    pub primary: f32,
    /// A primary intent below `primary` still wins if its model probability is at least this and
    /// beats the runner-up and `other` (the model alone is decisive).
    pub decisive: f32,
    /// Minimum score of a further intent.
    pub secondary: f32,
    /// A further intent without a clause of its own needs this much model probability too.
    pub secondary_model: f32,
    /// Minimum combined score of a non-neutral emotion.
    pub emotion: f32,
    /// A non-neutral emotion with no lexicon, emoji or cue evidence needs this much model
    /// probability (the model alone is less sure than it looks on short turns: 在吗).
    pub emotion_model_only: f32,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            epochs: 10,
            learning_rate: 1.0,
            l2: 1e-4,
            keyword_example_weight: 0.8,
            corpus_secondary_weight: 0.3,
            intent_balance: 1.0,
            emotion_balance: 0.0,
            keyword_scale: 1.0,
            emotion_lexicon_scale: 1.0,
            neutral_margin: 0.5,
            confident: 0.7,
            context_topic: 0.4,
            context_agent: 0.4,
            primary: 0.3,
            decisive: 0.2,
            secondary: 0.6,
            secondary_model: 0.2,
            emotion: 0.45,
            emotion_model_only: 0.55,
        }
    }
}
