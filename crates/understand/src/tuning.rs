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
            epochs: 30,
            learning_rate: 1.0,
            l2: 1e-4,
            keyword_example_weight: 0.8,
            corpus_secondary_weight: 0.3,
            primary: 0.3,
            decisive: 0.2,
            secondary: 0.6,
            secondary_model: 0.2,
            emotion: 0.45,
            emotion_model_only: 0.55,
        }
    }
}
