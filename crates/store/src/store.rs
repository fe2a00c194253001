//! `Store`: one database connection (SQLite or PostgreSQL, see `sql.rs`) with the service's
//! writes and reads, each written once for both backends.
//!
//! The store is synchronous: the service runs one writer `Store` on a dedicated thread (group
//! commit: many writes per transaction) and reader `Store`s on the blocking pool. SQLite in WAL
//! mode lets readers run while the writer commits; PostgreSQL does so anyway.
//!
//! Durability (SQLite): the journal is WAL with `synchronous=NORMAL` by default. A commit is then in the
//! WAL file (the OS page cache) before `apply` returns, so it survives the process being killed
//! (SIGKILL, panic, OOM); only an OS crash or power loss can drop the last transactions, and never
//! corrupts the file. `Durability::Full` fsyncs every commit for deployments that need more.

use std::path::Path;

use crate::location::Location;
use crate::mask::mask;
use crate::sql::{Conn, Pipelined, Value, params};

/// Errors of the store: one enum for the crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("column {0} is NULL")]
    Null(usize),
    #[error("this operation needs the SQLite backend")]
    NotSqlite,
    #[error("database schema version {found} is newer than this build ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    // The Display forms name no conversation or turn id: they reach the logs, and a client's
    // ids may hold personal data (a phone number as a chat id).
    #[error("conversation belongs to another shop")]
    ShopMismatch(String),
    #[error("transaction failed: {0}")]
    Transaction(String),
    #[error("turn is already stored")]
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
    /// The SHA-256 digest of the widget visitor key that claims the conversation with this
    /// turn (its first). Written only while the conversation has none: the first claim wins
    /// for good, in the same transaction as the turn.
    pub visitor: Option<[u8; 32]>,
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
    /// The digest of the visitor key the conversation is bound to (`TurnWrite::visitor`).
    pub visitor: Option<[u8; 32]>,
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

/// One database connection (writer or reader), SQLite or PostgreSQL.
#[derive(Debug)]
pub struct Store {
    conn: Conn,
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
    /// Opens (creating if needed) the SQLite database at `path` and migrates it.
    pub fn open(path: &Path, durability: Durability) -> Result<Store, Error> {
        Ok(Store {
            conn: Conn::Sqlite(crate::sqlite::open(path, durability)?),
        })
    }

    /// Connects to a PostgreSQL database (`postgres://USER@HOST/DB`) and migrates it.
    /// Callable from async code too (it then connects from a helper thread).
    pub fn open_postgres(url: &str) -> Result<Store, Error> {
        crate::sql::off_runtime(|| {
            let pg = crate::sql::Pg::connect(url)?;
            let store = Store {
                conn: Conn::Postgres(std::cell::RefCell::new(pg)),
            };
            crate::postgres::migrate(&store.conn)?;
            Ok(store)
        })
    }

    /// Opens the database `location` names (see [`Location`]).
    pub fn connect(location: &Location, durability: Durability) -> Result<Store, Error> {
        match location {
            Location::Sqlite(path) => Store::open(path, durability),
            Location::Postgres(url) => Store::open_postgres(url),
        }
    }

    /// The connection, for the read-only reports of sibling modules (`analytics`).
    pub(crate) fn conn(&self) -> &Conn {
        &self.conn
    }

    /// Whether this store is gone for good (PostgreSQL closed the connection): a pool drops
    /// it, a writer reconnects.
    pub fn is_broken(&self) -> bool {
        self.conn.is_broken()
    }

    fn sqlite(&self) -> Result<&rusqlite::Connection, Error> {
        self.conn.sqlite().ok_or(Error::NotSqlite)
    }

    /// Stops this connection from checkpointing the WAL after its commits. The service's writer
    /// does this and checkpoints from another connection instead (`checkpoint_passive`), so the
    /// checkpoint's fsync never stalls a group commit. SQLite only.
    pub fn disable_auto_checkpoint(&self) -> Result<(), Error> {
        self.sqlite()?
            .execute_batch("PRAGMA wal_autocheckpoint=0")?;
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

    /// The database page size in bytes (one WAL frame holds one page). SQLite only.
    pub fn page_size(&self) -> Result<u64, Error> {
        let n: i64 = self
            .sqlite()?
            .query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(4096))
    }

    /// Gives this connection a page cache of `kib` KiB (SQLite's default is 2 MiB). The
    /// service's writer touches pages of every live conversation in each group commit; with
    /// the default cache most of them are re-read from the OS on every commit. SQLite only.
    pub fn set_cache_kib(&self, kib: u32) -> Result<(), Error> {
        self.sqlite()?
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
            .sqlite()?
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?)
    }

    /// Bytes the database occupies (SQLite: the file's pages plus the WAL; PostgreSQL:
    /// `pg_database_size`), for the load generator's bytes-per-turn figure.
    pub fn size_bytes(&self) -> Result<u64, Error> {
        match &self.conn {
            Conn::Sqlite(c) => {
                let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
                let wal = c
                    .path()
                    .map(|p| std::path::PathBuf::from(format!("{p}-wal")))
                    .and_then(|p| std::fs::metadata(p).ok())
                    .map_or(0, |m| m.len());
                Ok(seq(pages * size) + wal)
            }
            Conn::Postgres(_) => Ok(self
                .conn
                .query_opt(
                    "SELECT pg_database_size(current_database())::bigint",
                    &[],
                    |r| r.u64(0),
                )?
                .unwrap_or(0)),
        }
    }

    /// Applies `writes` in one transaction (group commit). Each write runs in its own savepoint,
    /// so one failing write (e.g. a duplicate) does not undo the others. The outer error means
    /// the transaction itself failed and nothing was written.
    ///
    /// PostgreSQL first sends the whole batch pipelined without savepoints (one round trip per
    /// segment, see `apply_pipelined`); only when some write fails on its own is the transaction
    /// rolled back and the batch applied write by write as SQLite does.
    pub fn apply(&mut self, writes: &[Write]) -> Result<Vec<Result<(), Error>>, Error> {
        let conn = &self.conn;
        if conn.is_postgres() {
            conn.batch("BEGIN")?;
            match apply_pipelined(conn, writes) {
                Ok(Some(())) => {
                    conn.batch("COMMIT").inspect_err(|_| {
                        let _ = conn.batch("ROLLBACK");
                    })?;
                    return Ok(writes.iter().map(|_| Ok(())).collect());
                }
                Ok(None) => conn.batch("ROLLBACK")?,
                Err(e) => {
                    let _ = conn.batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        conn.batch(if conn.is_postgres() {
            "BEGIN"
        } else {
            "BEGIN IMMEDIATE"
        })?;
        let run = || -> Result<Vec<Result<(), Error>>, Error> {
            let mut results = Vec::with_capacity(writes.len());
            for w in writes {
                conn.batch("SAVEPOINT w")?;
                let r = apply_one(conn, w);
                if r.is_ok() {
                    conn.batch("RELEASE w")?;
                } else {
                    conn.batch("ROLLBACK TO w; RELEASE w")?;
                }
                results.push(r);
            }
            conn.batch("COMMIT")?;
            Ok(results)
        };
        match run() {
            Ok(results) => Ok(results),
            Err(e) => {
                let _ = conn.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Convenience for one write.
    pub fn apply_one(&mut self, write: &Write) -> Result<(), Error> {
        self.apply(std::slice::from_ref(write))?
            .pop()
            .unwrap_or(Ok(()))
    }

    pub fn conversation(&self, id: &str) -> Result<Option<ConversationRecord>, Error> {
        self.conn.query_opt(
            "SELECT id, shop, last_seq, summary, visitor FROM conversations WHERE id = ?1",
            params![id],
            |r| {
                Ok(ConversationRecord {
                    id: r.text(0)?,
                    shop: r.text(1)?,
                    last_seq: r.u64(2)?,
                    summary: r.opt_text(3)?,
                    // A blob of another length cannot come from this build; reading it as
                    // unbound would open the conversation, so it is bound to no key at all.
                    visitor: r
                        .opt_blob(4)?
                        .map(|v| <[u8; 32]>::try_from(v.as_slice()).unwrap_or([0; 32])),
                })
            },
        )
    }

    /// The turns of a conversation in seq order (texts masked).
    pub fn turns(&self, conversation: &str) -> Result<Vec<TurnRecord>, Error> {
        self.conn.query(
            "SELECT id, seq, role, text, at, agent FROM turns WHERE conversation = ?1 ORDER BY seq",
            params![conversation],
            |r| {
                Ok(TurnRecord {
                    id: r.text(0)?,
                    seq: r.u64(1)?,
                    role: r.text(2)?,
                    text: r.text(3)?,
                    at: r.i64(4)?,
                    agent: r.opt_text(5)?,
                })
            },
        )
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
        let upto = upto.map_or(i64::MAX, sql_seq);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn.query(
            "SELECT seq, type, payload FROM events
             WHERE conversation = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
            params![conversation, sql_seq(after), upto, limit],
            |r| {
                Ok(EventRecord {
                    seq: r.u64(0)?,
                    kind: r.text(1)?,
                    payload: r.text(2)?,
                })
            },
        )
    }

    pub fn feedback(&self, conversation: &str) -> Result<Vec<FeedbackRecord>, Error> {
        // `rowid`: SQLite's implicit row id, an identity column of the same name in PostgreSQL.
        self.conn.query(
            "SELECT suggestion, script, action, agent, after_seq FROM feedback
             WHERE conversation = ?1 ORDER BY after_seq, rowid",
            params![conversation],
            |r| {
                Ok(FeedbackRecord {
                    suggestion: r.text(0)?,
                    script: r.text(1)?,
                    action: r.text(2)?,
                    agent: r.opt_text(3)?,
                    after_seq: r.u64(4)?,
                })
            },
        )
    }

    pub fn drafts(&self, conversation: &str) -> Result<Vec<DraftRecord>, Error> {
        self.conn.query(
            "SELECT draft, text, rules, categories, rewritten FROM drafts
             WHERE conversation = ?1 ORDER BY at, draft",
            params![conversation],
            |r| {
                let state = r.opt_i64(4)?;
                Ok(DraftRecord {
                    draft: r.text(0)?,
                    text: r.text(1)?,
                    rules: words(r.text(2)?),
                    categories: words(r.text(3)?),
                    rewritten: match state {
                        Some(0) => Some(false),
                        Some(1) => Some(true),
                        _ => None,
                    },
                    superseded: state == Some(DRAFT_SUPERSEDED),
                })
            },
        )
    }

    pub fn sla_events(&self, conversation: &str) -> Result<Vec<SlaRecord>, Error> {
        self.conn.query(
            "SELECT seq, level, turn, waiting_ms FROM sla_events
             WHERE conversation = ?1 ORDER BY seq",
            params![conversation],
            |r| {
                Ok(SlaRecord {
                    seq: r.u64(0)?,
                    level: r.text(1)?,
                    turn: r.opt_text(2)?,
                    waiting_ms: r.i64(3)?,
                })
            },
        )
    }

    /// Follow-ups promised in a conversation's agent turns with no `follow_up` SLA row yet (the
    /// reminder was never emitted), in seq order.
    pub fn pending_follow_ups(&self, conversation: &str) -> Result<Vec<PendingFollowUp>, Error> {
        let sql = if self.conn.is_postgres() {
            "SELECT e.turn, e.payload, t.received_at FROM events e
             JOIN turns t ON t.conversation = e.conversation AND t.id = e.turn
             WHERE e.conversation = ?1 AND e.type = 'guard'
               AND strpos(e.payload, '\"follow_up\":{') > 0
               AND NOT EXISTS (SELECT 1 FROM sla_events s WHERE s.conversation = e.conversation
                               AND s.level = 'follow_up' AND s.turn = e.turn)
             ORDER BY e.seq"
        } else {
            "SELECT e.turn, e.payload, t.received_at FROM events e
             JOIN turns t ON t.conversation = e.conversation AND t.id = e.turn
             WHERE e.conversation = ?1 AND e.type = 'guard'
               AND instr(e.payload, '\"follow_up\":{') > 0
               AND NOT EXISTS (SELECT 1 FROM sla_events s WHERE s.conversation = e.conversation
                               AND s.level = 'follow_up' AND s.turn = e.turn)
             ORDER BY e.seq"
        };
        self.conn.query(sql, params![conversation], |r| {
            Ok(PendingFollowUp {
                turn: r.text(0)?,
                payload: r.text(1)?,
                received_at: r.i64(2)?,
            })
        })
    }

    /// Conversations with a timer to re-arm after a restart: a customer waiting for an answer
    /// (the stored summary has a `waiting_since`) or a promised follow-up not yet reminded.
    pub fn conversations_with_timers(&self) -> Result<Vec<String>, Error> {
        let sql = if self.conn.is_postgres() {
            "SELECT id FROM conversations
             WHERE summary IS NOT NULL AND (summary::jsonb ->> 'waiting_since') IS NOT NULL
             UNION
             SELECT DISTINCT e.conversation FROM events e
             WHERE e.type = 'guard' AND strpos(e.payload, '\"follow_up\":{') > 0
               AND NOT EXISTS (SELECT 1 FROM sla_events s WHERE s.conversation = e.conversation
                               AND s.level = 'follow_up' AND s.turn = e.turn)"
        } else {
            "SELECT id FROM conversations
             WHERE summary IS NOT NULL AND json_valid(summary)
               AND json_extract(summary, '$.waiting_since') IS NOT NULL
             UNION
             SELECT DISTINCT e.conversation FROM events e
             WHERE e.type = 'guard' AND instr(e.payload, '\"follow_up\":{') > 0
               AND NOT EXISTS (SELECT 1 FROM sla_events s WHERE s.conversation = e.conversation
                               AND s.level = 'follow_up' AND s.turn = e.turn)"
        };
        self.conn.query(sql, &[], |r| r.text(0))
    }

    /// The stored summaries of a shop's most recently updated conversations, newest first.
    pub fn summaries(&self, shop: &str, limit: usize) -> Result<Vec<String>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn.query(
            "SELECT summary FROM conversations WHERE shop = ?1 AND summary IS NOT NULL
             ORDER BY updated_at DESC LIMIT ?2",
            params![shop, limit],
            |r| r.text(0),
        )
    }

    /// Total rows of a table, for tests and the loadgen's lost-count check.
    pub fn count(&self, table: Table) -> Result<u64, Error> {
        let sql = match table {
            Table::Conversations => "SELECT count(*) FROM conversations",
            Table::Turns => "SELECT count(*) FROM turns",
            Table::Events => "SELECT count(*) FROM events",
            Table::Feedback => "SELECT count(*) FROM feedback",
            Table::Drafts => "SELECT count(*) FROM drafts",
            Table::SlaEvents => "SELECT count(*) FROM sla_events",
            Table::Reveals => "SELECT count(*) FROM reveals",
        };
        Ok(self.conn.query_opt(sql, &[], |r| r.u64(0))?.unwrap_or(0))
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

const UPSERT_CONVERSATION: &str =
    "INSERT INTO conversations (id, shop, created_at, updated_at, last_seq, summary)
     VALUES (?1, ?2, ?3, ?3, ?4, ?5)
     ON CONFLICT (id) DO UPDATE SET
        updated_at = excluded.updated_at,
        last_seq = CASE WHEN conversations.last_seq > excluded.last_seq
                        THEN conversations.last_seq ELSE excluded.last_seq END,
        summary = coalesce(excluded.summary, conversations.summary)
     WHERE conversations.shop = excluded.shop";
/// A conversation's first visitor binding is its only one (`TurnWrite::visitor`).
const BIND_VISITOR: &str =
    "UPDATE conversations SET visitor = ?2 WHERE id = ?1 AND visitor IS NULL";
const INSERT_TURN: &str = "INSERT INTO turns
        (conversation, id, seq, role, text, at, received_at, book, agent)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING";
const INSERT_EVENT: &str =
    "INSERT INTO events (conversation, seq, type, turn, payload, book, created_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const INSERT_SLA: &str = "INSERT INTO sla_events (conversation, seq, level, turn, waiting_ms, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const INSERT_FEEDBACK: &str =
    "INSERT INTO feedback (conversation, suggestion, script, action, agent, after_seq, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const INSERT_REVEAL: &str = "INSERT INTO reveals (conversation, turn, entity, kind, agent, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
// A re-checked draft id (the agent kept typing) keeps its latest text and hits.
const UPSERT_DRAFT: &str =
    "INSERT INTO drafts (conversation, draft, agent, text, rules, categories, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (conversation, draft) DO UPDATE SET
        text = excluded.text, rules = excluded.rules,
        categories = excluded.categories, at = excluded.at";

/// What a write stores besides its fields: masked texts, joined lists, its last seq.
struct Derived {
    text: String,
    rules: String,
    categories: String,
    last: i64,
}

fn derive(w: &Write) -> Derived {
    let mut d = Derived {
        text: String::new(),
        rules: String::new(),
        categories: String::new(),
        last: 0,
    };
    match w {
        Write::Turn(t) => {
            d.text = mask(&t.text).into_owned();
            d.last = sql_seq(t.events.iter().map(|e| e.seq).max().unwrap_or(t.seq));
        }
        Write::Events(e) => d.last = sql_seq(e.events.iter().map(|e| e.seq).max().unwrap_or(0)),
        Write::Draft(dr) => {
            d.text = mask(&dr.text).into_owned();
            d.rules = dr.rules.join(" ");
            d.categories = dr.categories.join(" ");
        }
        Write::Feedback(_) | Write::Reveal(_) => {}
    }
    d
}

/// A statement of the pipelined path; `must_change`: the write fails on its own (another
/// shop's conversation, a duplicate turn) when the statement changed no row.
struct Planned<'a> {
    statement: Pipelined<'a>,
    must_change: bool,
}

/// The statements of one write, in order (draft resolution excepted: it reads first).
fn plan<'a>(w: &'a Write, d: &'a Derived, out: &mut Vec<Planned<'a>>) {
    type Push<'p, 'a> = &'p mut dyn FnMut(&'static str, Vec<Value<'a>>, bool);
    let mut push = |sql: &'static str, params: Vec<Value<'a>>, must_change: bool| {
        out.push(Planned {
            statement: Pipelined { sql, params },
            must_change,
        });
    };
    let events =
        |conv: &'a str, book: &'a str, at: i64, events: &'a [NewEvent], push: Push<'_, 'a>| {
            for e in events {
                push(
                    INSERT_EVENT,
                    params![conv, sql_seq(e.seq), &e.kind, &e.turn, &e.payload, book, at].to_vec(),
                    false,
                );
            }
        };
    match w {
        Write::Turn(t) => {
            push(
                UPSERT_CONVERSATION,
                params![
                    &t.conversation,
                    &t.shop,
                    t.received_at,
                    d.last,
                    t.summary.as_deref()
                ]
                .to_vec(),
                true,
            );
            if let Some(v) = &t.visitor {
                push(
                    BIND_VISITOR,
                    params![&t.conversation, &v[..]].to_vec(),
                    false,
                );
            }
            push(
                INSERT_TURN,
                params![
                    &t.conversation,
                    &t.id,
                    sql_seq(t.seq),
                    &t.role,
                    &d.text,
                    t.at,
                    t.received_at,
                    &t.book,
                    &t.agent
                ]
                .to_vec(),
                true,
            );
            events(
                &t.conversation,
                &t.book,
                t.received_at,
                &t.events,
                &mut push,
            );
        }
        Write::Events(e) => {
            push(
                UPSERT_CONVERSATION,
                params![&e.conversation, &e.shop, e.at, d.last, e.summary.as_deref()].to_vec(),
                true,
            );
            events(&e.conversation, &e.book, e.at, &e.events, &mut push);
            if let Some(s) = &e.sla {
                push(
                    INSERT_SLA,
                    params![
                        &e.conversation,
                        sql_seq(s.seq),
                        &s.level,
                        &s.turn,
                        s.waiting_ms,
                        e.at
                    ]
                    .to_vec(),
                    false,
                );
            }
        }
        Write::Feedback(f) => push(
            INSERT_FEEDBACK,
            params![
                &f.conversation,
                &f.suggestion,
                &f.script,
                &f.action,
                &f.agent,
                sql_seq(f.after_seq),
                f.at
            ]
            .to_vec(),
            false,
        ),
        Write::Reveal(r) => push(
            INSERT_REVEAL,
            params![&r.conversation, &r.turn, r.entity, &r.kind, &r.agent, r.at].to_vec(),
            false,
        ),
        Write::Draft(dr) => push(
            UPSERT_DRAFT,
            params![
                &dr.conversation,
                &dr.draft,
                &dr.agent,
                &d.text,
                &d.rules,
                &d.categories,
                dr.at
            ]
            .to_vec(),
            false,
        ),
    }
}

/// The pipelined path (PostgreSQL): the batch's statements are sent without waiting for each
/// answer, in segments that end where an agent turn resolves flagged drafts (that needs a
/// read). `Ok(None)`: some write would fail on its own (duplicate, other shop, constraint),
/// so the caller rolls back and applies the batch write by write with savepoints instead.
fn apply_pipelined(conn: &Conn, writes: &[Write]) -> Result<Option<()>, Error> {
    let derived: Vec<Derived> = writes.iter().map(derive).collect();
    let mut segment: Vec<Planned<'_>> = Vec::new();
    let flush = |segment: &mut Vec<Planned<'_>>| -> Result<bool, Error> {
        let statements: Vec<Pipelined<'_>> = segment
            .iter()
            .map(|p| Pipelined {
                sql: p.statement.sql,
                params: p.statement.params.clone(),
            })
            .collect();
        let counts = match conn.pipeline(&statements) {
            Ok(c) => c,
            Err(Error::Postgres(e)) if e.as_db_error().is_some() => return Ok(false),
            Err(e) => return Err(e),
        };
        let clean = segment
            .iter()
            .zip(counts)
            .all(|(p, n)| !p.must_change || n > 0);
        segment.clear();
        Ok(clean)
    };
    for (w, d) in writes.iter().zip(&derived) {
        plan(w, d, &mut segment);
        if let Write::Turn(t) = w
            && let Some(hit_rules) = &t.agent_hit_rules
        {
            if !flush(&mut segment)? {
                return Ok(None);
            }
            resolve_drafts(conn, &t.conversation, hit_rules)?;
        }
    }
    Ok(flush(&mut segment)?.then_some(()))
}

fn upsert_conversation(
    conn: &Conn,
    id: &str,
    shop: &str,
    at: i64,
    last_seq: u64,
    summary: Option<&str>,
) -> Result<(), Error> {
    let changed = conn.execute(
        UPSERT_CONVERSATION,
        params![id, shop, at, sql_seq(last_seq), summary],
    )?;
    if changed == 0 {
        return Err(Error::ShopMismatch(id.to_string()));
    }
    Ok(())
}

fn insert_events(
    conn: &Conn,
    conv: &str,
    book: &str,
    at: i64,
    events: &[NewEvent],
) -> Result<(), Error> {
    for e in events {
        conn.execute(
            INSERT_EVENT,
            params![conv, sql_seq(e.seq), &e.kind, &e.turn, &e.payload, book, at],
        )?;
    }
    Ok(())
}

fn apply_one(conn: &Conn, w: &Write) -> Result<(), Error> {
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
            if let Some(v) = &t.visitor {
                conn.execute(BIND_VISITOR, params![&t.conversation, &v[..]])?;
            }
            let text = mask(&t.text);
            let inserted = conn.execute(
                INSERT_TURN,
                params![
                    &t.conversation,
                    &t.id,
                    sql_seq(t.seq),
                    &t.role,
                    &*text,
                    t.at,
                    t.received_at,
                    &t.book,
                    &t.agent
                ],
            )?;
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
                conn.execute(
                    INSERT_SLA,
                    params![
                        &e.conversation,
                        sql_seq(s.seq),
                        &s.level,
                        &s.turn,
                        s.waiting_ms,
                        e.at
                    ],
                )?;
            }
            Ok(())
        }
        Write::Feedback(f) => {
            conn.execute(
                INSERT_FEEDBACK,
                params![
                    &f.conversation,
                    &f.suggestion,
                    &f.script,
                    &f.action,
                    &f.agent,
                    sql_seq(f.after_seq),
                    f.at
                ],
            )?;
            Ok(())
        }
        Write::Reveal(r) => {
            conn.execute(
                INSERT_REVEAL,
                params![&r.conversation, &r.turn, r.entity, &r.kind, &r.agent, r.at],
            )?;
            Ok(())
        }
        Write::Draft(d) => {
            let text = mask(&d.text);
            let rules = d.rules.join(" ");
            let categories = d.categories.join(" ");
            conn.execute(
                UPSERT_DRAFT,
                params![
                    &d.conversation,
                    &d.draft,
                    &d.agent,
                    &*text,
                    &rules,
                    &categories,
                    d.at
                ],
            )?;
            Ok(())
        }
    }
}

/// Resolves the conversation's unresolved flagged drafts with the sent turn. They are versions
/// of the one reply that was just sent, so only the latest is marked rewritten (1: none of its
/// rules is in the sent turn) or sent anyway (0); the earlier ones are marked superseded (2) and
/// are not counted, so "rewritten" counts once per sent reply, not once per keystroke check.
fn resolve_drafts(conn: &Conn, conversation: &str, hit_rules: &[String]) -> Result<(), Error> {
    let pending: Vec<(String, String)> = conn.query(
        "SELECT draft, rules FROM drafts WHERE conversation = ?1 AND rewritten IS NULL
         ORDER BY at DESC, draft DESC",
        params![conversation],
        |r| Ok((r.text(0)?, r.text(1)?)),
    )?;
    for (i, (draft, rules)) in pending.into_iter().enumerate() {
        let state = if i > 0 {
            DRAFT_SUPERSEDED
        } else {
            let still = rules.split(' ').any(|r| hit_rules.iter().any(|h| h == r));
            i64::from(!still)
        };
        conn.execute(
            "UPDATE drafts SET rewritten = ?3 WHERE conversation = ?1 AND draft = ?2",
            params![conversation, &draft, state],
        )?;
    }
    Ok(())
}

/// `drafts.rewritten` of an earlier version of a reply whose latest version was resolved.
pub(crate) const DRAFT_SUPERSEDED: i64 = 2;
