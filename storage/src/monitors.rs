//! Certificate monitoring (docs/monitoring.md): each account's defaults,
//! one monitor per order (what to scan, how often, when next), and the
//! history of scan results.

use crate::sql::{query, query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `monitor_settings`.
    #[derive(Clone, Debug, Default)]
    pub struct MonitorSettingsRow {
        /// The account.
        pub account_id: i64,
        /// Whether new certificates are monitored (0 or 1).
        pub default_on: i64,
        /// The frequency of new monitors, in days (0: never).
        pub default_frequency: i64,
        /// Who receives the results.
        pub manager_email: Option<String>,
        /// The language of their messages.
        pub manager_language: String,
        /// Plain-text messages without HTML (0 or 1).
        pub plain_text: i64,
    }
}

/// The account's monitoring defaults, if it set any.
pub async fn settings(c: &mut Conn, account_id: i64) -> Result<Option<MonitorSettingsRow>> {
    query_as("SELECT * FROM monitor_settings WHERE account_id = $1").bind(account_id).fetch_optional(c).await
}

/// Sets the account's monitoring defaults.
pub async fn set_settings(c: &mut Conn, s: &MonitorSettingsRow) -> Result<()> {
    query(
        "INSERT INTO monitor_settings
            (account_id, default_on, default_frequency, manager_email, manager_language, plain_text)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (account_id) DO UPDATE SET default_on = $2, default_frequency = $3, manager_email = $4,
            manager_language = $5, plain_text = $6",
    )
    .bind(s.account_id)
    .bind(s.default_on)
    .bind(s.default_frequency)
    .bind(s.manager_email.as_deref())
    .bind(s.manager_language.as_str())
    .bind(s.plain_text)
    .execute(c)
    .await?;
    Ok(())
}

crate::row_struct! {
    /// One row of `monitors`.
    #[derive(Clone, Debug)]
    pub struct MonitorRow {
        /// Its database identifier.
        pub id: i64,
        /// The account.
        pub account_id: i64,
        /// The order whose certificate it scans.
        pub order_id: i64,
        /// Whether it scans (0 or 1).
        pub enabled: i64,
        /// Days between scans (0: never).
        pub frequency: i64,
        /// The host names scanned, one a line.
        pub hosts: String,
        /// The port scanned.
        pub port: i64,
        /// How TLS is reached: `none`, `smtp`, `imap`...
        pub starttls: String,
        /// When it is next due (none: not scheduled).
        pub next_scan_at: Option<i64>,
        /// When it last scanned.
        pub last_scan_at: Option<i64>,
        /// What the last scan found, to tell a change.
        pub last_summary: Option<String>,
        /// When it was made.
        pub created_at: i64,
        /// When it last changed.
        pub updated_at: i64,
    }
}

/// A monitor to create or replace.
#[derive(Clone, Debug)]
pub struct MonitorConfig<'a> {
    /// The account.
    pub account_id: i64,
    /// The order.
    pub order_id: i64,
    /// Whether it scans.
    pub enabled: bool,
    /// Days between scans (0: never).
    pub frequency: i64,
    /// The host names, one a line.
    pub hosts: &'a str,
    /// The port.
    pub port: i64,
    /// How TLS is reached.
    pub starttls: &'a str,
    /// When it is next due.
    pub next_scan_at: Option<i64>,
}

/// Creates or replaces the monitor of an order, unless it was scanned
/// since `last_scan_at` (then `None`: the caller read it before).
pub async fn upsert(c: &mut Conn, m: &MonitorConfig<'_>, last_scan_at: Option<i64>, now: i64) -> Result<Option<i64>> {
    query_scalar(
        "INSERT INTO monitors (account_id, order_id, enabled, frequency, hosts, port, starttls, next_scan_at,
                               created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (order_id) DO UPDATE SET enabled = $3, frequency = $4, hosts = $5, port = $6,
            starttls = $7, next_scan_at = $8, updated_at = $9
         WHERE monitors.last_scan_at = $10 OR (monitors.last_scan_at IS NULL AND $10 IS NULL)
         RETURNING id",
    )
    .bind(m.account_id)
    .bind(m.order_id)
    .bind(i64::from(m.enabled))
    .bind(m.frequency)
    .bind(m.hosts)
    .bind(m.port)
    .bind(m.starttls)
    .bind(m.next_scan_at)
    .bind(now)
    .bind(last_scan_at)
    .fetch_optional(c)
    .await
}

/// Moves the monitor of order `from` to order `to` (its renewal, once
/// delivered), due at once, unless `to` has one.
pub async fn move_to(c: &mut Conn, from: i64, to: i64, now: i64) -> Result<()> {
    query(
        "UPDATE monitors SET order_id = $2, last_summary = NULL, updated_at = $3,
            next_scan_at = CASE WHEN enabled = 1 AND frequency > 0 THEN $3 END
         WHERE order_id = $1 AND NOT EXISTS (SELECT 1 FROM monitors WHERE order_id = $2)",
    )
    .bind(from)
    .bind(to)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Creates the monitor of a delivered order from the account's defaults,
/// when they monitor new certificates and the order has none yet.
pub async fn create_by_default(c: &mut Conn, account_id: i64, order_id: i64, hosts: &str, now: i64) -> Result<()> {
    query(
        "INSERT INTO monitors (account_id, order_id, enabled, frequency, hosts, port, starttls, next_scan_at,
                               created_at, updated_at)
         SELECT account_id, $2, 1, default_frequency, $3, 443, 'none',
                CASE WHEN default_frequency > 0 THEN $4 END, $4, $4
         FROM monitor_settings WHERE account_id = $1 AND default_on = 1
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(order_id)
    .bind(hosts)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// The monitor of an order.
pub async fn for_order(c: &mut Conn, order_id: i64) -> Result<Option<MonitorRow>> {
    query_as("SELECT * FROM monitors WHERE order_id = $1").bind(order_id).fetch_optional(c).await
}

/// A page of the account's monitors, newest first.
pub async fn list(c: &mut Conn, account_id: i64, limit: i64, offset: i64) -> Result<Vec<MonitorRow>> {
    query_as("SELECT * FROM monitors WHERE account_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3")
        .bind(account_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await
}

/// The monitors due at `now` that scan, of delivered orders (expired ones
/// too: what is still served once expired is what monitoring is for),
/// oldest due first.
pub async fn due(c: &mut Conn, now: i64, limit: i64) -> Result<Vec<MonitorRow>> {
    query_as(
        "SELECT m.* FROM monitors m JOIN orders o ON o.id = m.order_id
         WHERE m.next_scan_at IS NOT NULL AND m.next_scan_at <= $1 AND m.enabled = 1 AND m.frequency > 0
           AND o.status IN ('delivered', 'expired')
         ORDER BY m.next_scan_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// Records a scan: when it ran, what it found, and when the next is due;
/// false when the monitor was scanned by another since `last_scan_at`, or
/// is not due any more.
pub async fn scanned(
    c: &mut Conn,
    id: i64,
    last_scan_at: Option<i64>,
    summary: &str,
    next_scan_at: Option<i64>,
    now: i64,
) -> Result<bool> {
    Ok(query(
        "UPDATE monitors SET last_scan_at = $3, last_summary = $4, next_scan_at = $5
         WHERE id = $1 AND (last_scan_at = $2 OR (last_scan_at IS NULL AND $2 IS NULL))
           AND next_scan_at IS NOT NULL AND next_scan_at <= $3",
    )
    .bind(id)
    .bind(last_scan_at)
    .bind(now)
    .bind(summary)
    .bind(next_scan_at)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

crate::row_struct! {
    /// One row of `monitor_results`: what one scan found at one host.
    #[derive(Clone, Debug, Default)]
    pub struct ResultRow {
        /// Its database identifier.
        pub id: i64,
        /// The monitor.
        pub monitor_id: i64,
        /// When the scan ran; the rows of one scan share it.
        pub scanned_at: i64,
        /// The host scanned.
        pub host: String,
        /// `ok`, `problem` or `error`.
        pub outcome: String,
        /// Where a failed scan failed: `dns`, `connect`, `starttls`, `handshake`, `timeout`.
        pub error_class: Option<String>,
        /// Which certificate was served: `current`, `renewal`, `previous` or `other`.
        pub served: Option<String>,
        /// The served certificate's serial (hex).
        pub serial: Option<String>,
        /// Whether the served chain leads to a trusted root (0 or 1).
        pub chain_valid: Option<i64>,
        /// Whether the served certificate names the host (0 or 1).
        pub name_matches: Option<i64>,
        /// Days left before the served certificate expires.
        pub days_left: Option<i64>,
        /// The TLS versions accepted, comma-separated.
        pub tls_versions: Option<String>,
        /// The problems found, comma-separated words.
        pub problems: String,
        /// What happened, for people.
        pub detail: Option<String>,
    }
}

/// Records one host's result of a scan.
pub async fn insert_result(c: &mut Conn, r: &ResultRow) -> Result<()> {
    query(
        "INSERT INTO monitor_results (monitor_id, scanned_at, host, outcome, error_class, served, serial,
                                      chain_valid, name_matches, days_left, tls_versions, problems, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(r.monitor_id)
    .bind(r.scanned_at)
    .bind(r.host.as_str())
    .bind(r.outcome.as_str())
    .bind(r.error_class.as_deref())
    .bind(r.served.as_deref())
    .bind(r.serial.as_deref())
    .bind(r.chain_valid)
    .bind(r.name_matches)
    .bind(r.days_left)
    .bind(r.tls_versions.as_deref())
    .bind(r.problems.as_str())
    .bind(r.detail.as_deref())
    .execute(c)
    .await?;
    Ok(())
}

/// Keeps the monitor's `keep` most recent results, forgetting older ones.
pub async fn trim_results(c: &mut Conn, monitor_id: i64, keep: i64) -> Result<()> {
    query(
        "DELETE FROM monitor_results WHERE monitor_id = $1 AND id < (
            SELECT MIN(id) FROM (SELECT id FROM monitor_results WHERE monitor_id = $1
                                 ORDER BY id DESC LIMIT $2) AS kept)",
    )
    .bind(monitor_id)
    .bind(keep)
    .execute(c)
    .await?;
    Ok(())
}

/// The monitor's results, newest first.
pub async fn results(c: &mut Conn, monitor_id: i64, limit: i64) -> Result<Vec<ResultRow>> {
    query_as("SELECT * FROM monitor_results WHERE monitor_id = $1 ORDER BY id DESC LIMIT $2")
        .bind(monitor_id)
        .bind(limit)
        .fetch_all(c)
        .await
}

/// The results of the monitor's last scan.
pub async fn last_scan(c: &mut Conn, monitor_id: i64, scanned_at: i64) -> Result<Vec<ResultRow>> {
    query_as("SELECT * FROM monitor_results WHERE monitor_id = $1 AND scanned_at = $2 ORDER BY id")
        .bind(monitor_id)
        .bind(scanned_at)
        .fetch_all(c)
        .await
}

/// The delivered order that renews `order_id`, if any.
pub async fn renewal_of(c: &mut Conn, order_id: i64) -> Result<Option<i64>> {
    query_scalar(
        "SELECT id FROM orders WHERE renewal_of = $1 AND status IN ('delivered', 'expired')
         ORDER BY id DESC LIMIT 1",
    )
    .bind(order_id)
    .fetch_optional(c)
    .await
}
