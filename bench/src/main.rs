//! `bench`: measures certgate. `bench orders` drives the order core in
//! process; `bench acme` is an ACME load generator for any directory URL;
//! `bench compare` runs certgate (SQLite, PostgreSQL) and pebble under the
//! same ACME load in one run; `bench floor` times the cryptography of one
//! issuance, and the least HTTP and SQLite work beside it; `bench xmlrpc`
//! measures the XML-RPC front and its codec; `bench scale` times the order
//! core's queries with a million orders; `bench statements` the cost of one
//! database statement through `storage::sql`; `bench hostile` replays the
//! denial-of-service attacks against `serve`. See BENCHMARKS.md for the
//! commands and the results.

mod acme_load;
mod compare;
mod disk_probe;
mod exchange_floor;
mod floor;
mod gateway;
mod hostile;
mod procstat;
mod scale;
mod statements;
mod stats;
mod xmlrpc_load;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use certgate_tests::{Fixture, Key, TestDb, csr};
use clap::{Parser, Subcommand};
use orders::{Formula, PlaceOrder, Worker};
use stats::ms;

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
    /// Full ACME issuances from N concurrent clients against a directory URL.
    Acme {
        /// The ACME directory URL.
        #[arg(long)]
        directory: String,
        /// The EAB key ID.
        #[arg(long)]
        eab_kid: String,
        /// The EAB HMAC key (base64url).
        #[arg(long)]
        eab_hmac: String,
        /// Extra root(s) to trust for an https directory (PEM).
        #[arg(long)]
        ca_bundle: Option<PathBuf>,
        /// Concurrent clients, each with its own EAB account.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Issuances in all.
        #[arg(long, default_value_t = 200)]
        issuances: usize,
        /// Start issuances at this rate (per second) instead of back to back.
        #[arg(long)]
        rate: Option<f64>,
        /// The server's process id, to charge it the CPU it used (with its children).
        #[arg(long)]
        server_pid: Option<u32>,
        /// Also charge the postgres backends of this database.
        #[arg(long)]
        postgres_db: Option<String>,
        /// Names are made up under this domain.
        #[arg(long, default_value = "bench.test")]
        domain: String,
        /// Seconds without a finished issuance that count as a stall.
        #[arg(long, default_value_t = 10)]
        stall_secs: u64,
    },
    /// certgate on SQLite and PostgreSQL, and pebble, under the same ACME load.
    Compare {
        /// The certgate binary (default: the one beside this bench binary).
        #[arg(long)]
        certgate: Option<PathBuf>,
        /// A PostgreSQL URL whose user may create databases [default: the
        /// local server over its Unix socket when it has one here, else
        /// postgres://postgres@127.0.0.1:5432/test]
        #[arg(long)]
        postgres: Option<String>,
        /// Skip PostgreSQL.
        #[arg(long)]
        no_postgres: bool,
        /// Skip pebble.
        #[arg(long)]
        no_pebble: bool,
        /// Concurrencies.
        #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
        clients: Vec<usize>,
        /// Issuances per run against certgate.
        #[arg(long, default_value_t = 300)]
        issuances: usize,
        /// Issuances per run against pebble.
        #[arg(long, default_value_t = 3000)]
        pebble_issuances: usize,
        /// Seconds without a finished issuance that count as a stall.
        #[arg(long, default_value_t = 10)]
        stall_secs: u64,
    },
    /// The CPU cost of the cryptography of one issuance on the server, and
    /// of the least HTTP and SQLite work of certgate's flow.
    Floor {
        /// Iterations of each part.
        #[arg(long, default_value_t = 5000)]
        iterations: usize,
    },
    /// XML-RPC statut and achat against a certgate serve it starts, and the codec's speed.
    Xmlrpc {
        /// The certgate binary (default: the one beside this bench binary).
        #[arg(long)]
        certgate: Option<PathBuf>,
        /// A PostgreSQL URL whose user may create databases (default: SQLite).
        #[arg(long)]
        postgres: Option<String>,
        /// Calls of each method.
        #[arg(long, default_value_t = 1000)]
        calls: usize,
        /// Concurrent callers.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Requests in the document the codec decodes.
        #[arg(long, default_value_t = 1000)]
        entries: usize,
    },
    /// Denial of service against `serve`: parallel logins, loaded multicalls,
    /// slow and idle connections; peak memory, `/healthz` and closings.
    Hostile {
        /// The certgate binary (default: the one beside this bench binary).
        #[arg(long)]
        certgate: Option<PathBuf>,
        /// Parallel logins of unknown users.
        #[arg(long, default_value_t = 1000)]
        logins: usize,
        /// Slow or idle connections held at once.
        #[arg(long, default_value_t = 2000)]
        connections: usize,
        /// The head, body and idle timeouts to run serve with, in seconds
        /// (default: serve's own defaults).
        #[arg(long, value_delimiter = ',', num_args = 3)]
        timeouts: Option<Vec<u64>>,
    },
    /// The CPU and wall time of one database statement through `storage::sql`.
    Statements {
        /// Statements of each kind.
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        /// A PostgreSQL URL whose user may create databases (default: SQLite).
        #[arg(long)]
        postgres: Option<String>,
    },
    /// The order core's queries with many orders in the database.
    Scale {
        /// Orders to insert.
        #[arg(long, default_value_t = 1_000_000)]
        orders: i64,
        /// A PostgreSQL URL whose user may create databases (default: SQLite).
        #[arg(long)]
        postgres: Option<String>,
        /// Runs of each call.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Drop the indexes of migration 0005 first (the "before" numbers).
        #[arg(long)]
        without_new_indexes: bool,
    },
}

#[tokio::main]
async fn main() {
    // One crypto provider for every TLS client in the process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match Cli::parse().cmd {
        Cmd::Orders { orders, concurrency, workers, postgres } => {
            order_core(orders, concurrency, workers, postgres).await
        }
        Cmd::Acme {
            directory,
            eab_kid,
            eab_hmac,
            ca_bundle,
            clients,
            issuances,
            rate,
            server_pid,
            postgres_db,
            domain,
            stall_secs,
        } => {
            use base64::Engine as _;
            let eab_hmac = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(eab_hmac.trim_end_matches('='))
                .expect("--eab-hmac is base64url");
            let target = acme_load::Target { directory, eab_kid, eab_hmac, ca_bundle, domain };
            let mut probes = Vec::new();
            if let Some(pid) = server_pid {
                probes.push(acme_load::Probe {
                    name: format!("server (pid {pid} and children)"),
                    read: Box::new(move || procstat::tree_cpu_seconds(pid)),
                });
            }
            if let Some(db) = postgres_db {
                probes.push(acme_load::Probe {
                    name: format!("postgres backends of {db}"),
                    read: Box::new(move || procstat::postgres_cpu_seconds_for(&db)),
                });
            }
            let load = acme_load::Load {
                clients,
                issuances,
                rate,
                stall: Duration::from_secs(stall_secs),
                timeout: Duration::from_secs(stall_secs * 30),
            };
            println!("load average before: {}", procstat::loadavg());
            match acme_load::run(&target, &load, &probes).await {
                Ok(r) => r.print(),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
        Cmd::Compare {
            certgate,
            postgres,
            no_postgres,
            no_pebble,
            clients,
            issuances,
            pebble_issuances,
            stall_secs,
        } => {
            let opts = compare::Options {
                certgate: certgate.unwrap_or_else(gateway::default_binary),
                postgres: (!no_postgres).then(|| postgres.unwrap_or_else(compare::default_postgres_url)),
                levels: clients,
                issuances,
                pebble_issuances,
                stall_secs,
                no_pebble,
            };
            compare::run(opts).await;
        }
        Cmd::Floor { iterations } => {
            let crypto = floor::measure(iterations);
            crypto.print();
            match exchange_floor::measure(iterations * 4) {
                Ok(f) => f.print(&crypto),
                Err(e) => eprintln!("transport and storage floor: {e}"),
            }
        }
        Cmd::Xmlrpc { certgate, postgres, calls, clients, entries } => {
            xmlrpc_bench(certgate.unwrap_or_else(gateway::default_binary), postgres, calls, clients, entries).await
        }
        Cmd::Hostile { certgate, logins, connections, timeouts } => {
            let opts = hostile::Options {
                certgate: certgate.unwrap_or_else(gateway::default_binary),
                logins,
                connections,
                timeouts: timeouts.and_then(|t| <[u64; 3]>::try_from(t).ok()),
            };
            // The attacks block on sockets: off the runtime's threads.
            match tokio::task::spawn_blocking(move || hostile::run(&opts)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("hostile: {e}"),
                Err(e) => eprintln!("hostile: {e}"),
            }
        }
        Cmd::Statements { count, postgres } => statements::run(count, postgres).await,
        Cmd::Scale { orders, postgres, runs, without_new_indexes } => {
            scale::run(orders, postgres, runs, without_new_indexes).await
        }
    }
}

/// A fresh migrated database: PostgreSQL (a new database made through the
/// admin URL `postgres`) or, without it, SQLite in a temporary directory.
pub(crate) async fn bench_db(postgres: Option<String>) -> TestDb {
    match postgres {
        Some(url) => TestDb::postgres_at(&url).await,
        None => TestDb::sqlite().await,
    }
}

/// XML-RPC calls against a certgate serve started here, then the codec alone.
async fn xmlrpc_bench(bin: PathBuf, postgres: Option<String>, calls: usize, clients: usize, entries: usize) {
    let tdb = bench_db(postgres).await;
    let url = tdb.url.clone();
    tdb.db.close().await;
    let dir = tempfile::Builder::new().prefix("certgate-bench-").tempdir().expect("temp dir");
    let gw = gateway::Gateway::start(&bin, dir.path(), &url, (calls * 2 + 100) as u64).expect("certgate serve");
    let pid = gw.pid;
    let cpu = move || procstat::tree_cpu_seconds(pid);
    let endpoint = format!("{}/api-operations.php", gw.base);
    println!("backend: {}  callers: {clients}  (load {})", tdb.backend, procstat::loadavg());
    let csrs = Arc::new(xmlrpc_load::csrs(64, gateway::DOMAIN));
    let (login, password) = (gateway::API_LOGIN, gateway::API_PASSWORD);
    // One order to ask the status of, issued before the statut run.
    let first = {
        let c = csrs.clone();
        let body: Arc<dyn Fn(usize) -> String + Send + Sync> =
            Arc::new(move |i| xmlrpc_load::achat_body(login, password, &c, 1, i));
        xmlrpc_load::run(&endpoint, "achat", 1, 1, body, &cpu).await
    };
    assert_eq!(first.ok, 1, "the first achat: {:?}", first.first_error);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let statut: Arc<dyn Fn(usize) -> String + Send + Sync> =
        Arc::new(move |_| xmlrpc_load::statut_body(login, password, 1));
    let s = xmlrpc_load::run(&endpoint, "statut", clients, calls, statut, &cpu).await;
    s.print();
    let c = csrs.clone();
    let achat: Arc<dyn Fn(usize) -> String + Send + Sync> =
        Arc::new(move |i| xmlrpc_load::achat_body(login, password, &c, 1, i + 1));
    let cpu0 = cpu();
    let a = xmlrpc_load::run(&endpoint, "achat", clients, calls, achat, &cpu).await;
    a.print();
    // The worker issues the orders while and after they are placed: wait
    // for the queue to drain to charge issuance too.
    let t = Instant::now();
    let last = (calls + 1) as i64;
    let client = xmlrpc_load::http_client();
    while !xmlrpc_load::delivered(&client, &endpoint, login, password, last).await
        && t.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "achat + issuance by the worker: {:.3} ms server CPU per order (queue drained {:.1} s after the last call)",
        (cpu() - cpu0) * 1000.0 / a.ok.max(1) as f64,
        t.elapsed().as_secs_f64()
    );
    drop(gw);
    tdb.cleanup().await;

    println!("one Argon2 password verification (certgate's parameters): {}", ms(xmlrpc_load::argon2_verify(20)));
    let codec = xmlrpc_load::codec(entries);
    println!(
        "codec: achat with {entries} requests, {:.2} MB: parse_call {:.1} MB/s, quick-xml event scan {:.1} MB/s ({:.1}x)",
        codec.bytes as f64 / 1e6,
        codec.parse_call,
        codec.quick_xml_scan,
        codec.quick_xml_scan / codec.parse_call
    );
}

/// `bench orders`: the order core in process.
async fn order_core(n: usize, concurrency: usize, workers: usize, postgres: Option<String>) {
    let tdb = bench_db(postgres).await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", n as i64, "bench").await.expect("tokens");
    let csrs: Vec<String> = (0..n.min(64)).map(|_| csr(&["www.example.test"], Key::P256)).collect();

    let cpu0 = procstat::own_cpu_seconds();
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
                    // The CSRs repeat: without a key of its own, an order
                    // like one placed a moment ago is taken for its retry.
                    idempotency_key: Some(format!("bench-{i}")),
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
    let cpu1 = procstat::own_cpu_seconds();
    let lat = stats::Samples::new(lat);

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
    let cpu2 = procstat::own_cpu_seconds();
    assert_eq!(issued, n, "every order issued once");
    let left = f.orders.balance(&f.op, orders::Ledger::Tokens, Some("ssl1")).await.expect("balance");
    assert_eq!(left, 0, "exactly one token per order");

    println!("backend: {}  orders: {n}  callers: {concurrency}  workers: {workers}", tdb.backend);
    println!(
        "place:  {:.0} orders/s  p50 {}  p99 {}  max {}  cpu {:.2} ms/order",
        n as f64 / place_wall.as_secs_f64(),
        ms(lat.p(0.5)),
        ms(lat.p(0.99)),
        ms(lat.max()),
        (cpu1 - cpu0) * 1000.0 / n as f64
    );
    println!(
        "issue:  {:.0} certificates/s  cpu {:.2} ms/certificate",
        n as f64 / issue_wall.as_secs_f64(),
        (cpu2 - cpu1) * 1000.0 / n as f64
    );
    tdb.cleanup().await;
}
