//! The crate's one error type: what can go wrong compiling a book's understanding data.

/// Errors compiling a book's understanding data (bad regex…), naming where it was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: [{id}] {message}")]
    Invalid {
        origin: huashu_phrasebook::Origin,
        id: String,
        message: String,
    },
}
