//! The order core of certgate: the internal operations that both fronts
//! (ACME, XML-RPC) and the operator CLI call. It validates, prices, charges,
//! records and queues; it writes through `storage` in one transaction per
//! operation and hands certificate work to persistent jobs that call an
//! `upstream` connector. It never speaks HTTP, ACME JSON or XML.

mod account;
mod accounts;
pub mod acme;
mod acme_urls;
mod actions;
mod auto_renewal;
mod caa;
mod calls;
mod catalog;
mod certificate;
mod consumption;
pub mod csr;
mod dcv;
mod delivery;
mod domains;
mod error;
mod events;
mod forecast;
pub mod formats;
mod job;
mod keyset;
mod lifecycle;
mod logs;
mod memo;
mod monitoring;
pub mod names;
mod notifications;
mod order;
mod organisation;
mod passwords;
mod payment;
mod place;
mod prevalidations;
mod readiness;
pub mod renewal;
mod rights;
mod sessions;
pub mod statements;
mod states;
mod stats;
mod status;
mod sweep;
mod totp;
mod user_admin;
mod users;
mod verified;
mod waiting_funds;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use account::Account;
pub use acme_urls::{ACME_URL_ORDERS_MAX, AcmeBinding, AcmeUrl, AcmeUrlOrder, NewAcmeUrlCredentials};
pub use actions::{Action, OrderDetail, actions};
pub use auto_renewal::{AUTOMATIC_RENEWAL, AutoRenewal};
pub use caa::CaaVerdict;
pub use catalog::{ImportReport, Product, format_money, parse_money};
pub use certificate::Certificate;
pub use consumption::{Consumption, MAX_MONTHS};
pub use dcv::{Dcv, DcvPlaces};
pub use domains::{CaaCheck, DOMAIN_PAGE, Domain, DomainState, LINKED_ORDERS_SCANNED};
pub use error::{OrderError, Result};
pub use events::{CONTACT_ROLES, EventKind};
pub use forecast::{Forecast, ForecastOrder, TokenNeed, forecast_csv};
pub use job::{Job, JobKind, JobState, JobSubject};
pub use keyset::Keyset;
pub use lifecycle::{Reissue, check_revocation_reason};
pub use logs::{LOG_KINDS, LogEntry, LogFilter, log_csv};
pub use memo::Memo;
pub use monitoring::{FREQUENCIES, MAX_HOSTS, Monitor, MonitorChange, MonitorDefaults, ScanResult};
pub use notifications::{Contact, Delivery, NewWebhook, Webhook};
pub use order::{Order, OrderFilter, orders_csv};
pub use organisation::Organisation;
pub use place::{CheckedNames, OrderQuote, PlaceOrder, Placed, Quoted};
pub use prevalidations::{Prevalidation, PrevalidationState};
pub use readiness::Readiness;
pub use rights::{Caller, Right, Rights, Source};
pub use sessions::{Session, new_token, same_token, tag_fields};
pub use statements::{Ledger, LedgerReason, StatementLine, TokenBalance, balances_csv, iso, statement_csv};
pub use stats::Gauges;
pub use status::{Formula, Status};
pub use storage::organisations::NewOrganisation;
pub use totp::TotpEnrolment;
pub use upstream::BoxFuture;
pub use user_admin::{User, UserKind};
pub use worker::Worker;

use storage::Db;
use storage::sealed::SecretKey;
use upstream::Upstream;

/// Settings of the order core that come from configuration (`[orders]`).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Days after a reissue's delivery before the old certificate is revoked
    /// (seed 5.3), when the common name did not change.
    pub reissue_revoke_delay_days: i64,
    /// Failed logins in a row that lock a user (seed 3).
    pub max_failed_logins: i64,
    /// Seconds a worker holds a job before another may take it over.
    pub job_lease_secs: i64,
    /// Attempts after which a job that keeps failing transiently gives up.
    pub job_max_attempts: i64,
    /// Password checks (Argon2, about 19 MiB and 15 ms each) running at
    /// once; default one per core.
    pub password_checks: usize,
    /// Milliseconds a login waits for a password check to start before it
    /// is refused as busy.
    pub password_check_wait_ms: u64,
    /// Failed logins from one client address, per window, past which its
    /// logins are refused without checking the password; 0 turns it off.
    pub failed_logins_per_ip: i64,
    /// The window of `failed_logins_per_ip`, in seconds.
    pub failed_login_window_secs: i64,
    /// Days without a failed login after which a login's failures in a
    /// row are forgotten (a lock never is). Long, since each time they are
    /// forgotten a guesser gets `max_failed_logins - 1` more tries.
    pub failures_forgotten_after_days: i64,
    /// Seconds during which an order request identical to an earlier one of
    /// the account (same organisation, product, names, CSR and client
    /// reference) returns the earlier order instead of buying again.
    pub retry_window_secs: i64,
    /// Seconds between two sweeps of the certificate lifecycle (expiries,
    /// due automatic renewals, orders waiting for funds); at most a day.
    pub lifecycle_sweep_secs: i64,
    /// Seconds before a notification that failed is tried again, doubled
    /// at each try up to an hour, for a day.
    pub notify_retry_secs: i64,
    /// Days before expiry at which a certificate that does not renew
    /// automatically is notified as expiring, once each.
    pub expiry_notice_days: Vec<i64>,
    /// Days an order may wait for funds or a CSR before the sweep cancels it.
    pub waiting_order_days: i64,
    /// The most orders of one account that may wait for funds or a CSR at once.
    pub max_waiting_orders: i64,
    /// Seconds after which an order waiting for issuance (for DCV, say) has
    /// its names' CAA checked again before it is bought (8 hours at Let's
    /// Encrypt).
    pub caa_recheck_secs: i64,
    /// Days a domain whose control the customer proved spares the orders
    /// below it their own DCV (200 under the CA/Browser Forum's Baseline
    /// Requirements since 15 March 2026).
    pub domain_validation_days: i64,
    /// The most domains the organisations of one account may hold.
    pub max_domains: i64,
    /// The ports monitoring scans may connect to (docs/monitoring.md).
    pub monitor_ports: Vec<u16>,
    /// Seconds a portal session may stay unused before it ends.
    pub portal_idle_secs: i64,
    /// Seconds after which a portal session ends, used or not.
    pub portal_session_secs: i64,
    /// Each upstream's CAA issuer domains, by upstream name (configured
    /// under `[upstreams.<name>]`); an upstream without any is not checked.
    #[serde(skip)]
    pub caa_identities: HashMap<String, Vec<String>>,
    /// certgate's validation authority, which proves control of names for
    /// ACME challenges and the legacy DCV. Configured under `[acme.va]`.
    #[serde(skip)]
    pub va: validation::VaSettings,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            reissue_revoke_delay_days: 7,
            max_failed_logins: 5,
            job_lease_secs: 120,
            job_max_attempts: 10,
            password_checks: std::thread::available_parallelism().map_or(2, usize::from),
            password_check_wait_ms: 1000,
            failed_logins_per_ip: 30,
            failed_login_window_secs: 300,
            failures_forgotten_after_days: 90,
            retry_window_secs: 86_400,
            lifecycle_sweep_secs: 3600,
            notify_retry_secs: 30,
            expiry_notice_days: vec![30, 15, 7],
            waiting_order_days: 90,
            max_waiting_orders: 100,
            caa_recheck_secs: 8 * 3600,
            domain_validation_days: 200,
            max_domains: 1000,
            // HTTPS, SMTP (25, 465, 587), POP3 (110, 995), IMAP (143, 993),
            // FTP (21, 990), LDAPS, XMPP (5222, 5223), PostgreSQL, 8443.
            portal_idle_secs: 30 * 60,
            portal_session_secs: 12 * 3600,
            monitor_ports: vec![443, 25, 465, 587, 110, 995, 143, 993, 21, 990, 636, 5222, 5223, 5432, 8443],
            caa_identities: HashMap::new(),
            va: validation::VaSettings::default(),
        }
    }
}

/// The order core: cheap to clone, shared by every front and worker.
#[derive(Clone)]
pub struct Orders {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    secret: SecretKey,
    upstreams: HashMap<String, Arc<dyn Upstream>>,
    settings: Settings,
    clock_offset: AtomicI64,
    /// Wakes an idle job worker of this process when a job was queued.
    jobs_queued: tokio::sync::Notify,
    /// Passwords that verified recently.
    verified: verified::Verified,
    /// The bounded Argon2 computations.
    passwords: passwords::Passwords,
    /// certgate's validation authority.
    va: Arc<validation::Va>,
    /// This order core's name among the instances: its process id and a
    /// random suffix, since two containers may both run as process 1.
    instance: String,
    /// The channels notifications go out by (see `Orders::set_notifier`).
    notifier: std::sync::OnceLock<Arc<notify::Notifier>>,
    /// One lock per host being scanned, so that this process opens one
    /// connection at a time to a host.
    scan_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Orders {
    /// Builds the order core over a migrated database, the secret key that
    /// seals stored secrets, and the configured upstreams by name.
    pub fn new(db: Db, secret: SecretKey, upstreams: Vec<Arc<dyn Upstream>>, settings: Settings) -> Orders {
        let upstreams = upstreams.into_iter().map(|u| (u.name().to_string(), u)).collect();
        let password_checks = settings.password_checks;
        Orders {
            inner: Arc::new(Inner {
                db,
                secret,
                upstreams,
                clock_offset: AtomicI64::new(0),
                jobs_queued: tokio::sync::Notify::new(),
                verified: verified::Verified::default(),
                passwords: passwords::Passwords::new(password_checks),
                va: Arc::new(validation::Va::new(settings.va.clone())),
                instance: instance_name(),
                notifier: std::sync::OnceLock::new(),
                scan_locks: std::sync::Mutex::new(HashMap::new()),
                settings,
            }),
        }
    }

    /// The database; only the order core writes to it.
    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Closes the database (on SQLite the last connection to close copies
    /// the WAL back, leaving one file to back up).
    pub async fn close(&self) {
        self.inner.db.close().await;
    }

    /// How long a worker holds a job: upstream work for `job_lease_secs`,
    /// a validation for the VA's timeout and a margin to record it.
    pub(crate) fn leases(&self) -> storage::jobs::Leases {
        storage::jobs::Leases {
            upstream_secs: self.inner.settings.job_lease_secs,
            validation_secs: self.inner.settings.va.timeout_secs as i64 + 5,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The current time (UTC Unix seconds) as the order core sees it.
    pub fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp() + self.inner.clock_offset.load(Ordering::Relaxed)
    }

    /// Moves the order core's clock by `secs` from real time, so tests can
    /// reach renewal windows and delayed revocations without waiting.
    pub fn set_clock_offset(&self, secs: i64) {
        self.inner.clock_offset.store(secs, Ordering::Relaxed);
    }

    /// Tells an idle worker of this process that a job was committed, so an
    /// order is issued now rather than at the worker's next poll. A permit is
    /// kept when no worker waits, so the news is never lost; workers of other
    /// instances still find the job at their next poll.
    pub(crate) fn wake_workers(&self) {
        self.inner.jobs_queued.notify_one();
    }

    /// Resolves when a job may have been queued since the last call.
    pub(crate) async fn job_queued(&self) {
        self.inner.jobs_queued.notified().await;
    }

    fn upstream(&self, name: &str) -> Result<&Arc<dyn Upstream>> {
        self.inner.upstreams.get(name).ok_or_else(|| OrderError::UnknownUpstream(name.to_string()))
    }

    fn secret(&self) -> &SecretKey {
        &self.inner.secret
    }

    /// An HMAC key for one `purpose` of a front (such as sealing ACME
    /// nonces), derived from the secret key, so every instance has the same.
    pub fn mac_key(&self, purpose: &str) -> aws_lc_rs::hmac::Key {
        self.inner.secret.mac_key(purpose)
    }
}

/// A name for this order core among the instances sharing a database.
fn instance_name() -> String {
    let mut suffix = [0u8; 4];
    // Without randomness the process id alone still tells most instances apart.
    let _ = aws_lc_rs::rand::fill(&mut suffix);
    format!("{}-{}", std::process::id(), suffix.iter().map(|b| format!("{b:02x}")).collect::<String>())
}
