//! The ACME protocol's own records, decided and written only here: ACME
//! accounts, ACME orders and their authorizations, challenge validation (a
//! job, so that it survives the instance that took the challenge), and the
//! uses of shared nonces. The ACME front parses and authenticates requests,
//! reads through the functions below and never writes. Every change of an
//! account or an authorization writes its audit entry in its own transaction.

mod records;
mod status;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use storage::acme_orders::{self as rows, NewAcmeOrder, NewAuthz};
use storage::{Backend, acme_accounts, acme_nonces, acme_requests, audit, commit, jobs};

use crate::{Caller, Certificate, OrderError, Orders, PlaceOrder, Placed, Result, Status};

use records::order_with_authzs;
pub use records::{AcmeAccount, AcmeAuthz, AcmeNames, AcmeOrder, AcmeOwned, AcmeSigner};
pub use status::{AccountStatus, AcmeOrderStatus, AuthzStatus, ChallengeStatus};

/// What new-order asks for, its names checked by [`Orders::check_order`].
#[derive(Clone, Debug)]
pub struct NewAcmeOrderRequest<'a> {
    /// The ACME account ordering.
    pub account_id: i64,
    /// The names, normalized, in the order asked.
    pub names: &'a [String],
    /// Those of them that no pre-validated domain covers: each gets a
    /// pending authorization; the others are valid at once.
    pub needing_dcv: &'a [String],
    /// The certificate it replaces (RFC 9773), if any.
    pub replaces: Option<i64>,
    /// Seconds it may wait for finalize.
    pub ttl_secs: i64,
}

/// A fresh token for an authorization's challenges: 32 random bytes, base64url.
fn challenge_token() -> Result<String> {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| OrderError::Invalid("no randomness".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// Whose ACME orders a rate limit counts.
#[derive(Clone, Copy, Debug)]
pub enum AcmeOrdersOf {
    /// Those of one ACME account.
    Account(i64),
    /// Those of every account of one ACME URL.
    Url(i64),
}

/// An ACME order's state as a client sees it (RFC 8555 §7.1.6), worked out
/// from what is stored without writing anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeOrderState {
    /// Its state now.
    pub status: AcmeOrderStatus,
    /// The certificate, once valid.
    pub certificate: Option<i64>,
    /// Why it is invalid.
    pub error: Option<String>,
}

/// An ACME order's status once finalize placed its certgate order: valid
/// when signed at once (the embedded CA), else processing until a worker
/// delivers it.
pub fn finalized_status(placed: &Placed) -> AcmeOrderStatus {
    if placed.certificate_id.is_some() { AcmeOrderStatus::Valid } else { AcmeOrderStatus::Processing }
}

/// What a pending order becomes once its authorizations settled: ready when
/// all are valid, invalid (with the first reason given) when one is neither
/// valid nor pending; `None` while some are still pending.
fn settled(authzs: &[AcmeAuthz]) -> Option<(AcmeOrderStatus, Option<String>)> {
    if authzs.iter().all(|a| a.status == AuthzStatus::Valid) {
        Some((AcmeOrderStatus::Ready, None))
    } else if authzs.iter().any(|a| !matches!(a.status, AuthzStatus::Valid | AuthzStatus::Pending)) {
        let why = authzs.iter().find_map(|a| a.error.clone());
        Some((AcmeOrderStatus::Invalid, why.or_else(|| Some("an authorization is no longer valid".into()))))
    } else {
        None
    }
}

impl Orders {
    /// True when nonces must be shared between instances (their uses kept in
    /// the database), false when each process may keep its own in memory.
    pub fn shares_acme_nonces(&self) -> bool {
        self.db().backend() == Backend::Postgres
    }

    /// Records the use of a shared nonce that expires at `expires_at`; false
    /// when it was used before.
    pub async fn redeem_acme_nonce(&self, nonce: &str, expires_at: i64) -> Result<bool> {
        Ok(acme_nonces::redeem(&mut *self.db().acquire_writer().await?, nonce, expires_at).await?)
    }

    /// Forgets the uses of nonces that have expired.
    pub async fn purge_acme_nonces(&self) -> Result<()> {
        acme_nonces::purge(&mut *self.db().acquire_writer().await?, self.now()).await?;
        Ok(())
    }

    /// What a request signed by ACME account `account_id` needs before its
    /// handler runs, in one statement: the account, its ACME URL's state and
    /// the resource the request `names`; with `nonce`, the nonce's use is
    /// recorded in the same statement.
    pub async fn acme_signer(
        &self,
        account_id: i64,
        nonce: Option<(&str, i64)>,
        names: AcmeNames,
    ) -> Result<Option<AcmeSigner>> {
        let names = names.into();
        let signer = match nonce {
            // Marking the nonce used writes: SQLite's write turn is needed.
            Some(_) => acme_requests::read(&mut *self.db().acquire_writer().await?, account_id, nonce, names).await?,
            None => acme_requests::read(&mut *self.db().acquire().await?, account_id, None, names).await?,
        };
        signer.map(AcmeSigner::try_from).transpose()
    }

    /// The ACME account of ACME URL `acme_url_id` with this key thumbprint.
    pub async fn acme_account_by_key(&self, acme_url_id: i64, thumbprint: &str) -> Result<Option<AcmeAccount>> {
        let row = acme_accounts::by_thumbprint(&mut *self.db().acquire().await?, acme_url_id, thumbprint).await?;
        row.map(AcmeAccount::try_from).transpose()
    }

    /// An ACME account by its number.
    pub async fn acme_account(&self, id: i64) -> Result<Option<AcmeAccount>> {
        acme_accounts::get(&mut *self.db().acquire().await?, id).await?.map(AcmeAccount::try_from).transpose()
    }

    /// Creates the ACME account of a key on ACME URL `acme_url_id` (its EAB
    /// already checked by the front), or returns the one that exists; the
    /// flag says whether it was created. `caller` is the URL's account.
    pub async fn register_acme_account(
        &self,
        caller: &Caller,
        acme_url_id: i64,
        thumbprint: &str,
        jwk: &str,
        contact: &str,
    ) -> Result<(AcmeAccount, bool)> {
        let mut tx = self.db().begin().await?;
        let (a, created) =
            acme_accounts::insert_or_get(&mut tx, acme_url_id, thumbprint, jwk, contact, self.now()).await?;
        if created {
            let mut actor = caller.actor();
            actor.name = format!("acme:{}", a.id);
            audit::record(&mut tx, &actor, "acme.account.create", &format!("ACME URL {acme_url_id}"), self.now())
                .await?;
        }
        commit(tx).await?;
        Ok((a.try_into()?, created))
    }

    /// Deactivates ACME account `id` for good (RFC 8555 §7.3.6).
    pub async fn deactivate_acme_account(&self, caller: &Caller, id: i64) -> Result<()> {
        let mut tx = self.db().begin().await?;
        acme_accounts::deactivate(&mut tx, id).await?;
        audit::record(&mut tx, &caller.actor(), "acme.account.deactivate", "", self.now()).await?;
        Ok(commit(tx).await?)
    }

    /// Replaces ACME account `id`'s contacts (`mailto:` URLs, one per line).
    pub async fn set_acme_account_contact(&self, caller: &Caller, id: i64, contact: &str) -> Result<()> {
        let mut tx = self.db().begin().await?;
        acme_accounts::set_contact(&mut tx, id, contact).await?;
        audit::record(&mut tx, &caller.actor(), "acme.account.contact", "", self.now()).await?;
        Ok(commit(tx).await?)
    }

    /// Gives ACME account `id` a new key (RFC 8555 §7.3.5); false when the
    /// key already belongs to an account of the same ACME URL.
    pub async fn rekey_acme_account(&self, caller: &Caller, id: i64, thumbprint: &str, jwk: &str) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        if !acme_accounts::set_key(&mut tx, id, thumbprint, jwk).await? {
            return Ok(false);
        }
        audit::record(&mut tx, &caller.actor(), "acme.account.key_change", "", self.now()).await?;
        commit(tx).await?;
        Ok(true)
    }

    /// The orders of ACME account `account_id`, oldest first.
    pub async fn acme_orders_of(&self, account_id: i64) -> Result<Vec<AcmeOrder>> {
        let list = rows::for_account(&mut *self.db().acquire().await?, account_id).await?;
        list.into_iter().map(AcmeOrder::try_from).collect()
    }

    /// ACME order `id` with its authorizations.
    pub async fn acme_order(&self, id: i64) -> Result<Option<(AcmeOrder, Vec<AcmeAuthz>)>> {
        rows::with_authzs(&mut *self.db().acquire().await?, id).await?.map(order_with_authzs).transpose()
    }

    /// The ACME order that placed certgate order `order_id`, if one did.
    pub async fn acme_order_of(&self, order_id: i64) -> Result<Option<AcmeOrder>> {
        rows::by_order(&mut *self.db().acquire().await?, order_id).await?.map(AcmeOrder::try_from).transpose()
    }

    /// The live ACME order that already replaces certificate `certificate_id`
    /// (RFC 9773: a certificate is replaced once).
    pub async fn acme_order_replacing(&self, certificate_id: i64) -> Result<Option<AcmeOrder>> {
        let row = rows::replacing(&mut *self.db().acquire().await?, certificate_id, self.now()).await?;
        row.map(AcmeOrder::try_from).transpose()
    }

    /// Authorization `id` if an order of ACME account `account_id` holds it.
    pub async fn acme_authz(&self, account_id: i64, id: i64) -> Result<Option<AcmeAuthz>> {
        let row = rows::authz_of_account(&mut *self.db().acquire().await?, id, account_id).await?;
        row.map(AcmeAuthz::try_from).transpose()
    }

    /// How many ACME orders were created since `since` by an account and by
    /// all accounts of its ACME URL, each counted up to its limit.
    pub async fn acme_orders_created_since(
        &self,
        account_id: i64,
        acme_url_id: i64,
        since: i64,
        limits: (i64, i64),
    ) -> Result<(i64, i64)> {
        Ok(rows::created_since(&mut *self.db().acquire().await?, account_id, acme_url_id, since, limits).await?)
    }

    /// When the oldest ACME order created since `since` by an account, or
    /// under an ACME URL, was created (when a slot of an hourly limit frees up).
    pub async fn oldest_acme_order_since(&self, of: AcmeOrdersOf, since: i64) -> Result<Option<i64>> {
        let mut c = self.db().acquire().await?;
        Ok(match of {
            AcmeOrdersOf::Account(id) => rows::oldest_by_account_since(&mut c, id, since).await?,
            AcmeOrdersOf::Url(id) => rows::oldest_by_url_since(&mut c, id, since).await?,
        })
    }

    /// How many validations of an ACME account failed since `since`, and
    /// when the oldest of them was.
    pub async fn failed_acme_validations_since(&self, account_id: i64, since: i64) -> Result<(i64, Option<i64>)> {
        Ok(rows::failed_validations_since(&mut *self.db().acquire().await?, account_id, since).await?)
    }

    /// Creates an ACME order with its authorizations (names checked by
    /// [`Orders::check_order`]); nothing is charged until finalize.
    /// Pre-validated names (seed 6.9) need no challenge: their
    /// authorizations are valid at once, and an order of such names alone
    /// is ready.
    pub async fn create_acme_order(&self, req: &NewAcmeOrderRequest<'_>) -> Result<(AcmeOrder, Vec<AcmeAuthz>)> {
        let mut authzs = Vec::with_capacity(req.names.len());
        for n in req.names {
            let (identifier, wildcard) = match n.strip_prefix("*.") {
                Some(base) => (base.to_string(), true),
                None => (n.clone(), false),
            };
            let status = if req.needing_dcv.contains(n) { AuthzStatus::Pending } else { AuthzStatus::Valid };
            authzs.push(NewAuthz { identifier, wildcard, status: status.as_str(), token: challenge_token()? });
        }
        let status = if req.needing_dcv.is_empty() { AcmeOrderStatus::Ready } else { AcmeOrderStatus::Pending };
        let now = self.now();
        let new = NewAcmeOrder {
            account_id: req.account_id,
            identifiers: &req.names.join("\n"),
            status: status.as_str(),
            expires_at: now + req.ttl_secs,
            replaces: req.replaces,
            authzs: &authzs,
        };
        order_with_authzs(rows::create(self.db(), &new, now).await?)
    }

    /// An ACME order's state now: after finalize, that of the certgate order
    /// it placed; before, what its authorizations make it. Reading it
    /// writes nothing.
    pub async fn acme_order_state(
        &self,
        caller: &Caller,
        o: &AcmeOrder,
        authzs: &[AcmeAuthz],
    ) -> Result<AcmeOrderState> {
        let mut state = AcmeOrderState { status: o.status, certificate: None, error: o.error.clone() };
        if let Some(order_id) = o.order_id {
            let placed = self.order_by_id(caller, order_id).await?;
            state.status = match placed.status {
                Status::Delivered | Status::Revoked | Status::Expired => AcmeOrderStatus::Valid,
                Status::Failed | Status::Cancelled | Status::CancelledRefunded | Status::Discarded => {
                    AcmeOrderStatus::Invalid
                }
                _ => AcmeOrderStatus::Processing,
            };
            if state.status == AcmeOrderStatus::Valid {
                state.certificate = self.certificates_of(caller, &placed).await?.first().map(|c: &Certificate| c.id);
            }
            if state.status == AcmeOrderStatus::Invalid {
                state.error = Some(placed.failure.unwrap_or_else(|| format!("the order was {}", placed.status)));
            }
        } else if matches!(o.status, AcmeOrderStatus::Pending | AcmeOrderStatus::Ready) {
            if let Some((status, error)) = settled(authzs) {
                state.status = status;
                state.error = error.or(state.error);
            }
            // Not finalized in time (RFC 8555 §7.1.6): it can no longer be.
            if state.status != AcmeOrderStatus::Invalid && o.expires_at <= self.now() {
                state.status = AcmeOrderStatus::Invalid;
                state.error = Some("the order expired before it was finalized".into());
            }
        }
        Ok(state)
    }

    /// Finalize: places and pays the certgate order of ready ACME order
    /// `acme_order_id` and has it issued (at once when its upstream signs at
    /// once), linking the two in the order's transaction.
    pub async fn finalize_acme_order(&self, caller: &Caller, acme_order_id: i64, req: &PlaceOrder) -> Result<Placed> {
        self.place_with(caller, req, true, Some(acme_order_id)).await
    }

    /// Deactivates an authorization that is valid or pending; a pending
    /// order holding it becomes invalid with it.
    pub async fn deactivate_acme_authz(&self, caller: &Caller, authz: &AcmeAuthz) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        if !rows::deactivate_authz(&mut tx, authz.id).await? {
            return Ok(false);
        }
        // An order not yet finalized cannot be finalized without it (RFC 8555 §7.1.6).
        let why = format!("the authorization of {} was deactivated", authz.identifier);
        for from in [AcmeOrderStatus::Pending, AcmeOrderStatus::Ready] {
            let to = AcmeOrderStatus::Invalid.as_str();
            rows::move_status(&mut tx, authz.acme_order_id, from.as_str(), to, Some(&why)).await?;
        }
        audit::record(&mut tx, &caller.actor(), "acme.authz.deactivate", &authz.identifier, self.now()).await?;
        commit(tx).await?;
        Ok(true)
    }

    /// The client answered challenge `kind` of a pending authorization: it
    /// is marked as being validated and its validation is queued as a job,
    /// leased to this instance, which starts it at once. Should this
    /// instance die, another takes the job over when the lease ends.
    /// False when the authorization was not waiting for a challenge.
    pub async fn start_acme_challenge(&self, authz: &AcmeAuthz, kind: &str) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        if !rows::start_challenge(&mut tx, authz.id, kind).await? {
            return Ok(false);
        }
        let owner = self.validation_owner();
        let lease = self.leases().validation_secs;
        let job_id = jobs::enqueue_validation(&mut tx, authz.id, Some(&owner), lease, self.now()).await?;
        commit(tx).await?;
        let (orders, authz_id) = (self.clone(), authz.id);
        tokio::spawn(async move {
            if let Err(e) = orders.run_validation(job_id, authz_id, &owner).await {
                // The lease will end and a worker retry it.
                tracing::warn!(job = job_id, error = %e, "validation not recorded; a worker will retry it");
            }
        });
        Ok(true)
    }

    /// The lease owner of validations this process starts itself.
    fn validation_owner(&self) -> String {
        format!("va-{}", self.inner.instance)
    }

    /// Runs validation job `job_id` of authorization `authz_id`, leased to
    /// `owner`: checks the challenge with certgate's VA, then records the
    /// outcome, settles the authorization's order and ends the job, in one
    /// transaction. A challenge answered wrongly is an outcome, not a job
    /// failure; only a database error leaves the job to be retried.
    pub(crate) async fn run_validation(&self, job_id: i64, authz_id: i64, owner: &str) -> Result<()> {
        upstream::pause_at_failpoint("validation-started").await;
        let Some((authz, thumbprint)) = self.validation_subject(authz_id).await? else {
            let mut tx = self.db().begin().await?;
            jobs::finish(&mut tx, job_id, "done", Some("the authorization no longer waits for validation"), self.now())
                .await?;
            return Ok(commit(tx).await?);
        };
        let kind = authz.challenge_type.clone().unwrap_or_default();
        let key_authz = format!("{}.{thumbprint}", authz.token);
        let outcome = self.va().validate(&kind, &authz.identifier, &key_authz).await;
        if let Err(e) = &outcome {
            tracing::info!(authz = authz_id, challenge = %kind, error = %e, "validation failed");
        }
        let mut tx = self.db().begin().await?;
        if !jobs::held_by(&mut tx, job_id, owner).await? {
            // Another instance took the job over meanwhile; it records the outcome.
            return Ok(());
        }
        self.record_validation(&mut tx, authz_id, outcome.err().as_deref()).await?;
        jobs::finish(&mut tx, job_id, "done", None, self.now()).await?;
        Ok(commit(tx).await?)
    }

    /// Records a validation's outcome (`error` when it failed) on a
    /// challenge still being validated, and settles the authorization's
    /// order: ready when every authorization is valid, invalid when one is
    /// not. Nothing when the challenge was recorded already.
    pub(crate) async fn record_validation(
        &self,
        tx: &mut storage::Conn,
        authz_id: i64,
        error: Option<&str>,
    ) -> Result<()> {
        if !rows::finish_challenge(tx, authz_id, error, self.now()).await? {
            return Ok(());
        }
        let Some(authz) = rows::authz(tx, authz_id).await? else { return Ok(()) };
        let authzs = rows::authzs(tx, authz.acme_order_id).await?;
        let authzs = authzs.into_iter().map(AcmeAuthz::try_from).collect::<Result<Vec<_>>>()?;
        if let Some((status, error)) = settled(&authzs) {
            let (from, to) = (AcmeOrderStatus::Pending.as_str(), status.as_str());
            rows::move_status(tx, authz.acme_order_id, from, to, error.as_deref()).await?;
        }
        Ok(())
    }

    /// The authorization a validation checks, with the thumbprint of its
    /// account's key, while its challenge is being validated.
    async fn validation_subject(&self, authz_id: i64) -> Result<Option<(AcmeAuthz, String)>> {
        let mut c = self.db().acquire().await?;
        let Some(authz) = rows::authz(&mut c, authz_id).await? else { return Ok(None) };
        let authz = AcmeAuthz::try_from(authz)?;
        if authz.challenge_status != ChallengeStatus::Processing {
            return Ok(None);
        }
        let Some(order) = rows::get(&mut c, authz.acme_order_id).await? else { return Ok(None) };
        let Some(account) = acme_accounts::get(&mut c, order.account_id).await? else { return Ok(None) };
        Ok(Some((authz, account.thumbprint)))
    }

    /// The validation authority the order core checks domain control with.
    pub(crate) fn va(&self) -> &Arc<validation::Va> {
        &self.inner.va
    }
}
