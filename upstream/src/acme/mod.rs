//! The ACME upstream connector: buys certificates from a CA that speaks ACME
//! (DigiCert, Sectigo, GlobalSign...) with the reseller's own account there.
//! The upstream's authorizations must already be valid, since the reseller
//! pre-validates organisations and domains at the CA (seed 6.8.1). The
//! upstream order's URL is recorded through the job's checkpoint before
//! anything is finalized, so a retried job resumes that order instead of
//! buying a second certificate. Each step decides from the order's fresh
//! state, which is what makes retrying any step safe.

mod account;
mod classify;
mod http;
mod settings;

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, NewOrder, Order, OrderStatus,
    RevocationReason, RevocationRequest,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use storage::Db;
use storage::sealed::SecretKey;
use tokio::sync::Mutex;
use tokio::time::Instant;

pub use http::HttpSetupError;
pub use settings::{AcmeSettings, PendingAuthorizations};

use crate::{BoxFuture, Checkpoint, IssueRequest, Issued, RevokeRequest, Upstream, UpstreamError};
use classify::{classify, is_not_found, is_unknown_account};

/// A connector to one upstream ACME CA.
pub struct AcmeUpstream {
    name: String,
    settings: AcmeSettings,
    db: Db,
    secret: SecretKey,
    http: http::Http,
    /// The account in use and its URL, once loaded or created.
    account: Mutex<Option<(Account, String)>>,
}

impl std::fmt::Debug for AcmeUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeUpstream")
            .field("name", &self.name)
            .field("directory_url", &self.settings.directory_url)
            .finish_non_exhaustive()
    }
}

/// Why a step did not go on.
enum Failure {
    /// An exchange with the upstream failed, while doing the named thing.
    Acme(&'static str, instant_acme::Error),
    /// The upstream's answer rules the order out for good.
    Refused(String),
}

/// What one step of an issuance achieved.
enum Progress {
    /// The order moved on (or may have): look at its state again.
    Again,
    /// The certificate is here.
    Done(Box<Issued>),
}

impl AcmeUpstream {
    /// A connector called `name`; the account is loaded or created on first
    /// use, so a CA that is down does not stop certgate from starting.
    pub fn new(name: &str, settings: AcmeSettings, db: Db, secret: SecretKey) -> Result<AcmeUpstream, HttpSetupError> {
        let http = http::Http::new(settings.ca_bundle.as_deref(), settings.request_timeout())?;
        Ok(AcmeUpstream { name: name.to_string(), settings, db, secret, http, account: Mutex::new(None) })
    }

    fn transient(&self, detail: String) -> UpstreamError {
        UpstreamError::Transient { upstream: self.name.clone(), detail }
    }

    fn refused(&self, detail: String) -> UpstreamError {
        UpstreamError::Final { upstream: self.name.clone(), detail }
    }

    /// Sorts an error; an unknown account is forgotten so that the retry
    /// creates a new one.
    async fn sort(&self, account_url: &str, step: &str, e: instant_acme::Error) -> UpstreamError {
        if is_unknown_account(&e) {
            self.forget_account(account_url).await;
            return self.transient(format!("{step}: the upstream no longer knows certgate's account"));
        }
        classify(&self.name, step, e)
    }

    /// Counts a failure; when it is transient and retries are left, waits
    /// out a backoff and says to try again.
    async fn retry_after_backoff(&self, failures: &mut u32, err: &UpstreamError) -> bool {
        *failures += 1;
        if err.is_final() || *failures > self.settings.step_retries {
            return false;
        }
        tracing::info!(upstream = %self.name, error = %err, failures = *failures, "upstream call will be retried");
        tokio::time::sleep(backoff(*failures)).await;
        true
    }

    async fn issue_attempt(
        &self,
        req: &IssueRequest,
        resume: Option<&str>,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Issued, UpstreamError> {
        let (account, account_url) = self.account().await?;
        let resumed = match resume {
            Some(url) => match account.order(url.to_string()).await {
                Ok(order) => Some(order),
                // The upstream forgot the order (a reset test CA): nothing was
                // bought with it, so a new order is no double purchase.
                Err(e) if is_not_found(&e) => {
                    tracing::warn!(upstream = %self.name, order = url, "upstream order not found; starting afresh");
                    None
                }
                Err(e) => return Err(self.sort(&account_url, "order lookup", e).await),
            },
            None => None,
        };
        let mut order = match resumed {
            Some(order) => order,
            None => {
                let new = self.new_order(&account, &account_url, req).await?;
                checkpoint.record(new.url()).await?;
                new
            }
        };
        let deadline = Instant::now() + self.settings.attempt();
        let mut failures = 0u32;
        let mut stale = false;
        loop {
            let step = if stale {
                order.refresh().await.map(|_| Progress::Again).map_err(|e| Failure::Acme("order refresh", e))
            } else {
                self.step(&mut order, req).await
            };
            match step {
                Ok(Progress::Done(issued)) => return Ok(*issued),
                Ok(Progress::Again) => stale = false,
                Err(failure) => {
                    let err = match failure {
                        Failure::Acme(what, e) => self.sort(&account_url, what, e).await,
                        Failure::Refused(detail) => self.refused(detail),
                    };
                    if Instant::now() >= deadline || !self.retry_after_backoff(&mut failures, &err).await {
                        return Err(err);
                    }
                    stale = true;
                }
            }
            if Instant::now() >= deadline {
                let status = order.state().status;
                return Err(self.transient(format!(
                    "order {} still {status:?} after {:?}; the job resumes it later",
                    order.url(),
                    self.settings.attempt()
                )));
            }
        }
    }

    async fn new_order(
        &self,
        account: &Account,
        account_url: &str,
        req: &IssueRequest,
    ) -> Result<Order, UpstreamError> {
        let identifiers: Vec<Identifier> = req.names.iter().map(|n| Identifier::Dns(n.clone())).collect();
        let mut failures = 0;
        loop {
            let mut new = NewOrder::new(&identifiers);
            if let Some(p) = &self.settings.profile {
                new = new.profile(p);
            }
            match account.new_order(&new).await {
                Ok(order) => return Ok(order),
                Err(e) => {
                    let err = self.sort(account_url, "new order", e).await;
                    if !self.retry_after_backoff(&mut failures, &err).await {
                        return Err(err);
                    }
                }
            }
        }
    }

    /// Does what the order's state calls for next.
    async fn step(&self, order: &mut Order, req: &IssueRequest) -> Result<Progress, Failure> {
        let state = order.state();
        if let Some(problem) = &state.error {
            return Err(Failure::Refused(format!("the upstream order failed: {problem}")));
        }
        match state.status {
            OrderStatus::Pending => {
                self.authorize(order).await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                order.refresh().await.map_err(|e| Failure::Acme("order refresh", e))?;
            }
            OrderStatus::Ready => {
                if let Err(e) = order.finalize_csr(&req.csr_der).await {
                    // The finalize may have reached the upstream before the
                    // answer was lost: only the fresh state says what to do.
                    return Err(Failure::Acme("finalize", e));
                }
                crate::pause_at_failpoint("upstream-after-finalize").await;
            }
            OrderStatus::Processing => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                order.refresh().await.map_err(|e| Failure::Acme("order poll", e))?;
            }
            OrderStatus::Valid => {
                let Some(pem) = order.certificate().await.map_err(|e| Failure::Acme("certificate download", e))? else {
                    return Ok(Progress::Again);
                };
                return self.issued(&pem, req).map(|i| Progress::Done(Box::new(i))).map_err(Failure::Refused);
            }
            OrderStatus::Invalid => {
                return Err(Failure::Refused(format!("the upstream order {} is invalid", order.url())));
            }
        }
        Ok(Progress::Again)
    }

    /// Checks that every authorization is valid. A pending one fails the
    /// order for good, unless triggering is configured: then one challenge is
    /// triggered and the caller looks again a little later.
    async fn authorize(&self, order: &mut Order) -> Result<(), Failure> {
        let trigger = self.settings.pending_authorizations == PendingAuthorizations::Trigger;
        let mut authzs = order.authorizations();
        while let Some(authz) = authzs.next().await {
            let mut authz = authz.map_err(|e| Failure::Acme("authorization", e))?;
            let identifier = authz.identifier().to_string();
            match authz.status {
                AuthorizationStatus::Valid => {}
                AuthorizationStatus::Pending if trigger => {
                    let pending =
                        [ChallengeType::Http01, ChallengeType::Dns01, ChallengeType::TlsAlpn01].into_iter().find(|k| {
                            authz.challenges.iter().any(|c| c.r#type == *k && c.status == ChallengeStatus::Pending)
                        });
                    // A challenge already processing needs no second trigger.
                    if let Some(mut challenge) = pending.and_then(|k| authz.challenge(k)) {
                        challenge.set_ready().await.map_err(|e| Failure::Acme("challenge", e))?;
                    }
                }
                status => {
                    return Err(Failure::Refused(format!(
                        "the authorization for {identifier} is {status:?}, not valid: pre-validate the domain at the upstream CA"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Splits the upstream's PEM chain and checks that it certifies the
    /// customer's key: a CA that answered with someone else's certificate
    /// must not be delivered.
    fn issued(&self, pem: &str, req: &IssueRequest) -> Result<Issued, String> {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| "the certificate chain is not PEM".to_string())?;
        let leaf = certs.first().ok_or("the certificate chain is empty")?;
        let (_, x509) =
            x509_parser::parse_x509_certificate(leaf).map_err(|e| format!("the certificate does not parse: {e}"))?;
        if x509.public_key().raw != req.public_key_der.as_slice() {
            return Err("the certificate is not for the CSR's key".into());
        }
        let pem_of = |der: &CertificateDer<'_>| crate::pem("CERTIFICATE", der);
        Ok(Issued {
            serial: x509.raw_serial().iter().map(|b| format!("{b:02x}")).collect(),
            leaf_pem: pem_of(leaf),
            chain_pem: certs[1..].iter().map(pem_of).collect(),
            not_before: x509.validity().not_before.timestamp(),
            not_after: x509.validity().not_after.timestamp(),
        })
    }
}

/// Exponential backoff with jitter, so that retries of many jobs do not align.
fn backoff(failures: u32) -> Duration {
    let base = 100u64 << failures.min(5);
    let mut b = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut b);
    Duration::from_millis(base + u64::from(b[0]) * base / 255)
}

impl Upstream for AcmeUpstream {
    fn name(&self) -> &str {
        &self.name
    }

    fn retry_deadline_secs(&self) -> Option<i64> {
        Some(self.settings.deadline_secs)
    }

    fn issue<'a>(
        &'a self,
        req: &'a IssueRequest,
        resume: Option<&'a str>,
        checkpoint: &'a dyn Checkpoint,
    ) -> BoxFuture<'a, Result<Issued, UpstreamError>> {
        Box::pin(self.issue_attempt(req, resume, checkpoint))
    }

    fn revoke<'a>(&'a self, req: &'a RevokeRequest) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let der = CertificateDer::from_pem_slice(req.leaf_pem.as_bytes())
                .map_err(|_| self.refused("the certificate to revoke is not PEM".into()))?;
            let reason = revocation_reason(req.reason);
            let (account, account_url) = self.account().await?;
            let mut failures = 0;
            loop {
                match account.revoke(&RevocationRequest { certificate: &der, reason: reason.clone() }).await {
                    Ok(()) => return Ok(()),
                    Err(instant_acme::Error::Api(p)) if classify::problem_type(&p) == Some("alreadyRevoked") => {
                        return Ok(());
                    }
                    Err(e) => {
                        let err = self.sort(&account_url, "revocation", e).await;
                        if !self.retry_after_backoff(&mut failures, &err).await {
                            return Err(err);
                        }
                    }
                }
            }
        })
    }
}

fn revocation_reason(code: i64) -> Option<RevocationReason> {
    Some(match code {
        1 => RevocationReason::KeyCompromise,
        3 => RevocationReason::AffiliationChanged,
        4 => RevocationReason::Superseded,
        5 => RevocationReason::CessationOfOperation,
        9 => RevocationReason::PrivilegeWithdrawn,
        _ => return None,
    })
}
