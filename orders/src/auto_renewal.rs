//! Automatic renewal (seed 5.7; docs/lifecycle.md): switching it on or off
//! per order and as an account's default, the list of certificates with
//! their renewal date, and the job that places a renewal when its date comes.

use storage::{accounts, audit, commit, jobs, orders};

use crate::renewal::{self, AUTOMATIC_BEFORE_EXPIRY, CLOSES_AFTER_EXPIRY};
use crate::{Caller, JobKind, Order, OrderError, Orders, Result, Right, Rights, Source, Status};

/// The login that automatic renewals are placed and audited under.
pub const AUTOMATIC_RENEWAL: &str = "automatic-renewal";

/// A delivered certificate as the automatic renewal list shows it.
#[derive(Clone, Debug)]
pub struct AutoRenewal {
    /// The order that delivered it.
    pub order: Order,
    /// When the certificate expires (UTC Unix seconds).
    pub not_after: i64,
    /// When its renewal is placed (UTC Unix seconds); `None` when renewal
    /// is manual. A date already past means within a day.
    pub renews_at: Option<i64>,
    /// Whether a renewal of it was already placed (and not cancelled).
    pub renewed: bool,
}

impl AutoRenewal {
    fn from(v: orders::Validity) -> Result<AutoRenewal> {
        let order = Order::try_from(v.order)?;
        let renews_at = order.auto_renew.then(|| renewal::automatic_renewal_at(v.not_before, v.not_after));
        Ok(AutoRenewal { order, not_after: v.not_after, renews_at, renewed: v.renewed })
    }
}

/// The key of the job that renews order `order_id`'s certificate ending at
/// `not_after`: one automatic renewal per certificate.
pub(crate) fn renew_key(order_id: i64, not_after: i64) -> String {
    format!("renew:{order_id}:{not_after}")
}

/// How long a sweep pages through candidates.
const PAGE: i64 = 500;

impl Orders {
    /// The caller's delivered certificates that expire within `days`,
    /// soonest first, with their end (at most `limit`, up to 500).
    pub async fn expiring(&self, caller: &Caller, days: i64, limit: i64) -> Result<Vec<(Order, i64)>> {
        caller.require(Right::Commercial).or_else(|_| caller.require(Right::Technical))?;
        let now = self.now();
        let mut c = self.db().acquire().await?;
        let rows =
            storage::orders::validities(&mut c, caller.account_id, now, now + days * 86_400, limit.clamp(1, 500))
                .await?;
        rows.into_iter().map(|v| Ok((Order::try_from(v.order)?, v.not_after))).collect()
    }

    /// The caller's certificates that can renew: delivered or expired less
    /// than 30 days ago, not through ACME (whose client renews), soonest to
    /// expire first, with their renewal date or none ("manual").
    pub async fn auto_renewals(&self, caller: &Caller) -> Result<Vec<AutoRenewal>> {
        caller.require(Right::Commercial).or_else(|_| caller.require(Right::Technical))?;
        let from = self.now() - CLOSES_AFTER_EXPIRY;
        let rows = orders::validities(&mut *self.db().acquire().await?, caller.account_id, from, 0, 10_000).await?;
        rows.into_iter().filter(|v| v.order.source != Source::Acme.as_str()).map(AutoRenewal::from).collect()
    }

    /// Switches automatic renewal on or off for the caller's orders named by
    /// `references`, all or none: an order that is not delivered or expired,
    /// or came through ACME, refuses the whole call.
    pub async fn set_auto_renew(&self, caller: &Caller, references: &[String], on: bool) -> Result<Vec<AutoRenewal>> {
        caller.require(Right::Technical)?;
        if references.is_empty() || references.len() > 1000 {
            return Err(OrderError::Invalid("name between 1 and 1000 orders".into()));
        }
        let mut ids = Vec::with_capacity(references.len());
        for r in references {
            let o = self.order(caller, r).await?;
            if o.source == Source::Acme.as_str() {
                return Err(OrderError::Invalid(format!(
                    "order {r} came through ACME: its client renews it (ACME Renewal Information)"
                )));
            }
            ids.push(o.id);
        }
        let mut tx = self.db().begin().await?;
        for (id, r) in ids.iter().zip(references) {
            if !orders::set_auto_renew(&mut tx, caller.account_id, *id, on).await? {
                let now = crate::order::get(&mut tx, *id).await?.map(|o| o.status.to_string()).unwrap_or_default();
                return Err(OrderError::WrongState {
                    reference: r.clone(),
                    status: now,
                    expected: "delivered or expired".into(),
                });
            }
        }
        let detail = format!("{} {}", if on { "on" } else { "off" }, references.join(" "));
        audit::record(&mut tx, &caller.actor(), "order.auto_renew", &detail, self.now()).await?;
        commit(tx).await?;
        let all = self.auto_renewals(caller).await?;
        Ok(all.into_iter().filter(|a| ids.contains(&a.order.id)).collect())
    }

    /// Sets whether the caller's account's new orders renew automatically.
    pub async fn set_auto_renew_default(&self, caller: &Caller, on: bool) -> Result<()> {
        caller.require(Right::Administrative)?;
        let mut tx = self.db().begin().await?;
        if !accounts::set_auto_renew_default(&mut tx, caller.account_id, on).await? {
            return Err(OrderError::UnknownAccount(caller.account_id));
        }
        let detail = if on { "on" } else { "off" };
        audit::record(&mut tx, &caller.actor(), "account.auto_renew_default", detail, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Queues a renewal job for every order whose automatic renewal is due
    /// at `now` and not placed yet. A job's key names the order and the
    /// certificate it renews, so that one certificate is renewed
    /// automatically once, however many sweeps see it; returns how many
    /// were queued.
    pub(crate) async fn queue_due_renewals(&self, now: i64) -> Result<usize> {
        let (from, until) = (now - CLOSES_AFTER_EXPIRY, now + AUTOMATIC_BEFORE_EXPIRY);
        let mut queued = 0;
        let mut after = 0;
        loop {
            let mut c = self.db().acquire().await?;
            let page = orders::ending_between(&mut c, Some(true), from, until, after, PAGE).await?;
            drop(c);
            let Some(last) = page.last() else { break };
            after = last.order.id;
            let due: Vec<_> = page
                .iter()
                .filter(|v| !v.renewed && renewal::automatic_renewal_at(v.not_before, v.not_after) <= now)
                .collect();
            if !due.is_empty() {
                let mut tx = self.db().begin().await?;
                for v in due {
                    let key = renew_key(v.order.id, v.not_after);
                    let kind = JobKind::Renew.as_str();
                    if jobs::enqueue_once(&mut tx, kind, Some(v.order.id), &key, now, now).await?.is_some() {
                        queued += 1;
                    }
                }
                commit(tx).await?;
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        if queued > 0 {
            self.wake_workers();
        }
        Ok(queued)
    }

    /// The renewal job: places the automatic renewal of order `order_id` as
    /// a renewal by hand would be, waiting for funds when the account cannot
    /// pay. `Ok(Err(why))` when there is nothing to place, for good (the
    /// order was switched off, renewed by hand, or cannot be renewed).
    pub(crate) async fn renew_automatically(&self, order_id: i64) -> Result<Result<String, String>> {
        let o = crate::order::get(&mut *self.db().acquire().await?, order_id).await?;
        let Some(o) = o else { return Ok(Err(format!("order {order_id} is gone"))) };
        if !o.auto_renew {
            return Ok(Ok("skipped: automatic renewal was switched off".into()));
        }
        if !matches!(o.status, Status::Delivered | Status::Expired) {
            return Ok(Ok(format!("skipped: the order is {}", o.status)));
        }
        let Some(source) = [Source::Xmlrpc, Source::Cli, Source::Portal].into_iter().find(|s| s.as_str() == o.source)
        else {
            return Ok(Ok("skipped: an ACME order is renewed by its client".into()));
        };
        let caller = Caller {
            account_id: o.account_id,
            login: AUTOMATIC_RENEWAL.into(),
            rights: Rights::from_iter([Right::Technical]),
            ip: "local".into(),
            source,
            call: None,
        };
        match self.renew_order(&caller, &o, None, None, None, true).await {
            Ok(placed) => {
                let r = placed.order.reference.unwrap_or_default();
                tracing::info!(order = order_id, renewal = %r, status = %placed.order.status, "automatic renewal placed");
                Ok(Ok(format!("placed {r} ({})", placed.order.status)))
            }
            Err(OrderError::AlreadyRenewed(_)) => Ok(Ok("skipped: already renewed".into())),
            Err(e @ OrderError::Storage(_)) => Err(e),
            Err(e) => {
                // For good: the customer, who counts on it, is told.
                let why = e.to_string();
                let certs = storage::certificates::for_order(&mut *self.db().acquire().await?, o.id).await?;
                let not_after = certs.iter().map(|c| c.not_after).max().unwrap_or_default();
                let data = serde_json::json!({"reason": why, "not_after": crate::iso(not_after)});
                let mut tx = self.db().begin().await?;
                crate::events::emit(
                    &mut tx,
                    crate::EventKind::RenewalFailed,
                    o.account_id,
                    Some(&o),
                    data,
                    None,
                    self.now(),
                )
                .await?;
                commit(tx).await?;
                Ok(Err(why))
            }
        }
    }
}

impl Orders {
    /// Gives an automatic renewal waiting for a new CSR (its product does
    /// not allow a key to be reused) its CSR, for the order's names and with
    /// a new key; the order then goes on as any order: to an approver, or
    /// paid (waiting for funds when the account cannot pay) and issued.
    pub async fn provide_csr(&self, caller: &Caller, reference: &str, csr: &[u8]) -> Result<Order> {
        caller.require(Right::Technical)?;
        let o = self.order(caller, reference).await?;
        if o.status != Status::WaitingCsr {
            return Err(OrderError::WrongState {
                reference: reference.to_string(),
                status: o.status.to_string(),
                expected: Status::WaitingCsr.as_str().into(),
            });
        }
        let product = self.product(&o.product_code).await?;
        crate::lifecycle::check_new_key(&o, csr, &product.code)?;
        let checked = crate::place::check_request(csr, &crate::names::order_names(&o), &product)?;
        self.check_caa(&product.upstream, &checked.names).await?;
        let account = self.account(caller.account_id).await?;
        let next = if account.approval_mode && !caller.rights.has(Right::Approval) {
            Status::PendingApproval
        } else if self.names_needing_dcv(o.organisation_id, &checked.names).await?.is_empty() {
            Status::Processing
        } else {
            Status::WaitingDcv
        };
        let given = CsrGiven { order: &o, product: &product, checked: &checked, next };
        match self.record_csr(caller, &given, false).await {
            Err(OrderError::InsufficientTokens { .. } | OrderError::InsufficientDeposit { .. }) => {
                self.record_csr(caller, &given, true).await?
            }
            other => other?,
        }
        self.wake_workers();
        self.order(caller, reference).await
    }

    /// Records the CSR of `given` and moves its order on, in one
    /// transaction: unpaid to `waiting_funds` when `hold`, else paid to
    /// its next status (or to an approver, unpaid).
    async fn record_csr(&self, caller: &Caller, given: &CsrGiven<'_>, hold: bool) -> Result<()> {
        let (o, checked) = (given.order, given.checked);
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let sans = checked.names[1..].join("\n");
        orders::update_request(&mut tx, o.id, &checked.names[0], &sans, &checked.csr.pem(), now).await?;
        // Unpaid, it waits for funds (the waiting count stays the same) or for
        // an approver, and the account is told; paid, `pay_held` moves it on.
        let unpaid = match (hold, given.next) {
            (true, _) => Some((Status::WaitingFunds, crate::EventKind::WaitingFunds)),
            (false, Status::PendingApproval) => Some((Status::PendingApproval, crate::EventKind::WaitingApproval)),
            (false, _) => None,
        };
        let status = unpaid.map_or(given.next, |(status, _)| status);
        if let Some((status, kind)) = unpaid {
            self.transition(&mut tx, o, Status::WaitingCsr, status).await?;
            let moved = Order { status, ..o.clone() };
            let data = serde_json::json!({"reason": "the account cannot pay it yet", "created_by": o.created_by});
            crate::events::emit(&mut tx, kind, o.account_id, Some(&moved), data, None, now).await?;
        } else {
            self.pay_held(&mut tx, o, given.product, (Status::WaitingCsr, status), None, &caller.login).await?;
        }
        let detail = format!("{} {status}", o.public_reference());
        audit::record(&mut tx, &caller.actor(), "order.csr", &detail, now).await?;
        commit(tx).await?;
        Ok(())
    }
}

/// A CSR given to an order waiting for one, checked, and where the order goes next.
struct CsrGiven<'a> {
    order: &'a Order,
    product: &'a crate::Product,
    checked: &'a crate::place::Checked,
    next: Status,
}
