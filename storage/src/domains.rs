//! The domain inventory of an account's organisations (docs/domains.md):
//! each domain with its state, the DCV token it waits for, its validity, and
//! its last CAA check. A validated, unexpired domain spares the orders below
//! it their own DCV.

use crate::sql::{query, query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One domain of the inventory (a row of `prevalidated_domains`).
    #[derive(Clone, Debug)]
    pub struct DomainRow {
        /// Its database identifier.
        pub id: i64,
        /// The organisation it belongs to.
        pub organisation_id: i64,
        /// `example.test`, or `*.example.test` for the names below it only.
        pub domain: String,
        /// When it was added, in UTC Unix seconds.
        pub created_at: i64,
        /// `pending` (waiting for its DCV) or `validated`.
        pub state: String,
        /// The value the customer publishes while it is pending.
        pub dcv_token: Option<String>,
        /// When its control was proven (or the operator recorded it).
        pub validated_at: Option<i64>,
        /// When its validation stops sparing orders their DCV; none when the
        /// operator recorded it without an end.
        pub expires_at: Option<i64>,
        /// Who added it: a login, or `operator`.
        pub added_by: String,
        /// When its CAA records were last checked.
        pub caa_checked_at: Option<i64>,
        /// The product whose CA the last check was for.
        pub caa_product: Option<String>,
        /// The last check's verdict word (`allowed`, `forbidden`...).
        pub caa_verdict: Option<String>,
        /// What the last check found, when it refused.
        pub caa_detail: Option<String>,
    }
}

/// A domain to add to the inventory.
#[derive(Clone, Copy, Debug)]
pub struct NewDomain<'a> {
    /// The organisation it is added to.
    pub organisation_id: i64,
    /// The normalised domain.
    pub domain: &'a str,
    /// `pending` or `validated`.
    pub state: &'a str,
    /// The DCV token of a pending domain.
    pub dcv_token: Option<&'a str>,
    /// When a validated domain was validated.
    pub validated_at: Option<i64>,
    /// When a validated domain's validation ends.
    pub expires_at: Option<i64>,
    /// Who adds it.
    pub added_by: &'a str,
}

/// Adds a domain; `None` when the organisation already has it.
pub async fn insert(c: &mut Conn, d: &NewDomain<'_>, now: i64) -> Result<Option<i64>> {
    query_scalar(
        "INSERT INTO prevalidated_domains
            (organisation_id, domain, created_at, state, dcv_token, validated_at, expires_at, added_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (organisation_id, domain) DO NOTHING RETURNING id",
    )
    .bind(d.organisation_id)
    .bind(d.domain)
    .bind(now)
    .bind(d.state)
    .bind(d.dcv_token)
    .bind(d.validated_at)
    .bind(d.expires_at)
    .bind(d.added_by)
    .fetch_optional(c)
    .await
}

/// The domain `id`, if one of the account's organisations holds it.
pub async fn get(c: &mut Conn, account_id: i64, id: i64) -> Result<Option<DomainRow>> {
    query_as(
        "SELECT d.* FROM prevalidated_domains d JOIN organisations o ON o.id = d.organisation_id
         WHERE d.id = $1 AND o.account_id = $2",
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(c)
    .await
}

/// The organisation's entry for `domain`, if it has one.
pub async fn find(c: &mut Conn, organisation_id: i64, domain: &str) -> Result<Option<DomainRow>> {
    query_as("SELECT * FROM prevalidated_domains WHERE organisation_id = $1 AND domain = $2")
        .bind(organisation_id)
        .bind(domain)
        .fetch_optional(c)
        .await
}

/// A page of the account's domains, by organisation then name.
pub async fn list(c: &mut Conn, account_id: i64, limit: i64, offset: i64) -> Result<Vec<DomainRow>> {
    query_as(
        "SELECT d.* FROM prevalidated_domains d JOIN organisations o ON o.id = d.organisation_id
         WHERE o.account_id = $1 ORDER BY d.organisation_id, d.domain, d.id LIMIT $2 OFFSET $3",
    )
    .bind(account_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(c)
    .await
}

/// How many domains the account's organisations hold.
pub async fn count(c: &mut Conn, account_id: i64) -> Result<i64> {
    query_scalar(
        "SELECT COUNT(*) FROM prevalidated_domains d JOIN organisations o ON o.id = d.organisation_id
         WHERE o.account_id = $1",
    )
    .bind(account_id)
    .fetch_one(c)
    .await
}

/// The domains that spare the organisation's orders their DCV at `now`:
/// validated and not expired.
pub async fn covering(c: &mut Conn, organisation_id: i64, now: i64) -> Result<Vec<String>> {
    query_scalar(
        "SELECT domain FROM prevalidated_domains WHERE organisation_id = $1 AND state = 'validated'
         AND (expires_at IS NULL OR expires_at > $2) ORDER BY domain",
    )
    .bind(organisation_id)
    .bind(now)
    .fetch_all(c)
    .await
}

/// Marks a pending domain validated, if it still waits for `token`.
pub async fn validate(c: &mut Conn, id: i64, token: &str, expires_at: i64, now: i64) -> Result<bool> {
    Ok(query(
        "UPDATE prevalidated_domains SET state = 'validated', dcv_token = NULL, validated_at = $3, expires_at = $4
         WHERE id = $1 AND state = 'pending' AND dcv_token = $2",
    )
    .bind(id)
    .bind(token)
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// Records a domain validated by the operator, without end; false when it
/// already was.
pub async fn record_validated(c: &mut Conn, id: i64, now: i64) -> Result<bool> {
    Ok(query(
        "UPDATE prevalidated_domains SET state = 'validated', dcv_token = NULL, validated_at = $2, expires_at = NULL
         WHERE id = $1 AND NOT (state = 'validated' AND expires_at IS NULL)",
    )
    .bind(id)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// Puts a domain whose validation ended back to pending with a new token;
/// false when it is still valid (or already pending).
pub async fn restart(c: &mut Conn, id: i64, token: &str, now: i64) -> Result<bool> {
    Ok(query(
        "UPDATE prevalidated_domains SET state = 'pending', dcv_token = $2, validated_at = NULL, expires_at = NULL
         WHERE id = $1 AND state = 'validated' AND expires_at IS NOT NULL AND expires_at <= $3",
    )
    .bind(id)
    .bind(token)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// Removes a domain from the inventory; false when it was gone already.
pub async fn remove(c: &mut Conn, id: i64) -> Result<bool> {
    Ok(query("DELETE FROM prevalidated_domains WHERE id = $1").bind(id).execute(c).await?.rows_affected() == 1)
}

/// Records a CAA check of `domain` on every entry of the account that names it.
pub async fn record_caa(
    c: &mut Conn,
    account_id: i64,
    domain: &str,
    product: &str,
    verdict: &str,
    detail: Option<&str>,
    now: i64,
) -> Result<()> {
    query(
        "UPDATE prevalidated_domains SET caa_checked_at = $3, caa_product = $4, caa_verdict = $5, caa_detail = $6
         WHERE domain = $2 AND organisation_id IN (SELECT id FROM organisations WHERE account_id = $1)",
    )
    .bind(account_id)
    .bind(domain)
    .bind(now)
    .bind(product)
    .bind(verdict)
    .bind(detail)
    .execute(c)
    .await?;
    Ok(())
}

crate::row_struct! {
    /// The names of one of an account's recent orders, to find the orders
    /// that use a domain.
    #[derive(Clone, Debug)]
    pub struct OrderNames {
        /// The order's reference (none before it has one).
        pub reference: Option<String>,
        /// Its organisation.
        pub organisation_id: i64,
        /// Its common name.
        pub cn: String,
        /// Its other names, one a line.
        pub sans: String,
        /// Its status.
        pub status: String,
    }
}

/// The names of the account's `limit` most recent orders, newest first.
pub async fn recent_order_names(c: &mut Conn, account_id: i64, limit: i64) -> Result<Vec<OrderNames>> {
    query_as(
        "SELECT reference, organisation_id, cn, sans, status FROM orders WHERE account_id = $1
         ORDER BY id DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(c)
    .await
}
