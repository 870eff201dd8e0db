//! ACME anti-replay nonces, shared by every instance on the database.

use crate::{Conn, Result};

/// Stores a fresh nonce valid until `expires_at`.
pub async fn insert(c: &mut Conn, nonce: &str, expires_at: i64) -> Result<()> {
    sqlx::query("INSERT INTO acme_nonces (nonce, expires_at) VALUES ($1, $2)")
        .bind(nonce)
        .bind(expires_at)
        .execute(c)
        .await?;
    Ok(())
}

/// Uses up a nonce: true the first time a valid nonce is redeemed, on any
/// instance; false when it is unknown, expired or already used.
pub async fn redeem(c: &mut Conn, nonce: &str, now: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM acme_nonces WHERE nonce = $1 AND expires_at > $2")
        .bind(nonce)
        .bind(now)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Forgets expired nonces; returns how many.
pub async fn purge(c: &mut Conn, now: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM acme_nonces WHERE expires_at <= $1").bind(now).execute(c).await?;
    Ok(r.rows_affected())
}
