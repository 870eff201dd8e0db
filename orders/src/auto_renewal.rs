//! Automatic renewal (seed 5.7; docs/lifecycle.md): switching it on or off
//! per order and as an account's default, the list of certificates with
//! their renewal date, and the job that places a renewal when its date comes.

use storage::{accounts, audit, commit, jobs, orders};

use crate::place::Funds;
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

/// How long a sweep pages through candidates.
const PAGE: i64 = 500;

impl Orders {
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
            let page = orders::ending_between(&mut c, true, from, until, after, PAGE).await?;
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
                    let key = format!("renew:{}:{}", v.order.id, v.not_after);
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
        let Some(source) = [Source::Xmlrpc, Source::Cli].into_iter().find(|s| s.as_str() == o.source) else {
            return Ok(Ok("skipped: an ACME order is renewed by its client".into()));
        };
        let caller = Caller {
            account_id: o.account_id,
            login: AUTOMATIC_RENEWAL.into(),
            rights: Rights::from_iter([Right::Technical, Right::Commercial]),
            ip: "local".into(),
            source,
            call: None,
        };
        match self.renew_order(&caller, &o, None, None, Funds::MayWait).await {
            Ok(placed) => {
                let r = placed.order.reference.unwrap_or_default();
                tracing::info!(order = order_id, renewal = %r, status = %placed.order.status, "automatic renewal placed");
                Ok(Ok(format!("placed {r} ({})", placed.order.status)))
            }
            Err(OrderError::AlreadyRenewed(_)) => Ok(Ok("skipped: already renewed".into())),
            Err(e @ OrderError::Storage(_)) => Err(e),
            Err(e) => Ok(Err(e.to_string())),
        }
    }
}
