//! `bench`: measures certgate's order core under load. `bench orders` places
//! N orders from C concurrent callers (CSR check, pricing, conditional debit,
//! job enqueue in one transaction), then has W workers issue them all with
//! the embedded CA, and reports throughput, latency percentiles and the CPU
//! time this process spent per order. SQLite by default; `--postgres URL`
//! runs it on a fresh database of that server.

use std::time::{Duration, Instant};

use certgate_tests::{Fixture, Key, TestDb, csr};
use clap::{Parser, Subcommand};
use orders::{Formula, PlaceOrder, Worker};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Place then issue orders through the order core.
    Orders {
        /// How many orders.
        #[arg(long, default_value_t = 500)]
        orders: usize,
        /// Concurrent callers placing orders.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Concurrent job workers issuing them.
        #[arg(long, default_value_t = 4)]
        workers: usize,
        /// A PostgreSQL URL whose user may create databases (default: an SQLite file).
        #[arg(long)]
        postgres: Option<String>,
    },
}

/// CPU seconds (user + system) this process has used, from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|(_, s)| s).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let Cmd::Orders { orders: n, concurrency, workers, postgres } = Cli::parse().cmd;
    let tdb = match postgres {
        Some(url) => {
            // SAFETY: set before any other thread reads the environment.
            unsafe { std::env::set_var("CERTGATE_TEST_POSTGRES_URL", url) };
            TestDb::postgres().await.expect("postgres database")
        }
        None => TestDb::sqlite().await,
    };
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", n as i64, "bench").await.expect("tokens");
    let csrs: Vec<String> = (0..n.min(64)).map(|_| csr(&["www.example.test"], Key::P256)).collect();

    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = n.div_ceil(concurrency);
    for t in 0..concurrency {
        let (orders, op, org) = (f.orders.clone(), f.op.clone(), f.org);
        let csrs = csrs.clone();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            for i in (t * per_task)..((t + 1) * per_task).min(n) {
                let req = PlaceOrder {
                    organisation_id: org,
                    product_code: "ssl1".into(),
                    csr: csrs[i % csrs.len()].clone().into_bytes(),
                    ..Default::default()
                };
                let s = Instant::now();
                orders.place(&op, &req).await.expect("place");
                lat.push(s.elapsed());
            }
            lat
        });
    }
    let mut lat: Vec<Duration> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        lat.extend(r.expect("task"));
    }
    let place_wall = t0.elapsed();
    let cpu1 = cpu_seconds();
    lat.sort();

    let t1 = Instant::now();
    let mut issuers = tokio::task::JoinSet::new();
    for w in 0..workers {
        let worker = Worker::new(f.orders.clone(), format!("bench-{w}"));
        issuers.spawn(async move { worker.drain().await.expect("drain") });
    }
    let mut issued = 0;
    while let Some(r) = issuers.join_next().await {
        issued += r.expect("worker");
    }
    let issue_wall = t1.elapsed();
    let cpu2 = cpu_seconds();
    assert_eq!(issued, n, "every order issued once");
    let left = f.orders.balance(&f.op, orders::Ledger::Tokens, Some("ssl1")).await.expect("balance");
    assert_eq!(left, 0, "exactly one token per order");

    println!("backend: {}  orders: {n}  callers: {concurrency}  workers: {workers}", tdb.backend);
    println!(
        "place:  {:.0} orders/s  p50 {}  p99 {}  max {}  cpu {:.2} ms/order",
        n as f64 / place_wall.as_secs_f64(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        ms(*lat.last().unwrap_or(&Duration::ZERO)),
        (cpu1 - cpu0) * 1000.0 / n as f64
    );
    println!(
        "issue:  {:.0} certificates/s  cpu {:.2} ms/certificate",
        n as f64 / issue_wall.as_secs_f64(),
        (cpu2 - cpu1) * 1000.0 / n as f64
    );
    tdb.cleanup().await;
}
