//! The PostgreSQL backend's own part: versioned migrations and a throwaway database for tests.
//!
//! Migrations are numbered; `schema_version` holds the highest one applied. `migrate` takes a
//! transaction-scoped advisory lock first, so several nodes starting at once against the same
//! database apply each migration exactly once (the others wait, then find nothing to do), and
//! each migration commits together with its version row.
//!
//! The tables mirror the SQLite schema column for column (`schema.rs`); every integer is a
//! `BIGINT` (the store binds 64-bit integers), and `feedback` has an identity column named
//! `rowid` so the one query that orders by SQLite's implicit row id reads the same here.

use crate::sql::{Conn, params};
use crate::store::Error;

/// Any number: identifies huashu's migration lock among other advisory locks.
const MIGRATION_LOCK: i64 = 0x6875_6173_6875; // "huashu"

/// (version, SQL). Append only: a released migration is never edited.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    shop        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    last_seq    BIGINT NOT NULL DEFAULT 0,
    summary     TEXT
);
CREATE INDEX conversations_shop ON conversations (shop, updated_at);

CREATE TABLE turns (
    conversation TEXT NOT NULL,
    id           TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    role         TEXT NOT NULL,
    text         TEXT NOT NULL,
    at           BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    book         TEXT NOT NULL,
    agent        TEXT,
    PRIMARY KEY (conversation, id)
);
CREATE INDEX turns_seq ON turns (conversation, seq);

CREATE TABLE events (
    conversation TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    type         TEXT NOT NULL,
    turn         TEXT,
    payload      TEXT NOT NULL,
    book         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (conversation, seq)
);
CREATE INDEX events_follow_up ON events (conversation)
    WHERE type = 'guard' AND strpos(payload, '"follow_up":{') > 0;

CREATE TABLE feedback (
    rowid        BIGINT GENERATED ALWAYS AS IDENTITY,
    conversation TEXT NOT NULL,
    suggestion   TEXT NOT NULL,
    script       TEXT NOT NULL,
    action       TEXT NOT NULL,
    agent        TEXT,
    after_seq    BIGINT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX feedback_conv ON feedback (conversation, after_seq);

CREATE TABLE drafts (
    conversation TEXT NOT NULL,
    draft        TEXT NOT NULL,
    agent        TEXT,
    text         TEXT NOT NULL,
    rules        TEXT NOT NULL,
    categories   TEXT NOT NULL,
    at           BIGINT NOT NULL,
    rewritten    BIGINT,
    PRIMARY KEY (conversation, draft)
);

CREATE TABLE reveals (
    conversation TEXT NOT NULL,
    turn         TEXT NOT NULL,
    entity       BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    agent        TEXT,
    at           BIGINT NOT NULL
);

CREATE TABLE sla_events (
    conversation TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    level        TEXT NOT NULL,
    turn         TEXT,
    waiting_ms   BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (conversation, seq)
);
"#,
    ),
    (
        2,
        // SHA-256 of the widget visitor key that started the conversation (NULL: not bound).
        "ALTER TABLE conversations ADD COLUMN visitor BYTEA;",
    ),
];

/// The newest migration this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies the migrations the database lacks, each in its own transaction under the lock.
pub(crate) fn migrate(conn: &Conn) -> Result<(), Error> {
    conn.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY)")?;
    let applied = |conn: &Conn| -> Result<i64, Error> {
        Ok(conn
            .query_opt(
                "SELECT coalesce(max(version), 0)::bigint FROM schema_version",
                &[],
                |r| r.i64(0),
            )?
            .unwrap_or(0))
    };
    let found = applied(conn)?;
    if found > latest() {
        return Err(Error::SchemaTooNew {
            found,
            supported: latest(),
        });
    }
    if found == latest() {
        return Ok(());
    }
    conn.batch("BEGIN")?;
    let run = || -> Result<(), Error> {
        conn.execute("SELECT pg_advisory_xact_lock(?1)", params![MIGRATION_LOCK])?;
        // Another node may have migrated while this one waited for the lock.
        let found = applied(conn)?;
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
            conn.batch(sql)?;
            conn.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                params![*version],
            )?;
        }
        conn.batch("COMMIT")
    };
    run().inspect_err(|_| {
        let _ = conn.batch("ROLLBACK");
    })
}

/// A uniquely named PostgreSQL database, created on `new` and dropped (with its connections)
/// when this value is dropped. For tests of the PostgreSQL backend (this crate's, the server's
/// and the CLI's): the server to use is `HUASHU_TEST_PG` (a connection URL to an existing
/// database with the right to create databases), else `postgres://root@127.0.0.1:5432/postgres`.
/// There is deliberately no "skip when unreachable": a test that needs PostgreSQL fails when it
/// cannot have it (on CI too, where `CI=true`).
#[derive(Debug)]
pub struct TempDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TempDatabase {
    /// Creates the database; `Err` says why (PostgreSQL unreachable, no right to create).
    pub fn new() -> Result<TempDatabase, Error> {
        crate::sql::off_runtime(TempDatabase::create)
    }

    fn create() -> Result<TempDatabase, Error> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let admin_url = std::env::var("HUASHU_TEST_PG")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".to_string());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "huashu_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = crate::sql::Pg::connect(&admin_url)?;
        let conn = Conn::Postgres(std::cell::RefCell::new(admin));
        conn.batch(&format!("CREATE DATABASE {name}"))?;
        let url = replace_database(&admin_url, &name)
            .ok_or_else(|| Error::Connect(format!("not a URL with a database: {admin_url}")))?;
        Ok(TempDatabase {
            admin_url,
            name,
            url,
        })
    }

    /// The connection URL of the database (for `Store::open_postgres`, `--db`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        crate::sql::off_runtime(|| self.drop_database());
    }
}

impl TempDatabase {
    fn drop_database(&self) {
        match crate::sql::Pg::connect(&self.admin_url) {
            Ok(admin) => {
                let conn = Conn::Postgres(std::cell::RefCell::new(admin));
                if let Err(e) = conn.batch(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )) {
                    tracing::warn!(database = %self.name, error = %e, "test database not dropped");
                }
            }
            Err(e) => {
                tracing::warn!(database = %self.name, error = %e, "test database not dropped")
            }
        }
    }
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
fn replace_database(url: &str, name: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail.split_once('?').map(|(_, q)| q);
    Some(match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_test_database_replaces_the_url_path() {
        assert_eq!(
            super::replace_database("postgres://root@127.0.0.1:5432/postgres", "t1").as_deref(),
            Some("postgres://root@127.0.0.1:5432/t1")
        );
        assert_eq!(
            super::replace_database("postgres://root@h/db?sslmode=disable", "t2").as_deref(),
            Some("postgres://root@h/t2?sslmode=disable")
        );
        assert_eq!(
            super::replace_database("postgres://root@h", "t3").as_deref(),
            Some("postgres://root@h/t3")
        );
    }
}
