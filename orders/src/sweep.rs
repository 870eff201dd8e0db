//! The periodic sweep of the certificate lifecycle (docs/lifecycle.md): a
//! `lifecycle` job, queued once per period however many instances run,
//! that marks delivered orders past their expiry `expired`, queues the
//! automatic renewals that are due, and pays orders waiting for funds that
//! a credit did not pay (the process died in between).

use storage::audit::Actor;
use storage::{audit, commit, jobs, orders};

use crate::renewal::{CLOSES_AFTER_EXPIRY, LATE_SWITCH_PLACED_WITHIN, automatic_renewal_at};
use crate::{EventKind, JobKind, Orders, Result, Status};

const DAY: i64 = 86_400;

/// Orders handled per transaction.
const PAGE: i64 = 500;

/// The audit log's identity of work certgate does by itself for an account.
pub(crate) fn system_actor(account_id: i64, name: &str) -> Actor {
    Actor { account_id: Some(account_id), name: name.into(), ip: "local".into(), source: "worker".into(), call: None }
}

impl Orders {
    /// Seconds between two sweeps: `orders.lifecycle_sweep_secs`, at most a
    /// day, since a late automatic renewal is placed within one (seed 5.7).
    fn sweep_period(&self) -> i64 {
        self.settings().lifecycle_sweep_secs.clamp(1, LATE_SWITCH_PLACED_WITHIN)
    }

    /// The key of the sweep of the period that holds `now`.
    pub(crate) fn sweep_key(&self, now: i64) -> String {
        format!("lifecycle:{}", now.div_euclid(self.sweep_period()))
    }

    /// Queues the sweep of the period that holds `now`, unless an instance
    /// queued it already; returns whether this call did.
    pub(crate) async fn queue_sweep(&self, now: i64) -> Result<bool> {
        let mut c = self.db().acquire_writer().await?;
        let queued =
            jobs::enqueue_once(&mut c, JobKind::Lifecycle.as_str(), None, &self.sweep_key(now), now, now).await?;
        drop(c);
        if queued.is_some() {
            self.wake_workers();
        }
        Ok(queued.is_some())
    }

    /// Runs one sweep; returns what it did, for the job's record.
    pub(crate) async fn sweep_lifecycle(&self) -> Result<String> {
        let now = self.now();
        let expired = self.expire_past(now).await?;
        let stale = self.cancel_stale_waiting(now).await?;
        let renewals = self.queue_due_renewals(now).await?;
        let notices = self.notify_expiring(now).await?;
        let scans = self.queue_due_scans(now).await?;
        let sessions = self.end_stale_sessions(now).await?;
        let mut paid = 0;
        let waiting = orders::accounts_waiting_for_funds(&mut *self.db().acquire().await?).await?;
        for account in waiting {
            paid += self.pay_waiting(account, "lifecycle").await?;
        }
        Ok(format!(
            "{expired} expired, {stale} stale waiting orders cancelled, {renewals} renewals queued, \
             {notices} expiry notices, {scans} scans queued, {sessions} portal sessions ended, {paid} orders waiting for funds paid"
        ))
    }

    /// Cancels, unpaid, the orders that waited for funds or a CSR longer
    /// than `orders.waiting_order_days`, and the renewals whose certificate's
    /// renewal window closed meanwhile (30 days after expiry): they could
    /// no longer be what was asked. Returns how many.
    async fn cancel_stale_waiting(&self, now: i64) -> Result<usize> {
        let placed_before = now - self.settings().waiting_order_days * DAY;
        let mut cancelled = 0;
        loop {
            let mut c = self.db().acquire().await?;
            let page = orders::stale_waiting(&mut c, placed_before, now - CLOSES_AFTER_EXPIRY, PAGE).await?;
            drop(c);
            let mut tx = self.db().begin().await?;
            for row in &page {
                let o = crate::Order::try_from(row.clone())?;
                // Paid or cancelled meanwhile: left as it is.
                if orders::transition(&mut tx, o.id, o.status.as_str(), Status::Cancelled.as_str(), now).await? {
                    let reason = if o.created_at < placed_before {
                        format!("it waited more than {} days", self.settings().waiting_order_days)
                    } else {
                        "the certificate it renews is past its renewal window".to_string()
                    };
                    let reference = o.public_reference();
                    let actor = system_actor(o.account_id, "lifecycle");
                    audit::record(&mut tx, &actor, "order.cancel_stale", &format!("{reference}: {reason}"), now)
                        .await?;
                    let cancelled_now = crate::Order { status: Status::Cancelled, ..o.clone() };
                    let data = serde_json::json!({"reason": reason});
                    let kind = EventKind::OrderCancelled;
                    crate::events::emit(&mut tx, kind, o.account_id, Some(&cancelled_now), data, None, now).await?;
                    cancelled += 1;
                }
            }
            commit(tx).await?;
            if (page.len() as i64) < PAGE {
                return Ok(cancelled);
            }
        }
    }

    /// Tells the accounts of certificates that expire within the notice
    /// days (30, 15 and 7 by default) and neither renew automatically nor
    /// were renewed: once per certificate and notice, the nearest notice
    /// only (a certificate first seen 10 days before expiry gets the
    /// 15-day notice, not the 30-day one as well). Returns how many.
    async fn notify_expiring(&self, now: i64) -> Result<usize> {
        let mut days = self.settings().expiry_notice_days.clone();
        days.retain(|d| *d > 0);
        days.sort_unstable();
        let Some(&furthest) = days.last() else { return Ok(0) };
        let mut told = 0;
        let mut after = 0;
        loop {
            let mut c = self.db().acquire().await?;
            let page = orders::ending_between(&mut c, None, now + 1, now + furthest * DAY, after, PAGE).await?;
            drop(c);
            let Some(last) = page.last() else { break };
            after = last.order.id;
            let mut tx = self.db().begin().await?;
            for v in page.iter().filter(|v| !v.renewed && v.order.status == Status::Delivered.as_str()) {
                // A renewal on its way is no news; one that should have been
                // placed a day ago and was not (it failed, or was cancelled) is.
                if v.order.auto_renew {
                    let due = automatic_renewal_at(v.not_before, v.not_after);
                    let key = crate::auto_renewal::renew_key(v.order.id, v.not_after);
                    let queued = jobs::state_of_key(&mut tx, &key).await?.is_some_and(|s| s == "queued");
                    if now < due + DAY || queued {
                        continue;
                    }
                }
                // Renewed since the page was read (a renewal job just ran): no news.
                if orders::renewed(&mut tx, v.order.id).await? {
                    continue;
                }
                let left = v.not_after - now;
                let Some(notice) = days.iter().find(|d| left <= *d * DAY) else { continue };
                let order = crate::Order::try_from(v.order.clone())?;
                let key = format!("expiring:{}:{}:{notice}", order.id, v.not_after);
                let data = serde_json::json!({"days": (left + DAY - 1) / DAY, "not_after": crate::iso(v.not_after)});
                let kind = EventKind::Expiring;
                if crate::events::emit(&mut tx, kind, order.account_id, Some(&order), data, Some(&key), now).await? {
                    told += 1;
                }
            }
            commit(tx).await?;
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        Ok(told)
    }

    /// Marks `expired` the delivered orders whose certificate ended before
    /// `now`; returns how many.
    async fn expire_past(&self, now: i64) -> Result<usize> {
        let mut expired = 0;
        loop {
            let page = orders::past_expiry(&mut *self.db().acquire().await?, now, PAGE).await?;
            let mut tx = self.db().begin().await?;
            for v in &page {
                let (from, to) = (Status::Delivered.as_str(), Status::Expired.as_str());
                // A reissue or revocation that got there first keeps the order.
                if orders::transition(&mut tx, v.order.id, from, to, now).await? {
                    let reference = v.order.reference.clone().unwrap_or_else(|| v.order.id.to_string());
                    let actor = system_actor(v.order.account_id, "lifecycle");
                    audit::record(&mut tx, &actor, "order.expire", &reference, now).await?;
                    expired += 1;
                }
            }
            commit(tx).await?;
            if (page.len() as i64) < PAGE {
                return Ok(expired);
            }
        }
    }
}
