//! `POST /api/book/check`: the publishing dry run behind the QA page's "reload" button.
//!
//! Reads the phrasebook directory exactly as `POST /api/reload` would, lints it (`huashu lint`)
//! and, when it compiles, replays recent stored transcripts through the current and the
//! candidate engine (`huashu diff`). Nothing is swapped: the QA lead reads the problems and the
//! diff summary, then publishes with `POST /api/reload`. Admin token only, like the reload.

use std::collections::HashSet;
use std::sync::Arc;

use huashu_engine::{Engine, TranscriptLine, diff};
use huashu_phrasebook::Problem;
use serde_json::{Value, json};

use crate::analytics::error;
use crate::http::query_params;
use crate::protocol::ErrorCode;
use crate::shared::Shared;

/// Turns replayed by default (the most recent whole conversations, all shops).
const DEFAULT_TURNS: usize = 2000;
const MAX_TURNS: usize = 20_000;

/// The one gate between a book directory and the live service: what `POST /api/reload`,
/// SIGHUP and `POST /api/book/check` all run. It loads the book, lints it (`huashu lint`) and
/// refuses it on any lint problem or when it has no forbidden rule at all (an emptied
/// `forbidden.toml` would silently switch the guard off), then compiles it. So reload can never
/// publish what the check refuses.
pub(crate) fn gate(dir: &std::path::Path) -> Result<Engine, Vec<Value>> {
    let message =
        |m: String| json!({"file": null, "line": null, "id": null, "message": m, "text": m});
    let book = match huashu_phrasebook::load_dir(dir) {
        Ok(b) => b,
        Err(huashu_phrasebook::Error::Invalid(problems)) => {
            return Err(problems.0.iter().map(problem).collect());
        }
        Err(e) => return Err(vec![message(e.to_string())]),
    };
    let mut problems: Vec<Value> = huashu_engine::lint(&book).iter().map(problem).collect();
    if book.rules.is_empty() {
        problems.push(message(
            "the book has no forbidden rules: refusing to publish a guard that flags nothing"
                .into(),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Engine::compile(book).map_err(|e| vec![message(e.to_string())])
}

/// The problems of a refused book as one line (for logs and the reload error).
pub(crate) fn summary(problems: &[Value]) -> String {
    problems
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

fn problem(p: &Problem) -> Value {
    json!({"file": p.origin.file, "line": p.origin.line, "id": p.id, "message": p.message,
           "text": p.to_string()})
}

/// `POST /api/book/check[?turns=N]`.
pub(crate) async fn check(
    shared: &Arc<Shared>,
    token: Option<String>,
    query: &str,
) -> (u16, String) {
    if !token.is_some_and(|t| shared.config.auth.is_admin(&t)) {
        return error(401, ErrorCode::Unauthorized, "admin token required");
    }
    let turns = query_params(query)
        .get("turns")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(DEFAULT_TURNS)
        .min(MAX_TURNS);
    let transcript = match shared
        .db
        .read(move |store| store.transcript(None, None, Some(turns)))
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "reading transcripts for the book check failed");
            return error(500, ErrorCode::Internal, "cannot read stored transcripts");
        }
    };
    let current = shared.engine();
    let dir = shared.config.phrasebooks.clone();
    let report = tokio::task::spawn_blocking(move || {
        let candidate = match gate(&dir) {
            Ok(e) => e,
            Err(problems) => return json!({"ok": false, "problems": problems}),
        };
        let book = candidate.book();
        let m = book.meta.clone();
        let counts = json!({"rules": book.rules.len(), "intents": book.intents.len(),
                            "scripts": book.scripts.len(), "faq": book.faq.len()});
        let problems: Vec<Value> = Vec::new();
        let lines: Vec<(usize, TranscriptLine)> = transcript
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    i + 1,
                    TranscriptLine {
                        role: t.role.clone(),
                        text: t.text.clone(),
                        // Keyed by shop: two shops' `c-1` are two conversations.
                        conversation: Some(huashu_store::conversation_key(
                            &t.shop,
                            &t.conversation,
                        )),
                        at: Some(t.at),
                    },
                )
            })
            .collect();
        let conversations: HashSet<(&str, &str)> = transcript
            .iter()
            .map(|t| (t.shop.as_str(), t.conversation.as_str()))
            .collect();
        let report = diff(&current, &candidate, &lines);
        let cm = current.meta();
        json!({
            "ok": problems.is_empty(),
            "problems": problems,
            "current": {"name": cm.name, "version": cm.version, "hash": cm.hash},
            "candidate": {"name": m.name, "version": m.version, "hash": m.hash, "counts": counts},
            "hash": m.hash,
            "changed": m.hash != cm.hash,
            "replayed": {"turns": lines.len(), "conversations": conversations.len()},
            "diff": report,
        })
    })
    .await;
    match report {
        Ok(v) => (200, v.to_string()),
        Err(e) => error(500, ErrorCode::Internal, &e.to_string()),
    }
}
