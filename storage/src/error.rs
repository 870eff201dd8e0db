use thiserror::Error;

/// A storage failure: the database is unreachable, a query failed, or a
/// constraint refused a write.
#[derive(Debug, Error)]
pub enum Error {
    /// PostgreSQL (or the pool) refused or failed a statement.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// SQLite refused or failed a statement.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A statement expected to return a row returned none.
    #[error("database error: no row returned where one was expected")]
    RowNotFound,
    /// A statement was given another number of parameters than it has.
    #[error("database error: the statement has {expected} parameters, {bound} were bound")]
    Parameters {
        /// How many the statement has.
        expected: usize,
        /// How many were bound.
        bound: usize,
    },
    /// A debug build's guard: a writing statement on an SQLite connection
    /// borrowed without the write turn (use `Db::acquire_writer` or `Db::begin`).
    #[error("database error: {0}… writes on a connection without the write turn")]
    WriteWithoutTurn(String),
    /// A migration could not be applied.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL names a backend certgate does not support.
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://...")]
    UnsupportedUrl(String),
}

impl Error {
    /// True when a unique or primary key constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Error::Sqlx(sqlx::Error::Database(db)) => db.is_unique_violation(),
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}

/// Result of a storage call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
