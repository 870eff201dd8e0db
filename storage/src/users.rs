//! Users of an account: API logins, password hashes, rights and lockout.

use crate::sql::{query, query_as, query_scalar};
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
        /// How many logins in a row have failed.
        pub failed_attempts: i64,
        /// 1 when too many failed logins locked the user out, else 0.
        pub locked: i64,
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

/// Counts one more failed login in a row, locking the user at `limit`;
/// returns whether the user is now locked.
pub async fn record_failure(c: &mut Conn, id: i64, limit: i64) -> Result<bool> {
    let locked: i64 = query_scalar(
        "UPDATE users SET failed_attempts = failed_attempts + 1,
             locked = CASE WHEN failed_attempts + 1 >= $2 THEN 1 ELSE locked END
         WHERE id = $1 RETURNING locked",
    )
    .bind(id)
    .bind(limit)
    .fetch_one(c)
    .await?;
    Ok(locked == 1)
}

/// Clears the failed-attempt counter after a good login.
pub async fn reset_failures(c: &mut Conn, id: i64) -> Result<()> {
    query("UPDATE users SET failed_attempts = 0 WHERE id = $1 AND failed_attempts <> 0").bind(id).execute(c).await?;
    Ok(())
}

/// Unlocks a user and clears its counter; false when no such login exists.
pub async fn unlock(c: &mut Conn, login: &str) -> Result<bool> {
    let r = query("UPDATE users SET failed_attempts = 0, locked = 0 WHERE login = $1").bind(login).execute(c).await?;
    Ok(r.rows_affected() == 1)
}
