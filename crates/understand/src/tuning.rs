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
    /// Weight of the naive Bayes log-likelihoods blended into both models' trained weights
    /// (0 = plain logistic regression).
    pub bayes_blend: f32,
    /// Additive smoothing of the naive Bayes counts.
    pub bayes_alpha: f32,
    /// Softmax temperature of the intent model (> 1 flattens its probabilities): fitted to the
    /// least log-loss on held-out folds of the shipped corpus (`examples/sweep.rs`, `CV=5`).
    pub intent_temperature: f32,
    /// Softmax temperature of the emotion model, fitted the same way.
    pub emotion_temperature: f32,
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
    /// Calming words (请问, 麻烦, 不急) keep a turn neutral unless the model's probability of the
    /// label reaches this plus `calm_veto_slope` × their weight: a polite 请问 (0.6) inside a
    /// long complaint no longer hides it, an explicit 不急 (0.8) still does.
    pub calm_veto_model: f32,
    /// See `calm_veto_model`: how much more model probability each unit of calming weight asks.
    pub calm_veto_slope: f32,
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
            bayes_blend: 0.4,
            bayes_alpha: 0.03,
            intent_temperature: 1.0,
            emotion_temperature: 1.0,
            keyword_example_weight: 0.8,
            corpus_secondary_weight: 0.3,
            intent_balance: 1.0,
            emotion_balance: 0.0,
            keyword_scale: 1.0,
            emotion_lexicon_scale: 1.0,
            neutral_margin: 0.5,
            calm_veto_model: 0.5,
            calm_veto_slope: 0.65,
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
