//! One way to run a statement on either backend. SQLite runs on the calling
//! thread through rusqlite: a statement on a local file takes microseconds,
//! while sqlx's SQLite driver hands every statement to a thread of its own and
//! back, which cost most of the server's time per ACME issuance. PostgreSQL
//! runs through sqlx. Statements use `$n` placeholders on both backends.
//!
//! Writers of one process take turns before they touch the file
//! ([`crate::Db::begin`], [`crate::Db::acquire_writer`]: every write goes
//! through one of them), and readers never wait in WAL mode, so a statement
//! waits for a lock only when another process holds the file's; it then
//! waits with the runtime's other tasks handed to another thread
//! (`lock_wait`).

use std::borrow::Cow;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Arguments as _, Column as _, Row as _};

use crate::{Error, Result};

/// The counter of statements sent to the database: with the requests' rate,
/// it tells how many statements each costs.
pub const STATEMENTS: &str = "certgate_db_statements_total";

fn counted() {
    metrics::counter!(STATEMENTS).increment(1);
}

/// A database connection of either backend; every query function takes one,
/// so the caller decides the transaction boundaries.
pub enum Conn {
    /// An SQLite connection, used on the calling thread. `writes` is true
    /// while it holds the process's write turn ([`crate::Db::begin`],
    /// [`crate::Db::acquire_writer`]); a debug build refuses a writing
    /// statement without it, so a write that would queue for SQLite's lock
    /// behind another writer of this process fails in the tests instead.
    Sqlite {
        /// The connection.
        conn: rusqlite::Connection,
        /// Whether it holds the write turn.
        writes: bool,
    },
    /// A PostgreSQL connection.
    Postgres(sqlx::PgConnection),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conn::Sqlite { .. } => "Conn::Sqlite",
            Conn::Postgres(_) => "Conn::Postgres",
        })
    }
}

impl Conn {
    /// Which engine this connection talks to, for the few statements that
    /// each backend writes its own way.
    pub fn backend(&self) -> crate::Backend {
        match self {
            Conn::Sqlite { .. } => crate::Backend::Sqlite,
            Conn::Postgres(_) => crate::Backend::Postgres,
        }
    }

    /// Runs statements that take no parameters and return nothing (pragmas,
    /// `BEGIN`, `COMMIT`, `ROLLBACK`).
    pub async fn batch(&mut self, sql: &'static str) -> Result<()> {
        counted();
        match self {
            Conn::Sqlite { conn, .. } => conn.execute_batch(sql).map_err(Error::Sqlite),
            Conn::Postgres(c) => {
                sqlx::Executor::execute(c, sql).await?;
                Ok(())
            }
        }
    }

    /// Runs `begin`, then `select`, a statement without parameters that
    /// selects one integer, and returns it: on PostgreSQL in one round trip.
    pub(crate) async fn begin_selecting(&mut self, begin: &'static str, select: &'static str) -> Result<i64> {
        counted();
        counted();
        match self {
            Conn::Sqlite { conn, .. } => {
                conn.execute_batch(begin)?;
                Ok(conn.prepare_cached(select)?.query_row([], |r| r.get(0))?)
            }
            Conn::Postgres(c) => {
                // Both parts are the caller's static texts.
                let sql = sqlx::AssertSqlSafe(format!("{begin}; {select}"));
                Ok(sqlx::raw_sql(sql).fetch_one(c).await?.try_get(0)?)
            }
        }
    }

    /// True when the connection still answers (an SQLite file always does).
    pub async fn ping(&mut self) -> bool {
        match self {
            Conn::Sqlite { .. } => true,
            Conn::Postgres(c) => sqlx::Connection::ping(c).await.is_ok(),
        }
    }
}

/// A value bound to a `$n` placeholder.
#[derive(Clone, Debug)]
pub enum Value<'q> {
    /// A 64-bit integer (every integer column, and 0/1 flags).
    Int(i64),
    /// Text.
    Text(Cow<'q, str>),
    /// Bytes.
    Blob(Cow<'q, [u8]>),
    /// NULL, typed for PostgreSQL by the kind of value it stands for.
    Null(Kind),
}

/// The kind of a NULL parameter: PostgreSQL types every parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `BIGINT`.
    Int,
    /// `TEXT`.
    Text,
    /// `BYTEA`.
    Blob,
}

/// A Rust value that can be bound to a placeholder.
pub trait Bind<'q> {
    /// The kind of NULL that `None` of this type binds.
    const KIND: Kind;
    /// The value to bind.
    fn value(self) -> Value<'q>;
}

impl<'q> Bind<'q> for i64 {
    const KIND: Kind = Kind::Int;
    fn value(self) -> Value<'q> {
        Value::Int(self)
    }
}

/// A flag is stored as the integer 0 or 1 on both backends.
impl<'q> Bind<'q> for bool {
    const KIND: Kind = Kind::Int;
    fn value(self) -> Value<'q> {
        Value::Int(i64::from(self))
    }
}

impl<'q> Bind<'q> for &'q str {
    const KIND: Kind = Kind::Text;
    fn value(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl<'q> Bind<'q> for &'q String {
    const KIND: Kind = Kind::Text;
    fn value(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl<'q> Bind<'q> for String {
    const KIND: Kind = Kind::Text;
    fn value(self) -> Value<'q> {
        Value::Text(Cow::Owned(self))
    }
}

impl<'q> Bind<'q> for &'q [u8] {
    const KIND: Kind = Kind::Blob;
    fn value(self) -> Value<'q> {
        Value::Blob(Cow::Borrowed(self))
    }
}

impl<'q> Bind<'q> for Vec<u8> {
    const KIND: Kind = Kind::Blob;
    fn value(self) -> Value<'q> {
        Value::Blob(Cow::Owned(self))
    }
}

impl<'q, T: Bind<'q>> Bind<'q> for Option<T> {
    const KIND: Kind = T::KIND;
    fn value(self) -> Value<'q> {
        match self {
            Some(v) => v.value(),
            None => Value::Null(T::KIND),
        }
    }
}

/// One row of a result, read by column name or position.
pub enum Row<'r> {
    /// A row of an SQLite statement being stepped.
    Sqlite(&'r rusqlite::Row<'r>),
    /// A row PostgreSQL sent.
    Postgres(&'r PgRow),
}

impl Row<'_> {
    /// The value of the column named `name`.
    pub fn get<T: Column>(&self, name: &str) -> Result<T> {
        match self {
            Row::Sqlite(r) => r.get(name).map_err(Error::Sqlite),
            Row::Postgres(r) => T::postgres(r, r.try_column(name)?.ordinal()),
        }
    }

    /// The value of the column at `index` (from 0).
    pub fn get_at<T: Column>(&self, index: usize) -> Result<T> {
        match self {
            Row::Sqlite(r) => r.get(index).map_err(Error::Sqlite),
            Row::Postgres(r) => T::postgres(r, index),
        }
    }

    /// How many columns the row has.
    fn column_count(&self) -> usize {
        match self {
            Row::Sqlite(r) => AsRef::<rusqlite::Statement<'_>>::as_ref(*r).column_count(),
            Row::Postgres(r) => r.columns().len(),
        }
    }

    /// The name of column `index`, if there is one.
    fn column_name(&self, index: usize) -> Option<&str> {
        match self {
            Row::Sqlite(r) => AsRef::<rusqlite::Statement<'_>>::as_ref(*r).column_name(index).ok(),
            Row::Postgres(r) => r.columns().get(index).map(|c| c.name()),
        }
    }

    /// The value of the column named `prefix` then `name`, looked for first at
    /// `next` and moved past it. A struct's fields are mostly its columns in
    /// order, so this costs one name comparison a field where a lookup by
    /// name compares with every column before the one it finds.
    pub fn get_next<T: Column>(&self, next: &mut usize, prefix: &str, name: &str) -> Result<T> {
        let is = |i: usize| self.column_name(i).is_some_and(|c| c.strip_prefix(prefix) == Some(name));
        let count = self.column_count();
        let index = if is(*next) { Some(*next) } else { (0..count).find(|&i| is(i)) };
        // Two columns of one name would be read by field order: a row read
        // into a struct must name each of its columns once.
        debug_assert!(
            index.is_none_or(|i| (0..count).filter(|&j| is(j)).all(|j| j == i)),
            "two columns named {prefix}{name}"
        );
        let Some(index) = index else {
            let column = format!("{prefix}{name}");
            return Err(match self {
                Row::Sqlite(_) => Error::Sqlite(rusqlite::Error::InvalidColumnName(column)),
                Row::Postgres(_) => Error::Sqlx(sqlx::Error::ColumnNotFound(column)),
            });
        };
        *next = index + 1;
        self.get_at(index)
    }
}

/// A type a column can be read as on both backends.
pub trait Column: rusqlite::types::FromSql + Sized {
    /// Reads column `index` of a PostgreSQL row.
    fn postgres(row: &PgRow, index: usize) -> Result<Self>;
}

/// True when column `index` is a 2- or 4-byte integer: every integer column
/// is BIGINT, but an expression (a literal, a CASE) may be narrower.
fn narrow_integer(row: &PgRow, index: usize) -> bool {
    use sqlx::TypeInfo as _;
    row.try_column(index).is_ok_and(|c| matches!(c.type_info().name(), "INT2" | "INT4"))
}

impl Column for i64 {
    fn postgres(row: &PgRow, index: usize) -> Result<Self> {
        if narrow_integer(row, index) {
            return Ok(i64::from(row.try_get::<i32, _>(index)?));
        }
        Ok(row.try_get(index)?)
    }
}

impl Column for Option<i64> {
    fn postgres(row: &PgRow, index: usize) -> Result<Self> {
        if narrow_integer(row, index) {
            return Ok(row.try_get::<Option<i32>, _>(index)?.map(i64::from));
        }
        Ok(row.try_get(index)?)
    }
}

/// A flag stored as an integer: anything but 0 is true.
impl Column for bool {
    fn postgres(row: &PgRow, index: usize) -> Result<Self> {
        Ok(<i64 as Column>::postgres(row, index)? != 0)
    }
}

/// Types that sqlx reads from PostgreSQL as they are.
macro_rules! column_as_is {
    ($($t:ty),+) => {$(
        impl Column for $t {
            fn postgres(row: &PgRow, index: usize) -> Result<Self> {
                Ok(row.try_get(index)?)
            }
        }
    )+};
}
column_as_is!(String, Option<String>, Vec<u8>, Option<Vec<u8>>);

/// A type made from one result row.
pub trait FromRow: Sized {
    /// Reads the row.
    fn from_row(row: &Row<'_>) -> Result<Self>;
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Column),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row<'_>) -> Result<Self> {
                Ok(($(row.get_at::<$t>($i)?,)+))
            }
        }
    };
}
tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);

/// Defines a struct read from a row by column names: one column per field,
/// named as the field.
#[macro_export]
macro_rules! row_struct {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])* $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }
        impl $crate::sql::FromRow for $name {
            fn from_row(row: &$crate::sql::Row<'_>) -> $crate::Result<Self> {
                Self::from_row_prefixed(row, "")
            }
        }
        impl $name {
            /// Its fields' column names in order. Where it is a table's row,
            /// they are the table's columns in the order `SELECT *` gives
            /// them, so that reading a row costs one name comparison a field.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Reads it from a row in which its columns are renamed `prefix`
            /// and the field's name (a joined table's, so as not to clash).
            pub fn from_row_prefixed(row: &$crate::sql::Row<'_>, prefix: &str) -> $crate::Result<Self> {
                let mut next = 0;
                Ok($name { $($field: row.get_next(&mut next, prefix, stringify!($field))?),* })
            }
        }
    };
}

/// The first column of a row, for [`query_scalar`].
#[derive(Debug)]
pub struct Scalar<T>(pub T);

impl<T: Column> FromRow for Scalar<T> {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(Scalar(row.get_at(0)?))
    }
}

/// What a statement that returns no rows did.
#[derive(Clone, Copy, Debug)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    /// How many rows the statement inserted, updated or deleted.
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// A statement with its parameters, ready to run on a [`Conn`].
#[derive(Debug)]
pub struct Query<'q> {
    sql: Cow<'static, str>,
    args: Vec<Value<'q>>,
}

/// A statement whose rows are read as `R`.
#[derive(Debug)]
pub struct QueryAs<'q, R> {
    query: Query<'q>,
    _row: std::marker::PhantomData<fn() -> R>,
}

/// A statement whose rows' first column is read as `T`.
#[derive(Debug)]
pub struct QueryScalar<'q, T> {
    query: Query<'q>,
    _value: std::marker::PhantomData<fn() -> T>,
}

/// A statement written in the code.
pub fn query<'q>(sql: &'static str) -> Query<'q> {
    Query { sql: Cow::Borrowed(sql), args: Vec::new() }
}

/// A statement whose text is put together at run time from pieces written in
/// the code (optional filters, a backend's locking clause); never from a
/// client's input, which goes in parameters.
pub fn query_built<'q>(sql: String) -> Query<'q> {
    Query { sql: Cow::Owned(sql), args: Vec::new() }
}

/// A statement whose rows are read as `R`.
pub fn query_as<'q, R: FromRow>(sql: &'static str) -> QueryAs<'q, R> {
    query(sql).read_as()
}

/// A statement whose rows' first column is read as `T`.
pub fn query_scalar<'q, T: Column>(sql: &'static str) -> QueryScalar<'q, T> {
    query(sql).read_scalar()
}

impl<'q> Query<'q> {
    /// Binds the next placeholder (`$1`, then `$2`...).
    pub fn bind<T: Bind<'q>>(mut self, value: T) -> Self {
        self.args.push(value.value());
        self
    }

    /// Reads this statement's rows as `R`.
    pub fn read_as<R: FromRow>(self) -> QueryAs<'q, R> {
        QueryAs { query: self, _row: std::marker::PhantomData }
    }

    /// Reads this statement's rows' first column as `T`.
    pub fn read_scalar<T: Column>(self) -> QueryScalar<'q, T> {
        QueryScalar { query: self, _value: std::marker::PhantomData }
    }

    /// Runs the statement, discarding any rows it returns.
    pub async fn execute(self, c: &mut Conn) -> Result<Done> {
        counted();
        match c {
            Conn::Sqlite { conn, writes } => {
                let mut rows = 0;
                sqlite_rows(conn, *writes, &self.sql, &self.args, &mut |_| Ok(true), &mut rows)?;
                Ok(Done { rows_affected: rows })
            }
            Conn::Postgres(conn) => {
                let done = sqlx::query_with(self.sql_for_postgres(), pg_arguments(&self.args)?).execute(conn).await?;
                Ok(Done { rows_affected: done.rows_affected() })
            }
        }
    }

    async fn fetch_each<R: FromRow>(self, c: &mut Conn, limit: Option<usize>) -> Result<Vec<R>> {
        counted();
        let mut out = Vec::new();
        match c {
            Conn::Sqlite { conn, writes } => {
                let mut rows = 0;
                let mut each = |row: &Row<'_>| {
                    if limit.is_none_or(|l| out.len() < l) {
                        out.push(R::from_row(row)?);
                    }
                    Ok(limit.is_none_or(|l| out.len() < l))
                };
                sqlite_rows(conn, *writes, &self.sql, &self.args, &mut each, &mut rows)?;
            }
            Conn::Postgres(conn) => {
                let q = sqlx::query_with(self.sql_for_postgres(), pg_arguments(&self.args)?);
                let rows = match limit {
                    Some(_) => q.fetch_optional(conn).await?.into_iter().collect(),
                    None => q.fetch_all(conn).await?,
                };
                for row in &rows {
                    out.push(R::from_row(&Row::Postgres(row))?);
                }
            }
        }
        Ok(out)
    }

    fn sql_for_postgres(&self) -> sqlx::SqlStr {
        use sqlx::SqlSafeStr as _;
        match &self.sql {
            Cow::Borrowed(s) => s.into_sql_str(),
            Cow::Owned(s) => sqlx::AssertSqlSafe(s.clone()).into_sql_str(),
        }
    }
}

impl<'q, R: FromRow> QueryAs<'q, R> {
    /// Binds the next placeholder.
    pub fn bind<T: Bind<'q>>(mut self, value: T) -> Self {
        self.query = self.query.bind(value);
        self
    }

    /// The first row; an error when there is none.
    pub async fn fetch_one(self, c: &mut Conn) -> Result<R> {
        self.fetch_optional(c).await?.ok_or(Error::RowNotFound)
    }

    /// The first row, if any.
    pub async fn fetch_optional(self, c: &mut Conn) -> Result<Option<R>> {
        Ok(self.query.fetch_each(c, Some(1)).await?.pop())
    }

    /// Every row.
    pub async fn fetch_all(self, c: &mut Conn) -> Result<Vec<R>> {
        self.query.fetch_each(c, None).await
    }
}

impl<'q, T: Column> QueryScalar<'q, T> {
    /// Binds the next placeholder.
    pub fn bind<B: Bind<'q>>(mut self, value: B) -> Self {
        self.query = self.query.bind(value);
        self
    }

    /// The first row's value; an error when there is no row.
    pub async fn fetch_one(self, c: &mut Conn) -> Result<T> {
        self.fetch_optional(c).await?.ok_or(Error::RowNotFound)
    }

    /// The first row's value, if there is a row.
    pub async fn fetch_optional(self, c: &mut Conn) -> Result<Option<T>> {
        Ok(self.query.fetch_each::<Scalar<T>>(c, Some(1)).await?.pop().map(|s| s.0))
    }

    /// Every row's value.
    pub async fn fetch_all(self, c: &mut Conn) -> Result<Vec<T>> {
        Ok(self.query.fetch_each::<Scalar<T>>(c, None).await?.into_iter().map(|s| s.0).collect())
    }
}

/// Placeholder names, so that binding does not format one each time.
const PLACEHOLDERS: [&str; 32] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$16", "$17",
    "$18", "$19", "$20", "$21", "$22", "$23", "$24", "$25", "$26", "$27", "$28", "$29", "$30", "$31", "$32",
];

/// Runs a statement on SQLite, calling `each` with the rows it returns until
/// `each` says it has enough, and counting the rows it changed (SQLite makes
/// all of a statement's changes at its first step, `RETURNING` or not).
/// Synchronous, so that no statement handle lives across an await.
fn sqlite_rows(
    conn: &rusqlite::Connection,
    writes: bool,
    sql: &str,
    args: &[Value<'_>],
    each: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    changed: &mut u64,
) -> Result<()> {
    use rusqlite::types::ToSqlOutput;
    let mut stmt = conn.prepare_cached(sql)?;
    if stmt.parameter_count() != args.len() {
        return Err(Error::Parameters { expected: stmt.parameter_count(), bound: args.len() });
    }
    for (n, arg) in args.iter().enumerate() {
        let name = PLACEHOLDERS.get(n).ok_or(Error::Parameters { expected: PLACEHOLDERS.len(), bound: args.len() })?;
        // SQLite numbers `$n` parameters in the order they first appear in
        // the statement, which need not be n.
        let index = stmt
            .parameter_index(name)?
            .ok_or(Error::Parameters { expected: stmt.parameter_count(), bound: args.len() })?;
        let value = match arg {
            Value::Int(v) => ToSqlOutput::from(*v),
            Value::Text(v) => ToSqlOutput::from(v.as_ref()),
            Value::Blob(v) => ToSqlOutput::from(v.as_ref()),
            Value::Null(_) => ToSqlOutput::from(rusqlite::types::Null),
        };
        stmt.raw_bind_parameter(index, value)?;
    }
    let readonly = stmt.readonly();
    if cfg!(debug_assertions) && !readonly && !writes {
        return Err(Error::WriteWithoutTurn(sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ")));
    }
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        if !each(&Row::Sqlite(row))? {
            break;
        }
    }
    drop(rows);
    // SQLite's count is of the connection's last write, whatever ran since.
    *changed = if readonly { 0 } else { conn.changes() };
    Ok(())
}

fn pg_arguments(args: &[Value<'_>]) -> Result<PgArguments> {
    let mut out = PgArguments::default();
    for arg in args {
        match arg {
            Value::Int(v) => out.add(*v),
            Value::Text(v) => out.add(v.as_ref()),
            Value::Blob(v) => out.add(v.as_ref()),
            Value::Null(Kind::Int) => out.add(None::<i64>),
            Value::Null(Kind::Text) => out.add(None::<&str>),
            Value::Null(Kind::Blob) => out.add(None::<&[u8]>),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}
