//! Customer accounts: formula, currency, approval mode and overdraft.

use crate::sql::{query, query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `accounts`.
    #[derive(Clone, Debug)]
    pub struct AccountRow {
        /// The account's database identifier.
        pub id: i64,
        /// The customer's name for the account.
        pub name: String,
        /// `bulk`, `rebate`, `deposit` or `monthly`.
        pub formula: String,
        /// The currency of its prices and deposit, such as `EUR`.
        pub currency: String,
        /// Whether orders by non-approvers wait for an approver.
        pub approval_mode: bool,
        /// Minor units the deposit may go below zero.
        pub overdraft: i64,
        /// When the account was created, in UTC Unix seconds.
        pub created_at: i64,
        /// Whether its new orders renew automatically (seed 5.7).
        pub auto_renew_default: bool,
        /// Whether it has a contact or a live webhook to notify.
        pub notified: bool,
        /// Whether it has a prepaid warning level.
        pub warned: bool,
        /// Whether its users must have a second factor to use the customer area.
        pub second_factor_required: bool,
    }
}

/// Inserts an account and returns its id.
pub async fn insert(
    c: &mut Conn,
    name: &str,
    formula: &str,
    currency: &str,
    approval_mode: bool,
    overdraft: i64,
    now: i64,
) -> Result<i64> {
    query_scalar(
        "INSERT INTO accounts (name, formula, currency, approval_mode, overdraft, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(name)
    .bind(formula)
    .bind(currency)
    .bind(approval_mode)
    .bind(overdraft)
    .bind(now)
    .fetch_one(c)
    .await
}

/// Reads one account.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<AccountRow>> {
    query_as("SELECT * FROM accounts WHERE id = $1").bind(id).fetch_optional(c).await
}

/// Lists every account, oldest first.
pub async fn list(c: &mut Conn) -> Result<Vec<AccountRow>> {
    query_as("SELECT * FROM accounts ORDER BY id").fetch_all(c).await
}

/// Sets whether the account's new orders renew automatically.
pub async fn set_auto_renew_default(c: &mut Conn, id: i64, on: bool) -> Result<bool> {
    let r = query("UPDATE accounts SET auto_renew_default = $2 WHERE id = $1").bind(id).bind(on).execute(c).await?;
    Ok(r.rows_affected() == 1)
}

/// Sets whether the account's users must have a second factor.
pub async fn set_second_factor_required(c: &mut Conn, id: i64, on: bool) -> Result<bool> {
    let r = query("UPDATE accounts SET second_factor_required = $2 WHERE id = $1").bind(id).bind(on).execute(c).await?;
    Ok(r.rows_affected() == 1)
}

/// Brings the account's `notified` and `warned` flags in line with its
/// contacts, webhooks and warning levels; run in the transaction that
/// changes one of them.
pub async fn refresh_flags(c: &mut Conn, id: i64) -> Result<()> {
    query(
        "UPDATE accounts SET
             notified = CASE WHEN EXISTS (SELECT 1 FROM contacts WHERE account_id = $1)
                          OR EXISTS (SELECT 1 FROM webhooks WHERE account_id = $1 AND deleted_at IS NULL)
                        THEN 1 ELSE 0 END,
             warned = CASE WHEN EXISTS (SELECT 1 FROM warning_levels WHERE account_id = $1) THEN 1 ELSE 0 END
         WHERE id = $1",
    )
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

/// Locks the account's row until the transaction ends, so that checks of
/// what the account holds and the writes that follow them are serialised
/// with its other transactions (on SQLite every writer is already alone).
pub async fn lock(c: &mut Conn, id: i64) -> Result<()> {
    if c.backend() == crate::Backend::Postgres {
        query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE").bind(id).execute(c).await?;
    }
    Ok(())
}
