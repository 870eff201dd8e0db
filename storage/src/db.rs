use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection as _, Executor as _};
use std::str::FromStr as _;

use crate::{Error, Result};

/// A connection borrowed from the pool or held by a transaction; every query
/// function takes one, so the caller decides the transaction boundaries.
pub type Conn = AnyConnection;

/// A connection that holds this process's SQLite write turn until dropped
/// (none on PostgreSQL): SQLite writers of one process queue here instead of
/// sleeping in SQLite's busy handler. It dereferences to a [`Conn`].
pub struct Turn<C> {
    inner: C,
    _write_turn: Option<OwnedMutexGuard<()>>,
}

impl<C: Deref<Target = Conn>> Deref for Turn<C> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.inner
    }
}

impl<C: DerefMut<Target = Conn>> DerefMut for Turn<C> {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.inner
    }
}

/// A write transaction; commit it with [`commit`], or dropping it rolls back.
/// It dereferences to a [`Conn`], so every query function takes it.
pub type Tx = Turn<sqlx::Transaction<'static, Any>>;

/// A connection for one autocommit write.
pub type Writer = Turn<sqlx::pool::PoolConnection<Any>>;

/// Which database engine a [`Db`] talks to, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file, in WAL mode.
    Sqlite,
    /// A PostgreSQL server shared by several instances.
    Postgres,
}

/// The database: a pool plus the backend it runs on.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    write_turn: Arc<Mutex<()>>,
}

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects to `sqlite://FILE` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::UnsupportedUrl(url.to_string()));
        };
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            // A ping before every acquire doubled the round trips of short
            // requests; a connection that died is found by its next query.
            .test_before_acquire(false);
        if backend == Backend::Sqlite {
            // Writers queue on the file lock instead of failing at once.
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 30000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        Ok(Db { pool, backend, write_turn: Arc::new(Mutex::new(())) })
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        }
    }

    /// Applies the pending migrations of this backend. On PostgreSQL sqlx
    /// holds an advisory lock meanwhile, so instances starting together
    /// apply each migration once.
    pub async fn migrate(&self) -> Result<()> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// True when every migration this build knows has been applied (an
    /// instance of an older build must not serve a newer schema, and the
    /// other way round).
    pub async fn migrations_current(&self) -> Result<bool> {
        let latest = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        Ok(applied == Some(latest))
    }

    /// Which engine this database runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Borrows a connection for reads or single statements.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Borrows a connection for one writing statement outside a transaction
    /// (autocommit). On SQLite it waits for this process's write turn, as
    /// [`Db::begin`] does, rather than in SQLite's sleeping busy handler.
    pub async fn acquire_writer(&self) -> Result<Writer> {
        let turn = self.write_turn().await;
        Ok(Turn { inner: self.pool.acquire().await?, _write_turn: turn })
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write cannot fail half-way with
    /// "database is locked" when another writer got there first.
    pub async fn begin(&self) -> Result<Tx> {
        let turn = self.write_turn().await;
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Turn { inner, _write_turn: turn })
    }

    /// On SQLite, waits for this process's turn to write: writers of one
    /// process take turns before touching the file (SQLite's own busy handler
    /// polls with sleeps, which costs tens of milliseconds under contention);
    /// other processes still wait on the lock itself. PostgreSQL needs none.
    async fn write_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_turn.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut c) => c.ping().await.is_ok(),
            Err(_) => false,
        }
    }

    /// Closes the pool, waiting for borrowed connections to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Commits a transaction.
pub async fn commit(tx: Tx) -> Result<()> {
    Ok(tx.inner.commit().await?)
}
