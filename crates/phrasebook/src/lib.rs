//! Phrasebooks: the plain TOML files QA leads edit, and the only code that reads them.
//!
//! A phrasebook is a directory (`phrasebooks/<name>/`) of `*.toml` files. Every file may hold any
//! of the sections below; they are merged in file-name order, so a QA lead can split a book the
//! way that reads best (`forbidden.toml`, `scripts.toml`, …). Exactly one file holds `[book]`.
//!
//! This crate only parses and checks *shape* (unique ids, known categories and severities,
//! non-empty phrases). Checks that need compiled matchers (valid regexes, scripts tripping the
//! guard) live in `huashu-engine`'s lint, which reports through the same [`Origin`].

mod catalog_csv;
mod corpus;
mod csv;
mod labelled;
mod load;
mod model;
mod sets;

pub use catalog_csv::catalog_csv_to_toml;
pub use csv::{
    Placed, placed_rules_from_csv, placed_scripts_from_csv, rules_from_csv, rules_to_csv,
    rules_to_toml, scripts_from_csv, scripts_to_csv, scripts_to_toml,
};
pub use labelled::{
    AppendReport, EXAMPLE_HEADER, LABELLED_FILE, LabelledExample, append_labelled,
    examples_from_csv, examples_to_csv,
};
pub use load::{load_dir, parse_str, slots_in};
pub use model::*;

/// Errors while reading a phrasebook. Every variant names the file and, where known, line and id.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: TOML syntax: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Invalid(Problems),
}

/// One problem found in a book, pointing at the place a QA lead has to edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Origin,
    /// The id of the rule/intent/script concerned, when there is one.
    pub id: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}: [{}] {}", self.origin, id, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// A non-empty list of problems; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
