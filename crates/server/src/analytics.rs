//! `GET /api/analytics?shop=S&from=YYYY-MM-DD&to=YYYY-MM-DD`: the QA figures of one shop
//! (`huashu_store::Analytics`, every field defined there and in docs/QA.md) plus what only the
//! live service knows: the current book and which of its scripts nobody used.
//!
//! Who may read them: the admin token (any shop) or a supervisor / any-role token of that shop.
//! Agents and widgets may not: the figures name agents. The route returns `(status, JSON body)`
//! so `http.rs` registers it with one line.

use std::collections::HashMap;
use std::sync::Arc;

use huashu_store::{AnalyticsQuery, day_start_ms, local_day};
use serde_json::{Value, json};

#[cfg(test)]
use crate::http::Access;
use crate::http::{Caller, query_params};
use crate::protocol::{ClientError, ErrorCode};
use crate::shared::{Shared, now_ms};

/// Longest period one request may cover (the query walks every turn of it).
const MAX_DAYS: i64 = 366;

pub(crate) fn error(status: u16, code: ErrorCode, message: &str) -> (u16, String) {
    (status, ClientError::new(code, message).frame())
}

/// The shop a caller (let in by `http::authorize` for `Access::Supervisor`) may read figures
/// of: the admin any shop (`default` unless named), a shop's token its own.
fn shop_for(caller: &Caller, shop: Option<&str>) -> Result<String, (u16, String)> {
    match caller {
        Caller::Admin => Ok(shop.unwrap_or("default").to_string()),
        Caller::Shop(grant) => match shop {
            Some(s) if s != grant.shop => {
                Err(error(403, ErrorCode::Forbidden, "another shop's figures"))
            }
            _ => Ok(grant.shop.clone()),
        },
        Caller::Anonymous | Caller::Webhook => {
            Err(error(401, ErrorCode::Unauthorized, "Bearer token required"))
        }
    }
}

/// `GET /api/analytics` with a raw token: the route's check, then the figures (tests).
#[cfg(test)]
pub(crate) async fn get(shared: &Arc<Shared>, token: Option<String>, query: &str) -> (u16, String) {
    match crate::http::authorize(&shared.config.auth, token.as_deref(), Access::Supervisor) {
        Ok(caller) => figures(shared, &caller, query).await,
        Err(r) => r.into_parts(),
    }
}

/// `GET /api/analytics` for a caller the route let in.
pub(crate) async fn figures(shared: &Arc<Shared>, caller: &Caller, query: &str) -> (u16, String) {
    let params = query_params(query);
    let shop = match shop_for(
        caller,
        params
            .get("shop")
            .map(String::as_str)
            .filter(|s| !s.is_empty()),
    ) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // The configured time zone (`--tz`): days are local days in it.
    let tz = shared.config.tz.offset_min;
    let today = local_day(now_ms(), tz);
    let to = params.get("to").cloned().unwrap_or_else(|| today.clone());
    let Some(to_start) = day_start_ms(&to, tz) else {
        return error(400, ErrorCode::BadField, "`to` must be a date YYYY-MM-DD");
    };
    let from = match params.get("from") {
        Some(f) => f.clone(),
        None => local_day(to_start - 6 * 86_400_000, tz),
    };
    let Some(mut q) = AnalyticsQuery::days(&shop, &from, &to) else {
        return error(400, ErrorCode::BadField, "`from` must be a date YYYY-MM-DD");
    };
    if q.from_ms >= q.to_ms || (q.to_ms - q.from_ms) / 86_400_000 > MAX_DAYS {
        return error(
            400,
            ErrorCode::BadField,
            "`from` must be on or before `to`, at most 366 days",
        );
    }
    q.tz_offset_min = tz;
    if let Some(low) = params.get("low").and_then(|v| v.parse::<f64>().ok()) {
        q.low_confidence = low.clamp(0.0, 1.0);
    }
    if let Some(n) = params.get("limit").and_then(|v| v.parse::<usize>().ok()) {
        q.list_limit = n.min(500);
    }
    let threshold = q.low_confidence;
    let figures = match shared.db.read(move |store| store.analytics(&q)).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "analytics query failed");
            return error(500, ErrorCode::Internal, "analytics query failed");
        }
    };
    let engine = shared.engine();
    let book = engine.book();
    let taken: HashMap<&str, (u64, u64)> = figures
        .scripts
        .iter()
        .map(|s| (s.script.as_str(), (s.shown, s.used + s.edited)))
        .collect();
    // Scripts of the current book no agent used or edited in the period.
    let unused: Vec<_> = book
        .scripts
        .iter()
        .filter_map(|s| {
            let (shown, taken) = taken.get(s.id.as_str()).copied().unwrap_or((0, 0));
            (taken == 0).then(|| {
                json!({"script": s.id, "title": s.title, "intent": s.intent, "stage": s.stage,
                       "shown": shown})
            })
        })
        .collect();
    let sla = shared.config.sla;
    let mut body = match serde_json::to_value(&figures) {
        Ok(v) => v,
        Err(e) => return error(500, ErrorCode::Internal, &e.to_string()),
    };
    if let Some(obj) = body.as_object_mut() {
        obj.insert("from".into(), json!(from));
        obj.insert("to".into(), json!(to));
        obj.insert("tz_offset_min".into(), json!(tz));
        obj.insert(
            "tz".into(),
            json!({"name": shared.config.tz.name, "offset_min": tz, "label": shared.config.tz.label()}),
        );
        obj.insert("low_confidence_threshold".into(), json!(threshold));
        obj.insert(
            "book".into(),
            json!({"name": book.meta.name, "version": book.meta.version, "hash": book.meta.hash,
                   "scripts": book.scripts.len()}),
        );
        obj.insert("unused_scripts".into(), json!(unused));
        // Script rows carry the script's Chinese title and text (ids alone mean nothing to a QA
        // lead); a script no longer in the current book has neither.
        if let Some(rows) = obj.get_mut("scripts").and_then(Value::as_array_mut) {
            for row in rows {
                let script = row["script"]
                    .as_str()
                    .and_then(|id| book.scripts.iter().find(|s| s.id == id));
                if let (Some(s), Some(row)) = (script, row.as_object_mut()) {
                    row.insert("title".into(), json!(s.title));
                    row.insert("text".into(), json!(s.text));
                }
            }
        }
        obj.insert(
            "sla".into(),
            json!({"warn_ms": sla.warn.as_millis() as u64, "breach_ms": sla.breach.as_millis() as u64}),
        );
    }
    (200, body.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Instant;

    use huashu_engine::Engine;

    use super::*;
    use crate::auth::{Auth, Role, TokenRole};
    use crate::config::Config;
    use crate::db::Db;
    use crate::metrics::Metrics;
    use crate::protocol::Speaker;
    use crate::shared::Session;
    use crate::turn::TurnInput;

    const BOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/book/book.toml");

    /// A service over a copy of the test book (so a test can edit and reload it).
    fn service() -> (tempfile::TempDir, Arc<Shared>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let book = dir.path().join("book");
        std::fs::create_dir(&book).expect("book dir");
        std::fs::copy(BOOK, book.join("book.toml")).expect("copy book");
        let auth = Auth::new()
            .with_token("super-a-token", TokenRole::Supervisor, "shop-a", None)
            .with_token("agent-a-token", TokenRole::Agent, "shop-a", Some("a-1"))
            .with_token("super-b-token", TokenRole::Supervisor, "shop-b", None)
            .with_admin("admin-token");
        let config = Config::new(&book, dir.path().join("t.db"), auth);
        let metrics = Arc::new(Metrics::default());
        let db = Db::open(
            &config.db,
            huashu_store::Durability::Normal,
            Arc::clone(&metrics),
        )
        .expect("db");
        let engine = Arc::new(Engine::load(&book).expect("test book"));
        (dir, Shared::new(config, engine, db, metrics))
    }

    async fn turn(shared: &Shared, conv: &str, id: &str, speaker: Speaker, text: &str) {
        let session = Session {
            role: Role::Widget,
            shop: "shop-a".into(),
            agent: None,
            claim: crate::claim::Claim::Any,
        };
        let input = TurnInput {
            conversation: conv.into(),
            id: id.into(),
            speaker,
            text: text.into(),
            at: None,
            customer: None,
            agent: None,
            product: None,
        };
        shared
            .accept_turn(&session, input, Instant::now())
            .await
            .expect("turn accepted");
    }

    fn body(r: (u16, String)) -> (u16, Value) {
        (r.0, serde_json::from_str(&r.1).expect("JSON body"))
    }

    #[tokio::test]
    async fn figures_need_a_supervisor_or_admin_token_of_the_shop() {
        let (_dir, shared) = service();
        turn(&shared, "c1", "m1", Speaker::Customer, "我的快递到哪了").await;
        turn(&shared, "c1", "m2", Speaker::Agent, "你去告啊").await;
        let shared = &shared;
        let get =
            async |token: Option<&str>, q: &str| get(shared, token.map(str::to_string), q).await;
        assert_eq!(get(None, "").await.0, 401);
        assert_eq!(get(Some("nope"), "").await.0, 401);
        assert_eq!(get(Some("agent-a-token"), "").await.0, 403);
        assert_eq!(get(Some("super-b-token"), "shop=shop-a").await.0, 403);
        assert_eq!(get(Some("super-a-token"), "from=2024-13-01").await.0, 400);
        assert_eq!(
            get(Some("super-a-token"), "from=2024-11-02&to=2024-11-01")
                .await
                .0,
            400
        );

        let (status, a) = body(get(Some("super-a-token"), "").await);
        assert_eq!(status, 200, "{a}");
        assert_eq!(a["shop"], "shop-a");
        assert_eq!(a["total"]["turns"], 1);
        assert_eq!(a["total"]["compliance"], 0.0);
        assert_eq!(a["total"]["hits"]["provoke"]["sent"], 1);
        assert_eq!(a["customer_turns"], 1);
        assert_eq!(a["book"]["hash"], shared.engine().meta().hash.as_str());
        // The admin reads any shop; shop-b has nothing.
        let (status, b) = body(get(Some("admin-token"), "shop=shop-b").await);
        assert_eq!((status, &b["total"]["turns"]), (200, &json!(0)));
    }

    #[tokio::test]
    async fn every_event_carries_the_hash_of_the_book_that_produced_it() {
        let (dir, shared) = service();
        let first = shared.engine().meta().hash.clone();
        turn(&shared, "c1", "m1", Speaker::Customer, "我的快递到哪了").await;
        turn(&shared, "c1", "m2", Speaker::Agent, "催什么催").await;

        // Dry run of an edited book: lint clean, a new hash, the diff over the stored lines.
        let path = dir.path().join("book/book.toml");
        let mut text = std::fs::read_to_string(&path).expect("book");
        text.push_str(
            "\n[[rule]]\nid = \"impatience.again\"\ncategory = \"impatience\"\nseverity = \"warn\"\nphrases = [\"我的快递\"]\nrewrite = \"请您稍等。\"\n",
        );
        std::fs::write(&path, &text).expect("edit book");
        assert_eq!(crate::publish::check(&shared, None, "").await.0, 401);
        let (status, c) =
            body(crate::publish::check(&shared, Some("admin-token".into()), "").await);
        assert_eq!(status, 200, "{c}");
        assert_eq!(c["ok"], true, "{c}");
        assert_eq!(c["changed"], true);
        assert_eq!(c["current"]["hash"], first.as_str());
        assert_ne!(c["hash"], first.as_str());
        assert_eq!(c["replayed"]["turns"], 2);
        assert_eq!(c["diff"]["agent_lines"], 1);
        // Nothing was swapped by the dry run.
        assert_eq!(shared.engine().meta().hash, first);

        // Publish, then a new turn: its events carry the new hash.
        let second = shared.reload().await.expect("reload").hash;
        assert_ne!(second, first);
        turn(&shared, "c1", "m3", Speaker::Customer, "还没到").await;
        let (_, a) = body(get(&shared, Some("super-a-token".into()), "").await);
        let books: Vec<(String, u64)> = a["books"]
            .as_array()
            .expect("books")
            .iter()
            .map(|b| {
                (
                    b["hash"].as_str().unwrap_or("").to_string(),
                    b["events"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        // Customer turns make analysis + suggestions, agent turns one guard event.
        assert_eq!(books, [(first, 3), (second, 2)]);

        // A broken candidate: problems with file and line, no hash, the live book untouched.
        text.push_str("\n[[rule]]\nid = \"impatience.again\"\n");
        std::fs::write(&path, &text).expect("break book");
        let (_, c) = body(crate::publish::check(&shared, Some("admin-token".into()), "").await);
        assert_eq!(c["ok"], false, "{c}");
        assert!(
            !c["problems"].as_array().expect("problems").is_empty(),
            "{c}"
        );
        assert!(Path::new(&path).exists());
    }

    #[test]
    fn query_strings_are_decoded() {
        let p = query_params("shop=shop%2D1&from=2024-11-22&to=&x=a+b&bad=%zz&end=%4");
        assert_eq!(p["shop"], "shop-1");
        assert_eq!(p["from"], "2024-11-22");
        assert_eq!(p["to"], "");
        assert_eq!(p["x"], "a b");
        assert_eq!(p["bad"], "%zz");
        assert_eq!(p["end"], "%4");
    }
}
