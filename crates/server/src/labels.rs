//! `POST /api/examples`: the QA page's labelling queue (标注队列). The QA lead confirms or
//! corrects the intent and emotion of stored customer turns; the examples are masked and
//! appended to the candidate book's corpus (`<book>/corpus/labelled.tsv`, attributed and dated)
//! by the phrasebook crate. Nothing is published: the next check (`huashu check`) evaluates the
//! candidate, which now trains on them, and only a passing check can be published.
//! Admin token only, like the check and the reload (it writes the book on disk).

use std::sync::Arc;

use huashu_phrasebook::{LabelledExample, append_labelled};
use huashu_store::{local_day, mask};
use serde::Deserialize;
use serde_json::json;

use crate::analytics::error;
use crate::protocol::ErrorCode;
use crate::shared::{Shared, now_ms};

/// Most examples one request may carry.
const MAX_EXAMPLES: usize = 500;

#[derive(Deserialize)]
struct Body {
    /// Who labelled (shown in the `# by` line); defaults to "qa".
    #[serde(default)]
    by: Option<String>,
    examples: Vec<Example>,
}

#[derive(Deserialize)]
struct Example {
    text: String,
    intents: Vec<String>,
    emotion: String,
}

/// `POST /api/examples` (the route lets the admin token in).
pub(crate) async fn post(shared: &Arc<Shared>, body: &[u8]) -> (u16, String) {
    let body: Body = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return error(400, ErrorCode::BadField, &format!("bad body: {e}")),
    };
    if body.examples.len() > MAX_EXAMPLES {
        return error(400, ErrorCode::BadField, "at most 500 examples per request");
    }
    let examples: Vec<LabelledExample> = body
        .examples
        .into_iter()
        .map(|e| LabelledExample {
            // Stored text is already masked; text typed into the page is masked here.
            text: mask(&e.text).into_owned(),
            intents: e.intents,
            emotion: e.emotion,
        })
        .collect();
    let by = body
        .by
        .map(|b| b.trim().chars().take(40).collect::<String>())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "qa".into());
    let date = local_day(now_ms(), shared.config.tz.offset_min);
    let dir = shared.config.phrasebooks.clone();
    let _one_writer = shared.labels_lock.lock().await;
    let r = tokio::task::spawn_blocking(move || append_labelled(&dir, &examples, &by, &date)).await;
    match r {
        Ok(Ok(r)) => (
            200,
            json!({"ok": r.conflicts.is_empty() && r.invalid.is_empty(),
                   "written": r.written, "skipped": r.skipped, "conflicts": r.conflicts,
                   "invalid": r.invalid,
                   "file": r.file.file_name().map(|f| f.to_string_lossy().into_owned())})
            .to_string(),
        ),
        Ok(Err(e)) => error(
            422,
            ErrorCode::BadField,
            &format!("the candidate book does not load: {e}"),
        ),
        Err(e) => error(500, ErrorCode::Internal, &e.to_string()),
    }
}
