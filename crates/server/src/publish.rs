//! `POST /api/book/check`: the publishing dry run (`huashu check` on the served directory) behind the QA page's "reload" button.
//!
//! Reads the phrasebook directory exactly as `POST /api/reload` would, lints it (`huashu lint`)
//! and, when it compiles, replays recent stored transcripts through the current and the
//! candidate engine (`huashu diff`). Nothing is swapped: the QA lead reads the problems and the
//! diff summary, then publishes with `POST /api/reload`. Admin token only, like the reload.

use std::collections::HashSet;
use std::sync::Arc;

use std::path::PathBuf;

use huashu_engine::{
    CheckOptions, CheckReport, Engine, Refusal, RefusalKind, TranscriptLine, parse_corpus,
};
use serde_json::{Value, json};

use crate::analytics::error;
use crate::http::query_params;
use crate::protocol::ErrorCode;
use crate::shared::Shared;

/// Turns replayed by default (the most recent whole conversations, all shops).
const DEFAULT_TURNS: usize = 2000;
const MAX_TURNS: usize = 20_000;

/// The one gate between a book directory and the live service: what `POST /api/reload`,
/// SIGHUP and `POST /api/book/check` all run. It is `huashu check` (`huashu_engine::check`):
/// lint, at least one forbidden rule, both books evaluated side by side on the built-in agent
/// lines, the candidate's corpus and the `--check-corpus` files, and (for the check) a diff on
/// stored chats. So reload can never publish what the check refuses.
pub(crate) fn gate(
    dir: &std::path::Path,
    current: &Engine,
    corpus_files: &[PathBuf],
    transcripts: Vec<(usize, TranscriptLine)>,
) -> CheckReport {
    let mut opts = CheckOptions {
        transcripts,
        ..Default::default()
    };
    let mut unreadable = Vec::new();
    for path in corpus_files {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let (corpus, bad) = parse_corpus(&path.display().to_string(), &text);
                if !bad.is_empty() {
                    tracing::warn!(file = %path.display(), lines = bad.len(), "check corpus: unreadable lines skipped");
                }
                opts.corpora.push(corpus);
            }
            Err(e) => unreadable.push(format!("无法读取评测语料 {}：{e}", path.display())),
        }
    }
    let mut report = huashu_engine::check(dir, current, &opts);
    // A configured corpus that cannot be read must not make the gate quietly weaker.
    for message in unreadable {
        report.ok = false;
        report.engine = None;
        report.refusals.push(Refusal {
            kind: RefusalKind::Lint,
            message,
        });
    }
    report
}

/// The lint problems of a report as the JSON list the API returns.
pub(crate) fn problems_json(report: &CheckReport) -> Vec<Value> {
    report.problems.iter().map(problem).collect()
}

fn problem(p: &huashu_phrasebook::Problem) -> Value {
    json!({"file": p.origin.file, "line": p.origin.line, "id": p.id, "message": p.message,
           "text": p.to_string()})
}

/// `POST /api/book/check[?turns=N]`.
/// `POST /api/book/check` with a raw token: the route's admin check, then the dry run (tests).
#[cfg(test)]
pub(crate) async fn check(
    shared: &Arc<Shared>,
    token: Option<String>,
    query: &str,
) -> (u16, String) {
    use crate::http::{Access, authorize};
    match authorize(&shared.config.auth, token.as_deref(), Access::Admin) {
        Ok(_) => dry_run(shared, query).await,
        Err(r) => r.into_parts(),
    }
}

/// `POST /api/book/check` (the route lets the admin token in).
pub(crate) async fn dry_run(shared: &Arc<Shared>, query: &str) -> (u16, String) {
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
    let corpus_files = shared.config.check_corpus.clone();
    let report = tokio::task::spawn_blocking(move || {
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
        let replayed = json!({"turns": lines.len(), "conversations": conversations.len()});
        let r = gate(&dir, &current, &corpus_files, lines);
        let cm = current.meta();
        let candidate = r.engine.as_ref().map(|e| {
            let (m, book) = (e.meta(), e.book());
            json!({"name": m.name, "version": m.version, "hash": m.hash,
                   "counts": {"rules": book.rules.len(), "intents": book.intents.len(),
                              "scripts": book.scripts.len(), "faq": book.faq.len()}})
        });
        let hash = r.engine.as_ref().map(|e| e.meta().hash.clone());
        json!({
            "ok": r.ok,
            "error": r.summary(),
            "problems": problems_json(&r),
            "refusals": r.refusals,
            "evals": r.evals,
            "current": {"name": cm.name, "version": cm.version, "hash": cm.hash},
            "candidate": candidate,
            "candidate_book": r.candidate,
            "hash": hash,
            "changed": hash.as_deref() != Some(cm.hash.as_str()),
            "replayed": replayed,
            "diff": r.diff,
        })
    })
    .await;
    match report {
        Ok(v) => (200, v.to_string()),
        Err(e) => error(500, ErrorCode::Internal, &e.to_string()),
    }
}
