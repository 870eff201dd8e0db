//! ACME URLs: one directory path and one EAB credential per (product, organisation).

use crate::sql::{query, query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `acme_urls`.
    #[derive(Clone, Debug)]
    pub struct AcmeUrlRow {
        /// The ACME URL's database identifier.
        pub id: i64,
        /// The account that owns this ACME URL.
        pub account_id: i64,
        /// A label the customer gives this ACME URL.
        pub name: String,
        /// The product that orders through this URL buy.
        pub product_code: String,
        /// The organisation that certificates ordered through this URL are issued to.
        pub organisation_id: i64,
        /// The unique path segment of its directory, `/acme/<path>/directory`.
        pub path: String,
        /// The EAB key identifier.
        pub kid: String,
        /// The EAB HMAC key, sealed with the configured secret key.
        pub hmac_sealed: String,
        /// The last characters of the HMAC key, for masked listings.
        pub hmac_tail: String,
        /// When the URL was revoked, in UTC Unix seconds; unset while it is usable.
        pub revoked_at: Option<i64>,
        /// When the URL was created, in UTC Unix seconds.
        pub created_at: i64,
    }
}

/// The fields of a new ACME URL.
#[derive(Clone, Debug)]
pub struct NewAcmeUrl<'a> {
    /// The account that will own the ACME URL.
    pub account_id: i64,
    /// A label the customer gives the ACME URL.
    pub name: &'a str,
    /// The product that orders through the URL will buy.
    pub product_code: &'a str,
    /// The organisation that certificates ordered through the URL are issued to.
    pub organisation_id: i64,
    /// The unique path segment of its directory, `/acme/<path>/directory`.
    pub path: &'a str,
    /// The EAB key identifier.
    pub kid: &'a str,
    /// The EAB HMAC key, sealed with the configured secret key.
    pub hmac_sealed: &'a str,
    /// The last characters of the HMAC key, for masked listings.
    pub hmac_tail: &'a str,
}

/// Inserts an ACME URL and returns its id.
pub async fn insert(c: &mut Conn, u: &NewAcmeUrl<'_>, now: i64) -> Result<i64> {
    query_scalar(
        "INSERT INTO acme_urls (account_id, name, product_code, organisation_id, path, kid,
                                hmac_sealed, hmac_tail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(u.account_id)
    .bind(u.name)
    .bind(u.product_code)
    .bind(u.organisation_id)
    .bind(u.path)
    .bind(u.kid)
    .bind(u.hmac_sealed)
    .bind(u.hmac_tail)
    .bind(now)
    .fetch_one(c)
    .await
}

/// Lists the ACME URLs of an account.
pub async fn list(c: &mut Conn, account_id: i64) -> Result<Vec<AcmeUrlRow>> {
    query_as("SELECT * FROM acme_urls WHERE account_id = $1 ORDER BY id").bind(account_id).fetch_all(c).await
}

/// Reads an ACME URL by its directory path.
pub async fn by_path(c: &mut Conn, path: &str) -> Result<Option<AcmeUrlRow>> {
    query_as("SELECT * FROM acme_urls WHERE path = $1").bind(path).fetch_optional(c).await
}

/// Reads an ACME URL by id.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<AcmeUrlRow>> {
    query_as("SELECT * FROM acme_urls WHERE id = $1").bind(id).fetch_optional(c).await
}

/// Revokes an ACME URL of an account for good; false when it was not active.
pub async fn revoke(c: &mut Conn, account_id: i64, id: i64, now: i64) -> Result<bool> {
    let r = query("UPDATE acme_urls SET revoked_at = $3 WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL")
        .bind(id)
        .bind(account_id)
        .bind(now)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Reads an ACME URL by its EAB key identifier.
pub async fn by_kid(c: &mut Conn, kid: &str) -> Result<Option<AcmeUrlRow>> {
    query_as("SELECT * FROM acme_urls WHERE kid = $1").bind(kid).fetch_optional(c).await
}
