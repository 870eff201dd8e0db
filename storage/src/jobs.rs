//! The persistent queue of upstream work. A worker leases a job; a lease that
//! expires (the worker died) lets another worker take the job again.

use crate::sql::{query, query_as, query_built, query_scalar};
use crate::{Backend, Conn, Db, Result};

crate::row_struct! {
    /// One row of `jobs`.
    #[derive(Clone, Debug)]
    pub struct JobRow {
        /// The job's database identifier.
        pub id: i64,
        /// `issue`, `revoke`, `validate`, `lifecycle`, `renew` or `notify`.
        pub kind: String,
        /// The order this job works for (none for `validate`).
        pub order_id: Option<i64>,
        /// For `revoke`: the certificate to revoke.
        pub certificate_id: Option<i64>,
        /// `queued`, `done` or `failed`.
        pub state: String,
        /// How many times a worker has claimed the job.
        pub attempts: i64,
        /// The earliest time the job may run, in UTC Unix seconds.
        pub run_after: i64,
        /// The worker holding the lease, while one does.
        pub lease_owner: Option<String>,
        /// When the current lease expires, in UTC Unix seconds.
        pub lease_until: Option<i64>,
        /// The error of the latest failed attempt, if any.
        pub last_error: Option<String>,
        /// The upstream's handle on this work (an upstream order URL), recorded
        /// before the irreversible step so a retry resumes instead of buying twice.
        pub upstream_ref: Option<String>,
        /// When the job was queued, in UTC Unix seconds.
        pub created_at: i64,
        /// When the job last changed, in UTC Unix seconds.
        pub updated_at: i64,
        /// For `validate`: the ACME authorization whose challenge it checks.
        pub acme_authz_id: Option<i64>,
        /// A key no other job has, for work that must run once however many
        /// instances schedule it (the sweep of a period, a renewal).
        pub dedup_key: Option<String>,
        /// For `notify`: the event it delivers.
        pub event_id: Option<i64>,
    }
}

/// Queues the validation of an ACME authorization's challenge, leased at
/// once to `owner` for `lease_secs` when given (the instance that got the
/// challenge runs it now; another takes it over if that one dies); returns
/// its id.
pub async fn enqueue_validation(
    c: &mut Conn,
    acme_authz_id: i64,
    owner: Option<&str>,
    lease_secs: i64,
    now: i64,
) -> Result<i64> {
    let t = now;
    query_scalar(
        "INSERT INTO jobs (kind, acme_authz_id, state, attempts, run_after, lease_owner, lease_until,
                           created_at, updated_at)
         VALUES ('validate', $1, 'queued', $2, $3, $4, $5, $3, $3) RETURNING id",
    )
    .bind(acme_authz_id)
    .bind(i64::from(owner.is_some()))
    .bind(t)
    .bind(owner)
    .bind(owner.map(|_| t + lease_secs))
    .fetch_one(c)
    .await
}

/// Queues a job, runnable from `now`, and returns its id.
pub async fn enqueue(c: &mut Conn, kind: &str, order_id: i64, certificate_id: Option<i64>, now: i64) -> Result<i64> {
    query_scalar(
        "INSERT INTO jobs (kind, order_id, certificate_id, state, run_after, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', $4, $4, $4) RETURNING id",
    )
    .bind(kind)
    .bind(order_id)
    .bind(certificate_id)
    .bind(now)
    .fetch_one(c)
    .await
}

/// Queues the delivery of event `event_id`, runnable from `now`; returns its
/// id. It names no order, so that an order's jobs stay its upstream work.
pub async fn enqueue_notification(c: &mut Conn, event_id: i64, now: i64) -> Result<i64> {
    query_scalar(
        "INSERT INTO jobs (kind, event_id, state, run_after, created_at, updated_at)
         VALUES ('notify', $1, 'queued', $2, $2, $2) RETURNING id",
    )
    .bind(event_id)
    .bind(now)
    .fetch_one(c)
    .await
}

/// Queues a job of `kind` for `order_id` (or none), runnable from
/// `run_after`, unless a job with `key` was ever queued; returns its id, or
/// `None` when the key was taken.
pub async fn enqueue_once(
    c: &mut Conn,
    kind: &str,
    order_id: Option<i64>,
    key: &str,
    run_after: i64,
    now: i64,
) -> Result<Option<i64>> {
    query_scalar(
        "INSERT INTO jobs (kind, order_id, state, run_after, dedup_key, created_at, updated_at)
         VALUES ($1, $2, 'queued', $3, $4, $5, $5)
         ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id",
    )
    .bind(kind)
    .bind(order_id)
    .bind(run_after)
    .bind(key)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// The statement that records an issuance job done as it is created, with
/// the expressions of its order id and time, and optionally the `FROM` they
/// are selected from: [`record_done`] runs it alone, and on PostgreSQL
/// `signed_orders::insert` runs it with the order and its certificate.
macro_rules! insert_done_issuance {
    ($order_id:literal, $time:literal) => {
        $crate::jobs::insert_done_issuance!($order_id, $time, "")
    };
    ($order_id:literal, $time:literal, $from:literal) => {
        concat!(
            "INSERT INTO jobs (kind, order_id, state, attempts, run_after, created_at, updated_at) SELECT 'issue', ",
            $order_id,
            ", 'done', 1, ",
            $time,
            ", ",
            $time,
            ", ",
            $time,
            " ",
            $from,
            " RETURNING id"
        )
    };
}
pub(crate) use insert_done_issuance;

/// Records an issuance job that was done as soon as it was created (an order
/// signed inside its own transaction), so that its certificate has a job like
/// every other; returns its id. On PostgreSQL `signed_orders::insert`
/// writes this job in the order's own statement instead.
pub(crate) async fn record_done(c: &mut Conn, order_id: i64, now: i64) -> Result<i64> {
    query_scalar(insert_done_issuance!("$1", "$2")).bind(order_id).bind(now).fetch_one(c).await
}

/// The job that is runnable first at `$1`, as [`claim`] looks for it (public
/// so that a test can check that it uses an index).
pub const NEXT: &str = "SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $1
     AND (lease_until IS NULL OR lease_until < $1)
     ORDER BY run_after, id LIMIT 1";

/// As [`NEXT`], but for the jobs of one lane.
pub const NEXT_ORDERS: &str = "SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $1
     AND (lease_until IS NULL OR lease_until < $1) AND kind NOT IN ('notify', 'monitor')
     ORDER BY run_after, id LIMIT 1";

/// As [`NEXT`], for monitoring scans alone.
pub const NEXT_SCANS: &str = "SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $1
     AND (lease_until IS NULL OR lease_until < $1) AND kind = 'monitor'
     ORDER BY run_after, id LIMIT 1";

/// As [`NEXT`], for notifications alone.
pub const NEXT_NOTIFICATIONS: &str = "SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $1
     AND (lease_until IS NULL OR lease_until < $1) AND kind = 'notify'
     ORDER BY run_after, id LIMIT 1";

/// Which jobs a worker takes: a process runs one worker for its orders'
/// work and one for notifications, so that a receiver that does not answer
/// never holds an issuance back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Every job.
    All,
    /// Every job but notifications and scans.
    Orders,
    /// Notifications alone: a receiver's slowness holds no issuance back.
    Notifications,
    /// Monitoring scans alone: a scanned server's slowness holds back
    /// neither an issuance nor a notification.
    Scans,
}

/// How long a worker holds a job before another may take it over: one
/// length for upstream work, another for a validation (bounded by the VA's
/// own timeout, so a dead instance's validation is taken over sooner).
#[derive(Clone, Copy, Debug)]
pub struct Leases {
    /// Seconds for `issue` and `revoke`.
    pub upstream_secs: i64,
    /// Seconds for `validate`.
    pub validation_secs: i64,
}

/// Leases the job that is runnable first at time `at` to `owner`, or
/// returns `None`.
/// On PostgreSQL, `SKIP LOCKED` lets several instances claim side by side.
pub async fn claim(db: &Db, owner: &str, at: i64, leases: Leases, lane: Lane) -> Result<Option<JobRow>> {
    let lock = match db.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let next = match lane {
        Lane::All => NEXT,
        Lane::Orders => NEXT_ORDERS,
        Lane::Notifications => NEXT_NOTIFICATIONS,
        Lane::Scans => NEXT_SCANS,
    };
    let sql = format!(
        "UPDATE jobs SET lease_owner = $2,
             lease_until = $1 + CASE WHEN kind = 'validate' THEN $4 ELSE $3 END,
             attempts = attempts + 1, updated_at = $1
         WHERE id = ({next} {lock})
         RETURNING *"
    );
    let mut tx = db.begin().await?;
    let job = query_built(sql)
        .read_as()
        .bind(at)
        .bind(owner)
        .bind(leases.upstream_secs)
        .bind(leases.validation_secs)
        .fetch_optional(&mut tx)
        .await?;
    crate::commit(tx).await?;
    Ok(job)
}

/// Records the upstream's handle on a job.
pub async fn set_upstream_ref(c: &mut Conn, id: i64, upstream_ref: &str, now: i64) -> Result<()> {
    query("UPDATE jobs SET upstream_ref = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(upstream_ref)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

/// Ends a job as `done` or `failed`, releasing its lease.
pub async fn finish(c: &mut Conn, id: i64, state: &str, error: Option<&str>, now: i64) -> Result<()> {
    query(
        "UPDATE jobs SET state = $2, last_error = COALESCE($3, last_error), lease_owner = NULL,
             lease_until = NULL, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(error)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Gives up `owner`'s lease on a job still queued, so any worker may take it
/// now; a job that meanwhile finished is left alone.
pub async fn release(c: &mut Conn, id: i64, owner: &str, now: i64) -> Result<()> {
    query(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, updated_at = $3
         WHERE id = $1 AND lease_owner = $2 AND state = 'queued'",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Releases a job to run again at `run_after`, recording the error.
pub async fn retry_later(c: &mut Conn, id: i64, error: &str, run_after: i64, now: i64) -> Result<()> {
    query(
        "UPDATE jobs SET last_error = $2, run_after = $3, lease_owner = NULL, lease_until = NULL,
             updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(run_after)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// The latest jobs, newest first, optionally only those in one state.
pub async fn list(c: &mut Conn, state: &str, limit: i64) -> Result<Vec<JobRow>> {
    query_as("SELECT * FROM jobs WHERE ($1 = '' OR state = $1) ORDER BY id DESC LIMIT $2")
        .bind(state)
        .bind(limit)
        .fetch_all(c)
        .await
}

/// True when `owner` still holds job `id`'s lease and the job is queued:
/// a worker whose lease ran out and was taken over records nothing.
pub async fn held_by(c: &mut Conn, id: i64, owner: &str) -> Result<bool> {
    let n: i64 = query_scalar("SELECT COUNT(*) FROM jobs WHERE id = $1 AND lease_owner = $2 AND state = 'queued'")
        .bind(id)
        .bind(owner)
        .fetch_one(c)
        .await?;
    Ok(n == 1)
}

/// A job by its id.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<JobRow>> {
    query_as("SELECT * FROM jobs WHERE id = $1").bind(id).fetch_optional(c).await
}

/// The validation jobs of an ACME authorization, oldest first.
pub async fn for_acme_authz(c: &mut Conn, acme_authz_id: i64) -> Result<Vec<JobRow>> {
    query_as("SELECT * FROM jobs WHERE acme_authz_id = $1 ORDER BY id").bind(acme_authz_id).fetch_all(c).await
}

/// The jobs of one order, oldest first.
pub async fn for_order(c: &mut Conn, order_id: i64) -> Result<Vec<JobRow>> {
    query_as("SELECT * FROM jobs WHERE order_id = $1 ORDER BY id").bind(order_id).fetch_all(c).await
}

/// The number of queued jobs and when the oldest of them was queued.
pub async fn queue_depth(c: &mut Conn) -> Result<(i64, Option<i64>)> {
    query_as("SELECT COUNT(*), MIN(created_at) FROM jobs WHERE state = 'queued'").fetch_one(c).await
}

/// The state of the job queued with `key`, if any was.
pub async fn state_of_key(c: &mut Conn, key: &str) -> Result<Option<String>> {
    query_scalar("SELECT state FROM jobs WHERE dedup_key = $1").bind(key).fetch_optional(c).await
}
