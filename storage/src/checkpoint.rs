//! SQLite's WAL checkpoints, off the request path. By default SQLite copies
//! the WAL back into the database file inside whichever commit crosses 1,000
//! pages, and that commit waits for two fsyncs; with SQLite called on the
//! request's own thread, a slow disk then holds up every request on that
//! runtime thread. Here a thread of its own checkpoints every
//! [`PERIOD`], and the request connections checkpoint only past
//! [`REQUEST_CHECKPOINT_PAGES`], should that thread fall behind.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::OpenFlags;

use crate::pool::WeakPool;

/// How often the WAL is copied back: at a thousand issuances a second that is
/// a few thousand pages (some megabytes) of WAL at most.
pub const PERIOD: Duration = Duration::from_millis(200);

/// The WAL size, in pages, at which a request's commit checkpoints after
/// all (SQLite's default is 1,000): a safety net, some tens of megabytes.
pub const REQUEST_CHECKPOINT_PAGES: u32 = 10_000;

/// Checkpoints the SQLite file at `path` every [`PERIOD`], on a thread of
/// its own, until the pool is closed or dropped. Failures (the file busy with
/// another checkpointer, a full disk) are logged and tried again at the next
/// period.
pub(crate) fn spawn(path: PathBuf, flags: OpenFlags, pool: WeakPool) {
    let run = move || {
        let mut conn = None;
        loop {
            std::thread::sleep(PERIOD);
            if !pool.is_open() {
                return;
            }
            let checkpointed = match conn.take() {
                Some(c) => Ok(c),
                None => open(&path, flags),
            }
            .and_then(|c| {
                // PASSIVE: copies what no reader still needs, without waiting
                // for readers or blocking writers.
                c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
                Ok(c)
            });
            match checkpointed {
                Ok(c) => conn = Some(c),
                Err(e) => tracing::warn!(error = %e, "SQLite checkpoint failed; trying again"),
            }
        }
    };
    if let Err(e) = std::thread::Builder::new().name("wal-checkpoint".into()).spawn(run) {
        tracing::warn!(error = %e, "no thread for SQLite checkpoints: commits will make them");
    }
}

fn open(path: &std::path::Path, flags: OpenFlags) -> rusqlite::Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open_with_flags(path, flags)?;
    c.execute_batch("PRAGMA synchronous = NORMAL")?;
    Ok(c)
}
