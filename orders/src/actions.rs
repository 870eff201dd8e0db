//! What can be done to an order now (seed 6.6): the actions its status and
//! the caller's rights allow, decided here so that every front offers the
//! same ones, and the order with everything a page about it shows.

use crate::{Caller, Certificate, Dcv, Order, Orders, Result, Right, Source, Status, renewal};

/// An action on an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Approve an order placed without the approval right (it is charged).
    Approve,
    /// Reject it (nothing was charged).
    Reject,
    /// Cancel it, with a refund when it was charged.
    Cancel,
    /// Have certgate look for the published DCV token now.
    CheckDcv,
    /// Order its renewal.
    Renew,
    /// Reissue it with a new CSR (or give the CSR an automatic renewal waits for).
    Reissue,
    /// Revoke its certificate, with a reason.
    Revoke,
    /// Switch its automatic renewal on or off.
    AutoRenew,
}

/// An order with what a page about it shows: its certificates (first
/// issued first), what to publish when it waits for DCV, and the actions
/// open to the caller.
#[derive(Clone, Debug)]
pub struct OrderDetail {
    /// The order.
    pub order: Order,
    /// Every certificate it was issued, reissues included.
    pub certificates: Vec<Certificate>,
    /// What to publish, while it waits for domain control validation.
    pub dcv: Option<Dcv>,
    /// The actions the caller may take now.
    pub actions: Vec<Action>,
}

impl Orders {
    /// Reads an order of the caller's account with its certificates, its
    /// DCV and the actions open to the caller.
    pub async fn order_detail(&self, caller: &Caller, reference: &str) -> Result<OrderDetail> {
        let order = self.order(caller, reference).await?;
        let certificates = self.certificates_of(caller, &order).await?;
        let dcv = if order.status == Status::WaitingDcv && caller.rights.has(Right::Technical) {
            Some(self.dcv_of(&order, reference).await?)
        } else {
            None
        };
        let actions = actions(caller, &order, &certificates, self.now());
        Ok(OrderDetail { order, certificates, dcv, actions })
    }
}

/// The actions `caller` may take on `o`, whose certificates are `certs`, at `now`.
pub fn actions(caller: &Caller, o: &Order, certs: &[Certificate], now: i64) -> Vec<Action> {
    let mut out = Vec::new();
    if o.status == Status::PendingApproval && caller.rights.has(Right::Approval) {
        out.extend([Action::Approve, Action::Reject]);
    }
    if !caller.rights.has(Right::Technical) {
        return out;
    }
    let valid = certs.iter().rev().find(|c| c.revoked_at.is_none());
    match o.status {
        Status::PendingApproval | Status::WaitingFunds => out.push(Action::Cancel),
        Status::WaitingCsr => out.extend([Action::Reissue, Action::Cancel]),
        Status::WaitingDcv => out.extend([Action::CheckDcv, Action::Cancel]),
        // Once the purchase has started upstream the order can no longer be cancelled.
        Status::Processing if o.purchase_started_at.is_none() => out.push(Action::Cancel),
        Status::Delivered => out.extend([Action::Reissue, Action::Revoke]),
        _ => {}
    }
    if matches!(o.status, Status::Delivered | Status::Expired) {
        if valid.is_some_and(|c| renewal::may_renew(c.not_after, now)) {
            out.push(Action::Renew);
        }
        // An ACME client renews its own certificates.
        if o.source != Source::Acme.as_str() {
            out.push(Action::AutoRenew);
        }
    }
    out
}
