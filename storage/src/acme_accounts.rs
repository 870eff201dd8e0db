//! ACME accounts: a key bound, through EAB, to one ACME URL.

use crate::sql::{FromRow, Row, query, query_as, query_scalar};
use crate::{Conn, Result, now};

crate::row_struct! {
    /// One row of `acme_accounts`.
    #[derive(Clone, Debug)]
    pub struct AcmeAccountRow {
        /// The account's number, the last segment of its URL (its `kid`).
        pub id: i64,
        /// The ACME URL whose EAB credentials created it.
        pub acme_url_id: i64,
        /// The RFC 7638 thumbprint of its key.
        pub thumbprint: String,
        /// Its public key as canonical JWK JSON.
        pub jwk: String,
        /// Its `mailto:` contacts, one per line.
        pub contact: String,
        /// `valid` or `deactivated`.
        pub status: String,
        /// When it was created (UTC Unix seconds).
        pub created_at: i64,
    }
}

/// Creates an account, or returns the existing one with this key on this ACME
/// URL; the flag says whether it was created.
pub async fn insert_or_get(
    c: &mut Conn,
    acme_url_id: i64,
    thumbprint: &str,
    jwk: &str,
    contact: &str,
) -> Result<(AcmeAccountRow, bool)> {
    let inserted: Option<i64> = query_scalar(
        "INSERT INTO acme_accounts (acme_url_id, thumbprint, jwk, contact, status, created_at)
         VALUES ($1, $2, $3, $4, 'valid', $5) ON CONFLICT (acme_url_id, thumbprint) DO NOTHING RETURNING id",
    )
    .bind(acme_url_id)
    .bind(thumbprint)
    .bind(jwk)
    .bind(contact)
    .bind(now())
    .fetch_optional(&mut *c)
    .await?;
    let row = by_thumbprint(c, acme_url_id, thumbprint).await?.ok_or(crate::Error::RowNotFound)?;
    Ok((row, inserted.is_some()))
}

/// Reads an account by id.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<AcmeAccountRow>> {
    query_as("SELECT * FROM acme_accounts WHERE id = $1").bind(id).fetch_optional(c).await
}

/// An account with the state of its ACME URL, read together.
struct SignerRow {
    account: AcmeAccountRow,
    url_revoked_at: Option<i64>,
}

impl FromRow for SignerRow {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(SignerRow { account: AcmeAccountRow::from_row(row)?, url_revoked_at: row.get("url_revoked_at")? })
    }
}

/// Reads an account by id for a request it signed, with whether its ACME URL
/// has been revoked (then none of its accounts may act), in one statement.
pub async fn signer(c: &mut Conn, id: i64) -> Result<Option<(AcmeAccountRow, bool)>> {
    let row: Option<SignerRow> = query_as(
        "SELECT a.*, u.revoked_at AS url_revoked_at FROM acme_accounts a JOIN acme_urls u ON u.id = a.acme_url_id
         WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| (r.account, r.url_revoked_at.is_some())))
}

/// A request's signer as [`signer`] reads it, with whether the request's
/// nonce was fresh.
#[derive(Clone, Debug)]
pub struct Signer {
    /// The account.
    pub account: AcmeAccountRow,
    /// Whether its ACME URL has been revoked.
    pub url_revoked: bool,
    /// False when the nonce had been used before.
    pub nonce_fresh: bool,
}

/// As [`signer`], and marks the request's nonce used until `expires_at` (as
/// [`crate::acme_nonces::redeem`]), on PostgreSQL in the same statement: a
/// request signed by an account then costs one round trip instead of two.
/// The nonce is marked used even when there is no such account (`None`).
pub async fn signer_redeeming(c: &mut Conn, id: i64, nonce: &str, expires_at: i64) -> Result<Option<Signer>> {
    if c.backend() == crate::Backend::Sqlite {
        // SQLite has no writing WITH clause; its shared nonces are a test-only setup anyway.
        let nonce_fresh = crate::acme_nonces::redeem(c, nonce, expires_at).await?;
        let row = signer(c, id).await?;
        return Ok(row.map(|(account, url_revoked)| Signer { account, url_revoked, nonce_fresh }));
    }
    query_as(
        "WITH used AS (INSERT INTO acme_used_nonces (nonce, expires_at) VALUES ($2, $3)
                       ON CONFLICT (nonce) DO NOTHING RETURNING 1)
         SELECT a.*, u.revoked_at AS url_revoked_at, (SELECT COUNT(*) FROM used) AS nonce_fresh
         FROM acme_accounts a JOIN acme_urls u ON u.id = a.acme_url_id WHERE a.id = $1",
    )
    .bind(id)
    .bind(nonce)
    .bind(expires_at)
    .fetch_optional(c)
    .await
}

impl FromRow for Signer {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(Signer {
            account: AcmeAccountRow::from_row(row)?,
            url_revoked: row.get::<Option<i64>>("url_revoked_at")?.is_some(),
            nonce_fresh: row.get::<i64>("nonce_fresh")? == 1,
        })
    }
}

/// Reads the account of a key on an ACME URL.
pub async fn by_thumbprint(c: &mut Conn, acme_url_id: i64, thumbprint: &str) -> Result<Option<AcmeAccountRow>> {
    query_as("SELECT * FROM acme_accounts WHERE acme_url_id = $1 AND thumbprint = $2")
        .bind(acme_url_id)
        .bind(thumbprint)
        .fetch_optional(c)
        .await
}

/// Replaces an account's contacts.
pub async fn set_contact(c: &mut Conn, id: i64, contact: &str) -> Result<()> {
    query("UPDATE acme_accounts SET contact = $2 WHERE id = $1").bind(id).bind(contact).execute(c).await?;
    Ok(())
}

/// Deactivates an account for good.
pub async fn deactivate(c: &mut Conn, id: i64) -> Result<()> {
    query("UPDATE acme_accounts SET status = 'deactivated' WHERE id = $1").bind(id).execute(c).await?;
    Ok(())
}

/// Replaces an account's key (RFC 8555 key change); false when another
/// account of the same ACME URL already has the new key.
pub async fn set_key(c: &mut Conn, id: i64, thumbprint: &str, jwk: &str) -> Result<bool> {
    match query("UPDATE acme_accounts SET thumbprint = $2, jwk = $3 WHERE id = $1")
        .bind(id)
        .bind(thumbprint)
        .bind(jwk)
        .execute(c)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}
