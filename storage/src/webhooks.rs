//! Webhook endpoints of accounts, with their sealed signing secret.

use crate::sql::{query, query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `webhooks`.
    #[derive(Clone, Debug)]
    pub struct WebhookRow {
        /// The endpoint's database identifier.
        pub id: i64,
        /// The account it belongs to.
        pub account_id: i64,
        /// The HTTPS URL events are POSTed to.
        pub url: String,
        /// The HMAC-SHA256 signing secret, sealed with the configured secret key.
        pub secret_sealed: String,
        /// When it was registered, in UTC Unix seconds.
        pub created_at: i64,
        /// When it was deleted, in UTC Unix seconds; unset while it receives events.
        pub deleted_at: Option<i64>,
    }
}

/// Registers an endpoint and returns its id.
pub async fn insert(c: &mut Conn, account_id: i64, url: &str, secret_sealed: &str, now: i64) -> Result<i64> {
    query_scalar(
        "INSERT INTO webhooks (account_id, url, secret_sealed, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(account_id)
    .bind(url)
    .bind(secret_sealed)
    .bind(now)
    .fetch_one(c)
    .await
}

/// Deletes endpoint `id` of the account; returns whether it was live.
pub async fn delete(c: &mut Conn, account_id: i64, id: i64, now: i64) -> Result<bool> {
    let r = query("UPDATE webhooks SET deleted_at = $3 WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL")
        .bind(id)
        .bind(account_id)
        .bind(now)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The account's live endpoints, oldest first.
pub async fn live(c: &mut Conn, account_id: i64) -> Result<Vec<WebhookRow>> {
    query_as("SELECT * FROM webhooks WHERE account_id = $1 AND deleted_at IS NULL ORDER BY id")
        .bind(account_id)
        .fetch_all(c)
        .await
}

/// How many live endpoints the account has.
pub async fn count_live(c: &mut Conn, account_id: i64) -> Result<i64> {
    query_scalar("SELECT COUNT(*) FROM webhooks WHERE account_id = $1 AND deleted_at IS NULL")
        .bind(account_id)
        .fetch_one(c)
        .await
}
