//! Rate limits per ACME URL and per account, counted in the shared database
//! so that they hold across instances: new orders per hour, and failed
//! validations per hour.

use axum::http::StatusCode;
use orders::acme::AcmeOrdersOf;

use crate::Acme;
use crate::problem::Problem;
use crate::request::Ctx;

const HOUR: i64 = 3600;

/// The limits, per rolling hour; 0 turns a limit off.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// New orders one ACME account may create per hour.
    pub orders_per_account: i64,
    /// New orders all accounts of one ACME URL may create per hour.
    pub orders_per_url: i64,
    /// Failed challenge validations one ACME account may have per hour.
    pub failed_validations_per_account: i64,
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits { orders_per_account: 300, orders_per_url: 3000, failed_validations_per_account: 60 }
    }
}

/// The problem for a limit reached; `retry_after` is when a slot frees up.
pub(crate) fn limited(what: &str, limit: i64, retry_after: i64) -> Problem {
    let mut p = Problem::new(
        "rateLimited",
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many {what}: at most {limit} per hour; retry after {retry_after} seconds"),
    );
    p.retry_after = Some(retry_after.max(1) as u64);
    p
}

impl Acme {
    /// Refuses when `count` reached `limit`; `key` names the limit in the
    /// metrics, `what` in the problem's detail.
    fn check(
        &self,
        key: &'static str,
        what: &str,
        limit: i64,
        (count, oldest): (i64, Option<i64>),
        now: i64,
    ) -> Result<(), Problem> {
        if limit > 0 && count >= limit {
            metrics::counter!("certgate_rate_limit_rejections_total", "limit" => key).increment(1);
            return Err(limited(what, limit, oldest.map_or(HOUR, |t| t + HOUR - now)));
        }
        Ok(())
    }

    /// Refuses a new order when the account or its ACME URL is over its hourly
    /// limit. Counts nothing when both limits are off; the oldest order of a
    /// window (for Retry-After) is read only for a refusal.
    pub(crate) async fn limit_new_order(&self, ctx: &Ctx, account_id: i64) -> Result<(), Problem> {
        let limits = (self.settings.rate_limits.orders_per_account, self.settings.rate_limits.orders_per_url);
        if limits.0 <= 0 && limits.1 <= 0 {
            return Ok(());
        }
        let now = self.orders.now();
        let since = now - HOUR;
        let (by_account, by_url) = self.orders.acme_orders_created_since(account_id, ctx.dir.id, since, limits).await?;
        if limits.0 > 0 && by_account >= limits.0 {
            let oldest = self.orders.oldest_acme_order_since(AcmeOrdersOf::Account(account_id), since).await?;
            self.check("orders_per_account", "new orders for this account", limits.0, (by_account, oldest), now)?;
        }
        if limits.1 > 0 && by_url >= limits.1 {
            let oldest = self.orders.oldest_acme_order_since(AcmeOrdersOf::Url(ctx.dir.id), since).await?;
            self.check("orders_per_url", "new orders for this ACME URL", limits.1, (by_url, oldest), now)?;
        }
        Ok(())
    }

    /// Refuses a validation when the account failed too many in the last hour.
    pub(crate) async fn limit_validation(&self, account_id: i64) -> Result<(), Problem> {
        let limit = self.settings.rate_limits.failed_validations_per_account;
        let now = self.orders.now();
        let failed = self.orders.failed_acme_validations_since(account_id, now - HOUR).await?;
        self.check("failed_validations_per_account", "failed validations for this account", limit, failed, now)
    }
}
