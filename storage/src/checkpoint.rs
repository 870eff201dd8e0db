//! SQLite's WAL checkpoints, off the request path. By default SQLite copies
//! the WAL back into the database file inside whichever commit crosses 1,000
//! pages, and that commit waits for the checkpoint's two fsyncs; with SQLite
//! called on the request's own thread, a slow disk then holds up every
//! request on that runtime thread. Here a thread of its own checkpoints every
//! [`PERIOD`], and a request's commit checkpoints only past
//! [`REQUEST_CHECKPOINT_PAGES`], should that thread fall behind. (The first
//! commit after the WAL starts over still syncs the WAL's header, as SQLite
//! requires.)

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::OpenFlags;

/// How often the WAL is copied back. At a thousand issuances a second that
/// leaves some thousands of pages in the WAL between two checkpoints.
pub const PERIOD: Duration = Duration::from_millis(200);

/// The WAL size, in pages, at which a request's commit checkpoints after
/// all (SQLite's default is 1,000): a safety net of some tens of megabytes.
pub const REQUEST_CHECKPOINT_PAGES: u32 = 10_000;

/// Gauge: the pages in the WAL at the last checkpoint. It grows with the
/// load between two checkpoints, and falls when the WAL starts over.
pub const WAL_PAGES: &str = "certgate_sqlite_wal_pages";

/// Gauge: the pages the last checkpoint could not copy back yet (readers
/// still needed them); staying high means the checkpoints fall behind.
pub const WAL_UNCOPIED_PAGES: &str = "certgate_sqlite_wal_uncopied_pages";

/// Counter: checkpoints that failed (each run of failures is logged once).
pub const CHECKPOINT_FAILURES: &str = "certgate_sqlite_checkpoint_failures_total";

/// After a failure the thread waits twice as long each time, up to this
/// many doublings of [`PERIOD`] (about 25 s).
const MAX_BACKOFF_DOUBLINGS: u32 = 7;

/// The checkpoint thread of one pool. Dropped, it lets the thread end at
/// once (without waiting for it); [`Checkpointer::stop`] also waits.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing the SQLite file at `path` (opened with `flags`,
    /// never creating it), or returns `None` when no thread can be had:
    /// commits then checkpoint past [`REQUEST_CHECKPOINT_PAGES`].
    pub(crate) fn start(path: PathBuf, flags: OpenFlags) -> Option<Checkpointer> {
        let (stop, stopped) = std::sync::mpsc::channel();
        let flags = flags.difference(OpenFlags::SQLITE_OPEN_CREATE);
        match std::thread::Builder::new().name("wal-checkpoint".into()).spawn(move || run(&path, flags, &stopped)) {
            Ok(thread) => Some(Checkpointer { stop, thread }),
            Err(e) => {
                tracing::warn!(error = %e, "no thread for SQLite checkpoints: commits will make them");
                None
            }
        }
    }

    /// Ends the thread and waits for it, so that its connection is closed
    /// (the last connection to close checkpoints the whole WAL and removes it).
    pub(crate) fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

fn run(path: &Path, flags: OpenFlags, stopped: &Receiver<()>) {
    let mut conn = None;
    let mut failures = 0;
    loop {
        match stopped.recv_timeout(PERIOD * 2u32.pow(failures.min(MAX_BACKOFF_DOUBLINGS))) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        match checkpoint(path, flags, conn.take()) {
            Ok(c) => {
                // Shown as 0 until something fails, rather than missing (and
                // registered here, after the process has installed its recorder).
                metrics::counter!(CHECKPOINT_FAILURES).increment(0);
                if failures > 0 {
                    tracing::info!("SQLite checkpoints work again");
                }
                failures = 0;
                conn = Some(c);
            }
            Err(e) => {
                metrics::counter!(CHECKPOINT_FAILURES).increment(1);
                // Once per run of failures, not every period.
                if failures == 0 {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; trying again, less often");
                }
                failures += 1;
            }
        }
    }
}

fn checkpoint(
    path: &Path,
    flags: OpenFlags,
    conn: Option<rusqlite::Connection>,
) -> rusqlite::Result<rusqlite::Connection> {
    let c = match conn {
        Some(c) => c,
        // A PASSIVE checkpoint never calls the busy handler it sets.
        None => crate::pool::open_sqlite(path, flags)?,
    };
    // PASSIVE copies what no reader still needs, without waiting for readers
    // or blocking writers; what is left is copied at the next period. Its row
    // is (busy, pages in the WAL, pages copied), the pages -1 when another
    // process's checkpoint was running: the gauges then keep their values.
    let (pages, copied): (i64, i64) =
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))?;
    if pages >= 0 {
        metrics::gauge!(WAL_PAGES).set(pages as f64);
        metrics::gauge!(WAL_UNCOPIED_PAGES).set((pages - copied).max(0) as f64);
    }
    Ok(c)
}
