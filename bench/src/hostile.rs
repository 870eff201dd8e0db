//! `bench hostile`: the denial-of-service attacks of the hardening issue
//! replayed against a `certgate serve` on SQLite: a burst of logins for
//! unknown users, `system.multicall` loaded with logins, and slow or idle
//! connections. For each it prints the server's peak memory and CPU, how
//! `/healthz` answered meanwhile, and, for connections, how many the server
//! closed and when.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use certgate_tests::attack::{self, HealthProbe, Slow};

use crate::gateway::Gateway;
use crate::procstat;
use crate::stats::{Samples, ms};

/// What to replay.
pub struct Options {
    /// The certgate binary.
    pub certgate: PathBuf,
    /// Parallel logins of unknown users.
    pub logins: usize,
    /// Slow or idle connections held at once.
    pub connections: usize,
    /// `[http]` timeouts in seconds (head, body, idle); the defaults when unset.
    pub timeouts: Option<[u64; 3]>,
}

/// The peak resident set of a process, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    certgate_tests::peak_rss_kib(pid) / 1024
}

/// `/healthz` during an attack: answers, failures, median and worst time.
fn health(answers: &[Option<Duration>]) -> String {
    let failed = answers.iter().filter(|a| a.is_none()).count();
    let times = Samples::new(answers.iter().flatten().copied().collect());
    format!("/healthz {} probes, {failed} failed, p50 {}, max {}", answers.len(), ms(times.p(0.5)), ms(times.max()))
}

/// Runs the three attacks, each against a fresh gateway, and prints what it saw.
pub fn run(opts: &Options) -> Result<(), String> {
    let mut env: Vec<(&str, String)> = Vec::new();
    if let Some([head, body, idle]) = opts.timeouts {
        env.push(("CERTGATE_HTTP__HEAD_TIMEOUT_SECS", head.to_string()));
        env.push(("CERTGATE_HTTP__BODY_TIMEOUT_SECS", body.to_string()));
        env.push(("CERTGATE_HTTP__IDLE_TIMEOUT_SECS", idle.to_string()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let start = || -> Result<(tempfile::TempDir, Gateway), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let url = format!("sqlite://{}", dir.path().join("hostile.db").display());
        let gw = Gateway::start_with(&opts.certgate, dir.path(), &url, 10, &env)?;
        Ok((dir, gw))
    };

    // 1. Parallel logins of unknown users, each on its own connection.
    let (_dir, gw) = start()?;
    let (rss_before, cpu_before) = (peak_rss_mib(gw.pid), procstat::cpu_seconds(gw.pid));
    let probe = HealthProbe::start(gw.port);
    let requests: Vec<String> =
        (0..opts.logins).map(|i| attack::xmlrpc_request(&attack::solde(&format!("nobody-{i}")))).collect();
    let began = Instant::now();
    let answers = attack::all_at_once(gw.port, &requests, Duration::from_secs(120));
    let took = began.elapsed();
    let probes = probe.stop();
    let mut by_code = std::collections::BTreeMap::new();
    for a in &answers {
        let code = a.as_deref().map(attack::fault_codes).and_then(|c| c.first().copied());
        *by_code.entry(code.map_or("unanswered".to_string(), |c| format!("fault {c}"))).or_insert(0) += 1;
    }
    println!("{} parallel logins of unknown users, answered in {:.2} s: {by_code:?}", opts.logins, took.as_secs_f64());
    println!(
        "  password checks {}, server CPU {:.2} s, peak RSS {rss_before} -> {} MiB; {}",
        attack::metric(gw.port, "certgate_password_checks_total"),
        procstat::cpu_seconds(gw.pid) - cpu_before,
        peak_rss_mib(gw.pid),
        health(&probes)
    );
    drop(gw);

    // 2. Logins in a multicall: past the cap, and 100 distinct unknown users.
    let (_dir, gw) = start()?;
    for (what, logins) in [
        ("1,000 calls", (0..1000).map(|i| format!("nobody-{i}")).collect::<Vec<_>>()),
        ("100 unknown users", (0..100).map(|i| format!("nobody-{i}")).collect()),
    ] {
        let cpu = procstat::cpu_seconds(gw.pid);
        let began = Instant::now();
        let body = attack::multicall_solde(logins.iter().map(String::as_str));
        let answer = certgate_tests::binary::http(gw.port, &attack::xmlrpc_request(&body)).unwrap_or_default();
        let codes = attack::fault_codes(&answer);
        let faults = |c: i64| codes.iter().filter(|x| **x == c).count();
        println!(
            "multicall of {what} ({} KB): {}, server CPU {:.3} s; faults: {} of 1, {} of 4, {} of -32600",
            body.len() / 1000,
            ms(began.elapsed()),
            procstat::cpu_seconds(gw.pid) - cpu,
            faults(1),
            faults(4),
            faults(-32600)
        );
    }
    println!("  password checks in all {}", attack::metric(gw.port, "certgate_password_checks_total"));
    drop(gw);

    // 3. Slow and idle connections.
    let (_dir, gw) = start()?;
    let rss_before = peak_rss_mib(gw.pid);
    let probe = HealthProbe::start(gw.port);
    let acme = gw.directory.replace("/directory", "/new-account");
    let acme_path = acme.find("/acme/").map_or(acme.as_str(), |i| &acme[i..]);
    let held = attack::hold_slow_connections(gw.port, acme_path, opts.connections, Duration::from_secs(180));
    let probes = probe.stop();
    println!("{} slow or idle connections:", opts.connections);
    for kind in Slow::ALL {
        let closed = Samples::new(held.iter().filter(|h| h.kind == kind).filter_map(|h| h.closed_after).collect());
        let open = held.iter().filter(|h| h.kind == kind && h.closed_after.is_none()).count();
        println!(
            "  {kind:?}: {} closed (first {:.1} s, median {:.1} s, last {:.1} s), {open} still open after 180 s",
            closed.len(),
            closed.p(0.0).as_secs_f64(),
            closed.p(0.5).as_secs_f64(),
            closed.max().as_secs_f64()
        );
    }
    println!("  peak RSS {rss_before} -> {} MiB; {}", peak_rss_mib(gw.pid), health(&probes));
    Ok(())
}
