use std::num::NonZeroU32;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OwnedMutexGuard};

use std::str::FromStr as _;

use sqlx::Connection as _;

use crate::pool::{Options, Pool, Pooled};
use crate::sql::{Conn, query_scalar};
use crate::{Error, Result};

/// A write transaction; commit it with [`commit`], or dropping it rolls back.
/// It dereferences to a [`Conn`], so every query function takes it. On
/// SQLite it holds this process's write turn until it ends.
#[derive(Debug)]
pub struct Tx(Pooled);

impl Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

/// A connection for one autocommit write; on SQLite it holds this process's
/// write turn until dropped.
pub type Writer = Pooled;

/// The histogram of how long SQLite writers waited for the write turn.
pub const WRITE_TURN_WAIT: &str = "certgate_db_write_turn_wait_seconds";
/// The histogram of how long SQLite writers held the write turn.
pub const WRITE_TURN_HELD: &str = "certgate_db_write_turn_held_seconds";

/// This process's SQLite write turn, held until dropped; how long it was
/// held goes to [`WRITE_TURN_HELD`]: everyone else's wait is made of it.
#[derive(Debug)]
pub struct WriteTurn {
    _guard: OwnedMutexGuard<()>,
    since: Instant,
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        metrics::histogram!(WRITE_TURN_HELD).record(self.since.elapsed().as_secs_f64());
    }
}

/// Which database engine a [`Db`] talks to, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file, in WAL mode.
    Sqlite,
    /// A PostgreSQL server shared by several instances.
    Postgres,
}

/// How many connections a process keeps to an SQLite file at most, unless
/// configured otherwise: readers beside the one writer.
pub const SQLITE_POOL_SIZE: u32 = 8;

/// How many connections a process keeps to PostgreSQL at most, unless
/// configured otherwise: four per core this process may use, from 4 to 16.
/// More only queue inside PostgreSQL: on 2 cores, 8 kept the rate of 16 at
/// 16 clients with a lower p99 and less CPU in PostgreSQL (BENCHMARKS.md).
/// The cores are those the process may use (a container's CPU quota counts).
pub fn postgres_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(4, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    postgres_pool_size_for(cores)
}

fn postgres_pool_size_for(cores: u32) -> u32 {
    cores.saturating_mul(4).clamp(4, 16)
}

/// The database: a pool plus the backend it runs on.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    write_turn: Arc<Mutex<()>>,
    // sqlx runs the migrations; on SQLite it needs its own connection for it.
    url: String,
}

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects to `sqlite://FILE` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Db> {
        Db::connect_with(url, None).await
    }

    /// As [`Db::connect`], keeping at most `pool_size` connections open
    /// (default: [`SQLITE_POOL_SIZE`] or [`postgres_pool_size`]).
    pub async fn connect_with(url: &str, pool_size: Option<NonZeroU32>) -> Result<Db> {
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
        let (options, size) = match backend {
            Backend::Sqlite => (sqlite_options(&url)?, SQLITE_POOL_SIZE),
            Backend::Postgres => {
                (Options::Postgres(Box::new(sqlx::postgres::PgConnectOptions::from_str(&url)?)), postgres_pool_size())
            }
        };
        let size = pool_size.map_or(size, NonZeroU32::get);
        let pool = Pool::new(options, size, Duration::from_secs(30));
        if backend == Backend::Sqlite {
            pool.acquire().await?.batch("PRAGMA journal_mode = WAL").await?;
            pool.checkpoint_in_background();
        }
        Ok(Db { pool, backend, write_turn: Arc::new(Mutex::new(())), url })
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
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                let ran = self.migrator().run(&mut conn).await;
                let _ = conn.close().await;
                ran?;
            }
            Backend::Postgres => match &mut *self.pool.acquire().await? {
                Conn::Postgres(conn) => self.migrator().run(conn).await?,
                Conn::Sqlite { .. } => unreachable!("a PostgreSQL pool holds PostgreSQL connections"),
            },
        }
        Ok(())
    }

    /// True when every migration this build knows has been applied (an
    /// instance of an older build must not serve a newer schema, and the
    /// other way round).
    pub async fn migrations_current(&self) -> Result<bool> {
        let latest = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> = query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *self.pool.acquire().await?)
            .await?;
        Ok(applied == Some(latest))
    }

    /// Which engine this database runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Borrows a connection for reads or single statements.
    pub async fn acquire(&self) -> Result<Pooled> {
        self.pool.acquire().await
    }

    /// Borrows a connection for one writing statement outside a transaction
    /// (autocommit). On SQLite it waits for this process's write turn, as
    /// [`Db::begin`] does, rather than in SQLite's sleeping busy handler.
    pub async fn acquire_writer(&self) -> Result<Writer> {
        let turn = self.write_turn().await;
        let mut conn = self.pool.acquire().await?;
        conn.hold(turn);
        Ok(conn)
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write cannot fail half-way with
    /// "database is locked" when another writer got there first.
    pub async fn begin(&self) -> Result<Tx> {
        let mut conn = self.acquire_writer().await?;
        conn.begin(self.begin_statement()).await?;
        Ok(Tx(conn))
    }

    /// Starts a write transaction as [`Db::begin`] does and runs `select`, a
    /// statement of this backend without parameters that selects one
    /// integer, in the same round trip; returns the integer too.
    pub(crate) async fn begin_selecting(&self, select: &'static str) -> Result<(Tx, i64)> {
        let mut conn = self.acquire_writer().await?;
        let value = conn.begin_selecting(self.begin_statement(), select).await?;
        Ok((Tx(conn), value))
    }

    fn begin_statement(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// On SQLite, waits for this process's turn to write: writers of one
    /// process take turns before touching the file (SQLite's own busy handler
    /// polls with sleeps, which costs tens of milliseconds under contention);
    /// other processes still wait on the lock itself. PostgreSQL needs none.
    async fn write_turn(&self) -> Option<WriteTurn> {
        match self.backend {
            Backend::Sqlite => {
                let asked = Instant::now();
                let guard = self.write_turn.clone().lock_owned().await;
                let since = Instant::now();
                metrics::histogram!(WRITE_TURN_WAIT).record(since.duration_since(asked).as_secs_f64());
                Some(WriteTurn { _guard: guard, since })
            }
            Backend::Postgres => None,
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        match self.pool.acquire().await {
            Ok(mut c) => c.ping().await,
            Err(_) => false,
        }
    }

    /// Closes the pool, waiting (up to the acquire timeout) for borrowed
    /// connections to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The options of an `sqlite:` URL: one file on disk, and `mode=ro`, `rw` or
/// `rwc` (the default). sqlx opens the same URL for the migrations, so its
/// parser decodes the file name (percent escapes included); options the
/// pool's own opener does not honour (in-memory databases, `cache`,
/// `immutable`, `vfs`) are refused rather than ignored.
fn sqlite_options(url: &str) -> Result<Options> {
    use rusqlite::OpenFlags;
    let unsupported = || Error::UnsupportedUrl(url.to_string());
    let parsed = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|_| unsupported())?;
    if url.contains(":memory:") {
        return Err(unsupported());
    }
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mut mode = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        mode = match pair {
            "mode=ro" => OpenFlags::SQLITE_OPEN_READ_ONLY,
            "mode=rw" => OpenFlags::SQLITE_OPEN_READ_WRITE,
            "mode=rwc" => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            _ => return Err(unsupported()),
        };
    }
    Ok(Options::Sqlite(parsed.get_filename().to_path_buf(), OpenFlags::SQLITE_OPEN_NO_MUTEX | mode))
}

/// Commits a transaction.
pub async fn commit(mut tx: Tx) -> Result<()> {
    tx.0.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgres_pool_is_four_connections_per_core_from_4_to_16() {
        let sizes: Vec<u32> = [0, 1, 2, 3, 4, 64, u32::MAX].into_iter().map(postgres_pool_size_for).collect();
        assert_eq!(sizes, [4, 4, 8, 12, 16, 16, 16]);
    }

    fn file_and_flags(url: &str) -> Option<(String, rusqlite::OpenFlags)> {
        match sqlite_options(url) {
            Ok(Options::Sqlite(path, flags)) => Some((path.display().to_string(), flags)),
            _ => None,
        }
    }

    #[test]
    fn sqlite_urls_name_one_file_as_sqlx_reads_them() {
        use rusqlite::OpenFlags as F;
        let (file, flags) = file_and_flags("sqlite:///srv/my%20data/certgate.db?mode=rwc").unwrap();
        assert_eq!(file, "/srv/my data/certgate.db");
        assert!(flags.contains(F::SQLITE_OPEN_CREATE | F::SQLITE_OPEN_READ_WRITE));
        let (file, flags) = file_and_flags("sqlite://certgate.db?mode=ro").unwrap();
        assert_eq!(file, "certgate.db");
        assert!(flags.contains(F::SQLITE_OPEN_READ_ONLY) && !flags.contains(F::SQLITE_OPEN_CREATE));
        for refused in [
            "sqlite::memory:",
            "sqlite://x.db?mode=memory",
            "sqlite://x.db?mode=rwc&cache=shared",
            "sqlite://x.db?immutable=true",
            "sqlite://x.db?vfs=unix-dotfile",
            "sqlite://x.db?mdoe=rwc",
        ] {
            assert!(file_and_flags(refused).is_none(), "{refused}");
        }
    }
}
