//! The SQLite backend's own part: opening a file (WAL, busy timeout), its schema and the
//! migrations of files written by earlier builds (`PRAGMA user_version`).

use std::path::Path;

use rusqlite::Connection;

use crate::schema;
use crate::store::{Durability, Error};

/// Opens (creating if needed) the database at `path` and brings its schema up to date.
pub(crate) fn open(path: &Path, durability: Durability) -> Result<Connection, Error> {
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
    Ok(conn)
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
