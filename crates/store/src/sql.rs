//! One database connection, SQLite or PostgreSQL, behind the few calls the store needs
//! (`execute`, `query`, `batch`), so every query and write of the store is written once.
//!
//! Why an enum of two connections and not a trait: the set of backends is closed (the embedded
//! file and the cluster's database), the store's SQL is the same for both except for a handful
//! of DDL statements, and an enum keeps the hot path concrete (no `dyn`, no generic parameter
//! spreading through the server) while a `match` makes each backend answer every call.
//!
//! SQL is written in SQLite's numbered-placeholder form (`?1`, `?2`); for PostgreSQL it is
//! rewritten to `$1`, `$2` once and the prepared statement is cached per connection. Parameters
//! are [`Value`]s (integers are always 64-bit: every integer column is `BIGINT` in PostgreSQL)
//! and rows are read by index through [`Row`].
//!
//! The PostgreSQL connection is `tokio-postgres` driven by a current-thread runtime owned by the
//! connection itself: the store stays synchronous (the service calls it from its writer thread
//! and the blocking pool, like SQLite), and the writer can still pipeline the statements of one
//! batch over the socket (`Conn::pipeline`).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::store::Error;

/// A query parameter. Integers are 64-bit in both backends; NULLs carry their type because
/// PostgreSQL checks it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
    NullInt,
    NullText,
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(v)
    }
}
impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}
impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Value::NullText, Value::Text)
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}

/// `params![a, b]`: a slice of [`Value`]s.
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::sql::Value::from($v)),*][..] };
}
pub(crate) use params;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Int(v) => ValueRef::Integer(v),
            Value::Real(v) => ValueRef::Real(v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
            Value::NullInt | Value::NullText => ValueRef::Null,
        }))
    }
}

impl tokio_postgres::types::ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use tokio_postgres::types::{IsNull, Type};
        match *self {
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::FLOAT8 => (v as f64).to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Real(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
            Value::Blob(v) => v.to_sql(ty, out),
            Value::NullInt | Value::NullText => Ok(IsNull::Yes),
        }
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        use tokio_postgres::types::Type;
        [
            Type::INT8,
            Type::INT4,
            Type::FLOAT8,
            Type::TEXT,
            Type::VARCHAR,
            Type::BYTEA,
        ]
        .contains(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}

/// One result row, read by column index.
pub(crate) enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a tokio_postgres::Row),
}

impl Row<'_> {
    pub(crate) fn opt_i64(&self, i: usize) -> Result<Option<i64>, Error> {
        match self {
            Row::Sqlite(r) => Ok(r.get(i)?),
            Row::Pg(r) => {
                use tokio_postgres::types::Type;
                let ty = r.columns().get(i).map(|c| c.type_().clone());
                Ok(match ty {
                    Some(Type::INT4) => r.try_get::<_, Option<i32>>(i)?.map(i64::from),
                    Some(Type::INT2) => r.try_get::<_, Option<i16>>(i)?.map(i64::from),
                    Some(Type::BOOL) => r.try_get::<_, Option<bool>>(i)?.map(i64::from),
                    _ => r.try_get::<_, Option<i64>>(i)?,
                })
            }
        }
    }

    pub(crate) fn i64(&self, i: usize) -> Result<i64, Error> {
        self.opt_i64(i)?.ok_or(Error::Null(i))
    }

    pub(crate) fn u64(&self, i: usize) -> Result<u64, Error> {
        Ok(u64::try_from(self.i64(i)?).unwrap_or(0))
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, Error> {
        match self {
            Row::Sqlite(r) => Ok(r.get(i)?),
            Row::Pg(r) => Ok(r.try_get(i)?),
        }
    }

    pub(crate) fn text(&self, i: usize) -> Result<String, Error> {
        self.opt_text(i)?.ok_or(Error::Null(i))
    }

    pub(crate) fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Row::Sqlite(r) => Ok(r.get(i)?),
            Row::Pg(r) => Ok(r.try_get(i)?),
        }
    }
}

/// Runs `f` here, or on a short-lived thread when this thread is inside a tokio runtime (the
/// PostgreSQL connection's own runtime cannot block inside another one): opening a store from
/// async code (`huashu_server::run`, async tests) goes through this.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A PostgreSQL connection with its own runtime and statement cache.
pub(crate) struct Pg {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    statements: HashMap<String, tokio_postgres::Statement>,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg")
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl Pg {
    pub(crate) fn connect(url: &str) -> Result<Pg, Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Connect(e.to_string()))?;
        let (client, connection) =
            rt.block_on(tokio_postgres::connect(url, tokio_postgres::NoTls))?;
        // Polled whenever this connection's runtime runs a query (every call is a block_on).
        rt.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "PostgreSQL connection ended");
            }
        });
        Ok(Pg {
            rt,
            client,
            statements: HashMap::new(),
        })
    }

    fn statement(&mut self, sql: &str) -> Result<tokio_postgres::Statement, Error> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self
            .rt
            .block_on(self.client.prepare(&pg_placeholders(sql)))?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

/// `?1` → `$1` (the store's SQL holds no `?` anywhere else).
fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_params<'a>(params: &'a [Value<'a>]) -> Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

/// One statement of a pipelined batch (`Conn::pipeline`).
#[derive(Debug)]
pub(crate) struct Pipelined<'a> {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Value<'a>>,
}

/// The connection of one `Store`.
#[derive(Debug)]
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(RefCell<Pg>),
}

impl Conn {
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_))
    }

    /// Runs statements without parameters (DDL, transaction control).
    pub(crate) fn batch(&self, sql: &str) -> Result<(), Error> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(pg) => {
                let pg = &mut *pg.borrow_mut();
                Ok(pg.rt.block_on(pg.client.batch_execute(sql))?)
            }
        }
    }

    /// One statement; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[Value<'_>]) -> Result<u64, Error> {
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let n = st.execute(rusqlite::params_from_iter(params.iter()))?;
                Ok(n as u64)
            }
            Conn::Postgres(pg) => {
                let pg = &mut *pg.borrow_mut();
                let st = pg.statement(sql)?;
                Ok(pg.rt.block_on(pg.client.execute(&st, &pg_params(params)))?)
            }
        }
    }

    /// Every row of a query, each mapped by `f`.
    pub(crate) fn query<T>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(f(&Row::Sqlite(r))?);
                }
                Ok(out)
            }
            Conn::Postgres(pg) => {
                let rows = {
                    let pg = &mut *pg.borrow_mut();
                    let st = pg.statement(sql)?;
                    pg.rt.block_on(pg.client.query(&st, &pg_params(params)))?
                };
                rows.iter().map(|r| f(&Row::Pg(r))).collect()
            }
        }
    }

    /// The first row of a query, if any.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        f: impl FnMut(&Row<'_>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        Ok(self.query(sql, params, f)?.into_iter().next())
    }

    /// PostgreSQL: sends every statement before reading any answer (one round trip for the
    /// batch instead of one per statement) and returns each statement's changed-row count. The
    /// first failure fails the call; statements after it may or may not have run, so callers
    /// run this inside a transaction they roll back on error. SQLite: runs them in turn.
    pub(crate) fn pipeline(&self, statements: &[Pipelined<'_>]) -> Result<Vec<u64>, Error> {
        match self {
            Conn::Sqlite(_) => statements
                .iter()
                .map(|s| self.execute(s.sql, &s.params))
                .collect(),
            Conn::Postgres(pg) => {
                let pg = &mut *pg.borrow_mut();
                let mut prepared = Vec::with_capacity(statements.len());
                for s in statements {
                    prepared.push(pg.statement(s.sql)?);
                }
                let params: Vec<Vec<&(dyn tokio_postgres::types::ToSql + Sync)>> =
                    statements.iter().map(|s| pg_params(&s.params)).collect();
                let client = &pg.client;
                let futures = prepared
                    .iter()
                    .zip(&params)
                    .map(|(st, p)| client.execute(st, p));
                Ok(pg
                    .rt
                    .block_on(futures_util::future::try_join_all(futures))?)
            }
        }
    }

    /// Whether the connection is gone for good (PostgreSQL closed it); a pool drops such a
    /// connection instead of reusing it.
    pub(crate) fn is_broken(&self) -> bool {
        match self {
            Conn::Sqlite(_) => false,
            Conn::Postgres(pg) => pg.borrow().client.is_closed(),
        }
    }

    pub(crate) fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_placeholders_become_dollars() {
        assert_eq!(
            super::pg_placeholders("SELECT a FROM t WHERE b = ?1 AND c > ?12"),
            "SELECT a FROM t WHERE b = $1 AND c > $12"
        );
    }
}
