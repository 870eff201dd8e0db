//! A small recorder for the `metrics` facade that renders Prometheus' text
//! format. It stands in for `metrics-exporter-prometheus`, whose storage
//! pulls a second major version of `rand` into the tree; certgate needs
//! only counters, gauges and fixed-bucket histograms.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Histogram buckets (upper bounds, seconds) for metrics by name; others get
/// [`DEFAULT_BUCKETS`].
pub type Buckets = &'static [(&'static str, &'static [f64])];

/// Buckets for a histogram that has none of its own.
const DEFAULT_BUCKETS: &[f64] = &[0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

/// One histogram: a count per bucket, the sum and the count.
struct HistogramCells {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_bits: AtomicU64,
    count: AtomicU64,
}

impl HistogramFn for HistogramCells {
    fn record(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        // f64 has no atomic add: retry the swap until no one raced us.
        let _ = self
            .sum_bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + value).to_bits()));
    }
}

/// Series by their `metrics` key: the macros register on every call, so the
/// lookup must not format anything; names are rendered at scrape time.
#[derive(Default)]
struct Series {
    counters: HashMap<Key, Arc<AtomicU64>>,
    gauges: HashMap<Key, Arc<AtomicU64>>,
    histograms: HashMap<Key, Arc<HistogramCells>>,
}

/// The cell of `key`, made by `make` on first use; the key is cloned only then.
fn cell<T>(map: &mut HashMap<Key, Arc<T>>, key: &Key, make: impl FnOnce() -> T) -> Arc<T> {
    if let Some(c) = map.get(key) {
        return c.clone();
    }
    map.entry(key.clone()).or_insert_with(|| Arc::new(make())).clone()
}

/// The series of `map` sorted by (metric name, series name), so that every
/// series of one metric renders together under a single `# TYPE` line.
fn sorted<T>(map: &HashMap<Key, Arc<T>>) -> Vec<(String, String, &T)> {
    let mut v: Vec<_> = map.iter().map(|(k, c)| (k.name().to_string(), series_name(k), c.as_ref())).collect();
    v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    v
}

/// The metrics recorded so far; cheap to clone, shared by the recorder and
/// the `/metrics` handler.
#[derive(Clone)]
pub struct Registry {
    series: Arc<Mutex<Series>>,
    buckets: Buckets,
}

/// `name{label="value",...}`, label values escaped as the format asks.
fn series_name(key: &Key) -> String {
    let mut s = key.name().to_string();
    let labels: Vec<String> = key
        .labels()
        .map(|l| {
            let v = l.value().replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{}=\"{v}\"", l.key())
        })
        .collect();
    if !labels.is_empty() {
        let _ = write!(s, "{{{}}}", labels.join(","));
    }
    s
}

/// Inserts `extra` (`le="0.5"`) into a series' labels.
fn with_label(series: &str, suffix: &str, extra: &str) -> String {
    match series.split_once('{') {
        Some((name, rest)) => format!("{name}{suffix}{{{extra},{rest}"),
        None => format!("{series}{suffix}{{{extra}}}"),
    }
}

fn with_suffix(series: &str, suffix: &str) -> String {
    match series.split_once('{') {
        Some((name, rest)) => format!("{name}{suffix}{{{rest}"),
        None => format!("{series}{suffix}"),
    }
}

impl Registry {
    /// An empty registry; histograms named in `buckets` use those bounds.
    pub fn new(buckets: Buckets) -> Registry {
        Registry { series: Arc::default(), buckets }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Series> {
        // A panic elsewhere while holding the lock leaves plain numbers behind: keep using them.
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything recorded, in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let series = self.lock();
        let mut out = String::new();
        let typed = |out: &mut String, metric: &str, kind: &str, last: &mut String| {
            if metric != last {
                let _ = writeln!(out, "# TYPE {metric} {kind}");
                *last = metric.to_string();
            }
        };
        let mut last = String::new();
        for (metric, name, v) in sorted(&series.counters) {
            typed(&mut out, &metric, "counter", &mut last);
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
        for (metric, name, v) in sorted(&series.gauges) {
            typed(&mut out, &metric, "gauge", &mut last);
            let _ = writeln!(out, "{name} {}", f64::from_bits(v.load(Ordering::Relaxed)));
        }
        for (metric, name, h) in sorted(&series.histograms) {
            typed(&mut out, &metric, "histogram", &mut last);
            let mut cumulative = 0;
            for (bound, n) in h.bounds.iter().zip(&h.counts) {
                cumulative += n.load(Ordering::Relaxed);
                let _ = writeln!(out, "{} {cumulative}", with_label(&name, "_bucket", &format!("le=\"{bound}\"")));
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{} {count}", with_label(&name, "_bucket", "le=\"+Inf\""));
            let _ =
                writeln!(out, "{} {}", with_suffix(&name, "_sum"), f64::from_bits(h.sum_bits.load(Ordering::Relaxed)));
            let _ = writeln!(out, "{} {count}", with_suffix(&name, "_count"));
        }
        out
    }
}

impl Recorder for Registry {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(cell(&mut self.lock().counters, key, AtomicU64::default))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(cell(&mut self.lock().gauges, key, AtomicU64::default))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        // The macros register on every call: the buckets are looked up only
        // when the series is new.
        Histogram::from_arc(cell(&mut self.lock().histograms, key, || {
            let bounds = self.buckets.iter().find(|(n, _)| *n == key.name()).map_or(DEFAULT_BUCKETS, |(_, b)| *b);
            HistogramCells {
                bounds,
                counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
                sum_bits: AtomicU64::new(0f64.to_bits()),
                count: AtomicU64::new(0),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_cumulative_histograms() {
        let r = Registry::new(&[("lat", &[0.1, 1.0])]);
        let key = Key::from_parts("hits", vec![metrics::Label::new("route", "a\"b")]);
        let md = metrics::Metadata::new("t", metrics::Level::INFO, None);
        r.register_counter(&key, &md).increment(2);
        r.register_counter(&key, &md).increment(1);
        r.register_gauge(&Key::from_name("queued"), &md).set(4.0);
        let h = r.register_histogram(&Key::from_parts("lat", vec![metrics::Label::new("op", "x")]), &md);
        for v in [0.05, 0.5, 7.0] {
            h.record(v);
        }
        let text = r.render();
        for line in [
            "# TYPE hits counter",
            "hits{route=\"a\\\"b\"} 3",
            "queued 4",
            "# TYPE lat histogram",
            "lat_bucket{le=\"0.1\",op=\"x\"} 1",
            "lat_bucket{le=\"1\",op=\"x\"} 2",
            "lat_bucket{le=\"+Inf\",op=\"x\"} 3",
            "lat_sum{op=\"x\"} 7.55",
            "lat_count{op=\"x\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
    }
}
