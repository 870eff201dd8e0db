//! What happens to an order after it is placed: reading and listing it,
//! approval, domain validation, cancellation, revocation, reissue, renewal.

use storage::{audit, certificates, commit, jobs, orders};

use crate::names::order_names;
use crate::place::{Funds, Spec, check_request, limits};
use crate::status::serves_certificates;
use crate::{Caller, Certificate, EventKind, Order, OrderError, OrderFilter, Orders, Placed, Result, Right, Status};
use crate::{OrderQuote, Quoted};
use crate::{payment, renewal};

/// A reissue request (seed 5.3): a new CSR, and optionally new names.
#[derive(Clone, Debug, Default)]
pub struct Reissue {
    /// The new CSR as PEM (either armour), DER or bare base64.
    pub csr: Vec<u8>,
    /// The names to certify, common name first. Empty: the CSR's names.
    pub names: Vec<String>,
}

/// An order that may be renewed now.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Renewable {
    pub order_id: i64,
    /// A renewal placed now is priced as one (seed 5.7).
    pub priced_as_renewal: bool,
}

fn wrong_state(o: &Order, expected: &str) -> OrderError {
    OrderError::WrongState {
        reference: o.public_reference(),
        status: o.status.to_string(),
        expected: expected.to_string(),
    }
}

impl Orders {
    /// Reads an order of the caller's account by its reference.
    pub async fn order(&self, caller: &Caller, reference: &str) -> Result<Order> {
        caller.require(Right::Commercial).or_else(|_| caller.require(Right::Technical))?;
        self.own_order(caller, reference).await
    }

    async fn own_order(&self, caller: &Caller, reference: &str) -> Result<Order> {
        match crate::order::by_reference(&mut *self.db().acquire().await?, reference).await? {
            Some(o) if o.account_id == caller.account_id => Ok(o),
            _ => Err(OrderError::UnknownOrder(reference.to_string())),
        }
    }

    /// Reads an order of the caller's account by its id.
    pub async fn order_by_id(&self, caller: &Caller, id: i64) -> Result<Order> {
        caller.require(Right::Commercial).or_else(|_| caller.require(Right::Technical))?;
        match crate::order::get(&mut *self.db().acquire().await?, id).await? {
            Some(o) if o.account_id == caller.account_id => Ok(o),
            _ => Err(OrderError::UnknownOrder(id.to_string())),
        }
    }

    /// Reads a certificate of the caller's account by its id (not one that
    /// came for a cancelled or failed order).
    pub async fn certificate(&self, caller: &Caller, id: i64) -> Result<Certificate> {
        caller.require(Right::Commercial).or_else(|_| caller.require(Right::Technical))?;
        let mut c = self.db().acquire().await?;
        let unknown = || OrderError::UnknownOrder(format!("certificate {id}"));
        let cert = certificates::get_of_account(&mut c, id, caller.account_id).await?.ok_or_else(unknown)?;
        // Only a revoked certificate can be one nobody paid for: the others need no second read.
        if cert.revoked_at.is_some()
            && !crate::order::get(&mut c, cert.order_id).await?.is_some_and(|o| serves_certificates(o.status))
        {
            return Err(unknown());
        }
        Ok(cert.into())
    }

    /// Reads a certificate of the caller's account by its serial (hexadecimal).
    pub async fn certificate_by_serial(&self, caller: &Caller, serial: &str) -> Result<Certificate> {
        let cert = certificates::by_serial(&mut *self.db().acquire().await?, &serial.to_ascii_lowercase()).await?;
        let cert = cert.ok_or_else(|| OrderError::UnknownOrder(format!("certificate {serial}")))?;
        self.order_by_id(caller, cert.order_id).await?;
        Ok(cert.into())
    }

    /// Lists the caller's orders, newest first, with the filter's bounds.
    pub async fn list_orders(&self, caller: &Caller, filter: &OrderFilter) -> Result<Vec<Order>> {
        caller.require(Right::Commercial).or_else(|_| caller.require(Right::Technical))?;
        let filter = filter.of_account(caller.account_id);
        orders::list(&mut *self.db().acquire().await?, &filter).await?.into_iter().map(Order::try_from).collect()
    }

    /// The certificates of an order, oldest first.
    pub async fn certificates(&self, caller: &Caller, reference: &str) -> Result<Vec<Certificate>> {
        let o = self.order(caller, reference).await?;
        self.certificates_of(caller, &o).await
    }

    /// The certificates of an order already read (first issued first); none
    /// for an order that was cancelled or failed, whose late certificate is
    /// revoked, never served.
    pub async fn certificates_of(&self, caller: &Caller, order: &Order) -> Result<Vec<Certificate>> {
        if order.account_id != caller.account_id {
            return Err(OrderError::UnknownOrder(order.id.to_string()));
        }
        if !serves_certificates(order.status) {
            return Ok(Vec::new());
        }
        let certs = certificates::for_order(&mut *self.db().acquire().await?, order.id).await?;
        Ok(certs.into_iter().map(Certificate::from).collect())
    }

    /// What approving an order waiting for approval would charge now,
    /// writing nothing: the approver pays at today's prices. Refused when
    /// the account cannot pay it, as the approval would be, but for an
    /// automatic renewal, which waits for funds once approved.
    pub async fn quote_approval(&self, caller: &Caller, reference: &str) -> Result<Quoted> {
        caller.require(Right::Approval)?;
        let o = self.own_order(caller, reference).await?;
        if o.status != Status::PendingApproval {
            return Err(wrong_state(&o, Status::PendingApproval.as_str()));
        }
        let ctx = self.order_context(caller.account_id, o.organisation_id, &o.product_code).await?;
        let mut c = self.db().acquire().await?;
        let q = self.held_quote(&mut c, &ctx.account, &o, &ctx.product).await?;
        if o.created_by != crate::AUTOMATIC_RENEWAL {
            payment::check_funds(&mut c, &ctx.account, &q, &o.product_code, &ctx.balances).await?;
        }
        Ok(Quoted::of(&q))
    }

    /// Approves an order waiting for approval: it is charged and goes on.
    /// With `quoted` ([`Orders::quote_approval`]), only if it costs and is
    /// paid as quoted.
    pub async fn approve(&self, caller: &Caller, reference: &str, quoted: Option<&Quoted>) -> Result<Order> {
        caller.require(Right::Approval)?;
        let o = self.own_order(caller, reference).await?;
        if o.status != Status::PendingApproval {
            return Err(wrong_state(&o, Status::PendingApproval.as_str()));
        }
        let needs_dcv = !self.names_needing_dcv(o.organisation_id, &order_names(&o)).await?.is_empty();
        let next = if needs_dcv { Status::WaitingDcv } else { Status::Processing };
        let product = self.product(&o.product_code).await?;
        let mut tx = self.db().begin().await?;
        let paid = self.pay_held(&mut tx, &o, &product, (Status::PendingApproval, next), quoted, &caller.login).await;
        let next = match paid {
            Ok(()) => next,
            // An automatic renewal, approved, waits for funds as it would have
            // without approval mode.
            Err(e @ (OrderError::InsufficientTokens { .. } | OrderError::InsufficientDeposit { .. }))
                if o.created_by == crate::AUTOMATIC_RENEWAL =>
            {
                drop(tx);
                tx = self.db().begin().await?;
                self.check_waiting_room(&mut tx, o.account_id).await?;
                self.transition(&mut tx, &o, Status::PendingApproval, Status::WaitingFunds).await?;
                let held = Order { status: Status::WaitingFunds, ..o.clone() };
                let data = serde_json::json!({"reason": e.to_string()});
                crate::events::emit(
                    &mut tx,
                    EventKind::WaitingFunds,
                    o.account_id,
                    Some(&held),
                    data,
                    None,
                    self.now(),
                )
                .await?;
                Status::WaitingFunds
            }
            Err(e) => return Err(e),
        };
        audit::record(&mut tx, &caller.actor(), "order.approve", &reference_and(&o, next.as_str()), self.now()).await?;
        commit(tx).await?;
        self.wake_workers();
        self.order(caller, reference).await
    }

    /// Rejects an order waiting for approval; nothing was charged.
    pub async fn reject(&self, caller: &Caller, reference: &str) -> Result<Order> {
        caller.require(Right::Approval)?;
        let o = self.own_order(caller, reference).await?;
        let mut tx = self.db().begin().await?;
        self.transition(&mut tx, &o, Status::PendingApproval, Status::Discarded).await?;
        audit::record(&mut tx, &caller.actor(), "order.reject", &o.public_reference(), self.now()).await?;
        commit(tx).await?;
        self.order(caller, reference).await
    }

    /// Marks the names of an order waiting for DCV as validated without
    /// checking them, and queues its issuance: the operator's override.
    /// Customers go through [`Orders::check_dcv`].
    pub async fn complete_dcv(&self, caller: &Caller, reference: &str) -> Result<Order> {
        if caller.source != crate::Source::Cli {
            return Err(OrderError::Forbidden(Right::Technical));
        }
        self.dcv_proven(caller, reference).await
    }

    /// An order waiting for DCV whose names were proven goes on to issuance.
    pub(crate) async fn dcv_proven(&self, caller: &Caller, reference: &str) -> Result<Order> {
        caller.require(Right::Technical)?;
        let o = self.own_order(caller, reference).await?;
        let mut tx = self.db().begin().await?;
        self.transition(&mut tx, &o, Status::WaitingDcv, Status::Processing).await?;
        jobs::enqueue(&mut tx, crate::JobKind::Issue.as_str(), o.id, None, self.now()).await?;
        audit::record(&mut tx, &caller.actor(), "order.dcv", &o.public_reference(), self.now()).await?;
        commit(tx).await?;
        self.wake_workers();
        self.order(caller, reference).await
    }

    /// Cancels an order before its certificate is bought (seed 6.6.4;
    /// docs/billing.md, "Money"). What was charged is refunded, but only while no worker has
    /// started buying the certificate upstream: after that the cancel is
    /// refused, since the CA may still deliver a certificate the customer
    /// would keep. Cancelling a reissue, which was never paid, stops it and
    /// puts the order back to `delivered` with its current certificate.
    pub async fn cancel(&self, caller: &Caller, reference: &str) -> Result<Order> {
        caller.require(Right::Technical)?;
        let o = self.own_order(caller, reference).await?;
        let from = o.status;
        let mut tx = self.db().begin().await?;
        // A reissue is an order processing again with the certificate it keeps.
        let reissue = from == Status::Processing && self.kept_certificate(&mut tx, o.id).await?;
        let action = match from {
            // Nothing was charged yet.
            Status::PendingApproval | Status::WaitingFunds | Status::WaitingCsr => {
                self.transition(&mut tx, &o, from, Status::Cancelled).await?;
                "order.cancel"
            }
            Status::Processing if reissue => {
                self.transition(&mut tx, &o, from, Status::Delivered).await?;
                "order.cancel_reissue"
            }
            Status::WaitingDcv | Status::Processing => {
                if !orders::cancel_before_purchase(&mut tx, o.id, from.as_str(), self.now()).await? {
                    let now = crate::order::get(&mut tx, o.id).await?;
                    return Err(match now {
                        Some(n) if n.status == o.status && n.purchase_started_at.is_some() => {
                            OrderError::PurchaseStarted(o.public_reference())
                        }
                        n => OrderError::WrongState {
                            reference: o.public_reference(),
                            status: n.map_or(o.status, |n| n.status).to_string(),
                            expected: from.as_str().into(),
                        },
                    });
                }
                payment::refund(&mut tx, o.id, &caller.login, "cancelled", self.now()).await?;
                let data = serde_json::json!({"by": caller.login});
                let refunded = Order { status: Status::CancelledRefunded, ..o.clone() };
                crate::events::emit(
                    &mut tx,
                    EventKind::OrderRefunded,
                    o.account_id,
                    Some(&refunded),
                    data,
                    None,
                    self.now(),
                )
                .await?;
                "order.cancel"
            }
            _ => {
                return Err(wrong_state(&o, "pending_approval, waiting_funds, waiting_csr, waiting_dcv or processing"));
            }
        };
        audit::record(&mut tx, &caller.actor(), action, &o.public_reference(), self.now()).await?;
        commit(tx).await?;
        if matches!(from, Status::WaitingDcv | Status::Processing) && !reissue {
            // What was refunded may pay an order that waits for it.
            if let Err(e) = self.pay_waiting(caller.account_id, &caller.login).await {
                tracing::warn!(account = caller.account_id, error = %e, "orders waiting for funds are left to the sweep");
            }
        }
        self.order(caller, reference).await
    }

    /// For an order being reissued: puts back the names and the CSR of the
    /// certificate it keeps (the reissue had replaced them) and returns true;
    /// false when the order has no certificate yet (its first issuance).
    pub(crate) async fn kept_certificate(&self, tx: &mut storage::Conn, order_id: i64) -> Result<bool> {
        let certs = certificates::for_order(tx, order_id).await?;
        let Some(kept) = certs.iter().rev().find(|c| c.revoked_at.is_none()).or(certs.last()) else {
            return Ok(false);
        };
        swap_to_certificate(tx, order_id, &kept.cn, &kept.leaf_pem, self.now()).await?;
        Ok(true)
    }

    /// Revokes the certificate of an order (the latest one, or the one with
    /// `serial`): final, without refund. The upstream is told by a job.
    pub async fn revoke(&self, caller: &Caller, reference: &str, serial: Option<&str>, reason: i64) -> Result<Order> {
        caller.require(Right::Technical)?;
        check_revocation_reason(reason)?;
        let o = self.own_order(caller, reference).await?;
        let certs = certificates::for_order(&mut *self.db().acquire().await?, o.id).await?;
        let cert = match serial {
            Some(s) => certs.iter().find(|c| c.serial.eq_ignore_ascii_case(s)),
            None => certs.iter().rev().find(|c| c.revoked_at.is_none()).or(certs.last()),
        };
        let Some(cert) = cert else {
            return Err(wrong_state(&o, "delivered"));
        };
        let mut tx = self.db().begin().await?;
        if !certificates::mark_revoked(&mut tx, cert.id, reason, self.now()).await? {
            return Err(OrderError::AlreadyRevoked);
        }
        jobs::enqueue(&mut tx, crate::JobKind::Revoke.as_str(), o.id, Some(cert.id), self.now()).await?;
        let others_valid = certs.iter().any(|c| c.id != cert.id && c.revoked_at.is_none());
        if !others_valid && o.status == Status::Delivered {
            self.transition(&mut tx, &o, Status::Delivered, Status::Revoked).await?;
        }
        audit::record(
            &mut tx,
            &caller.actor(),
            "order.revoke",
            &format!("{} serial {} reason {reason}", o.public_reference(), cert.serial),
            self.now(),
        )
        .await?;
        commit(tx).await?;
        self.wake_workers();
        self.order(caller, reference).await
    }

    /// Reissues a delivered order's certificate with a new CSR, without
    /// payment (seed 5.3). The old certificate is revoked some days after
    /// the new one is delivered, or at once when the common name changes.
    pub async fn reissue(&self, caller: &Caller, reference: &str, req: &Reissue) -> Result<Order> {
        caller.require(Right::Technical)?;
        let o = self.own_order(caller, reference).await?;
        if o.status == Status::WaitingCsr {
            // A legacy client gives a renewal its new CSR the way it reissues.
            return self.provide_csr(caller, reference, &req.csr).await;
        }
        if o.status != Status::Delivered {
            return Err(wrong_state(&o, Status::Delivered.as_str()));
        }
        let product = self.product(&o.product_code).await?;
        let checked = check_request(&req.csr, &req.names, &product)?;
        let paid = order_names(&o);
        let paid_wild = paid[1..].iter().filter(|n| n.starts_with("*.")).count() as i64;
        if checked.wildcard_sans > paid_wild || checked.plain_sans > paid.len() as i64 - 1 - paid_wild {
            return Err(OrderError::Invalid("a reissue cannot add paid names; place a new order for them".into()));
        }
        if !self.names_needing_dcv(o.organisation_id, &checked.names).await?.is_empty() {
            return Err(OrderError::Invalid("a reissue can only name pre-validated domains".into()));
        }
        let mut tx = self.db().begin().await?;
        self.transition(&mut tx, &o, Status::Delivered, Status::Processing).await?;
        orders::update_request(
            &mut tx,
            o.id,
            &checked.names[0],
            &checked.names[1..].join("\n"),
            &checked.csr.pem(),
            self.now(),
        )
        .await?;
        jobs::enqueue(&mut tx, crate::JobKind::Issue.as_str(), o.id, None, self.now()).await?;
        audit::record(
            &mut tx,
            &caller.actor(),
            "order.reissue",
            &format!("{} {}", o.public_reference(), checked.names[0]),
            self.now(),
        )
        .await?;
        commit(tx).await?;
        self.wake_workers();
        self.order(caller, reference).await
    }

    /// `Some` when order `id` of the caller's account has a valid
    /// certificate inside its renewal window now (from 90 days before expiry
    /// to 30 days after); `None` when it exists but is outside the window.
    pub(crate) async fn renewable(&self, caller: &Caller, id: i64) -> Result<Option<Renewable>> {
        let o = self.order_by_id(caller, id).await?;
        self.renewable_order(&o).await
    }

    /// As [`Orders::renewable`], for an order already read.
    async fn renewable_order(&self, o: &Order) -> Result<Option<Renewable>> {
        let certs = certificates::for_order(&mut *self.db().acquire().await?, o.id).await?;
        let now = self.now();
        Ok(certs
            .iter()
            .rev()
            .find(|c| c.revoked_at.is_none())
            .filter(|c| renewal::may_renew(c.not_after, now))
            .map(|c| Renewable { order_id: o.id, priced_as_renewal: renewal::priced_as_renewal(c.not_after, now) }))
    }

    /// Whether order `o`, a renewal, is priced as one: it was placed 60 to
    /// 90 days before the certificate it renews expires (seed 5.7).
    /// Refuses it once the renewal window of the certificate it renews has
    /// closed (30 days after expiry): it can no longer be paid.
    pub(crate) async fn renewal_priced(&self, c: &mut storage::Conn, o: &Order) -> Result<bool> {
        let Some(renewed) = o.renewal_of else { return Ok(false) };
        // The newest certificate, revoked or not: a customer who revoked the
        // old one after the renewal was placed keeps the renewal's price.
        let certs = certificates::for_order(c, renewed).await?;
        let Some(last) = certs.iter().max_by_key(|c| c.not_after) else { return Ok(false) };
        if last.not_after + renewal::CLOSES_AFTER_EXPIRY < self.now() {
            return Err(OrderError::OutsideRenewalWindow(o.public_reference()));
        }
        Ok(renewal::priced_as_renewal(last.not_after, o.created_at))
    }

    /// Renews a delivered order (seed 5.2): a new order for the same product,
    /// organisation and names, from 90 days before expiry to 30 days after.
    /// Without a CSR the previous one is used again. With `quoted`, the
    /// renewal is refused unless it costs and is paid as quoted.
    pub async fn renew(
        &self,
        caller: &Caller,
        reference: &str,
        csr: Option<&[u8]>,
        client_ref: Option<&str>,
        quoted: Option<&Quoted>,
    ) -> Result<Placed> {
        caller.require(Right::Technical)?;
        let o = self.own_order(caller, reference).await?;
        self.renew_order(caller, &o, csr, client_ref, quoted, false).await
    }

    /// What renewing the order now would cost and how it would be paid,
    /// writing nothing; refused outside the renewal window or when it
    /// cannot be paid. It prices only: the CAA lookups and CSR checks are
    /// the renewal's own, so a page that shows the price stays fast.
    pub async fn quote_renewal(&self, caller: &Caller, reference: &str) -> Result<OrderQuote> {
        caller.require(Right::Technical)?;
        let o = self.own_order(caller, reference).await?;
        let Some(renewable) = self.renewable_order(&o).await? else {
            return Err(OrderError::OutsideRenewalWindow(o.public_reference()));
        };
        let ctx = self.order_context(caller.account_id, o.organisation_id, &o.product_code).await?;
        ctx.check_prevalidation()?;
        if orders::renewed(&mut *self.db().acquire().await?, o.id).await? {
            return Err(OrderError::AlreadyRenewed(o.id.to_string()));
        }
        let names = order_names(&o);
        let sans = limits(&names, &ctx.product)?;
        let mut quote = self.quote_names(caller, &ctx, names, sans, renewable.priced_as_renewal).await?;
        quote.new_key_required = !ctx.product.key_reuse;
        Ok(quote)
    }

    /// Renews order `o` of the caller's account, as [`Orders::renew`]. An
    /// `automatic` renewal waits for funds rather than fail, and for a new
    /// CSR when the product does not allow the key to be reused.
    pub(crate) async fn renew_order(
        &self,
        caller: &Caller,
        o: &Order,
        csr: Option<&[u8]>,
        client_ref: Option<&str>,
        quoted: Option<&Quoted>,
        automatic: bool,
    ) -> Result<Placed> {
        let certs = certificates::for_order(&mut *self.db().acquire().await?, o.id).await?;
        let Some(last) = certs.iter().rev().find(|c| c.revoked_at.is_none()) else {
            return Err(wrong_state(o, "delivered, with a valid certificate"));
        };
        let now = self.now();
        if !renewal::may_renew(last.not_after, now) {
            return Err(OrderError::OutsideRenewalWindow(o.public_reference()));
        }
        let ctx = self.order_context(caller.account_id, o.organisation_id, &o.product_code).await?;
        let awaits_csr = !ctx.product.key_reuse && csr.is_none() && automatic;
        if !ctx.product.key_reuse && !awaits_csr {
            let Some(csr) = csr else {
                return Err(OrderError::Invalid(format!(
                    "product {} does not allow a key to be reused: renew it with a new CSR",
                    ctx.product.code
                )));
            };
            check_new_key(o, csr, &ctx.product.code)?;
        }
        let checked = check_request(csr.unwrap_or(o.csr_pem.as_bytes()), &order_names(o), &ctx.product)?;
        ctx.check_prevalidation()?;
        self.check_caa(&ctx.product.upstream, &checked.names).await?;
        let needs_dcv = !self.names_needing_dcv(o.organisation_id, &checked.names).await?.is_empty();
        let spec = Spec {
            kind: "renewal",
            renewal_of: Some(o.id),
            renewal_priced: renewal::priced_as_renewal(last.not_after, now),
            funds: if automatic { Funds::MayWait } else { Funds::Required },
            unpaid_because: None,
            awaits_csr,
            client_ref,
            idempotency_key: None,
            retry_window: false,
            needs_dcv,
            issue_now: false,
            acme_order: None,
            quoted,
        };
        self.record(caller, o.organisation_id, &ctx, &checked, &spec).await
    }

    /// Moves an order between statuses inside a transaction; refuses when a
    /// concurrent operation moved it first.
    pub(crate) async fn transition(&self, tx: &mut storage::Conn, o: &Order, from: Status, to: Status) -> Result<()> {
        if orders::transition(tx, o.id, from.as_str(), to.as_str(), self.now()).await? {
            Ok(())
        } else {
            let current = crate::order::get(tx, o.id).await?.map_or(o.status, |x| x.status).to_string();
            Err(OrderError::WrongState {
                reference: o.public_reference(),
                status: current,
                expected: from.as_str().into(),
            })
        }
    }
}

/// Sets order `order_id`'s names to those of the certificate `leaf_pem` (of
/// common name `cn`), and swaps its CSR with the one it had before.
pub(crate) async fn swap_to_certificate(
    tx: &mut storage::Conn,
    order_id: i64,
    cn: &str,
    leaf_pem: &str,
    now: i64,
) -> Result<()> {
    let names = crate::csr::certificate_names(leaf_pem).unwrap_or_else(|| vec![cn.to_string()]);
    let sans: Vec<&str> = names.iter().map(String::as_str).filter(|n| *n != cn).collect();
    orders::swap_request(tx, order_id, cn, &sans.join("\n"), now).await?;
    Ok(())
}

/// Refuses a CSR for order `o` of a product that does not allow a key to be
/// reused, when its key is the one of the order's CSR.
pub(crate) fn check_new_key(o: &Order, csr: &[u8], product: &str) -> Result<()> {
    let new = crate::csr::Csr::parse(csr)?;
    let old = crate::csr::Csr::parse(o.csr_pem.as_bytes())?;
    if new.public_key_der == old.public_key_der {
        return Err(OrderError::Invalid(format!("product {product} does not allow a key to be reused: use a new key")));
    }
    Ok(())
}

/// Refuses an RFC 5280 reason code that a certificate cannot be revoked
/// for: outside 0-10, 7 (unassigned), and 8 (removeFromCRL, which only takes
/// an entry off a delta CRL).
pub fn check_revocation_reason(reason: i64) -> Result<()> {
    if !(0..=10).contains(&reason) || reason == 7 || reason == 8 {
        return Err(OrderError::BadRevocationReason(reason));
    }
    Ok(())
}

fn reference_and(o: &Order, what: &str) -> String {
    format!("{} {what}", o.public_reference())
}
