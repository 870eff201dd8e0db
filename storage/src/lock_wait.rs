//! How an SQLite connection waits for another process's lock on the file (a
//! CLI command crediting tokens while `serve` runs, say). SQLite runs on the
//! request's own runtime thread, and its own busy timeout would sleep there,
//! holding up every other request of that thread. This busy handler sleeps
//! the same way, but first lets the runtime hand the thread's other tasks to
//! another thread. Writers of one process take turns before they touch the
//! file, so only another process's writer is ever waited for; the handler
//! is not called at all when nobody else holds the lock.

use std::time::Duration;

/// How long a writer waits for another process's lock before it fails with
/// "database is locked".
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest single sleep: short enough that a lock given up is noticed
/// within a tenth of a second, long enough not to spin.
const LONGEST_SLEEP_MS: u64 = 100;

/// SQLite's busy handler for certgate's connections: sleeps 1, 2, 4 … up to
/// 100 ms between tries, with the runtime's other tasks handed to another
/// thread meanwhile, and gives up once the sleeps add up to [`LOCK_TIMEOUT`].
/// `tries` is how many times SQLite has called it in this wait (it counts
/// afresh for each statement, as it does for its own busy timeout).
pub(crate) fn wait_for_lock(tries: i32) -> bool {
    let Some(sleep) = next_sleep(u32::try_from(tries).unwrap_or(0)) else { return false };
    off_the_workers(|| std::thread::sleep(sleep));
    true
}

/// How long to sleep after the try numbered `tries` (from 0), or `None` once
/// the sleeps before it add up to [`LOCK_TIMEOUT`].
fn next_sleep(tries: u32) -> Option<Duration> {
    let (slept, sleep) = schedule(tries);
    (Duration::from_millis(slept) < LOCK_TIMEOUT).then(|| Duration::from_millis(sleep))
}

/// For the try numbered `tries` (from 0): the milliseconds slept before it,
/// and how long to sleep now.
fn schedule(tries: u32) -> (u64, u64) {
    // 2^7 = 128 is the first doubling past the longest sleep.
    let doublings = tries.min(7);
    let doubled = (1u64 << doublings) - 1;
    let sleep = (1u64 << doublings).min(LONGEST_SLEEP_MS);
    let flat = u64::from(tries - doublings) * LONGEST_SLEEP_MS;
    (doubled + flat, sleep)
}

/// Runs a call that blocks, on a worker of a multi-threaded tokio runtime
/// after handing its other tasks to another thread; elsewhere (a
/// current-thread runtime, a thread of its own) just runs it.
fn off_the_workers<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sleeps_double_to_a_tenth_of_a_second_and_stop_after_the_timeout() {
        let sleeps: Vec<u64> = (0..10).map(|t| schedule(t).1).collect();
        assert_eq!(sleeps, [1, 2, 4, 8, 16, 32, 64, 100, 100, 100]);
        for t in 0..400 {
            let (before, sleep) = schedule(t);
            assert_eq!(schedule(t + 1).0, before + sleep, "try {t}: the time slept adds up");
        }
        let last = (0..).find(|&t| next_sleep(t).is_none()).expect("gives up");
        let slept = Duration::from_millis(schedule(last).0);
        assert!(slept >= LOCK_TIMEOUT, "not before the timeout: {slept:?}");
        assert!(slept < LOCK_TIMEOUT + Duration::from_millis(LONGEST_SLEEP_MS), "soon after it: {slept:?}");
    }
}
