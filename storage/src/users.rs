//! Users of an account: API logins, password hashes and rights (their
//! lockout is kept per login name, in `logins`).

use crate::sql::{query_as, query_scalar};
use crate::{Conn, Result, now};

crate::row_struct! {
    /// One row of `users`.
    #[derive(Clone, Debug)]
    pub struct UserRow {
        /// The user's database identifier.
        pub id: i64,
        /// The account the user belongs to.
        pub account_id: i64,
        /// The unique login name.
        pub login: String,
        /// An argon2 PHC string.
        pub password_hash: String,
        /// Comma-separated rights: technical, commercial, billing, administrative, approval.
        pub rights: String,
        /// When the user was created, in UTC Unix seconds.
        pub created_at: i64,
    }
}

/// Inserts a user and returns its id.
pub async fn insert(c: &mut Conn, account_id: i64, login: &str, password_hash: &str, rights: &str) -> Result<i64> {
    query_scalar(
        "INSERT INTO users (account_id, login, password_hash, rights, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(account_id)
    .bind(login)
    .bind(password_hash)
    .bind(rights)
    .bind(now())
    .fetch_one(c)
    .await
}

/// Reads a user by login.
pub async fn by_login(c: &mut Conn, login: &str) -> Result<Option<UserRow>> {
    query_as("SELECT * FROM users WHERE login = $1").bind(login).fetch_optional(c).await
}
