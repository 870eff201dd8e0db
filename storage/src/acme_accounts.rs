//! ACME accounts: a key bound, through EAB, to one ACME URL.

use crate::sql::{query, query_as, query_scalar};
use crate::{Conn, Result};

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

/// The columns of an account `a` renamed `signer_*`, as
/// [`AcmeAccountRow::from_row_prefixed`] reads them beside a resource's own.
macro_rules! signer_columns {
    () => {
        "a.id AS signer_id, a.acme_url_id AS signer_acme_url_id, a.thumbprint AS signer_thumbprint,
         a.jwk AS signer_jwk, a.contact AS signer_contact, a.status AS signer_status,
         a.created_at AS signer_created_at"
    };
}
pub(crate) use signer_columns;

/// Creates an account, or returns the existing one with this key on this ACME
/// URL; the flag says whether it was created.
pub async fn insert_or_get(
    c: &mut Conn,
    acme_url_id: i64,
    thumbprint: &str,
    jwk: &str,
    contact: &str,
    now: i64,
) -> Result<(AcmeAccountRow, bool)> {
    let inserted: Option<i64> = query_scalar(
        "INSERT INTO acme_accounts (acme_url_id, thumbprint, jwk, contact, status, created_at)
         VALUES ($1, $2, $3, $4, 'valid', $5) ON CONFLICT (acme_url_id, thumbprint) DO NOTHING RETURNING id",
    )
    .bind(acme_url_id)
    .bind(thumbprint)
    .bind(jwk)
    .bind(contact)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    let row = by_thumbprint(c, acme_url_id, thumbprint).await?.ok_or(crate::Error::RowNotFound)?;
    Ok((row, inserted.is_some()))
}

/// Reads an account by id.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<AcmeAccountRow>> {
    query_as("SELECT * FROM acme_accounts WHERE id = $1").bind(id).fetch_optional(c).await
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
