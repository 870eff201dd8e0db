//! Organisations of an account, the legal entities certificates are issued to.

use crate::sql::{query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `organisations`.
    #[derive(Clone, Debug)]
    pub struct OrganisationRow {
        /// The organisation's database identifier.
        pub id: i64,
        /// The account the organisation belongs to.
        pub account_id: i64,
        /// The organisation's legal name.
        pub name: String,
        /// National identification number (SIREN, company number...).
        pub ident: String,
        /// Its country code, such as `FR`; empty when not given.
        pub country: String,
        /// Its postal address; empty when not given.
        pub address: String,
        /// Its VAT number; empty when not given.
        pub vat: String,
        /// When the organisation was created, in UTC Unix seconds.
        pub created_at: i64,
    }
}

/// The fields of a new organisation.
#[derive(Clone, Debug, Default)]
pub struct NewOrganisation<'a> {
    /// The account the organisation will belong to.
    pub account_id: i64,
    /// The organisation's legal name.
    pub name: &'a str,
    /// National identification number (SIREN, company number...).
    pub ident: &'a str,
    /// Its country code, such as `FR`; empty when not given.
    pub country: &'a str,
    /// Its postal address; empty when not given.
    pub address: &'a str,
    /// Its VAT number; empty when not given.
    pub vat: &'a str,
}

/// Inserts an organisation and returns its id.
pub async fn insert(c: &mut Conn, o: &NewOrganisation<'_>, now: i64) -> Result<i64> {
    query_scalar(
        "INSERT INTO organisations (account_id, name, ident, country, address, vat, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(o.account_id)
    .bind(o.name)
    .bind(o.ident)
    .bind(o.country)
    .bind(o.address)
    .bind(o.vat)
    .bind(now)
    .fetch_one(c)
    .await
}

/// Reads one organisation.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<OrganisationRow>> {
    query_as("SELECT * FROM organisations WHERE id = $1").bind(id).fetch_optional(c).await
}

/// Lists the organisations of an account.
pub async fn list(c: &mut Conn, account_id: i64) -> Result<Vec<OrganisationRow>> {
    query_as("SELECT * FROM organisations WHERE account_id = $1 ORDER BY id").bind(account_id).fetch_all(c).await
}
