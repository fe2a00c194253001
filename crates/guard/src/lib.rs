//! INTERFACE STUB (being written): the forbidden-phrase guard.

use huashu_phrasebook::ForbiddenRule;

/// One forbidden hit: `rule` indexes [`Guard::rules`]; `start`/`end` are original char offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: [{id}] {message}")]
    Invalid {
        origin: huashu_phrasebook::Origin,
        id: String,
        message: String,
    },
}

/// Compiled forbidden rules of one phrasebook.
#[derive(Debug)]
pub struct Guard {
    rules: Vec<ForbiddenRule>,
}

impl Guard {
    pub fn new(rules: &[ForbiddenRule]) -> Result<Guard, Error> {
        Ok(Guard { rules: rules.to_vec() })
    }
    pub fn rules(&self) -> &[ForbiddenRule] {
        &self.rules
    }
    pub fn check(&self, _text: &str) -> Vec<Hit> {
        Vec::new()
    }
}
