//! Pre-validations of organisations at a CA brand (seed 6.7).

use crate::sql::{query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `prevalidations`.
    #[derive(Clone, Debug)]
    pub struct PrevalidationRow {
        /// The pre-validation's database identifier.
        pub id: i64,
        /// The organisation that was pre-validated.
        pub organisation_id: i64,
        /// The CA brand the pre-validation is held at.
        pub brand: String,
        /// The validation level it covers: `DV`, `OV` or `EV`.
        pub validation: String,
        /// `pending`, `active` or `revoked`.
        pub state: String,
        /// When it stops being valid, in UTC Unix seconds.
        pub expires_at: i64,
        /// When it was recorded, in UTC Unix seconds.
        pub created_at: i64,
    }
}

/// Records a pre-validation and returns its id.
pub async fn insert(
    c: &mut Conn,
    organisation_id: i64,
    brand: &str,
    validation: &str,
    state: &str,
    expires_at: i64,
    now: i64,
) -> Result<i64> {
    query_scalar(
        "INSERT INTO prevalidations (organisation_id, brand, validation, state, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(organisation_id)
    .bind(brand)
    .bind(validation)
    .bind(state)
    .bind(expires_at)
    .bind(now)
    .fetch_one(c)
    .await
}

/// Lists the pre-validations of the organisations of an account.
pub async fn list_for_account(c: &mut Conn, account_id: i64) -> Result<Vec<PrevalidationRow>> {
    query_as(
        "SELECT p.* FROM prevalidations p JOIN organisations o ON o.id = p.organisation_id
         WHERE o.account_id = $1 ORDER BY p.id",
    )
    .bind(account_id)
    .fetch_all(c)
    .await
}
