//! The server crate's one error type: what can stop the service from starting or running.
//! Per-message problems are not errors of this kind; they become protocol `error` frames
//! (`protocol::ClientError`) and the connection goes on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "refusing to listen on non-loopback address {0} without configured tokens (use --tokens FILE)"
    )]
    NoTokensOnPublicAddress(std::net::SocketAddr),
    #[error("no tokens configured")]
    NoTokens,
    #[error("token file {path}: {message}")]
    Tokens { path: PathBuf, message: String },
    #[error("Chatwoot file {path}: {message}")]
    Chatwoot { path: PathBuf, message: String },
    #[error("phrasebook {dir}: {message}")]
    Book { dir: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] huashu_store::Error),
    #[error("database writer has stopped")]
    WriterClosed,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("randomness unavailable: {0}")]
    Random(String),
}
