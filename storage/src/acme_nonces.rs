//! ACME anti-replay: the nonces already used, shared by every instance on the
//! database. Nonces themselves are checked without the database (the ACME
//! front seals them); this table only makes each one usable once.

use crate::sql::query;
use crate::{Conn, Result};

/// Marks a nonce used until `expires_at`: true the first time, on any
/// instance; false when it was used before.
pub async fn redeem(c: &mut Conn, nonce: &str, expires_at: i64) -> Result<bool> {
    let r = query("INSERT INTO acme_used_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING")
        .bind(nonce)
        .bind(expires_at)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The statement of [`purge`] (public so that a test can check that it uses an index).
pub const PURGE: &str = "DELETE FROM acme_used_nonces WHERE expires_at <= $1";

/// Forgets used nonces that have expired (they are refused by their expiry
/// anyway); returns how many.
pub async fn purge(c: &mut Conn, now: i64) -> Result<u64> {
    let r = query(PURGE).bind(now).execute(c).await?;
    Ok(r.rows_affected())
}
