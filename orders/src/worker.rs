//! The job worker: leases queued jobs, has the product's upstream issue or
//! revoke, and records the outcome. A job whose worker died is taken over
//! when its lease expires; storing a certificate once per job and the
//! ledger's unique key make a retried job neither issue twice nor charge twice.

use std::time::Duration;

use storage::audit::Actor;
use storage::jobs::{self, JobRow, Lane};
use storage::{audit, certificates, commit, orders};
use tokio::sync::watch;
use upstream::{BoxFuture, Checkpoint, RevokeRequest, Upstream, UpstreamError};

use crate::csr::Csr;
use crate::delivery::{self, Audit, SUPERSEDED, observe_upstream};
use crate::{JobKind, OrderError, Orders, Result, Status, payment};

/// Runs jobs for one process; several workers (and instances) may run side by side.
#[derive(Clone)]
pub struct Worker {
    orders: Orders,
    owner: String,
    /// When this worker last swept the login guards (UTC Unix seconds).
    last_sweep: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// The key of the latest lifecycle sweep this worker queued or found
    /// queued, so that it tries once per period.
    last_sweep_key: std::sync::Arc<std::sync::Mutex<String>>,
    /// Which jobs it takes.
    lane: Lane,
}

/// Seconds between two sweeps of a worker.
const SWEEP_EVERY_SECS: i64 = 60;

struct JobCheckpoint {
    orders: Orders,
    job_id: i64,
    order_id: i64,
}

impl Checkpoint for JobCheckpoint {
    fn record<'a>(&'a self, upstream_ref: &'a str) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let fail =
                |e: storage::Error| UpstreamError::Transient { upstream: "checkpoint".into(), detail: e.to_string() };
            let mut tx = self.orders.db().begin().await.map_err(fail)?;
            jobs::set_upstream_ref(&mut tx, self.job_id, upstream_ref, self.orders.now()).await.map_err(fail)?;
            orders::set_upstream_ref(&mut tx, self.order_id, upstream_ref, true, self.orders.now())
                .await
                .map_err(fail)?;
            commit(tx).await.map_err(fail)
        })
    }
}

enum Outcome {
    Done,
    /// Retry later, up to the job's attempt limit.
    Retry(String),
    /// Retry later: the upstream's deadline, not yet passed, bounds the retries.
    RetryUntilDeadline(String),
    Failed(String),
}

/// A transient failure is retried, unless the upstream's deadline for the
/// job has passed: then it is final, and the order fails and is refunded.
fn after_transient(upstream: &dyn Upstream, job: &JobRow, now: i64, err: String) -> Outcome {
    match upstream.retry_deadline_secs() {
        Some(secs) if now >= job.created_at + secs => {
            Outcome::Failed(format!("{err} (still failing {secs} s after the order was queued: giving up)"))
        }
        Some(_) => Outcome::RetryUntilDeadline(err),
        None => Outcome::Retry(err),
    }
}

impl Worker {
    /// A worker named `owner` (unique per process: it marks the leases it holds).
    pub fn new(orders: Orders, owner: impl Into<String>) -> Worker {
        Worker::in_lane(orders, owner, Lane::All)
    }

    /// A worker for the orders' work alone (every job but notifications),
    /// which also schedules the periodic work.
    pub fn for_orders(orders: Orders, owner: impl Into<String>) -> Worker {
        Worker::in_lane(orders, owner, Lane::Orders)
    }

    /// A worker for notifications alone: a receiver that does not answer
    /// holds this one back, never an issuance.
    pub fn for_notifications(orders: Orders, owner: impl Into<String>) -> Worker {
        Worker::in_lane(orders, owner, Lane::Notifications)
    }

    /// A worker for monitoring scans alone: a scanned server that does not
    /// answer holds this one back, never an issuance or a notification.
    pub fn for_scans(orders: Orders, owner: impl Into<String>) -> Worker {
        Worker::in_lane(orders, owner, Lane::Scans)
    }

    /// Whether this worker also does the periodic work (the sweep and due
    /// revocations): the one that runs the orders' jobs.
    fn schedules(&self) -> bool {
        matches!(self.lane, Lane::All | Lane::Orders)
    }

    fn in_lane(orders: Orders, owner: impl Into<String>, lane: Lane) -> Worker {
        let (last_sweep, last_sweep_key) = (Default::default(), Default::default());
        Worker { orders, owner: owner.into(), last_sweep, last_sweep_key, lane }
    }

    fn actor(&self) -> Actor {
        Actor { account_id: None, name: self.owner.clone(), ip: "local".into(), source: "worker".into(), call: None }
    }

    /// Runs jobs until `shutdown` turns true or its sender is dropped, polling
    /// when the queue is empty.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if self.schedules()
                && let Err(e) = self.schedule_sweep().await
            {
                tracing::warn!(error = %e, "could not queue the lifecycle sweep");
            }
            let busy = match self.run_next(Some(&mut shutdown)).await {
                Ok(busy) => busy,
                Err(e) => {
                    tracing::warn!(error = %e, "job worker error");
                    false
                }
            };
            if !busy {
                // Orders' jobs wake their worker at once; notifications and scans are found by polling.
                let woken = async {
                    if !self.schedules() {
                        std::future::pending::<()>().await;
                    }
                    self.orders.job_queued().await;
                };
                tokio::select! {
                    _ = woken => {}
                    // Jobs queued by other instances, and retries coming due, are found by polling.
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    // A dropped sender means nobody can stop us any more: stop now
                    // rather than spin on an always-ready channel.
                    changed = shutdown.changed() => if changed.is_err() { return },
                }
            }
        }
    }

    /// Queues the lifecycle sweep of the current period, unless this worker
    /// already did, or any instance did; returns whether this call queued it.
    /// [`Worker::run`] calls it each turn; tests call it after moving the clock.
    pub async fn schedule_sweep(&self) -> Result<bool> {
        let now = self.orders.now();
        let key = self.orders.sweep_key(now);
        if *self.last_sweep_key.lock().unwrap_or_else(|p| p.into_inner()) == key {
            return Ok(false);
        }
        let queued = self.orders.queue_sweep(now).await?;
        *self.last_sweep_key.lock().unwrap_or_else(|p| p.into_inner()) = key;
        Ok(queued)
    }

    /// Runs every job that is ready now; returns how many ran.
    pub async fn drain(&self) -> Result<usize> {
        let mut n = 0;
        while self.run_once().await? {
            n += 1;
        }
        Ok(n)
    }

    /// Revokes superseded certificates that are due, then runs one ready job.
    /// Returns whether a job ran.
    pub async fn run_once(&self) -> Result<bool> {
        self.run_next(None).await
    }

    /// As [`Worker::run_once`]; when `shutdown` turns true first, the job's
    /// attempt is abandoned and its lease released at once, so that another
    /// instance can take it now rather than when the lease expires. Giving up
    /// anywhere is safe: the upstream order's URL is recorded before finalize.
    async fn run_next(&self, shutdown: Option<&mut watch::Receiver<bool>>) -> Result<bool> {
        if self.schedules() {
            self.revoke_due().await?;
            self.sweep().await?;
        }
        let db = self.orders.db();
        let Some(job) = jobs::claim(db, &self.owner, self.orders.now(), self.orders.leases(), self.lane).await? else {
            return Ok(false);
        };
        let Some(shutdown) = shutdown else {
            return self.process(job).await;
        };
        let id = job.id;
        tokio::select! {
            done = self.process(job) => done,
            _ = stopping(shutdown) => {
                let mut c = db.acquire_writer().await?;
                jobs::release(&mut c, id, &self.owner, self.orders.now()).await?;
                tracing::info!(job = id, "shutting down: job released for another worker");
                Ok(true)
            }
        }
    }

    /// Runs a claimed job and records its outcome.
    async fn process(&self, job: JobRow) -> Result<bool> {
        let db = self.orders.db();
        let kind = JobKind::parse(&job.kind);
        let outcome = match kind {
            Some(JobKind::Issue) => self.issue(&job).await,
            Some(JobKind::Revoke) => self.revoke(&job).await,
            Some(JobKind::Validate) => match job.acme_authz_id {
                Some(authz) => self.orders.run_validation(job.id, authz, &self.owner).await.map(|()| Outcome::Done),
                None => Ok(Outcome::Failed("a validation job without its authorization".into())),
            },
            Some(JobKind::Lifecycle) => match self.orders.sweep_lifecycle().await {
                Ok(note) => self.done(job.id, &note).await,
                Err(e) => Err(e),
            },
            Some(JobKind::Renew) => match job.order_id {
                Some(order) => match self.orders.renew_automatically(order).await {
                    Ok(Ok(note)) => self.done(job.id, &note).await,
                    Ok(Err(why)) => Ok(Outcome::Failed(why)),
                    Err(e) => Err(e),
                },
                None => Ok(Outcome::Failed("a renewal without its order".into())),
            },
            Some(JobKind::Notify) => match job.event_id {
                // Not cut short from outside: each send has its own timeout
                // (webhooks all at once), and one cancelled after it was
                // answered would be sent again.
                Some(event) => match self.orders.deliver_event(event).await {
                    Ok(crate::events::Delivered::All) => self.done(job.id, "delivered").await,
                    // Bounded by the day after which a delivery is given up, not by attempts.
                    Ok(crate::events::Delivered::Pending(why)) => Ok(Outcome::RetryUntilDeadline(why)),
                    Err(e) => Err(e),
                },
                None => Ok(Outcome::Failed("a notification without its event".into())),
            },
            // A scan's failures are its results: only the database fails a scan job.
            Some(JobKind::Monitor) => match job.order_id {
                Some(order) => match self.orders.scan_monitor(order).await {
                    Ok(note) => self.done(job.id, &note).await,
                    Err(e) => Err(e),
                },
                None => Ok(Outcome::Failed("a scan without its order".into())),
            },
            None => Ok(Outcome::Failed(format!("unknown job kind {}", job.kind))),
        };
        let outcome = outcome.unwrap_or_else(|e| Outcome::Retry(e.to_string()));
        let outcome = match outcome {
            Outcome::Retry(err) if job.attempts >= self.orders.settings().job_max_attempts => Outcome::Failed(err),
            other => other,
        };
        let mut tx = db.begin().await?;
        if !matches!(outcome, Outcome::Done) && !jobs::held_by(&mut tx, job.id, &self.owner).await? {
            // The lease ran out and another worker took the job over: the
            // outcome is that worker's to record.
            return Ok(true);
        }
        let mut refunded = None;
        match outcome {
            Outcome::Done => {}
            Outcome::Retry(err) | Outcome::RetryUntilDeadline(err) => {
                let backoff = match kind {
                    // Receivers may be down for hours: back off to an hour between tries.
                    Some(JobKind::Notify) => (self.orders.settings().notify_retry_secs
                        << job.attempts.clamp(1, 12).saturating_sub(1))
                    .min(3600),
                    _ => (1i64 << job.attempts.clamp(0, 8)).min(300),
                } + jitter(job.attempts);
                tracing::info!(job = job.id, attempts = job.attempts, error = %err, "job will retry");
                jobs::retry_later(&mut tx, job.id, &err, self.orders.now() + backoff, self.orders.now()).await?;
            }
            Outcome::Failed(err) => {
                tracing::warn!(job = job.id, error = %err, "job failed for good");
                if kind == Some(JobKind::Issue)
                    && let Some(order_id) = job.order_id
                {
                    self.fail_order(&mut tx, order_id, &err).await?;
                    refunded = crate::order::get(&mut tx, order_id).await?.map(|o| o.account_id);
                }
                if kind == Some(JobKind::Validate)
                    && let Some(authz_id) = job.acme_authz_id
                {
                    // A challenge no worker could check is not left processing for ever.
                    let why = format!("the challenge could not be checked: {err}");
                    self.orders.record_validation(&mut tx, authz_id, Some(&why)).await?;
                }
                jobs::finish(&mut tx, job.id, "failed", Some(&err), self.orders.now()).await?;
            }
        }
        commit(tx).await?;
        if let Some(account) = refunded {
            // What was refunded may pay an order that waits for it.
            if let Err(e) = self.orders.pay_waiting(account, &self.owner).await {
                tracing::warn!(account, error = %e, "orders waiting for funds are left to the sweep");
            }
        }
        Ok(true)
    }

    /// Records job `id` done, with a note of what it did.
    async fn done(&self, id: i64, note: &str) -> Result<Outcome> {
        let mut c = self.orders.db().acquire_writer().await?;
        jobs::finish(&mut c, id, "done", Some(note), self.orders.now()).await?;
        Ok(Outcome::Done)
    }

    async fn issue(&self, job: &JobRow) -> Result<Outcome> {
        // Crash tests stop an issuance here, its lease held (not the sweep or a notification).
        upstream::pause_at_failpoint("worker-after-claim").await;
        let db = self.orders.db();
        let Some(order_id) = job.order_id else { return Ok(Outcome::Failed("an issuance without its order".into())) };
        let order = crate::order::get(&mut *db.acquire().await?, order_id)
            .await?
            .ok_or_else(|| OrderError::UnknownOrder(order_id.to_string()))?;
        if order.status != Status::Processing {
            // Cancelled while queued: nothing to issue.
            let mut c = db.acquire_writer().await?;
            jobs::finish(
                &mut c,
                job.id,
                "done",
                Some(&format!("skipped: order is {}", order.status)),
                self.orders.now(),
            )
            .await?;
            return Ok(Outcome::Done);
        }
        let upstream = match self.orders.upstream(&order.upstream) {
            Ok(u) => u.clone(),
            Err(e) => return Ok(Outcome::Failed(e.to_string())),
        };
        let csr = match Csr::parse(order.csr_pem.as_bytes()) {
            Ok(c) => c,
            Err(e) => return Ok(Outcome::Failed(e.to_string())),
        };
        let product = self.orders.product(&order.product_code).await?;
        // Placed long ago (it waited for DCV or an approver): CAA may have changed since.
        if self.orders.now() - order.created_at >= self.orders.settings().caa_recheck_secs && job.upstream_ref.is_none()
        {
            match self.orders.check_caa(&order.upstream, &crate::names::order_names(&order)).await {
                Ok(()) => {}
                Err(e @ OrderError::CaaForbidden(_)) => return Ok(Outcome::Failed(e.to_string())),
                Err(e) => return Ok(Outcome::Retry(e.to_string())),
            }
        }
        let req = delivery::issue_request(&order, csr, product.validity_days);
        // From here on the certificate may be bought: a cancel no longer
        // refunds. Unless a cancel got there first.
        if !orders::start_purchase(&mut *db.acquire_writer().await?, order.id, self.orders.now()).await? {
            let mut c = db.acquire_writer().await?;
            jobs::finish(&mut c, job.id, "done", Some("skipped: the order left processing"), self.orders.now()).await?;
            return Ok(Outcome::Done);
        }
        upstream::pause_at_failpoint("worker-purchase-started").await;
        let checkpoint = JobCheckpoint { orders: self.orders.clone(), job_id: job.id, order_id: order.id };
        let op = if job.upstream_ref.is_some() { "resume" } else { "issue" };
        let started = std::time::Instant::now();
        let result = upstream.issue(&req, job.upstream_ref.as_deref(), &checkpoint).await;
        observe_upstream(upstream.name(), op, started, result.as_ref().err());
        let issued = match result {
            Ok(issued) => issued,
            Err(e) if e.is_final() => return Ok(Outcome::Failed(e.to_string())),
            Err(e) => return Ok(after_transient(upstream.as_ref(), job, self.orders.now(), e.to_string())),
        };
        let mut tx = db.begin().await?;
        let audit = Audit { actor: &self.actor(), earlier: &[] };
        self.orders.deliver(&mut tx, &order, job.id, &issued, &audit, true).await?;
        jobs::finish(&mut tx, job.id, "done", None, self.orders.now()).await?;
        commit(tx).await?;
        Ok(Outcome::Done)
    }

    async fn revoke(&self, job: &JobRow) -> Result<Outcome> {
        let db = self.orders.db();
        let Some(order_id) = job.order_id else { return Ok(Outcome::Failed("a revocation without its order".into())) };
        let mut c = db.acquire().await?;
        let order =
            crate::order::get(&mut c, order_id).await?.ok_or_else(|| OrderError::UnknownOrder(order_id.to_string()))?;
        let cert = match job.certificate_id {
            Some(id) => certificates::get(&mut c, id).await?,
            None => None,
        };
        drop(c);
        let Some(cert) = cert else {
            return Ok(Outcome::Failed("revoke job without a certificate".into()));
        };
        let upstream = match self.orders.upstream(&order.upstream) {
            Ok(u) => u.clone(),
            Err(e) => return Ok(Outcome::Failed(e.to_string())),
        };
        let req = RevokeRequest {
            serial: cert.serial.clone(),
            leaf_pem: cert.leaf_pem.clone(),
            reason: cert.revocation_reason.unwrap_or(0),
        };
        let started = std::time::Instant::now();
        let result = upstream.revoke(&req).await;
        observe_upstream(upstream.name(), "revoke", started, result.as_ref().err());
        Ok(match result {
            Ok(()) => {
                let mut c = db.acquire_writer().await?;
                jobs::finish(&mut c, job.id, "done", None, self.orders.now()).await?;
                Outcome::Done
            }
            Err(e) if e.is_final() => Outcome::Failed(e.to_string()),
            Err(e) => after_transient(upstream.as_ref(), job, self.orders.now(), e.to_string()),
        })
    }

    /// A final issuance failure: a new order is marked failed and refunded; a
    /// reissue (the order already has a certificate) goes back to delivered.
    async fn fail_order(&self, tx: &mut storage::Conn, order_id: i64, err: &str) -> Result<()> {
        let reissue = !certificates::for_order(tx, order_id).await?.is_empty();
        let to = if reissue { Status::Delivered } else { Status::Failed };
        if orders::transition(tx, order_id, Status::Processing.as_str(), to.as_str(), self.orders.now()).await? {
            if reissue {
                // Back to the certificate it keeps, with its names and CSR.
                self.orders.kept_certificate(tx, order_id).await?;
            }
            orders::set_failure(tx, order_id, err, self.orders.now()).await?;
            if !reissue {
                payment::refund(tx, order_id, &self.owner, "upstream failure", self.orders.now()).await?;
                if let Some(o) = crate::order::get(tx, order_id).await? {
                    let data = serde_json::json!({"reason": err});
                    let kind = crate::EventKind::OrderFailed;
                    crate::events::emit(tx, kind, o.account_id, Some(&o), data, None, self.orders.now()).await?;
                }
            }
            audit::record(tx, &self.actor(), "order.fail", &format!("{order_id}: {err}"), self.orders.now()).await?;
        }
        Ok(())
    }

    /// At most once a minute, forgets the login guards and throttles that
    /// no longer count, so that logins sprayed under made-up names do not
    /// grow the database for ever. Every instance may sweep: deleting what
    /// another already deleted is harmless.
    async fn sweep(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        let now = self.orders.now();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now - last < SWEEP_EVERY_SECS
            || self.last_sweep.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return Ok(());
        }
        let window = self.orders.settings().failed_login_window_secs;
        let mut c = self.orders.db().acquire_writer().await?;
        let idle = self.orders.settings().failures_forgotten_after_days * 86_400;
        let gone = storage::logins::prune(&mut c, now, window, now - idle).await?;
        if gone > 0 {
            tracing::info!(rows = gone, "forgot login guards and throttles that no longer count");
        }
        Ok(())
    }

    /// Revokes certificates whose delayed revocation (after a reissue) is due.
    async fn revoke_due(&self) -> Result<()> {
        let db = self.orders.db();
        let now = self.orders.now();
        let due = certificates::due_revocations(&mut *db.acquire().await?, now).await?;
        for cert in due {
            let mut tx = db.begin().await?;
            if certificates::mark_revoked(&mut tx, cert.id, SUPERSEDED, now).await? {
                jobs::enqueue(&mut tx, crate::JobKind::Revoke.as_str(), cert.order_id, Some(cert.id), now).await?;
                audit::record(&mut tx, &self.actor(), "certificate.revoke_due", &cert.serial, now).await?;
            }
            commit(tx).await?;
        }
        Ok(())
    }
}

/// Resolves when `shutdown` turns true. A dropped sender means nobody will
/// ask for a stop, so the job in hand is not abandoned for it.
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A few seconds of spread so that retries of many jobs do not align.
fn jitter(attempts: i64) -> i64 {
    let mut b = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut b);
    i64::from(b[0]) % attempts.clamp(1, 5)
}
