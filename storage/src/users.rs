//! Users of an account: API logins, password hashes and rights (their
//! lockout is kept per login name, in `logins`).

use crate::sql::{FromRow, Row, query_as, query_scalar};
use crate::{Conn, Result};

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
pub async fn insert(
    c: &mut Conn,
    account_id: i64,
    login: &str,
    password_hash: &str,
    rights: &str,
    now: i64,
) -> Result<i64> {
    query_scalar(
        "INSERT INTO users (account_id, login, password_hash, rights, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(account_id)
    .bind(login)
    .bind(password_hash)
    .bind(rights)
    .bind(now)
    .fetch_one(c)
    .await
}

/// Reads a user by login.
pub async fn by_login(c: &mut Conn, login: &str) -> Result<Option<UserRow>> {
    query_as("SELECT * FROM users WHERE login = $1").bind(login).fetch_optional(c).await
}

/// A user with the lockout state of its login name (see `logins`).
#[derive(Clone, Debug)]
pub struct GuardedUser {
    /// The user.
    pub user: UserRow,
    /// True when its login name is locked.
    pub locked: bool,
    /// Its failed logins in a row, with the checks in flight.
    pub failures: i64,
}

impl FromRow for GuardedUser {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        let user = UserRow::from_row(row)?;
        let mut next = 0;
        let locked: i64 = row.get_next(&mut next, "", "guard_locked")?;
        let failures = row.get_next(&mut next, "", "guard_failures")?;
        Ok(GuardedUser { user, locked: locked == 1, failures })
    }
}

/// Reads a user by login with its lockout state, in one query: a login
/// remembered as verified needs nothing else.
pub async fn by_login_guarded(c: &mut Conn, login: &str) -> Result<Option<GuardedUser>> {
    query_as(
        "SELECT u.*, COALESCE(g.locked, 0) AS guard_locked, COALESCE(g.failures, 0) AS guard_failures
         FROM users u LEFT JOIN login_guards g ON g.login = u.login WHERE u.login = $1",
    )
    .bind(login)
    .fetch_optional(c)
    .await
}
