//! certgate's own connection pool, for both backends. sqlx's pool pings every
//! connection on its way back and spawns a task to do it, which cost a
//! database round trip for each of the ~20 connections one ACME issuance
//! borrows. Here a connection goes back to the pool as it is, and is checked
//! before reuse only once it has gone [`RECHECK`] without a check.

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Conn, Result, WriteTurn};

/// How long a connection may go unchecked before it is pinged on its way out:
/// a connection the server dropped fails requests for at most this long.
pub const RECHECK: Duration = Duration::from_secs(1);

/// A bounded set of connections, handed out most recently used first.
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: Options,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    size: u32,
    acquire_timeout: Duration,
    closed: AtomicBool,
    checkpointer: Mutex<Option<crate::checkpoint::Checkpointer>>,
}

#[derive(Debug)]
struct Idle {
    conn: Conn,
    checked: Instant,
}

impl Pool {
    /// A pool of at most `size` connections opened with `options`; none is
    /// opened until one is asked for.
    pub(crate) fn new(options: Options, size: u32, acquire_timeout: Duration) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                options,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(size as usize)),
                size,
                acquire_timeout,
                closed: AtomicBool::new(false),
                checkpointer: Mutex::new(None),
            }),
        }
    }

    /// Borrows a connection: an idle one if there is one (pinged first if it
    /// has gone [`RECHECK`] unchecked), else a new one, waiting up to the
    /// acquire timeout for a free slot.
    pub(crate) async fn acquire(&self) -> Result<Pooled> {
        let shared = &self.shared;
        let permit = match tokio::time::timeout(shared.acquire_timeout, shared.permits.clone().acquire_owned()).await {
            Err(_) => return Err(sqlx::Error::PoolTimedOut.into()),
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed.into()),
            Ok(Ok(permit)) => permit,
        };
        loop {
            let idle = shared.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let Some(Idle { mut conn, checked }) = idle else {
                let conn = shared.options.connect().await?;
                return Ok(Pooled::new(conn, Instant::now(), permit, shared.clone()));
            };
            if checked.elapsed() < RECHECK {
                return Ok(Pooled::new(conn, checked, permit, shared.clone()));
            }
            if conn.ping().await {
                return Ok(Pooled::new(conn, Instant::now(), permit, shared.clone()));
            }
            tracing::warn!("dropping a database connection that failed its check");
        }
    }

    /// On a writable SQLite file, starts the thread that checkpoints its WAL;
    /// it ends when the pool is closed or dropped.
    pub(crate) fn checkpoint_in_background(&self) {
        if let Options::Sqlite(path, flags) = &self.shared.options
            && flags.contains(rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        {
            *self.shared.checkpointer.lock().unwrap_or_else(PoisonError::into_inner) =
                crate::checkpoint::Checkpointer::start(path.clone(), *flags);
        }
    }

    /// Stops lending, waits up to the acquire timeout for borrowed connections
    /// to come back, and closes every connection and the checkpoint thread.
    pub(crate) async fn close(&self) {
        let shared = &self.shared;
        shared.closed.store(true, Ordering::SeqCst);
        let all = tokio::time::timeout(shared.acquire_timeout, shared.permits.acquire_many(shared.size)).await;
        shared.permits.close();
        drop(all);
        let idle = std::mem::take(&mut *shared.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for Idle { conn, .. } in idle {
            if let Conn::Postgres(conn) = conn {
                let _ = conn.close().await;
            }
        }
        // Last, so that its connection is the last one closed and copies
        // the whole WAL back.
        let checkpointer = shared.checkpointer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(c) = checkpointer {
            let _ = tokio::task::spawn_blocking(move || c.stop()).await;
        }
    }
}

/// Where the pool's connections go.
#[derive(Debug)]
pub(crate) enum Options {
    /// An SQLite file, opened with these flags.
    Sqlite(std::path::PathBuf, rusqlite::OpenFlags),
    /// A PostgreSQL server.
    Postgres(Box<PgConnectOptions>),
}

/// How many prepared statements an SQLite connection keeps: more than
/// certgate has, so none is prepared twice.
const SQLITE_STATEMENT_CACHE: usize = 256;

impl Options {
    pub(crate) async fn connect(&self) -> Result<Conn> {
        match self {
            Options::Sqlite(path, flags) => {
                let conn = open_sqlite(path, *flags)?;
                conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE);
                Ok(Conn::Sqlite { conn, writes: false })
            }
            Options::Postgres(options) => Ok(Conn::Postgres(sqlx::PgConnection::connect_with(options).await?)),
        }
    }
}

/// Opens an SQLite file as every connection of certgate's has it, the
/// checkpoint thread's included.
pub(crate) fn open_sqlite(
    path: &std::path::Path,
    flags: rusqlite::OpenFlags,
) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    conn.busy_handler(Some(crate::lock_wait::wait_for_lock))?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = {}",
        crate::checkpoint::REQUEST_CHECKPOINT_PAGES
    ))?;
    Ok(conn)
}

impl Shared {
    fn put_back(&self, mut conn: Conn, checked: Instant) {
        if let Conn::Sqlite { writes, .. } = &mut conn {
            // The write turn stays with the borrower that held it.
            *writes = false;
        }
        if !self.closed.load(Ordering::SeqCst) {
            self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(Idle { conn, checked });
        }
    }
}

/// A borrowed connection, maybe holding this process's SQLite write turn and
/// maybe inside a transaction. Dropped, it goes back to the pool; if its
/// transaction is still open it is rolled back first, on a task of its own,
/// before the write turn is given up.
#[derive(Debug)]
pub struct Pooled {
    // Taken out exactly once, in `drop`.
    conn: ManuallyDrop<Conn>,
    checked: Instant,
    in_transaction: bool,
    write_turn: Option<WriteTurn>,
    permit: Option<OwnedSemaphorePermit>,
    shared: Arc<Shared>,
}

impl Pooled {
    fn new(conn: Conn, checked: Instant, permit: OwnedSemaphorePermit, shared: Arc<Shared>) -> Pooled {
        Pooled {
            conn: ManuallyDrop::new(conn),
            checked,
            in_transaction: false,
            write_turn: None,
            permit: Some(permit),
            shared,
        }
    }

    /// Makes this connection hold the write turn until it is dropped.
    pub(crate) fn hold(&mut self, write_turn: Option<WriteTurn>) {
        if let Conn::Sqlite { writes, .. } = &mut *self.conn {
            *writes = write_turn.is_some();
        }
        self.write_turn = write_turn;
    }

    /// Runs `BEGIN …`. The connection counts as inside a transaction from
    /// before the statement is sent, so a request cancelled meanwhile still
    /// rolls back whatever the server began.
    pub(crate) async fn begin(&mut self, statement: &'static str) -> Result<()> {
        self.in_transaction = true;
        self.conn.batch(statement).await
    }

    /// As [`Pooled::begin`], then `select`, which selects one integer, sent
    /// together; returns the integer.
    pub(crate) async fn begin_selecting(&mut self, begin: &'static str, select: &'static str) -> Result<i64> {
        self.in_transaction = true;
        self.conn.begin_selecting(begin, select).await
    }

    /// Runs `COMMIT`; only once it succeeded is the connection outside a
    /// transaction (a failed or cancelled commit is rolled back on drop).
    pub(crate) async fn commit(&mut self) -> Result<()> {
        self.conn.batch("COMMIT").await?;
        self.in_transaction = false;
        Ok(())
    }
}

impl Deref for Pooled {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        // SAFETY: `conn` is not used again: this is the last use of `self`.
        let mut conn = unsafe { ManuallyDrop::take(&mut self.conn) };
        if !self.in_transaction {
            self.shared.put_back(conn, self.checked);
            return;
        }
        if let Conn::Sqlite { conn: sqlite, .. } = &conn {
            // Rolling back on SQLite is a local call, done before the write
            // turn is given up (a field dropped after this).
            if sqlite.execute_batch("ROLLBACK").is_ok() {
                self.shared.put_back(conn, self.checked);
            }
            return;
        }
        let (write_turn, permit, shared, checked) =
            (self.write_turn.take(), self.permit.take(), self.shared.clone(), self.checked);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to roll back on: closing the connection ends its
            // transaction just as well.
            return;
        };
        runtime.spawn(async move {
            if conn.batch("ROLLBACK").await.is_ok() {
                shared.put_back(conn, checked);
            }
            drop((write_turn, permit));
        });
    }
}
