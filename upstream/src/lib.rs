//! Upstream CAs: the [`Upstream`] trait that the order core's jobs call to
//! issue and revoke, and its connectors. The embedded CA (rcgen, keys sealed
//! in the database) serves demos and tests; the ACME connector to real CAs
//! comes behind the same trait. Depends on `storage` only (for the embedded
//! CA's keys and the ACME connector's account); it knows nothing of orders,
//! accounts or money.

mod acme;
mod embedded;
mod error;

use std::future::Future;
use std::pin::Pin;

pub use acme::{AcmeSettings, AcmeUpstream, HttpSetupError, PendingAuthorizations};
pub use embedded::{EmbeddedCa, EmbeddedCaError};
pub use error::UpstreamError;

/// A boxed future, so that connectors can sit behind `dyn Upstream`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the order core asks an upstream to certify.
#[derive(Clone, Debug)]
pub struct IssueRequest {
    /// The certgate order this is for (for the upstream's logs).
    pub order_reference: String,
    /// The customer's CSR, DER, already checked by the order core.
    pub csr_der: Vec<u8>,
    /// The CSR's SubjectPublicKeyInfo, DER: the key that gets certified.
    pub public_key_der: Vec<u8>,
    /// The validated names; the first one is the common name.
    pub names: Vec<String>,
    /// The product's validity in days.
    pub validity_days: i64,
}

/// A certificate an upstream issued.
#[derive(Clone, Debug)]
pub struct Issued {
    /// Hexadecimal serial, lower case.
    pub serial: String,
    /// The issued end-entity certificate, PEM.
    pub leaf_pem: String,
    /// Intermediates, leaf excluded, root excluded.
    pub chain_pem: String,
    /// UTC Unix seconds.
    pub not_before: i64,
    /// End of validity, in UTC Unix seconds.
    pub not_after: i64,
}

/// What the order core asks an upstream to revoke.
#[derive(Clone, Debug)]
pub struct RevokeRequest {
    /// The serial of the certificate to revoke, hexadecimal, lower case.
    pub serial: String,
    /// The certificate to revoke, PEM.
    pub leaf_pem: String,
    /// RFC 5280 CRLReason code.
    pub reason: i64,
}

/// Lets a connector record its handle on an upstream order (its URL) before
/// the step that cannot be undone, so that a retried job resumes that order.
pub trait Checkpoint: Send + Sync {
    /// Persists the handle; the connector must not go on if this fails.
    fn record<'a>(&'a self, upstream_ref: &'a str) -> BoxFuture<'a, Result<(), UpstreamError>>;
}

/// A certification authority certgate buys or signs certificates from.
pub trait Upstream: Send + Sync {
    /// The configured name of this upstream, as products refer to it.
    fn name(&self) -> &str;

    /// Issues a certificate. `resume` is the handle a previous attempt
    /// recorded through `checkpoint`, if any.
    fn issue<'a>(
        &'a self,
        req: &'a IssueRequest,
        resume: Option<&'a str>,
        checkpoint: &'a dyn Checkpoint,
    ) -> BoxFuture<'a, Result<Issued, UpstreamError>>;

    /// True when `issue` signs locally in well under a millisecond and never
    /// waits on a network: the order core may then issue inside the order's
    /// own transaction instead of queueing a job.
    fn issues_at_once(&self) -> bool {
        false
    }

    /// Seconds after a job was queued past which its transient failures are
    /// final (the order fails and is refunded); `None` leaves it to the
    /// job's attempt limit.
    fn retry_deadline_secs(&self) -> Option<i64> {
        None
    }

    /// Revokes a certificate this upstream issued.
    fn revoke<'a>(&'a self, req: &'a RevokeRequest) -> BoxFuture<'a, Result<(), UpstreamError>>;
}

/// Crash tests set `CERTGATE_FAILPOINT` to a point's name (such as
/// `upstream-after-finalize` or `worker-after-claim`): the task that reaches
/// it then waits there as long as the variable names it, so that a test can
/// kill the process (SIGKILL) at exactly that point and check what a restart
/// or another instance resumes, or, in process, act meanwhile and then let
/// the task go on by removing the variable. Shared by the connectors and the
/// job worker.
pub async fn pause_at_failpoint(name: &str) {
    let here = || std::env::var("CERTGATE_FAILPOINT").is_ok_and(|v| v == name);
    if here() {
        tracing::warn!(failpoint = name, "failpoint reached; pausing while CERTGATE_FAILPOINT names it");
        while here() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// The time as UTC Unix seconds, for the connectors' own records (their
/// accounts and keys), which no test clock moves.
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// PEM text of one DER object (`label` such as `CERTIFICATE`), in 64-column
/// lines ending with LF, as certgate stores and serves certificates.
pub fn pem(label: &str, der: &[u8]) -> String {
    let config = ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF);
    ::pem::encode_config(&::pem::Pem::new(label, der), config)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pem_is_64_column_lf_text_that_reads_back() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = super::pem("CERTIFICATE", &der);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n") && text.ends_with("-----END CERTIFICATE-----\n"));
        assert!(!text.contains('\r') && text.lines().all(|l| l.len() <= 64));
        let back = ::pem::parse(&text).unwrap();
        assert_eq!((back.tag(), back.contents()), ("CERTIFICATE", der.as_slice()));
    }
}
