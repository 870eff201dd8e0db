//! The persistent jobs as the order core shows them: what work, for which
//! order or authorization, and how it stands. Made from the storage rows,
//! which stay inside the order core.

use storage::jobs::JobRow;

use crate::states::states;
use crate::{OrderError, Result};

states! {
    /// What a job does.
    JobKind {
        /// Buy the order's certificate from its upstream.
        Issue = "issue",
        /// Revoke a certificate at its upstream.
        Revoke = "revoke",
        /// Check an ACME challenge with certgate's VA.
        Validate = "validate",
        /// The periodic sweep: expiries, due automatic renewals, orders
        /// waiting for funds.
        Lifecycle = "lifecycle",
        /// Place the automatic renewal of an order.
        Renew = "renew",
        /// Deliver an event to the account's contacts and webhooks.
        Notify = "notify",
        /// Scan the installed certificate of an order (monitoring).
        Monitor = "monitor",
    }
}

states! {
    /// How a job stands.
    JobState {
        /// Waiting to run, or running under a lease.
        Queued = "queued",
        /// Finished.
        Done = "done",
        /// Given up for good.
        Failed = "failed",
    }
}

/// What a job works for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobSubject {
    /// An order (issuance, revocation).
    Order(i64),
    /// An ACME authorization (validation).
    AcmeAuthz(i64),
    /// Every order (the periodic sweep).
    AllOrders,
    /// An event of the outbox (a notification).
    Event(i64),
}

impl std::fmt::Display for JobSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobSubject::Order(id) => write!(f, "order {id}"),
            JobSubject::AcmeAuthz(id) => write!(f, "authz {id}"),
            JobSubject::AllOrders => write!(f, "all orders"),
            JobSubject::Event(id) => write!(f, "event {id}"),
        }
    }
}

/// A job of the persistent queue.
#[derive(Clone, Debug)]
pub struct Job {
    /// Its number.
    pub id: i64,
    /// What it does.
    pub kind: JobKind,
    /// What it works for.
    pub subject: JobSubject,
    /// For a revocation: the certificate.
    pub certificate_id: Option<i64>,
    /// How it stands.
    pub state: JobState,
    /// How many times a worker claimed it.
    pub attempts: i64,
    /// The earliest time it may run (UTC Unix seconds).
    pub run_after: i64,
    /// The error of its latest failed attempt.
    pub last_error: Option<String>,
    /// The upstream's handle on its work, once recorded.
    pub upstream_ref: Option<String>,
    /// When it was queued (UTC Unix seconds).
    pub created_at: i64,
    /// When it last changed (UTC Unix seconds).
    pub updated_at: i64,
}

impl TryFrom<JobRow> for Job {
    type Error = OrderError;
    fn try_from(r: JobRow) -> Result<Job> {
        let unknown = |what: &str, word: &str| OrderError::UnknownState(format!("job {what} {word:?}"));
        let subject = match (r.order_id, r.acme_authz_id) {
            _ if r.event_id.is_some() => JobSubject::Event(r.event_id.unwrap_or_default()),
            (_, Some(authz)) => JobSubject::AcmeAuthz(authz),
            (Some(order), None) => JobSubject::Order(order),
            (None, None) if r.kind == JobKind::Lifecycle.as_str() => JobSubject::AllOrders,
            (None, None) => return Err(unknown("subject", "none")),
        };
        Ok(Job {
            kind: JobKind::parse(&r.kind).ok_or_else(|| unknown("kind", &r.kind))?,
            state: JobState::parse(&r.state).ok_or_else(|| unknown("state", &r.state))?,
            subject,
            id: r.id,
            certificate_id: r.certificate_id,
            attempts: r.attempts,
            run_after: r.run_after,
            last_error: r.last_error,
            upstream_ref: r.upstream_ref,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}
