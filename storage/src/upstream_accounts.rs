//! certgate's accounts at upstream ACME CAs, one per upstream and directory,
//! shared by every instance so that the account is created only once.

use crate::sql::{query, query_as};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `upstream_accounts`.
    #[derive(Clone, Debug)]
    pub struct UpstreamAccountRow {
        /// The configured name of the upstream.
        pub upstream: String,
        /// The upstream's ACME directory URL.
        pub directory_url: String,
        /// The account's URL at the upstream (its key ID).
        pub account_url: String,
        /// The account's credentials (key and URLs), sealed with the configured secret key.
        pub credentials_sealed: String,
        /// When the account was created, in UTC Unix seconds.
        pub created_at: i64,
    }
}

/// The stored account of `upstream` at `directory_url`, if any.
pub async fn get(c: &mut Conn, upstream: &str, directory_url: &str) -> Result<Option<UpstreamAccountRow>> {
    query_as("SELECT * FROM upstream_accounts WHERE upstream = $1 AND directory_url = $2")
        .bind(upstream)
        .bind(directory_url)
        .fetch_optional(c)
        .await
}

/// Stores an account unless another instance stored one first; returns
/// whether this call stored it.
pub async fn insert(
    c: &mut Conn,
    upstream: &str,
    directory_url: &str,
    account_url: &str,
    credentials_sealed: &str,
    now: i64,
) -> Result<bool> {
    let r = query(
        "INSERT INTO upstream_accounts (upstream, directory_url, account_url, credentials_sealed, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (upstream, directory_url) DO NOTHING",
    )
    .bind(upstream)
    .bind(directory_url)
    .bind(account_url)
    .bind(credentials_sealed)
    .bind(now)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Forgets the stored account `account_url` (the upstream no longer knows it),
/// so that the next use creates a new one.
pub async fn forget(c: &mut Conn, upstream: &str, directory_url: &str, account_url: &str) -> Result<()> {
    query("DELETE FROM upstream_accounts WHERE upstream = $1 AND directory_url = $2 AND account_url = $3")
        .bind(upstream)
        .bind(directory_url)
        .bind(account_url)
        .execute(c)
        .await?;
    Ok(())
}
