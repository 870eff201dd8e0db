//! `bench compare`: certgate on SQLite, certgate on PostgreSQL and pebble,
//! driven by the same ACME load generator at the same concurrencies in one
//! run, with the ratios certgate/pebble and the distance to the crypto floor
//! and to the floor of certgate's flow.

use std::path::PathBuf;
use std::time::Duration;

use certgate_tests::{PEBBLE_EAB_HMAC, PEBBLE_EAB_KID, Pebble, PebbleOptions, TestDb};

use crate::acme_load::{Load, Probe, Report, Target};
use crate::disk_probe::{self, DiskProbe};
use crate::gateway::{DOMAIN, Gateway};
use crate::procstat;
use crate::stats::{Samples, ms};

/// What to compare.
pub struct Options {
    /// The `certgate` binary.
    pub certgate: PathBuf,
    /// A PostgreSQL URL whose user may create databases; None skips PostgreSQL.
    pub postgres: Option<String>,
    /// Concurrencies.
    pub levels: Vec<usize>,
    /// Issuances per run against certgate.
    pub issuances: usize,
    /// Issuances per run against pebble: it is fast enough that a short run
    /// ends before its deadlock shows.
    pub pebble_issuances: usize,
    /// Seconds without progress that count as a stall.
    pub stall_secs: u64,
    /// Skip pebble.
    pub no_pebble: bool,
}

/// One row of the result table.
struct Row {
    server: String,
    report: Report,
    /// The disk's fsync latencies during the run, where they were probed.
    disk: Option<Samples>,
}

/// The probes of a certgate run: its process tree, and on PostgreSQL the
/// backends serving its database and every postgres process.
fn certgate_probes(pid: u32, pg_db: Option<String>) -> Vec<Probe> {
    let mut probes = vec![Probe { name: "certgate".into(), read: Box::new(move || procstat::tree_cpu_seconds(pid)) }];
    if let Some(db) = pg_db {
        probes.push(Probe {
            name: format!("postgres backends of {db}"),
            read: Box::new(move || procstat::postgres_cpu_seconds_for(&db)),
        });
        probes.push(Probe {
            name: "all postgres processes (others' too)".into(),
            read: Box::new(procstat::all_postgres_cpu_seconds),
        });
    }
    probes
}

fn load(clients: usize, issuances: usize, stall: u64) -> Load {
    Load { clients, issuances, rate: None, stall: Duration::from_secs(stall), timeout: Duration::from_secs(stall * 20) }
}

/// Runs the levels against one certgate, then once at half its peak rate.
async fn certgate_runs(opts: &Options, label: &str, tdb: TestDb, rows: &mut Vec<Row>, half: &mut Vec<Row>) {
    let pg_db = tdb.pg_name().map(str::to_string);
    let url = tdb.url.clone();
    tdb.db.close().await;
    let dir = tempfile::Builder::new().prefix("certgate-bench-").tempdir().expect("temp dir");
    let tokens = (opts.issuances * (opts.levels.len() + 2) + 1000) as u64;
    let gw = match Gateway::start(&opts.certgate, dir.path(), &url, tokens) {
        Ok(g) => g,
        Err(e) => {
            println!("{label}: could not start certgate: {e}");
            tdb.cleanup().await;
            return;
        }
    };
    let target = Target {
        directory: gw.directory.clone(),
        eab_kid: gw.eab_kid.clone(),
        eab_hmac: gw.eab_hmac.clone(),
        ca_bundle: None,
        domain: DOMAIN.into(),
    };
    let probes = certgate_probes(gw.pid, pg_db);
    // A short warm-up: the pool's connections, the statement caches.
    let _ = crate::acme_load::run(&target, &load(2, 10, opts.stall_secs), &probes).await;
    let mut peak: f64 = 0.0;
    for &c in &opts.levels {
        println!("== {label}, {c} clients (load {})", procstat::loadavg());
        let before = gw.statements();
        match crate::acme_load::run(&target, &load(c, opts.issuances, opts.stall_secs), &probes).await {
            Ok(r) => {
                r.print();
                if let (Some(before), Some(after)) = (before, gw.statements())
                    && r.issued > 0
                {
                    // Each client's EAB account is made in the run too.
                    let per = (after - before) / r.issued as f64;
                    println!("  database statements: {per:.1}/issuance (with the clients' accounts)");
                }
                peak = peak.max(r.rate());
                rows.push(Row { server: label.into(), report: r, disk: None });
            }
            Err(e) => println!("  {e}"),
        }
    }
    if peak > 0.0 {
        let mut l = load(16, opts.issuances, opts.stall_secs);
        l.rate = Some(peak / 2.0);
        println!("== {label}, 16 clients paced at half the peak, {:.0}/s (load {})", peak / 2.0, procstat::loadavg());
        // The p99 goal is read here; a disk that stalls its syncs shows up in
        // it. The probe writes to the temporary directory: on this machine
        // the disk of the SQLite file and of PostgreSQL's data too.
        let probe = DiskProbe::start(&std::env::temp_dir()).map_err(|e| format!("the disk probe did not start: {e}"));
        let ran = crate::acme_load::run(&target, &l, &probes).await;
        let disk = probe.and_then(DiskProbe::finish);
        match ran {
            Ok(r) => {
                r.print();
                match &disk {
                    Ok(d) => println!("  disk (temp dir): {}", disk_probe::describe(d)),
                    Err(e) => println!("  {e}"),
                }
                let disk = disk.ok();
                half.push(Row { server: format!("{label} at {:.0}/s", peak / 2.0), report: r, disk });
            }
            Err(e) => println!("  {e}"),
        }
    }
    drop(gw);
    tdb.cleanup().await;
}

/// Runs the levels against pebble, a fresh one per level (a stalled pebble
/// does not recover).
async fn pebble_runs(opts: &Options, rows: &mut Vec<Row>) {
    for &c in &opts.levels {
        let Some(pebble) = tokio::task::spawn_blocking(|| Pebble::start(PebbleOptions::default())).await.ok().flatten()
        else {
            println!("pebble is not installed (apt-get install -y pebble): skipped");
            return;
        };
        let pid = pebble.pid();
        let target = Target {
            directory: pebble.directory_url.clone(),
            eab_kid: PEBBLE_EAB_KID.into(),
            eab_hmac: base64_decode(PEBBLE_EAB_HMAC),
            ca_bundle: Some(pebble.ca_bundle.clone()),
            domain: DOMAIN.into(),
        };
        let probes = vec![Probe { name: "pebble".into(), read: Box::new(move || procstat::tree_cpu_seconds(pid)) }];
        println!("== pebble, {c} clients (load {})", procstat::loadavg());
        match crate::acme_load::run(&target, &load(c, opts.pebble_issuances, opts.stall_secs), &probes).await {
            Ok(r) => {
                r.print();
                rows.push(Row { server: "pebble".into(), report: r, disk: None });
            }
            Err(e) => println!("  {e}: stalled"),
        }
        tokio::task::spawn_blocking(move || drop(pebble)).await.ok();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

/// The PostgreSQL a comparison uses unless told: the local server over its
/// Unix socket when there is one (what `deploy/` recommends for PostgreSQL
/// on the same machine: neither TCP nor TLS), else over TCP.
pub fn default_postgres_url() -> String {
    const SOCKET_DIR: &str = "/var/run/postgresql";
    if std::path::Path::new(SOCKET_DIR).join(".s.PGSQL.5432").exists() {
        format!("postgres://postgres@localhost/test?host={SOCKET_DIR}")
    } else {
        "postgres://postgres@127.0.0.1:5432/test".into()
    }
}

/// Runs the comparison and prints the tables.
pub async fn run(opts: Options) {
    let floor = tokio::task::spawn_blocking(|| crate::floor::measure(2000)).await.expect("floor");
    floor.print();
    let measured = tokio::task::spawn_blocking(|| crate::exchange_floor::measure(20_000)).await;
    let flow_floor = match measured.map_err(|e| e.to_string()).and_then(|r| r) {
        Ok(f) => {
            f.print(&floor);
            Some(f.flow_total(&floor).as_secs_f64() * 1000.0)
        }
        Err(e) => {
            println!("transport and storage floor: not measured: {e}");
            None
        }
    };
    let (mut rows, mut half) = (Vec::new(), Vec::new());
    certgate_runs(&opts, "certgate SQLite", TestDb::sqlite().await, &mut rows, &mut half).await;
    if let Some(url) = &opts.postgres {
        println!("PostgreSQL: {url}");
        let tdb = crate::bench_db(Some(url.clone())).await;
        certgate_runs(&opts, "certgate PostgreSQL", tdb, &mut rows, &mut half).await;
    }
    if !opts.no_pebble {
        pebble_runs(&opts, &mut rows).await;
    }

    println!();
    println!("load average at the end: {}", procstat::loadavg());
    println!();
    println!(
        "| server | clients | issuances/s | issuance p50 | issuance p99 | server CPU/issuance | PostgreSQL CPU/issuance (its backends) | state |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows.iter().chain(half.iter()) {
        let rep = &r.report;
        let pg = rep.cpu_per_issuance_ms(1).map(|v| format!("{v:.2} ms")).unwrap_or_else(|| "-".into());
        let state = if rep.stalled {
            format!("stalled after {}", rep.issued)
        } else if rep.failed > 0 {
            format!("{} failed", rep.failed)
        } else {
            "ok".into()
        };
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {pg} | {state} |",
            r.server,
            rep.clients,
            rep.rate(),
            ms(rep.issuance.p(0.5)),
            ms(rep.issuance.p(0.99)),
            rep.cpu_per_issuance_ms(0).map(|v| format!("{v:.2} ms")).unwrap_or_else(|| "-".into()),
        );
    }
    println!();
    println!(
        "| clients | server | rate / pebble's | CPU per issuance / pebble's | CPU per issuance / crypto floor ({}) | CPU per issuance / floor of certgate's flow ({}) |",
        ms(floor.total()),
        flow_floor.map(|f| format!("{f:.2} ms")).unwrap_or_else(|| "-".into())
    );
    println!("|---|---|---|---|---|---|");
    let floor_ms = floor.total().as_secs_f64() * 1000.0;
    for &c in &opts.levels {
        let pebble = rows.iter().find(|r| r.server == "pebble" && r.report.clients == c);
        for r in rows.iter().filter(|r| r.server != "pebble" && r.report.clients == c) {
            let cpu = r.report.cpu_per_issuance_ms(0);
            let (rate_ratio, cpu_ratio) = match pebble {
                Some(p) if p.report.issued > 0 => (
                    format!("{:.2}", r.report.rate() / p.report.rate()),
                    match (cpu, p.report.cpu_per_issuance_ms(0)) {
                        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                        _ => "-".into(),
                    },
                ),
                _ => ("- (pebble stalled or absent)".into(), "-".into()),
            };
            let above = |f: f64| cpu.map(|v| format!("{:.1}x", v / f)).unwrap_or_else(|| "-".into());
            let above_flow = flow_floor.map(above).unwrap_or_else(|| "-".into());
            println!("| {c} | {} | {rate_ratio} | {cpu_ratio} | {} | {above_flow} |", r.server, above(floor_ms));
        }
    }
    if !half.is_empty() {
        println!();
        println!("Per-request p99 at half the peak rate (16 clients, paced):");
        for r in &half {
            let worst = r
                .report
                .kinds
                .iter()
                .filter(|(k, _)| **k != crate::acme_load::Kind::NewAccount)
                .max_by_key(|(_, s)| s.p(0.99));
            if let Some((k, s)) = worst {
                let disk =
                    r.disk.as_ref().map(|d| format!("; the disk's {}", disk_probe::describe(d))).unwrap_or_default();
                println!("  {}: worst p99 is {} ({}){disk}", r.server, ms(s.p(0.99)), k.name());
            }
        }
    }
}
