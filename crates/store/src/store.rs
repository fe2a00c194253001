//! `Store`: one SQLite connection with the service's writes and reads.
//!
//! The store is synchronous and knows nothing of tokio: the service runs one writer `Store` on a
//! dedicated thread (group commit: many writes per transaction) and reader `Store`s on the
//! blocking pool. SQLite in WAL mode lets readers run while the writer commits.
//!
//! Durability: the journal is WAL with `synchronous=NORMAL` by default. A commit is then in the
//! WAL file (the OS page cache) before `apply` returns, so it survives the process being killed
//! (SIGKILL, panic, OOM); only an OS crash or power loss can drop the last transactions, and never
//! corrupts the file. `Durability::Full` fsyncs every commit for deployments that need more.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::mask::mask;
use crate::schema;

/// Errors of the store: one enum for the crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema version {found} is newer than this build ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("conversation {0} belongs to another shop")]
    ShopMismatch(String),
    #[error("transaction failed: {0}")]
    Transaction(String),
    #[error("turn ({conversation}, {id}) is already stored")]
    DuplicateTurn { conversation: String, id: String },
}

/// How hard a commit tries to reach the disk (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL + `synchronous=NORMAL`: survives process crashes.
    #[default]
    Normal,
    /// WAL + `synchronous=FULL`: also survives power loss, slower commits.
    Full,
}

/// One event as stored and sent: `payload` is the complete JSON frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub seq: u64,
    pub kind: String,
    pub turn: Option<String>,
    pub payload: String,
}

/// An accepted turn with the events it produced, written atomically.
#[derive(Debug, Clone)]
pub struct TurnWrite {
    pub conversation: String,
    pub shop: String,
    pub id: String,
    /// Seq of the turn's first event (the one its ack carries).
    pub seq: u64,
    pub role: String,
    /// Raw text: the store masks it.
    pub text: String,
    pub at: i64,
    pub received_at: i64,
    pub book: String,
    /// Agent turns: the id of the agent who sent it, when known (`None` for customer turns).
    pub agent: Option<String>,
    pub events: Vec<NewEvent>,
    /// The conversation summary after this turn (JSON, masked).
    pub summary: Option<String>,
    /// For agent turns: the guard rules the sent text hit; resolves earlier flagged drafts.
    pub agent_hit_rules: Option<Vec<String>>,
}

/// Events not caused by a turn (SLA warnings, follow-up reminders).
#[derive(Debug, Clone)]
pub struct EventsWrite {
    pub conversation: String,
    pub shop: String,
    pub at: i64,
    pub book: String,
    pub events: Vec<NewEvent>,
    pub summary: Option<String>,
    pub sla: Option<SlaWrite>,
}

/// The reporting row of an SLA or follow-up event.
#[derive(Debug, Clone)]
pub struct SlaWrite {
    pub seq: u64,
    /// `warn`, `breach` or `follow_up`.
    pub level: String,
    pub turn: Option<String>,
    pub waiting_ms: i64,
}

/// What an agent did with a suggestion.
#[derive(Debug, Clone)]
pub struct FeedbackWrite {
    pub conversation: String,
    pub suggestion: String,
    pub script: String,
    pub action: String,
    pub agent: Option<String>,
    pub after_seq: u64,
    pub at: i64,
}

/// An agent revealed a masked personal value (QA record; the value itself is never written).
#[derive(Debug, Clone)]
pub struct RevealWrite {
    pub conversation: String,
    pub turn: String,
    pub entity: u32,
    pub kind: String,
    pub agent: Option<String>,
    pub at: i64,
}

/// A draft the guard flagged.
#[derive(Debug, Clone)]
pub struct DraftWrite {
    pub conversation: String,
    pub draft: String,
    pub agent: Option<String>,
    /// Raw text: the store masks it.
    pub text: String,
    pub rules: Vec<String>,
    pub categories: Vec<String>,
    pub at: i64,
}

/// One unit of a group commit; each succeeds or fails on its own.
#[derive(Debug, Clone)]
pub enum Write {
    Turn(TurnWrite),
    Events(EventsWrite),
    Feedback(FeedbackWrite),
    Draft(DraftWrite),
    Reveal(RevealWrite),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRecord {
    pub id: String,
    pub shop: String,
    pub last_seq: u64,
    pub summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnRecord {
    pub id: String,
    pub seq: u64,
    pub role: String,
    pub text: String,
    pub at: i64,
    /// Agent turns: the agent who sent it, when known.
    pub agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: u64,
    pub kind: String,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRecord {
    pub suggestion: String,
    pub script: String,
    pub action: String,
    pub agent: Option<String>,
    pub after_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRecord {
    pub draft: String,
    pub text: String,
    pub rules: Vec<String>,
    pub categories: Vec<String>,
    /// `None` until the agent sends a turn in the conversation (and for a superseded draft).
    pub rewritten: Option<bool>,
    /// An earlier version of a reply whose latest flagged version was resolved: not counted.
    pub superseded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaRecord {
    pub seq: u64,
    pub level: String,
    pub turn: Option<String>,
    pub waiting_ms: i64,
}

/// A follow-up an agent promised whose reminder has not been stored yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingFollowUp {
    pub turn: String,
    /// The turn's `guard` event, as stored (it holds `follow_up`).
    pub payload: String,
    /// Server time the promising turn was received (the reminder is due `due_in_ms` later).
    pub received_at: i64,
}

/// One SQLite connection (writer or reader).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

fn seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn sql_seq(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn words(s: String) -> Vec<String> {
    s.split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies the schema.
    pub fn open(path: &Path, durability: Durability) -> Result<Store, Error> {
        let conn = Connection::open(path)?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=OFF;"
        ))?;
        // Readers and the writer share the file: wait for a lock instead of failing at once.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > schema::VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: schema::VERSION,
            });
        }
        conn.execute_batch(schema::DDL)?;
        add_missing_columns(&conn)?;
        if found == 1 {
            migrate_v1_shop_scoped_keys(&conn)?;
        }
        conn.execute_batch(&format!("PRAGMA user_version={}", schema::VERSION))?;
        Ok(Store { conn })
    }

    /// The connection, for the read-only reports of sibling modules (`analytics`).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Stops this connection from checkpointing the WAL after its commits. The service's writer
    /// does this and checkpoints from another connection instead (`checkpoint_passive`), so the
    /// checkpoint's fsync never stalls a group commit.
    pub fn disable_auto_checkpoint(&self) -> Result<(), Error> {
        self.conn.execute_batch("PRAGMA wal_autocheckpoint=0")?;
        Ok(())
    }

    /// A PASSIVE checkpoint that reports whether it copied every WAL frame back (`false` when
    /// another checkpoint held the lock or a reader still needs old frames). Run by the only
    /// writer between transactions, a complete one lets the next commit rewind the WAL.
    pub fn checkpoint_complete(&self) -> Result<bool, Error> {
        let (busy, log, done) = self.wal_checkpoint("PASSIVE")?;
        Ok(busy == 0 && log == done)
    }

    /// A PASSIVE checkpoint (never blocks the writer) that returns the WAL's length in frames
    /// as it found it (`-1` when another checkpoint held the lock). The service's background
    /// checkpointer uses the length to tell when the writer should rewind the WAL.
    pub fn checkpoint_passive(&self) -> Result<i64, Error> {
        let (busy, log, _) = self.wal_checkpoint("PASSIVE")?;
        Ok(if busy == 0 { log } else { -1 })
    }

    /// The database page size in bytes (one WAL frame holds one page).
    pub fn page_size(&self) -> Result<u64, Error> {
        let n: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(4096))
    }

    /// Gives this connection a page cache of `kib` KiB (SQLite's default is 2 MiB). The
    /// service's writer touches pages of every live conversation in each group commit; with
    /// the default cache most of them are re-read from the OS on every commit.
    pub fn set_cache_kib(&self, kib: u32) -> Result<(), Error> {
        self.conn
            .execute_batch(&format!("PRAGMA cache_size=-{kib}"))?;
        Ok(())
    }

    /// Copies every committed WAL frame into the database file and empties the WAL when nobody
    /// is reading (`TRUNCATE`; the service runs it at shutdown).
    pub fn checkpoint_truncate(&self) -> Result<(), Error> {
        self.wal_checkpoint("TRUNCATE").map(|_| ())
    }

    /// `PRAGMA wal_checkpoint(mode)`: (busy, WAL frames, frames checkpointed).
    fn wal_checkpoint(&self, mode: &str) -> Result<(i64, i64, i64), Error> {
        Ok(self
            .conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?)
    }

    /// Applies `writes` in one transaction (group commit). Each write runs in its own savepoint,
    /// so one failing write (e.g. a duplicate) does not undo the others. The outer error means
    /// the transaction itself failed and nothing was written.
    pub fn apply(&mut self, writes: &[Write]) -> Result<Vec<Result<(), Error>>, Error> {
        let mut tx = self.conn.transaction()?;
        let mut results = Vec::with_capacity(writes.len());
        for w in writes {
            let mut sp = tx.savepoint()?;
            let r = apply_one(&sp, w);
            if r.is_ok() {
                sp.commit()?;
            } else {
                sp.rollback()?;
                sp.commit()?;
            }
            results.push(r);
        }
        tx.commit()?;
        Ok(results)
    }

    /// Convenience for one write.
    pub fn apply_one(&mut self, write: &Write) -> Result<(), Error> {
        self.apply(std::slice::from_ref(write))?
            .pop()
            .unwrap_or(Ok(()))
    }

    pub fn conversation(&self, id: &str) -> Result<Option<ConversationRecord>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, shop, last_seq, summary FROM conversations WHERE id = ?1",
        )?;
        Ok(st
            .query_row([id], |r| {
                Ok(ConversationRecord {
                    id: r.get(0)?,
                    shop: r.get(1)?,
                    last_seq: seq(r.get(2)?),
                    summary: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// The turns of a conversation in seq order (texts masked).
    pub fn turns(&self, conversation: &str) -> Result<Vec<TurnRecord>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, seq, role, text, at, agent FROM turns WHERE conversation = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map([conversation], |r| {
            Ok(TurnRecord {
                id: r.get(0)?,
                seq: seq(r.get(1)?),
                role: r.get(2)?,
                text: r.get(3)?,
                at: r.get(4)?,
                agent: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Events with `after < seq <= upto` (all after `after` when `upto` is `None`), in order,
    /// at most `limit` of them (replay reads in pages).
    pub fn events(
        &self,
        conversation: &str,
        after: u64,
        upto: Option<u64>,
        limit: usize,
    ) -> Result<Vec<EventRecord>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT seq, type, payload FROM events
             WHERE conversation = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
        )?;
        let upto = upto.map_or(i64::MAX, sql_seq);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![conversation, sql_seq(after), upto, limit], |r| {
            Ok(EventRecord {
                seq: seq(r.get(0)?),
                kind: r.get(1)?,
                payload: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn feedback(&self, conversation: &str) -> Result<Vec<FeedbackRecord>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT suggestion, script, action, agent, after_seq FROM feedback
             WHERE conversation = ?1 ORDER BY after_seq, rowid",
        )?;
        let rows = st.query_map([conversation], |r| {
            Ok(FeedbackRecord {
                suggestion: r.get(0)?,
                script: r.get(1)?,
                action: r.get(2)?,
                agent: r.get(3)?,
                after_seq: seq(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn drafts(&self, conversation: &str) -> Result<Vec<DraftRecord>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT draft, text, rules, categories, rewritten FROM drafts
             WHERE conversation = ?1 ORDER BY at, draft",
        )?;
        let rows = st.query_map([conversation], |r| {
            Ok(DraftRecord {
                draft: r.get(0)?,
                text: r.get(1)?,
                rules: words(r.get(2)?),
                categories: words(r.get(3)?),
                rewritten: match r.get::<_, Option<i64>>(4)? {
                    Some(0) => Some(false),
                    Some(1) => Some(true),
                    _ => None,
                },
                superseded: r.get::<_, Option<i64>>(4)? == Some(DRAFT_SUPERSEDED),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn sla_events(&self, conversation: &str) -> Result<Vec<SlaRecord>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT seq, level, turn, waiting_ms FROM sla_events
             WHERE conversation = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map([conversation], |r| {
            Ok(SlaRecord {
                seq: seq(r.get(0)?),
                level: r.get(1)?,
                turn: r.get(2)?,
                waiting_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Follow-ups promised in a conversation's agent turns with no `follow_up` SLA row yet (the
    /// reminder was never emitted), in seq order.
    pub fn pending_follow_ups(&self, conversation: &str) -> Result<Vec<PendingFollowUp>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT e.turn, e.payload, t.received_at FROM events e
             JOIN turns t ON t.conversation = e.conversation AND t.id = e.turn
             WHERE e.conversation = ?1 AND e.type = 'guard'
               AND instr(e.payload, '\"follow_up\":{') > 0
               AND NOT EXISTS (SELECT 1 FROM sla_events s WHERE s.conversation = e.conversation
                               AND s.level = 'follow_up' AND s.turn = e.turn)
             ORDER BY e.seq",
        )?;
        let rows = st.query_map([conversation], |r| {
            Ok(PendingFollowUp {
                turn: r.get(0)?,
                payload: r.get(1)?,
                received_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Conversations with a timer to re-arm after a restart: a customer waiting for an answer
    /// (the stored summary has a `waiting_since`) or a promised follow-up not yet reminded.
    pub fn conversations_with_timers(&self) -> Result<Vec<String>, Error> {
        let mut st = self.conn.prepare(
            "SELECT id FROM conversations
             WHERE summary IS NOT NULL AND json_valid(summary)
               AND json_extract(summary, '$.waiting_since') IS NOT NULL
             UNION
             SELECT DISTINCT e.conversation FROM events e
             WHERE e.type = 'guard' AND instr(e.payload, '\"follow_up\":{') > 0
               AND NOT EXISTS (SELECT 1 FROM sla_events s WHERE s.conversation = e.conversation
                               AND s.level = 'follow_up' AND s.turn = e.turn)",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored summaries of a shop's most recently updated conversations, newest first.
    pub fn summaries(&self, shop: &str, limit: usize) -> Result<Vec<String>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT summary FROM conversations WHERE shop = ?1 AND summary IS NOT NULL
             ORDER BY updated_at DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![shop, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Total rows of a table, for tests and the loadgen's lost-count check.
    pub fn count(&self, table: Table) -> Result<u64, Error> {
        let sql = format!("SELECT count(*) FROM {}", table.name());
        let n: i64 = self.conn.query_row(&sql, [], |r| r.get(0))?;
        Ok(seq(n))
    }
}

/// Tables whose rows can be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Conversations,
    Turns,
    Events,
    Feedback,
    Drafts,
    SlaEvents,
    Reveals,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Conversations => "conversations",
            Table::Turns => "turns",
            Table::Events => "events",
            Table::Feedback => "feedback",
            Table::Drafts => "drafts",
            Table::SlaEvents => "sla_events",
            Table::Reveals => "reveals",
        }
    }
}

/// Version 1 keyed conversations by the client's id alone (one shop's `order-10001` blocked
/// every other shop's). Rewrites every key as `conversation_key(shop, id)`, in one transaction
/// with the version bump so a crash leaves either the old file or the migrated one. Rows of a
/// conversation that was never stored (flagged drafts on an id nobody sent a turn to) have no
/// known shop and keep their old key; no lookup reaches them any more.
fn migrate_v1_shop_scoped_keys(conn: &Connection) -> Result<(), Error> {
    let sep = u32::from(schema::KEY_SEPARATOR);
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    for table in schema::KEYED_TABLES {
        sql.push_str(&format!(
            "UPDATE {table} SET conversation = (SELECT c.shop FROM conversations c WHERE c.id = {table}.conversation) || char({sep}) || conversation
             WHERE conversation IN (SELECT id FROM conversations);\n"
        ));
    }
    sql.push_str(&format!(
        "UPDATE conversations SET id = shop || char({sep}) || id;\nPRAGMA user_version = {};\nCOMMIT;",
        schema::VERSION
    ));
    if let Err(e) = conn.execute_batch(&sql) {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e.into());
    }
    Ok(())
}

/// Adds the columns of `schema::ADDED_COLUMNS` a file written by an earlier build lacks.
fn add_missing_columns(conn: &Connection) -> Result<(), Error> {
    let present = |table: &str, column: &str| -> Result<bool, Error> {
        Ok(conn.query_row(
            &format!("SELECT count(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |r| r.get(0),
        )?)
    };
    for (table, column, decl) in schema::ADDED_COLUMNS {
        if present(table, column)? {
            continue;
        }
        if let Err(e) =
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))
        {
            // Another connection opening the same file may have added it meanwhile.
            if !present(table, column)? {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

fn upsert_conversation(
    conn: &Connection,
    id: &str,
    shop: &str,
    at: i64,
    last_seq: u64,
    summary: Option<&str>,
) -> Result<(), Error> {
    let mut st = conn.prepare_cached(
        "INSERT INTO conversations (id, shop, created_at, updated_at, last_seq, summary)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET
            updated_at = excluded.updated_at,
            last_seq = max(last_seq, excluded.last_seq),
            summary = coalesce(excluded.summary, summary)
         WHERE shop = excluded.shop",
    )?;
    let changed = st.execute(params![id, shop, at, sql_seq(last_seq), summary])?;
    if changed == 0 {
        return Err(Error::ShopMismatch(id.to_string()));
    }
    Ok(())
}

fn insert_events(
    conn: &Connection,
    conv: &str,
    book: &str,
    at: i64,
    events: &[NewEvent],
) -> Result<(), Error> {
    let mut st = conn.prepare_cached(
        "INSERT INTO events (conversation, seq, type, turn, payload, book, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for e in events {
        st.execute(params![
            conv,
            sql_seq(e.seq),
            e.kind,
            e.turn,
            e.payload,
            book,
            at
        ])?;
    }
    Ok(())
}

fn apply_one(conn: &Connection, w: &Write) -> Result<(), Error> {
    match w {
        Write::Turn(t) => {
            let last = t.events.iter().map(|e| e.seq).max().unwrap_or(t.seq);
            upsert_conversation(
                conn,
                &t.conversation,
                &t.shop,
                t.received_at,
                last,
                t.summary.as_deref(),
            )?;
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO turns
                        (conversation, id, seq, role, text, at, received_at, book, agent)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    t.conversation,
                    t.id,
                    sql_seq(t.seq),
                    t.role,
                    mask(&t.text),
                    t.at,
                    t.received_at,
                    t.book,
                    t.agent
                ])?;
            if inserted == 0 {
                return Err(Error::DuplicateTurn {
                    conversation: t.conversation.clone(),
                    id: t.id.clone(),
                });
            }
            insert_events(conn, &t.conversation, &t.book, t.received_at, &t.events)?;
            if let Some(hit_rules) = &t.agent_hit_rules {
                resolve_drafts(conn, &t.conversation, hit_rules)?;
            }
            Ok(())
        }
        Write::Events(e) => {
            let last = e.events.iter().map(|e| e.seq).max().unwrap_or(0);
            upsert_conversation(
                conn,
                &e.conversation,
                &e.shop,
                e.at,
                last,
                e.summary.as_deref(),
            )?;
            insert_events(conn, &e.conversation, &e.book, e.at, &e.events)?;
            if let Some(s) = &e.sla {
                conn.prepare_cached(
                    "INSERT INTO sla_events (conversation, seq, level, turn, waiting_ms, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    e.conversation,
                    sql_seq(s.seq),
                    s.level,
                    s.turn,
                    s.waiting_ms,
                    e.at
                ])?;
            }
            Ok(())
        }
        Write::Feedback(f) => {
            conn.prepare_cached(
                "INSERT INTO feedback (conversation, suggestion, script, action, agent, after_seq, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                f.conversation,
                f.suggestion,
                f.script,
                f.action,
                f.agent,
                sql_seq(f.after_seq),
                f.at
            ])?;
            Ok(())
        }
        Write::Reveal(r) => {
            conn.prepare_cached(
                "INSERT INTO reveals (conversation, turn, entity, kind, agent, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                r.conversation,
                r.turn,
                r.entity,
                r.kind,
                r.agent,
                r.at
            ])?;
            Ok(())
        }
        Write::Draft(d) => {
            // A re-checked draft id (the agent kept typing) keeps its latest text and hits.
            conn.prepare_cached(
                "INSERT INTO drafts (conversation, draft, agent, text, rules, categories, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (conversation, draft) DO UPDATE SET
                    text = excluded.text, rules = excluded.rules,
                    categories = excluded.categories, at = excluded.at",
            )?
            .execute(params![
                d.conversation,
                d.draft,
                d.agent,
                mask(&d.text),
                d.rules.join(" "),
                d.categories.join(" "),
                d.at
            ])?;
            Ok(())
        }
    }
}

/// Resolves the conversation's unresolved flagged drafts with the sent turn. They are versions
/// of the one reply that was just sent, so only the latest is marked rewritten (1: none of its
/// rules is in the sent turn) or sent anyway (0); the earlier ones are marked superseded (2) and
/// are not counted, so "rewritten" counts once per sent reply, not once per keystroke check.
fn resolve_drafts(
    conn: &Connection,
    conversation: &str,
    hit_rules: &[String],
) -> Result<(), Error> {
    let pending: Vec<(String, String)> = {
        let mut st = conn.prepare_cached(
            "SELECT draft, rules FROM drafts WHERE conversation = ?1 AND rewritten IS NULL
             ORDER BY at DESC, draft DESC",
        )?;
        st.query_map([conversation], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut upd = conn.prepare_cached(
        "UPDATE drafts SET rewritten = ?3 WHERE conversation = ?1 AND draft = ?2",
    )?;
    for (i, (draft, rules)) in pending.into_iter().enumerate() {
        let state = if i > 0 {
            DRAFT_SUPERSEDED
        } else {
            let still = rules.split(' ').any(|r| hit_rules.iter().any(|h| h == r));
            i64::from(!still)
        };
        upd.execute(params![conversation, draft, state])?;
    }
    Ok(())
}

/// `drafts.rewritten` of an earlier version of a reply whose latest version was resolved.
pub(crate) const DRAFT_SUPERSEDED: i64 = 2;
