//! Organisations of an account, the legal entities certificates are issued to.

use crate::{Conn, Result, now};

/// One row of `organisations`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrganisationRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    /// National identification number (SIREN, company number...).
    pub ident: String,
    pub country: String,
    pub address: String,
    pub vat: String,
    pub created_at: i64,
}

/// The fields of a new organisation.
#[derive(Clone, Debug, Default)]
pub struct NewOrganisation<'a> {
    pub account_id: i64,
    pub name: &'a str,
    pub ident: &'a str,
    pub country: &'a str,
    pub address: &'a str,
    pub vat: &'a str,
}

/// Inserts an organisation and returns its id.
pub async fn insert(c: &mut Conn, o: &NewOrganisation<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO organisations (account_id, name, ident, country, address, vat, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(o.account_id)
    .bind(o.name)
    .bind(o.ident)
    .bind(o.country)
    .bind(o.address)
    .bind(o.vat)
    .bind(now())
    .fetch_one(c)
    .await?)
}

/// Reads one organisation.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<OrganisationRow>> {
    Ok(sqlx::query_as("SELECT * FROM organisations WHERE id = $1").bind(id).fetch_optional(c).await?)
}

/// Lists the organisations of an account.
pub async fn list(c: &mut Conn, account_id: i64) -> Result<Vec<OrganisationRow>> {
    Ok(sqlx::query_as("SELECT * FROM organisations WHERE account_id = $1 ORDER BY id")
        .bind(account_id)
        .fetch_all(c)
        .await?)
}
