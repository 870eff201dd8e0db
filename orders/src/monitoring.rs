//! Certificate monitoring (seed 12; docs/monitoring.md): an account's
//! defaults, each certificate's monitor (the hosts, port and StartTLS to
//! scan, how often), and the `monitor` job that scans, judges what is served
//! against what the order delivered, keeps the result and its history, and
//! tells the account's monitoring manager when the result changes or shows a
//! problem. Scans are bounded for the scanned side's sake: allowed ports
//! only, names of the certificate only, one connection at a time per host,
//! and never more often than the frequency.

use std::collections::BTreeSet;

use storage::monitors::{self, MonitorConfig, MonitorRow, MonitorSettingsRow, ResultRow};
use storage::{audit, commit, jobs};
use validation::StartTls;

use crate::events::{EventKind, emit};
use crate::names::order_names;
use crate::{Caller, Order, OrderError, Orders, Result, Right, Status};

/// The frequencies a monitor may scan at, in days (0: never; seed 12).
pub const FREQUENCIES: [i64; 4] = [0, 7, 30, 90];

/// The most host names one monitor scans.
pub const MAX_HOSTS: usize = 5;

/// The scan results kept per monitor (a result per host and scan).
const KEPT_RESULTS: i64 = 200;

/// Days left under which a served certificate is flagged as expiring.
const EXPIRING_DAYS: i64 = 7;

const DAY: i64 = 86_400;

/// An account's monitoring defaults (seed 12.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorDefaults {
    /// Whether new certificates are monitored.
    pub default_on: bool,
    /// How often new monitors scan, in days (0: never).
    pub frequency_days: i64,
    /// Who receives the results; none: the generic and delivery contacts.
    pub manager_email: Option<String>,
    /// The language of the manager's messages (`en` or `fr`).
    pub manager_language: String,
    /// Plain-text messages, without HTML.
    pub plain_text: bool,
}

impl Default for MonitorDefaults {
    fn default() -> MonitorDefaults {
        MonitorDefaults {
            default_on: false,
            frequency_days: 30,
            manager_email: None,
            manager_language: "en".into(),
            plain_text: false,
        }
    }
}

/// A change to a certificate's monitor; what is `None` is kept (or, for a
/// new monitor, taken from the account's defaults).
#[derive(Clone, Debug, Default)]
pub struct MonitorChange {
    /// Scan it or not.
    pub enabled: Option<bool>,
    /// Days between scans: 0, 7, 30 or 90.
    pub frequency_days: Option<i64>,
    /// The host names to scan (names of the certificate).
    pub hosts: Option<Vec<String>>,
    /// The port.
    pub port: Option<u16>,
    /// How TLS is reached: `none`, `smtp`, `imap`, `pop3`, `ftp`, `xmpp`, `postgres`.
    pub starttls: Option<String>,
}

/// A certificate's monitor with its last result.
#[derive(Clone, Debug)]
pub struct Monitor {
    /// The order's reference.
    pub reference: String,
    /// The order's common name.
    pub cn: String,
    /// Whether it scans.
    pub enabled: bool,
    /// Days between scans (0: never).
    pub frequency_days: i64,
    /// The host names scanned.
    pub hosts: Vec<String>,
    /// The port scanned.
    pub port: u16,
    /// How TLS is reached.
    pub starttls: StartTls,
    /// When the next scan is due.
    pub next_scan_at: Option<i64>,
    /// When it last scanned.
    pub last_scan_at: Option<i64>,
    /// The last scan's results, one per host.
    pub last: Vec<ScanResult>,
}

/// What one scan found at one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanResult {
    /// When the scan ran.
    pub scanned_at: i64,
    /// The host scanned.
    pub host: String,
    /// `ok`, `problem` or `error`.
    pub outcome: String,
    /// Where a failed scan failed (`dns`, `connect`, `starttls`, `handshake`, `timeout`).
    pub error_class: Option<String>,
    /// Which certificate was served: `current` (the order's), `renewal` (its
    /// renewal's), `previous` (an older version of the order's) or `other`.
    pub served: Option<String>,
    /// The served certificate's serial (hex).
    pub serial: Option<String>,
    /// Whether the served chain leads to a trusted root.
    pub chain_valid: Option<bool>,
    /// Whether the served certificate names the host.
    pub name_matches: Option<bool>,
    /// Days left before the served certificate expires.
    pub days_left: Option<i64>,
    /// The TLS versions the server accepts.
    pub tls_versions: Vec<String>,
    /// The problems found: `not_delivered`, `previous_version`, `chain`,
    /// `name_mismatch`, `not_yet_valid`, `expired`, `expiring`,
    /// `legacy_tls`, `no_modern_tls`.
    pub problems: Vec<String>,
    /// What happened, for people.
    pub detail: Option<String>,
}

impl From<ResultRow> for ScanResult {
    fn from(r: ResultRow) -> ScanResult {
        let words = |s: &str| s.split(',').filter(|w| !w.is_empty()).map(str::to_string).collect::<Vec<_>>();
        ScanResult {
            scanned_at: r.scanned_at,
            host: r.host,
            outcome: r.outcome,
            error_class: r.error_class,
            served: r.served,
            serial: r.serial,
            chain_valid: r.chain_valid.map(|v| v == 1),
            name_matches: r.name_matches.map(|v| v == 1),
            days_left: r.days_left,
            tls_versions: r.tls_versions.as_deref().map(words).unwrap_or_default(),
            problems: words(&r.problems),
            detail: r.detail,
        }
    }
}

impl ScanResult {
    /// What a change is told by: everything but the days left, the detail
    /// and the versions themselves (a probe that timed out once would flip
    /// them; accepting an old version shows as the `legacy_tls` problem).
    fn summary(&self) -> String {
        format!(
            "{}|{}|{:?}|{:?}|{:?}|{:?}|{}",
            self.host,
            self.outcome,
            self.error_class,
            self.served,
            self.chain_valid,
            self.name_matches,
            self.problems.join(",")
        )
    }

    /// One line for a message.
    fn line(&self) -> String {
        match &self.error_class {
            Some(class) => format!("{}: error ({class}): {}", self.host, self.detail.as_deref().unwrap_or("")),
            None => format!(
                "{}: {}{}; served {}; {} days left; TLS {}",
                self.host,
                self.outcome,
                if self.problems.is_empty() { String::new() } else { format!(" ({})", self.problems.join(", ")) },
                self.served.as_deref().unwrap_or("?"),
                self.days_left.unwrap_or(0),
                self.tls_versions.join(", ")
            ),
        }
    }
}

/// The host a new monitor scans: the common name, or `sub.<domain>` for a
/// wildcard (seed 12.2.1).
fn default_host(cn: &str) -> String {
    match cn.strip_prefix("*.") {
        Some(base) => format!("sub.{base}"),
        None => cn.to_string(),
    }
}

/// Gives a delivered order its monitor, in the delivery's transaction: a
/// renewal takes over the monitor of the order it renews (the same hosts,
/// now serving the new certificate), else the account's defaults apply.
pub(crate) async fn on_delivered(tx: &mut storage::Conn, o: &Order, now: i64) -> Result<()> {
    if let Some(renewed) = o.renewal_of {
        monitors::move_to(tx, renewed, o.id, now).await?;
    }
    monitors::create_by_default(tx, o.account_id, o.id, &default_host(&o.cn), now).await?;
    Ok(())
}

impl Orders {
    /// The caller's account's monitoring defaults.
    pub async fn monitor_defaults(&self, caller: &Caller) -> Result<MonitorDefaults> {
        caller.require(Right::Technical).or_else(|_| caller.require(Right::Administrative))?;
        let row = monitors::settings(&mut *self.db().acquire().await?, caller.account_id).await?;
        Ok(row.map_or_else(MonitorDefaults::default, |r| MonitorDefaults {
            default_on: r.default_on == 1,
            frequency_days: r.default_frequency,
            manager_email: r.manager_email,
            manager_language: r.manager_language,
            plain_text: r.plain_text == 1,
        }))
    }

    /// Sets the caller's account's monitoring defaults (administrative right).
    pub async fn set_monitor_defaults(&self, caller: &Caller, d: &MonitorDefaults) -> Result<()> {
        caller.require(Right::Administrative)?;
        check_frequency(d.frequency_days)?;
        if let Some(email) = &d.manager_email {
            crate::notifications::check_email(email)?;
        }
        if !notify::LANGUAGES.contains(&d.manager_language.as_str()) {
            return Err(OrderError::Invalid(format!(
                "language {:?}: one of {}",
                d.manager_language,
                notify::LANGUAGES.join(", ")
            )));
        }
        let row = MonitorSettingsRow {
            account_id: caller.account_id,
            default_on: i64::from(d.default_on),
            default_frequency: d.frequency_days,
            manager_email: d.manager_email.clone(),
            manager_language: d.manager_language.clone(),
            plain_text: i64::from(d.plain_text),
        };
        let mut tx = self.db().begin().await?;
        monitors::set_settings(&mut tx, &row).await?;
        let detail = format!("on={} every {} days", d.default_on, d.frequency_days);
        audit::record(&mut tx, &caller.actor(), "monitor.defaults", &detail, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Creates or changes the monitor of a delivered order. A first scan
    /// is due at once; afterwards never sooner than the frequency after the
    /// last scan, whatever is changed.
    pub async fn set_monitor(&self, caller: &Caller, reference: &str, change: &MonitorChange) -> Result<Monitor> {
        caller.require(Right::Technical)?;
        let o = self.order(caller, reference).await?;
        if !matches!(o.status, Status::Delivered | Status::Expired) {
            return Err(OrderError::WrongState {
                reference: reference.to_string(),
                status: o.status.to_string(),
                expected: Status::Delivered.as_str().into(),
            });
        }
        let mut c = self.db().acquire().await?;
        let existing = monitors::for_order(&mut c, o.id).await?;
        drop(c);
        let defaults = self.monitor_defaults(caller).await.unwrap_or_default();
        let enabled = change.enabled.unwrap_or(existing.as_ref().is_none_or(|m| m.enabled == 1));
        let frequency =
            change.frequency_days.unwrap_or(existing.as_ref().map_or(defaults.frequency_days, |m| m.frequency));
        check_frequency(frequency)?;
        let hosts = match &change.hosts {
            Some(hosts) => self.check_hosts(&o, hosts)?,
            None => existing.as_ref().map_or_else(|| vec![default_host(&o.cn)], |m| lines(&m.hosts)),
        };
        let port = change.port.map(i64::from).unwrap_or(existing.as_ref().map_or(443, |m| m.port));
        let allowed = &self.settings().monitor_ports;
        if !allowed.iter().any(|p| i64::from(*p) == port) {
            return Err(OrderError::Invalid(format!("port {port} is not one scans may use: {allowed:?}")));
        }
        let starttls = match &change.starttls {
            Some(word) => StartTls::parse(word).ok_or_else(|| {
                let all: Vec<&str> = StartTls::ALL.iter().map(|s| s.as_str()).collect();
                OrderError::Invalid(format!("StartTLS {word:?}: one of {}", all.join(", ")))
            })?,
            None => existing.as_ref().and_then(|m| StartTls::parse(&m.starttls)).unwrap_or(StartTls::None),
        };
        let last = existing.as_ref().and_then(|m| m.last_scan_at);
        // Never sooner than the frequency after the last scan; before the
        // first, the time it is already due at is kept, so that changing it
        // again queues no other scan.
        let pending = existing.as_ref().and_then(|m| m.next_scan_at);
        let next = (enabled && frequency > 0).then(|| match last {
            Some(l) => (l + frequency * DAY).max(self.now()),
            None => pending.unwrap_or(self.now()),
        });
        let config = MonitorConfig {
            account_id: o.account_id,
            order_id: o.id,
            enabled,
            frequency,
            hosts: &hosts.join("\n"),
            port,
            starttls: starttls.as_str(),
            next_scan_at: next,
        };
        let mut tx = self.db().begin().await?;
        if monitors::upsert(&mut tx, &config, last, self.now()).await?.is_none() {
            return Err(OrderError::Invalid(format!("order {reference} was scanned meanwhile; set it again")));
        }
        let detail = format!("{reference} on={enabled} every {frequency} days {}:{port} {starttls}", hosts.join(","));
        audit::record(&mut tx, &caller.actor(), "monitor.set", &detail, self.now()).await?;
        commit(tx).await?;
        self.monitor(caller, reference).await
    }

    /// The host names a monitor may scan: names of the certificate, at most [`MAX_HOSTS`].
    fn check_hosts(&self, o: &Order, hosts: &[String]) -> Result<Vec<String>> {
        if hosts.is_empty() || hosts.len() > MAX_HOSTS {
            return Err(OrderError::Invalid(format!("between 1 and {MAX_HOSTS} host names")));
        }
        let names = order_names(o);
        let mut out = Vec::new();
        for h in hosts {
            let h = crate::names::normalize(h)?;
            if h.starts_with("*.") || !names.iter().any(|n| validation::name_covers(n, &h)) {
                return Err(OrderError::Invalid(format!("{h} is not a name of the certificate of order {}", o.cn)));
            }
            if !out.contains(&h) {
                out.push(h);
            }
        }
        Ok(out)
    }

    /// The monitor of an order of the caller's account.
    pub async fn monitor(&self, caller: &Caller, reference: &str) -> Result<Monitor> {
        caller.require(Right::Technical).or_else(|_| caller.require(Right::Commercial))?;
        let o = self.order(caller, reference).await?;
        let mut c = self.db().acquire().await?;
        let m = monitors::for_order(&mut c, o.id).await?;
        let m = m.ok_or_else(|| OrderError::Invalid(format!("order {reference} is not monitored")))?;
        drop(c);
        self.describe_monitor(m, &o).await
    }

    /// The caller's account's monitors, newest first (a page of `limit` from `offset`).
    pub async fn monitors(&self, caller: &Caller, limit: i64, offset: i64) -> Result<Vec<Monitor>> {
        caller.require(Right::Technical).or_else(|_| caller.require(Right::Commercial))?;
        let rows =
            monitors::list(&mut *self.db().acquire().await?, caller.account_id, limit.clamp(1, 500), offset.max(0))
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            let Some(o) = crate::order::get(&mut *self.db().acquire().await?, m.order_id).await? else { continue };
            out.push(self.describe_monitor(m, &o).await?);
        }
        Ok(out)
    }

    /// An order's scan history, newest first.
    pub async fn monitor_results(&self, caller: &Caller, reference: &str, limit: i64) -> Result<Vec<ScanResult>> {
        caller.require(Right::Technical).or_else(|_| caller.require(Right::Commercial))?;
        let o = self.order(caller, reference).await?;
        let mut c = self.db().acquire().await?;
        let Some(m) = monitors::for_order(&mut c, o.id).await? else { return Ok(Vec::new()) };
        let rows = monitors::results(&mut c, m.id, limit.clamp(1, KEPT_RESULTS)).await?;
        Ok(rows.into_iter().map(ScanResult::from).collect())
    }

    async fn describe_monitor(&self, m: MonitorRow, o: &Order) -> Result<Monitor> {
        let last = match m.last_scan_at {
            Some(at) => monitors::last_scan(&mut *self.db().acquire().await?, m.id, at).await?,
            None => Vec::new(),
        };
        Ok(Monitor {
            reference: o.public_reference(),
            cn: o.cn.clone(),
            enabled: m.enabled == 1,
            frequency_days: m.frequency,
            hosts: lines(&m.hosts),
            port: u16::try_from(m.port).unwrap_or(443),
            starttls: StartTls::parse(&m.starttls)
                .ok_or_else(|| OrderError::UnknownState(format!("StartTLS {:?}", m.starttls)))?,
            next_scan_at: m.next_scan_at,
            last_scan_at: m.last_scan_at,
            last: last.into_iter().map(ScanResult::from).collect(),
        })
    }

    /// Queues a `monitor` job for each monitor due at `now`, once per due
    /// time; returns how many.
    pub(crate) async fn queue_due_scans(&self, now: i64) -> Result<usize> {
        let due = monitors::due(&mut *self.db().acquire().await?, now, 1000).await?;
        let mut queued = 0;
        let mut tx = self.db().begin().await?;
        for m in due {
            let key = format!("monitor:{}:{}", m.id, m.next_scan_at.unwrap_or(now));
            let kind = crate::JobKind::Monitor.as_str();
            if jobs::enqueue_once(&mut tx, kind, Some(m.order_id), &key, now, now).await?.is_some() {
                queued += 1;
            }
        }
        commit(tx).await?;
        if queued > 0 {
            self.wake_workers();
        }
        Ok(queued)
    }

    /// The `monitor` job: scans each host of the order's monitor, records
    /// the results, schedules the next scan, and tells the manager when the
    /// result changed or shows a problem. Returns what it found.
    pub(crate) async fn scan_monitor(&self, order_id: i64) -> Result<String> {
        let mut c = self.db().acquire().await?;
        let Some(m) = monitors::for_order(&mut c, order_id).await? else { return Ok("no monitor".into()) };
        let Some(o) = crate::order::get(&mut c, order_id).await? else { return Ok("no order".into()) };
        if m.enabled == 0 || m.frequency == 0 || m.next_scan_at.is_none_or(|n| n > self.now()) {
            return Ok("not due".into());
        }
        // What the order delivered, oldest first, and what its renewal did.
        let own = leaves(&mut c, o.id).await?;
        let renewal = match monitors::renewal_of(&mut c, o.id).await? {
            Some(r) => leaves(&mut c, r).await?,
            None => Vec::new(),
        };
        drop(c);
        let anchors = self.trust_anchors().await?;
        let starttls = StartTls::parse(&m.starttls).unwrap_or(StartTls::None);
        let port = u16::try_from(m.port).unwrap_or(443);
        let now = self.now();
        let hosts = lines(&m.hosts);
        // The whole scan, waits for a host's lock included, ends within
        // four fifths of the job's lease, so that no other worker takes the
        // job over and scans the same hosts at once.
        let lease = std::time::Duration::from_secs(self.settings().job_lease_secs.max(1) as u64);
        let budget = lease * 4 / 5 / u32::try_from(hosts.len().max(1)).unwrap_or(1);
        let mut results = Vec::new();
        for host in hosts {
            let scan = async {
                let ip = self.va().scan_address(&host).await?;
                // One connection at a time to an address, whatever names lead there.
                let lock = self.scan_lock(&ip.to_string());
                let _one_at_a_time = lock.lock().await;
                self.va().scan_tls(&host, ip, port, starttls).await
            };
            let scan = tokio::time::timeout(budget, scan).await.unwrap_or_else(|_| {
                Err(validation::ScanError {
                    class: validation::ScanFailure::Timeout,
                    detail: format!("the scan of {host} took longer than {} ms", budget.as_millis()),
                })
            });
            results.push(judge(&host, scan, &own, &renewal, &anchors, now));
        }
        let summary: Vec<String> = results.iter().map(ScanResult::summary).collect();
        let summary = summary.join("\n");
        let changed = m.last_summary.as_deref() != Some(summary.as_str());
        let problem = results.iter().any(|r| r.outcome != "ok");
        let next = now + m.frequency * DAY;
        let mut tx = self.db().begin().await?;
        if !monitors::scanned(&mut tx, m.id, m.last_scan_at, &summary, Some(next), now).await? {
            return Ok("scanned by another worker meanwhile".into());
        }
        for r in &results {
            monitors::insert_result(&mut tx, &row(m.id, r)).await?;
        }
        monitors::trim_results(&mut tx, m.id, KEPT_RESULTS).await?;
        if changed || problem {
            let lines: Vec<String> = results.iter().map(ScanResult::line).collect();
            let data = serde_json::json!({
                "results": lines.join("\n"),
                "outcome": if problem { "problem" } else { "ok" },
                "changed": changed,
            });
            let key = format!("monitor:{}:{now}", m.id);
            emit(&mut tx, EventKind::MonitorResult, o.account_id, Some(&o), data, Some(&key), now).await?;
        }
        commit(tx).await?;
        let outcomes: Vec<&str> = results.iter().map(|r| r.outcome.as_str()).collect();
        Ok(format!("scanned {}: {}", results.len(), outcomes.join(", ")))
    }

    /// The roots a served chain must lead to: the system's, and the
    /// embedded CA's.
    async fn trust_anchors(&self) -> Result<Vec<Vec<u8>>> {
        let mut anchors = validation::system_roots().to_vec();
        let mut c = self.db().acquire().await?;
        for name in ["embedded:root"] {
            if let Some(row) = storage::ca_keys::get(&mut c, name).await? {
                anchors.extend(crate::formats::pem_blocks(&row.cert_pem));
            }
        }
        Ok(anchors)
    }
}

impl Orders {
    /// The lock a scan of an address holds, so that this process opens one
    /// connection at a time to it.
    fn scan_lock(&self, host: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.scan_locks.lock().unwrap_or_else(|p| p.into_inner());
        // Locks nobody holds any more are forgotten, so the map stays small.
        locks.retain(|_, l| std::sync::Arc::strong_count(l) > 1);
        locks.entry(host.to_string()).or_default().clone()
    }
}

/// The leaf certificates (DER) an order was delivered, oldest first.
async fn leaves(c: &mut storage::Conn, order_id: i64) -> Result<Vec<Vec<u8>>> {
    let certs = storage::certificates::for_order(c, order_id).await?;
    Ok(certs.iter().filter_map(|cert| crate::formats::pem_blocks(&cert.leaf_pem).into_iter().next()).collect())
}

fn check_frequency(days: i64) -> Result<()> {
    if FREQUENCIES.contains(&days) {
        Ok(())
    } else {
        Err(OrderError::Invalid(format!("frequency {days}: one of {FREQUENCIES:?} days (0: never)")))
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// Judges one host's scan: which certificate it serves, whether the chain
/// and name hold, days left, and the TLS versions it accepts.
fn judge(
    host: &str,
    scan: std::result::Result<validation::TlsScan, validation::ScanError>,
    own: &[Vec<u8>],
    renewal: &[Vec<u8>],
    anchors: &[Vec<u8>],
    now: i64,
) -> ScanResult {
    let mut r = ScanResult {
        scanned_at: now,
        host: host.to_string(),
        outcome: "error".into(),
        error_class: None,
        served: None,
        serial: None,
        chain_valid: None,
        name_matches: None,
        days_left: None,
        tls_versions: Vec::new(),
        problems: Vec::new(),
        detail: None,
    };
    let scan = match scan {
        Ok(s) => s,
        Err(e) => {
            r.error_class = Some(e.class.as_str().to_string());
            r.detail = Some(e.detail);
            return r;
        }
    };
    r.tls_versions = scan.versions.iter().map(|v| v.to_string()).collect();
    let Some(leaf) = scan.chain.first() else {
        // It answered TLS 1.0 or 1.1 only: no chain to judge.
        r.outcome = "problem".into();
        r.problems = vec!["legacy_tls".into(), "no_modern_tls".into()];
        r.detail = Some("the server speaks neither TLS 1.2 nor TLS 1.3".into());
        return r;
    };
    let served = if own.last() == Some(leaf) {
        "current"
    } else if renewal.contains(leaf) {
        "renewal"
    } else if own.contains(leaf) {
        "previous"
    } else {
        "other"
    };
    r.served = Some(served.into());
    r.serial = x509_parser::parse_x509_certificate(leaf).ok().map(|(_, x)| x.raw_serial_as_string().replace(':', ""));
    let mut problems = BTreeSet::new();
    match served {
        "other" => problems.insert("not_delivered"),
        "previous" => problems.insert("previous_version"),
        _ => false,
    };
    match validation::judge_chain(&scan.chain, host, anchors, now) {
        Ok(v) => {
            r.chain_valid = Some(v.chain.is_ok());
            r.name_matches = Some(v.name_matches);
            r.days_left = Some((v.not_after - now).div_euclid(DAY));
            if let Err(why) = v.chain {
                problems.insert("chain");
                r.detail = Some(why);
            }
            if !v.name_matches {
                problems.insert("name_mismatch");
            }
            if now < v.not_before {
                problems.insert("not_yet_valid");
            }
            if v.not_after <= now {
                problems.insert("expired");
            } else if v.not_after - now < EXPIRING_DAYS * DAY {
                problems.insert("expiring");
            }
        }
        Err(why) => {
            problems.insert("chain");
            r.detail = Some(why);
        }
    }
    if scan.versions.iter().any(|v| matches!(*v, "1.0" | "1.1")) {
        problems.insert("legacy_tls");
    }
    r.problems = problems.into_iter().map(str::to_string).collect();
    r.outcome = if r.problems.is_empty() { "ok" } else { "problem" }.into();
    r
}

fn row(monitor_id: i64, r: &ScanResult) -> ResultRow {
    ResultRow {
        id: 0,
        monitor_id,
        scanned_at: r.scanned_at,
        host: r.host.clone(),
        outcome: r.outcome.clone(),
        error_class: r.error_class.clone(),
        served: r.served.clone(),
        serial: r.serial.clone(),
        chain_valid: r.chain_valid.map(i64::from),
        name_matches: r.name_matches.map(i64::from),
        days_left: r.days_left,
        tls_versions: Some(r.tls_versions.join(",")),
        problems: r.problems.join(","),
        detail: r.detail.clone(),
    }
}
