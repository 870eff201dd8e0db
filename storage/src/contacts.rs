//! Contact points: the e-mail address and language of each role of an
//! account (generic, delivery, accounting, emergency).

use crate::sql::{query, query_as};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `contacts`.
    #[derive(Clone, Debug)]
    pub struct ContactRow {
        /// The contact's database identifier.
        pub id: i64,
        /// The account it belongs to.
        pub account_id: i64,
        /// `generic`, `delivery`, `accounting` or `emergency`.
        pub role: String,
        /// The e-mail address.
        pub email: String,
        /// `fr` or `en`.
        pub language: String,
        /// When it was last set, in UTC Unix seconds.
        pub updated_at: i64,
    }
}

/// Sets the account's contact for `role`, replacing the one it had.
pub async fn set(c: &mut Conn, account_id: i64, role: &str, email: &str, language: &str, now: i64) -> Result<()> {
    query(
        "INSERT INTO contacts (account_id, role, email, language, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, role) DO UPDATE SET email = $3, language = $4, updated_at = $5",
    )
    .bind(account_id)
    .bind(role)
    .bind(email)
    .bind(language)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Removes the account's contact for `role`; returns whether it had one.
pub async fn remove(c: &mut Conn, account_id: i64, role: &str) -> Result<bool> {
    let r = query("DELETE FROM contacts WHERE account_id = $1 AND role = $2")
        .bind(account_id)
        .bind(role)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The account's contacts.
pub async fn of_account(c: &mut Conn, account_id: i64) -> Result<Vec<ContactRow>> {
    query_as("SELECT * FROM contacts WHERE account_id = $1 ORDER BY role").bind(account_id).fetch_all(c).await
}
