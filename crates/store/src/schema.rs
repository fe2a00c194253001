//! The database schema, applied (idempotently) when a store is opened.
//!
//! `PRAGMA user_version` records the schema version so a later release can migrate old files.

/// Current schema version. 2: conversation ids are scoped by shop (`conversation_key`); a
/// version-1 file is migrated in place when opened (`Store::open`).
pub const VERSION: i64 = 2;

/// Separates the shop from the client's conversation id in a stored conversation key. A
/// control character: shops (token file) and ids (protocol) may not contain one, so a key
/// splits back unambiguously at its first separator.
pub const KEY_SEPARATOR: char = '\u{1f}';

/// The tables whose `conversation` column holds a conversation key, migrated from version 1.
pub const KEYED_TABLES: &[&str] = &[
    "turns",
    "events",
    "feedback",
    "drafts",
    "reveals",
    "sla_events",
];

pub const DDL: &str = r#"
-- `id` and every `conversation` column hold the conversation key: shop, U+001F, client id, so
-- shop B's `order-10001` is a different conversation from shop A's.
CREATE TABLE IF NOT EXISTS conversations (
    id          TEXT PRIMARY KEY,
    shop        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL DEFAULT 0,
    -- ConversationSummary JSON as last pushed to watchers (masked).
    summary     TEXT
    -- + visitor BLOB (ADDED_COLUMNS): SHA-256 of the widget visitor key that started it.
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_shop ON conversations (shop, updated_at);

-- One row per accepted turn; `seq` is the seq of the turn's first event (the one acked).
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL,
    id           TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    role         TEXT NOT NULL,
    text         TEXT NOT NULL,      -- masked
    at           INTEGER NOT NULL,   -- client time (ms since epoch), server time when absent
    received_at  INTEGER NOT NULL,
    book         TEXT NOT NULL,      -- hash of the phrasebook that analysed it
    agent        TEXT,               -- agent turns: the agent who sent it, when known
    PRIMARY KEY (conversation, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS turns_seq ON turns (conversation, seq);

-- Every event pushed to subscribers, exactly as sent (a complete JSON frame).
-- A rowid table: payloads are 0.2-2 KB, so rows appended in rowid order fill pages
-- sequentially, and only the small (conversation, seq) index entries land on random pages.
-- (Keyed WITHOUT ROWID on (conversation, seq), each event dirtied a random 4 KB leaf and the
-- group commit's WAL writes were most of the writer thread's time at 3k turns/s.)
CREATE TABLE IF NOT EXISTS events (
    conversation TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    type         TEXT NOT NULL,
    turn         TEXT,
    payload      TEXT NOT NULL,
    book         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events (conversation, seq);
-- The few guard events that promise a follow-up: lets a restart find the reminders to re-arm
-- without reading every event.
CREATE INDEX IF NOT EXISTS events_follow_up ON events (conversation)
    WHERE type = 'guard' AND instr(payload, '"follow_up":{') > 0;

CREATE TABLE IF NOT EXISTS feedback (
    conversation TEXT NOT NULL,
    suggestion   TEXT NOT NULL,
    script       TEXT NOT NULL,
    action       TEXT NOT NULL,
    agent        TEXT,
    after_seq    INTEGER NOT NULL,   -- the conversation's last seq when it was given
    at           INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_conv ON feedback (conversation, after_seq);

-- Drafts the guard flagged; `rewritten` is set by the agent's next sent turn in the
-- conversation: 1 when none of the flagged rules is in it any more, 0 when sent anyway, on the
-- latest flagged version of that reply only; earlier versions get 2 (superseded, not counted).
CREATE TABLE IF NOT EXISTS drafts (
    conversation TEXT NOT NULL,
    draft        TEXT NOT NULL,
    agent        TEXT,
    text         TEXT NOT NULL,      -- masked
    rules        TEXT NOT NULL,      -- space-separated rule ids
    categories   TEXT NOT NULL,      -- space-separated categories
    at           INTEGER NOT NULL,
    rewritten    INTEGER,
    PRIMARY KEY (conversation, draft)
) WITHOUT ROWID;

-- An agent revealed a masked personal value (phone, address, name) of a customer turn: who,
-- which turn and entity, which kind, when. Never the value itself (it is not stored anywhere).
CREATE TABLE IF NOT EXISTS reveals (
    conversation TEXT NOT NULL,
    turn         TEXT NOT NULL,
    entity       INTEGER NOT NULL,   -- index in the turn's `entities`
    kind         TEXT NOT NULL,
    agent        TEXT,
    at           INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sla_events (
    conversation TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    level        TEXT NOT NULL,      -- warn | breach | follow_up
    turn         TEXT,
    waiting_ms   INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (conversation, seq)
) WITHOUT ROWID;
"#;

/// Columns added to existing tables after files of this schema version were written: a file
/// missing one gets it with `ALTER TABLE … ADD COLUMN` when it is opened (`Store::open`).
/// Each is nullable, so old rows read as unknown and older builds still read and write the file.
pub const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("turns", "agent", "TEXT"),
    // SHA-256 of the widget visitor key that started the conversation (NULL: not bound).
    ("conversations", "visitor", "BLOB"),
];
