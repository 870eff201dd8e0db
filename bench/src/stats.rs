//! Latency samples and their percentiles.

use std::time::Duration;

/// A sorted set of latencies.
#[derive(Clone, Debug, Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    /// Sorts `v` once, so percentiles are cheap.
    pub fn new(mut v: Vec<Duration>) -> Samples {
        v.sort();
        Samples(v)
    }

    /// The `p` quantile (0.5 is the median), or zero without samples.
    pub fn p(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0[((self.0.len() - 1) as f64 * p).round() as usize]
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Microseconds with one decimal, for parts that cost tens of them.
pub fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

/// Times `n` runs of `f` and returns the mean time of one.
pub fn time_per<T>(n: usize, mut f: impl FnMut() -> T) -> Duration {
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    start.elapsed() / n as u32
}
