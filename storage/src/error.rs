use thiserror::Error;

/// A storage failure: the database is unreachable, a query failed, or a
/// constraint refused a write.
#[derive(Debug, Error)]
pub enum Error {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
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
            _ => false,
        }
    }
}

/// Result of a storage call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
