//! The disk's fsync latency while a run goes on. A server that commits
//! durably waits for the disk, so a run's latency outliers are read next to
//! the disk's own.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::stats::{Samples, ms};

/// How often the probe writes and syncs 8 KiB: often enough to catch a
/// stall of a tenth of a second. Its own syncs queue with the server's, so it
/// runs beside the paced runs only, whose CPU is not the figure compared.
const PERIOD: Duration = Duration::from_millis(20);

/// A thread that rewrites one 8 KiB block of a file in a directory and times
/// each `fdatasync`, until it is finished.
pub struct DiskProbe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<std::io::Result<Vec<Duration>>>,
}

impl DiskProbe {
    /// Starts probing the disk that holds `dir`.
    pub fn start(dir: &Path) -> std::io::Result<DiskProbe> {
        let mut file = tempfile::tempfile_in(dir)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let block = [0x5au8; 8192];
            let mut latencies = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                let synced = std::io::Seek::rewind(&mut file).and_then(|()| file.write_all(&block)).and_then(|()| {
                    let start = Instant::now();
                    file.sync_data().map(|()| start.elapsed())
                });
                latencies.push(synced?);
                std::thread::sleep(PERIOD);
            }
            Ok(latencies)
        });
        Ok(DiskProbe { stop, thread })
    }

    /// Stops the probe and returns the latencies it measured, or why it
    /// could not.
    pub fn finish(self) -> Result<Samples, String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.join() {
            Ok(Ok(v)) => Ok(Samples::new(v)),
            Ok(Err(e)) => Err(format!("the disk probe failed: {e}")),
            Err(_) => Err("the disk probe panicked".into()),
        }
    }
}

/// One line for a report: the median, the p99 and the worst `fdatasync`.
pub fn describe(s: &Samples) -> String {
    format!("{} fdatasyncs: p50 {}, p99 {}, max {}", s.len(), ms(s.p(0.5)), ms(s.p(0.99)), ms(s.max()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_syncs_until_finished() {
        let dir = tempfile::tempdir().expect("temp dir");
        let probe = DiskProbe::start(dir.path()).expect("a file in a temp dir");
        std::thread::sleep(Duration::from_millis(300));
        let s = probe.finish().expect("the probe ran");
        assert!(s.len() >= 3, "about one sync per 20 ms: {}", s.len());
        assert!(s.max() > Duration::ZERO);
        assert!(describe(&s).starts_with(&format!("{} fdatasyncs", s.len())));
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "the probe's file is unnamed");
    }
}
