//! Store behaviour the service relies on: atomic turn+events, idempotency, replay ranges,
//! tenant ownership, masking at rest, draft resolution and reopening the same file.

use super::*;

fn turn(conv: &str, id: &str, seq: u64, role: &str, text: &str) -> Write {
    Write::Turn(TurnWrite {
        conversation: conv.into(),
        shop: "s1".into(),
        id: id.into(),
        seq,
        role: role.into(),
        text: text.into(),
        at: 1,
        received_at: 2,
        book: "h".into(),
        agent: (role == "agent").then(|| "a1".to_string()),
        events: vec![
            NewEvent {
                seq,
                kind: "analysis".into(),
                turn: Some(id.into()),
                payload: format!("{{\"seq\":{seq}}}"),
            },
            NewEvent {
                seq: seq + 1,
                kind: "suggestions".into(),
                turn: Some(id.into()),
                payload: format!("{{\"seq\":{}}}", seq + 1),
            },
        ],
        summary: Some(format!("{{\"last\":{}}}", seq + 1)),
        agent_hit_rules: (role == "agent").then(Vec::new),
        visitor: None,
    })
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("t.db"), Durability::Normal).expect("open");
    (dir, store)
}

/// The backends the behavioural suite runs against (`both!` below).
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// What keeps a fresh store's database alive (a temporary file or PostgreSQL database).
enum Kept {
    Sqlite(tempfile::TempDir),
    Postgres(TempDatabase),
}

impl Kept {
    fn reopen(&self) -> Store {
        match self {
            Kept::Sqlite(dir) => {
                Store::open(&dir.path().join("t.db"), Durability::Normal).expect("reopen")
            }
            Kept::Postgres(db) => Store::open_postgres(db.url()).expect("reconnect"),
        }
    }
}

/// An empty store of backend `b`. PostgreSQL must be reachable (see `TempDatabase`): the
/// PostgreSQL half of the suite fails, never skips, without it.
fn fresh(b: Backend) -> (Kept, Store) {
    match b {
        Backend::Sqlite => {
            let (dir, store) = open();
            (Kept::Sqlite(dir), store)
        }
        Backend::Postgres => {
            let db = TempDatabase::new().expect(
                "PostgreSQL for the store tests (HUASHU_TEST_PG, default postgres://root@127.0.0.1:5432/postgres)",
            );
            let store = Store::open_postgres(db.url()).expect("migrated");
            (Kept::Postgres(db), store)
        }
    }
}

/// One `#[test]` per backend for each behavioural test `fn name(b: Backend)`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod on_postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

both!(
    turn_and_events_are_stored_and_replayed_in_ranges,
    duplicate_turn_is_rejected_without_undoing_the_batch,
    other_shop_cannot_write_into_a_conversation,
    stored_text_is_masked,
    flagged_drafts_are_resolved_by_the_next_agent_turn,
    rewrites_count_once_per_sent_reply,
    an_event_seq_is_stored_once_per_conversation,
    timers_to_rearm_are_the_waiting_customers_and_unreminded_follow_ups,
    reopening_keeps_everything,
    feedback_keeps_its_order,
    a_newer_schema_is_refused,
    postgres_migrations_are_applied_once,
    the_first_visitor_binding_is_kept_for_good,
);

fn turn_and_events_are_stored_and_replayed_in_ranges(b: Backend) {
    let (_kept, mut s) = fresh(b);
    s.apply_one(&turn("c1", "m1", 1, "customer", "hi"))
        .expect("first");
    s.apply_one(&turn("c1", "m2", 3, "customer", "again"))
        .expect("second");
    let conv = s.conversation("c1").expect("read").expect("exists");
    assert_eq!((conv.shop.as_str(), conv.last_seq), ("s1", 4));
    let seqs = |after, upto| -> Vec<u64> {
        s.events("c1", after, upto, 100)
            .expect("events")
            .iter()
            .map(|e| e.seq)
            .collect()
    };
    assert_eq!(seqs(0, None), [1, 2, 3, 4]);
    assert_eq!(seqs(2, None), [3, 4]);
    assert_eq!(seqs(1, Some(3)), [2, 3]);
    assert_eq!(s.events("c1", 0, None, 3).expect("page").len(), 3);
    assert_eq!(s.turns("c1").expect("turns").len(), 2);
}

fn duplicate_turn_is_rejected_without_undoing_the_batch(b: Backend) {
    let (_kept, mut s) = fresh(b);
    let results = s
        .apply(&[
            turn("c1", "m1", 1, "customer", "a"),
            turn("c1", "m1", 3, "customer", "a"),
            turn("c2", "m1", 1, "customer", "b"),
        ])
        .expect("batch");
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::DuplicateTurn { .. })));
    assert!(results[2].is_ok());
    assert_eq!(s.count(Table::Turns).expect("count"), 2);
    // The failed write's events were rolled back with it.
    assert_eq!(s.count(Table::Events).expect("count"), 4);
}

fn other_shop_cannot_write_into_a_conversation(b: Backend) {
    let (_kept, mut s) = fresh(b);
    s.apply_one(&turn("c1", "m1", 1, "customer", "a"))
        .expect("first");
    let Write::Turn(mut t) = turn("c1", "m2", 3, "customer", "b") else {
        unreachable!()
    };
    t.shop = "s2".into();
    assert!(matches!(
        s.apply_one(&Write::Turn(t)),
        Err(Error::ShopMismatch(_))
    ));
    assert_eq!(s.count(Table::Events).expect("count"), 2);
}

fn stored_text_is_masked(b: Backend) {
    let (_kept, mut s) = fresh(b);
    s.apply_one(&turn("c1", "m1", 1, "customer", "电话13812345678"))
        .expect("write");
    assert_eq!(s.turns("c1").expect("turns")[0].text, "电话138****5678");
}

fn flagged_drafts_are_resolved_by_the_next_agent_turn(b: Backend) {
    let (_kept, mut s) = fresh(b);
    let draft = |id: &str, rule: &str| {
        Write::Draft(DraftWrite {
            conversation: "c1".into(),
            draft: id.into(),
            agent: Some("a1".into()),
            text: "你去告啊".into(),
            rules: vec![rule.into()],
            categories: vec!["provoke".into()],
            at: 5,
        })
    };
    s.apply_one(&turn("c1", "m1", 1, "customer", "x"))
        .expect("turn");
    s.apply_one(&draft("d1", "provoke.go_sue")).expect("draft");
    s.apply_one(&draft("d2", "insult.x")).expect("draft");
    let Write::Turn(mut t) = turn("c1", "m2", 3, "agent", "y") else {
        unreachable!()
    };
    t.agent_hit_rules = Some(vec!["insult.x".into()]);
    s.apply_one(&Write::Turn(t)).expect("agent turn");
    let d = s.drafts("c1").expect("drafts");
    // d1 and d2 are versions of the one reply m2: only the latest (d2) is resolved.
    assert_eq!((d[0].superseded, d[0].rewritten), (true, None));
    assert_eq!((d[1].superseded, d[1].rewritten), (false, Some(false)));
}

/// "改写 25 after 4 replies": every keystroke check of a reply is a flagged draft, but the
/// figures count one caught draft (and at most one rewrite) per sent reply.
fn rewrites_count_once_per_sent_reply(b: Backend) {
    let (_kept, mut s) = fresh(b);
    s.apply_one(&turn("c1", "m1", 1, "customer", "x"))
        .expect("turn");
    // (sent turn id, drafts before it, sent text still hits the rule)
    const REPLIES: &[(&str, usize, bool)] = &[("a1", 5, false), ("a2", 3, false), ("a3", 2, true)];
    let mut at = 10;
    for &(id, drafts, still) in REPLIES {
        for k in 0..drafts {
            at += 1;
            s.apply_one(&Write::Draft(DraftWrite {
                conversation: "c1".into(),
                draft: format!("{id}-d{k}"),
                agent: Some("a1".into()),
                text: "你去告啊".into(),
                rules: vec!["provoke.go_sue".into()],
                categories: vec!["provoke".into()],
                at,
            }))
            .expect("draft");
        }
        at += 1;
        let Write::Turn(mut t) = turn("c1", id, at as u64, "agent", "y") else {
            unreachable!()
        };
        t.agent_hit_rules = Some(if still {
            vec!["provoke.go_sue".into()]
        } else {
            vec![]
        });
        s.apply_one(&Write::Turn(t)).expect("agent turn");
    }
    let d = s.drafts("c1").expect("drafts");
    let resolved: Vec<Option<bool>> = d
        .iter()
        .filter(|x| !x.superseded)
        .map(|x| x.rewritten)
        .collect();
    assert_eq!(resolved, [Some(true), Some(true), Some(false)]);
}

fn reopening_keeps_everything(b: Backend) {
    let (kept, mut s) = fresh(b);
    s.apply_one(&turn("c1", "m1", 1, "customer", "a"))
        .expect("write");
    s.apply_one(&Write::Feedback(FeedbackWrite {
        conversation: "c1".into(),
        suggestion: "1:greet".into(),
        script: "greet".into(),
        action: "used".into(),
        agent: None,
        after_seq: 2,
        at: 3,
    }))
    .expect("feedback");
    drop(s);
    let s = kept.reopen();
    assert_eq!(
        s.conversation("c1").expect("read").map(|c| c.last_seq),
        Some(2)
    );
    assert_eq!(s.feedback("c1").expect("feedback")[0].script, "greet");
    assert_eq!(s.summaries("s1", 10).expect("summaries"), ["{\"last\":2}"])
}

/// Feedback is read back in the order it was given, also within one `after_seq`.
fn feedback_keeps_its_order(b: Backend) {
    let (_kept, mut s) = fresh(b);
    s.apply_one(&turn("c1", "m1", 1, "customer", "a"))
        .expect("write");
    for script in ["z", "a", "m"] {
        s.apply_one(&Write::Feedback(FeedbackWrite {
            conversation: "c1".into(),
            suggestion: format!("1:{script}"),
            script: script.into(),
            action: "dismissed".into(),
            agent: Some("a1".into()),
            after_seq: 2,
            at: 3,
        }))
        .expect("feedback");
    }
    let order: Vec<String> = s
        .feedback("c1")
        .expect("feedback")
        .into_iter()
        .map(|f| f.script)
        .collect();
    assert_eq!(order, ["z", "a", "m"]);
}

#[test]
fn store_is_send() {
    fn check<T: Send>() {}
    check::<Store>();
}

fn event_at(conv: &str, seq: u64) -> Write {
    Write::Events(EventsWrite {
        conversation: conv.into(),
        shop: "s1".into(),
        at: 3,
        book: "h".into(),
        events: vec![NewEvent {
            seq,
            kind: "sla".into(),
            turn: None,
            payload: format!("{{\"seq\":{seq}}}"),
        }],
        summary: None,
        sla: None,
    })
}

fn an_event_seq_is_stored_once_per_conversation(b: Backend) {
    let (_kept, mut s) = fresh(b);
    s.apply_one(&turn("c1", "m1", 1, "customer", "hi"))
        .expect("turn");
    assert!(s.apply_one(&event_at("c1", 2)).is_err(), "seq 2 is taken");
    s.apply_one(&event_at("c2", 2)).expect("other conversation");
    assert_eq!(s.events("c1", 0, None, 10).expect("events").len(), 2);
}

#[test]
fn a_file_with_the_earlier_without_rowid_events_table_still_works() {
    // Schema 1 files written before `events` became a rowid table keep their table.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    rusqlite::Connection::open(&path)
        .expect("create")
        .execute_batch(
            "CREATE TABLE events (conversation TEXT NOT NULL, seq INTEGER NOT NULL,
                 type TEXT NOT NULL, turn TEXT, payload TEXT NOT NULL, book TEXT NOT NULL,
                 created_at INTEGER NOT NULL, PRIMARY KEY (conversation, seq)) WITHOUT ROWID;
             PRAGMA user_version = 1;",
        )
        .expect("old layout");
    let mut s = Store::open(&path, Durability::Normal).expect("opens");
    s.apply_one(&turn("c1", "m1", 1, "customer", "hi"))
        .expect("turn");
    assert!(s.apply_one(&event_at("c1", 1)).is_err(), "seq 1 is taken");
    let seqs: Vec<u64> = s
        .events("c1", 0, None, 10)
        .expect("events")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2]);
}

#[test]
fn a_file_whose_turns_lack_the_agent_column_gets_it_when_opened() {
    // Files written before `turns.agent` existed: the column is added, old rows read as unknown.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    rusqlite::Connection::open(&path)
        .expect("create")
        .execute_batch(
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, shop TEXT NOT NULL,
                 created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                 last_seq INTEGER NOT NULL DEFAULT 0, summary TEXT) WITHOUT ROWID;
             CREATE TABLE turns (conversation TEXT NOT NULL, id TEXT NOT NULL,
                 seq INTEGER NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL,
                 at INTEGER NOT NULL, received_at INTEGER NOT NULL, book TEXT NOT NULL,
                 PRIMARY KEY (conversation, id)) WITHOUT ROWID;
             INSERT INTO conversations VALUES ('c1', 's1', 1, 1, 1, NULL);
             INSERT INTO turns VALUES ('c1', 'm1', 1, 'agent', 'old reply', 1, 2, 'h');
             PRAGMA user_version = 1;",
        )
        .expect("old layout");
    // Version 1 ids are migrated to shop-scoped keys as well.
    let c1 = conversation_key("s1", "c1");
    {
        let mut s = Store::open(&path, Durability::Normal).expect("opens and migrates");
        s.apply_one(&turn(&c1, "m2", 2, "agent", "new reply"))
            .expect("turn with an agent");
        let agents: Vec<_> = s
            .turns(&c1)
            .expect("turns")
            .into_iter()
            .map(|t| (t.id, t.agent))
            .collect();
        assert_eq!(
            agents,
            [("m1".into(), None), ("m2".into(), Some("a1".into()))]
        );
    }
    // Opening again finds the column and changes nothing.
    let s = Store::open(&path, Durability::Normal).expect("reopens");
    assert_eq!(s.turns(&c1).expect("turns")[1].agent.as_deref(), Some("a1"));
    let v: i64 = s
        .conn()
        .sqlite()
        .expect("sqlite")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, schema::VERSION);
}

#[test]
fn a_complete_checkpoint_by_the_writer_lets_the_wal_start_over() {
    let (dir, mut s) = open();
    s.disable_auto_checkpoint().expect("no auto checkpoint");
    let write = |s: &mut Store, range: std::ops::Range<u64>| {
        for i in range {
            s.apply_one(&turn("c1", &format!("m{i}"), 2 * i + 1, "customer", "hi"))
                .expect("turn");
        }
    };
    write(&mut s, 0..200);
    let wal = dir.path().join("t.db-wal");
    let size = std::fs::metadata(&wal).expect("wal").len();
    assert!(
        s.checkpoint_complete().expect("checkpoint"),
        "nothing else holds the WAL"
    );
    // Fewer writes than before: a rewound WAL is overwritten from its start and keeps its size;
    // one that was not rewound would have grown.
    write(&mut s, 200..300);
    assert_eq!(std::fs::metadata(&wal).expect("wal").len(), size);
    assert_eq!(s.events("c1", 0, None, 1000).expect("events").len(), 600);
}

fn timers_to_rearm_are_the_waiting_customers_and_unreminded_follow_ups(b: Backend) {
    let (_kept, mut s) = fresh(b);
    let with_summary = |w: Write, summary: &str| match w {
        Write::Turn(mut t) => {
            t.summary = Some(summary.into());
            Write::Turn(t)
        }
        other => other,
    };
    // c1: a customer waits. c2: answered. c3: an agent promised a follow-up.
    s.apply_one(&with_summary(
        turn("c1", "m1", 1, "customer", "hi"),
        r#"{"waiting_since":5,"sla":"ok"}"#,
    ))
    .expect("c1");
    s.apply_one(&with_summary(
        turn("c2", "m1", 1, "agent", "hi"),
        r#"{"waiting_since":null,"sla":"ok"}"#,
    ))
    .expect("c2");
    let Write::Turn(mut promise) = turn("c3", "m1", 1, "agent", "24小时内答复您") else {
        unreachable!()
    };
    promise.events.truncate(1);
    promise.events[0].kind = "guard".into();
    promise.events[0].payload =
        r#"{"type":"guard","seq":1,"follow_up":{"due_in_ms":1000,"text":"24小时内答复您"}}"#.into();
    promise.summary = Some(r#"{"waiting_since":null}"#.into());
    s.apply_one(&Write::Turn(promise)).expect("c3");
    let mut ids = s.conversations_with_timers().expect("timers");
    ids.sort();
    assert_eq!(ids, ["c1", "c3"]);
    let pending = s.pending_follow_ups("c3").expect("pending");
    assert_eq!(
        (
            pending.len(),
            pending[0].turn.as_str(),
            pending[0].received_at
        ),
        (1, "m1", 2)
    );
    assert!(s.pending_follow_ups("c1").expect("none").is_empty());
    // Once reminded, it is no longer pending.
    s.apply_one(&Write::Events(EventsWrite {
        conversation: "c3".into(),
        shop: "s1".into(),
        at: 3,
        book: "h".into(),
        events: vec![NewEvent {
            seq: 2,
            kind: "follow_up".into(),
            turn: Some("m1".into()),
            payload: "{}".into(),
        }],
        summary: None,
        sla: Some(SlaWrite {
            seq: 2,
            level: "follow_up".into(),
            turn: Some("m1".into()),
            waiting_ms: 1000,
        }),
    }))
    .expect("reminder");
    assert!(s.pending_follow_ups("c3").expect("none").is_empty());
    assert_eq!(s.conversations_with_timers().expect("timers"), ["c1"]);
}

#[test]
fn a_version_1_file_is_migrated_to_shop_scoped_keys_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v1.db");
    {
        // A file as version 1 wrote it: the same tables (the DDL did not change), ids unscoped.
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(crate::schema::DDL).expect("v1 tables");
        c.execute_batch(
            "INSERT INTO conversations VALUES ('order-10001','shop-a',1,1,2,'{\"conversation\":\"order-10001\"}');
             INSERT INTO conversations VALUES ('c-b','shop-b',1,1,1,NULL);
             INSERT INTO turns VALUES ('order-10001','m1',1,'customer','你好',1,1,'h',NULL);
             INSERT INTO turns VALUES ('c-b','m1',1,'agent','您好',1,1,'h','a1');
             INSERT INTO events (conversation, seq, type, turn, payload, book, created_at)
                 VALUES ('order-10001',1,'analysis','m1','{\"conversation\":\"order-10001\"}','h',1);
             INSERT INTO feedback VALUES ('order-10001','m1:greet','greet','used','a1',2,3);
             INSERT INTO drafts VALUES ('c-b','d1','a1','x','r','c',1,NULL);
             INSERT INTO drafts VALUES ('never-stored','d1','a1','x','r','c',1,NULL);
             INSERT INTO sla_events VALUES ('order-10001',2,'warn','m1',8000,9);
             PRAGMA user_version = 1;",
        )
        .expect("v1 rows");
    }
    let mut s = Store::open(&path, Durability::Normal).expect("migrated");
    let a = conversation_key("shop-a", "order-10001");
    let b = conversation_key("shop-b", "c-b");
    assert_eq!(
        s.conversation(&a).expect("read").map(|c| c.shop),
        Some("shop-a".into())
    );
    assert!(s.conversation("order-10001").expect("read").is_none());
    assert_eq!(s.turns(&a).expect("turns").len(), 1);
    assert_eq!(s.turns(&b).expect("turns")[0].agent.as_deref(), Some("a1"));
    assert_eq!(s.events(&a, 0, None, 10).expect("events").len(), 1);
    assert_eq!(s.feedback(&a).expect("feedback").len(), 1);
    assert_eq!(s.drafts(&b).expect("drafts").len(), 1);
    assert_eq!(s.drafts("never-stored").expect("orphan kept").len(), 1);
    assert_eq!(s.sla_events(&a).expect("sla").len(), 1);
    let version: i64 = s
        .conn()
        .sqlite()
        .expect("sqlite")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, crate::schema::VERSION);
    // Shop B can now start its own order-10001, independent of shop A's.
    let mut w = turn(
        &conversation_key("shop-b", "order-10001"),
        "m1",
        1,
        "customer",
        "在吗",
    );
    if let Write::Turn(t) = &mut w {
        t.shop = "shop-b".into();
    }
    s.apply_one(&w).expect("shop B's own conversation");
    assert_eq!(s.turns(&a).expect("turns")[0].text, "你好");
    // The transcript names conversations as clients do.
    let ids: Vec<(String, String)> = s
        .transcript(None, None, None)
        .expect("transcript")
        .into_iter()
        .map(|t| (t.shop, t.conversation))
        .collect();
    assert!(
        ids.contains(&("shop-a".into(), "order-10001".into())),
        "{ids:?}"
    );
    assert!(
        ids.contains(&("shop-b".into(), "order-10001".into())),
        "{ids:?}"
    );
    drop(s);
    // Opening again does not migrate twice.
    let s = Store::open(&path, Durability::Normal).expect("reopen");
    assert_eq!(s.turns(&a).expect("turns").len(), 1);
}

/// A database written by a newer build is not touched.
fn a_newer_schema_is_refused(b: Backend) {
    let (kept, s) = fresh(b);
    match b {
        Backend::Sqlite => s.conn().batch("PRAGMA user_version = 999").expect("bump"),
        Backend::Postgres => s
            .conn()
            .batch("INSERT INTO schema_version (version) VALUES (999)")
            .expect("bump"),
    }
    drop(s);
    let refused = match &kept {
        Kept::Sqlite(dir) => Store::open(&dir.path().join("t.db"), Durability::Normal).err(),
        Kept::Postgres(db) => Store::open_postgres(db.url()).err(),
    };
    assert!(
        matches!(refused, Some(Error::SchemaTooNew { found: 999, .. })),
        "{refused:?}"
    );
}

/// Connecting again (another node, a restart) finds every migration applied and applies none.
fn postgres_migrations_are_applied_once(b: Backend) {
    let (kept, s) = fresh(b);
    drop(s);
    let again = kept.reopen();
    if let Backend::Postgres = b {
        let versions = again
            .conn()
            .query(
                "SELECT version FROM schema_version ORDER BY version",
                &[],
                |r| r.i64(0),
            )
            .expect("versions");
        let expected: Vec<i64> = crate::postgres::MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(versions, expected);
    }
    assert_eq!(again.count(Table::Turns).expect("count"), 0);
}

/// The first visitor binding of a conversation is kept for good, across reopening.
fn the_first_visitor_binding_is_kept_for_good(b: Backend) {
    let (kept, mut s) = fresh(b);
    let with_visitor = |id: &str, seq: u64, v: Option<[u8; 32]>| {
        let Write::Turn(mut t) = turn("c1", id, seq, "customer", "x") else {
            unreachable!()
        };
        t.visitor = v;
        Write::Turn(t)
    };
    s.apply_one(&with_visitor("m1", 1, Some([7; 32])))
        .expect("claim");
    // A later write naming another visitor (which the service never sends) changes nothing.
    s.apply_one(&with_visitor("m2", 3, Some([9; 32])))
        .expect("turn");
    s.apply_one(&with_visitor("m3", 5, None)).expect("turn");
    let bound = |s: &Store| s.conversation("c1").expect("read").expect("c1").visitor;
    assert_eq!(bound(&s), Some([7; 32]));
    drop(s);
    assert_eq!(bound(&kept.reopen()), Some([7; 32]));
}

#[test]
fn errors_name_no_conversation_or_turn_id() {
    // They reach the logs, and a client's ids may hold personal data.
    let e = Error::DuplicateTurn {
        conversation: "13812345678".into(),
        id: "m1".into(),
    };
    assert!(!e.to_string().contains("13812345678"), "{e}");
    assert!(
        !Error::ShopMismatch("13812345678".into())
            .to_string()
            .contains("1381")
    );
}
