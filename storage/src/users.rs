//! Users of an account: API logins, password hashes and rights (their
//! lockout is kept per login name, in `logins`).

use crate::sql::{FromRow, Row, query, query_as, query_scalar};
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
        /// Where the user may sign in: `web` (the portal), `api` (XML-RPC) or `both`.
        pub kind: String,
        /// True while an administrator of its account suspends it.
        pub suspended: bool,
        /// The sealed TOTP secret of a user with a second factor.
        pub totp_sealed: Option<String>,
        /// The last TOTP time step used, which a code may not use again.
        pub totp_last_step: i64,
    }
}

/// Inserts a user of `kind` (`web`, `api` or `both`) and returns its id.
pub async fn insert(
    c: &mut Conn,
    account_id: i64,
    login: &str,
    password_hash: &str,
    rights: &str,
    kind: &str,
    now: i64,
) -> Result<i64> {
    query_scalar(
        "INSERT INTO users (account_id, login, password_hash, rights, kind, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(account_id)
    .bind(login)
    .bind(password_hash)
    .bind(rights)
    .bind(kind)
    .bind(now)
    .fetch_one(c)
    .await
}

/// The users `u` as [`GuardedUser`] reads them: with their login's lockout
/// state and their account's second-factor rule.
macro_rules! guarded_users {
    () => {
        "SELECT u.*, COALESCE(g.locked, 0) AS guard_locked, COALESCE(g.failures, 0) AS guard_failures,
                a.second_factor_required AS guard_second_factor
         FROM users u JOIN accounts a ON a.id = u.account_id LEFT JOIN login_guards g ON g.login = u.login"
    };
}

/// The users of an account with their lockout state, by login.
pub async fn of_account(c: &mut Conn, account_id: i64) -> Result<Vec<GuardedUser>> {
    query_as(concat!(guarded_users!(), " WHERE u.account_id = $1 ORDER BY u.login")).bind(account_id).fetch_all(c).await
}

/// Sets the rights of the account's user `login`; whether it exists.
pub async fn set_rights(c: &mut Conn, account_id: i64, login: &str, rights: &str) -> Result<bool> {
    let r = query("UPDATE users SET rights = $3 WHERE account_id = $1 AND login = $2")
        .bind(account_id)
        .bind(login)
        .bind(rights)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Suspends or restores the account's user `login`, if it is not so
/// already; whether it changed.
pub async fn set_suspended(c: &mut Conn, account_id: i64, login: &str, suspended: bool) -> Result<bool> {
    let r = query("UPDATE users SET suspended = $3 WHERE account_id = $1 AND login = $2 AND suspended <> $3")
        .bind(account_id)
        .bind(login)
        .bind(suspended)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Replaces the password hash of the account's user `login`; whether it exists.
pub async fn set_password_hash(c: &mut Conn, account_id: i64, login: &str, hash: &str) -> Result<bool> {
    let r = query("UPDATE users SET password_hash = $3 WHERE account_id = $1 AND login = $2")
        .bind(account_id)
        .bind(login)
        .bind(hash)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes the account's user `login` and its portal sessions; whether it existed.
pub async fn delete(c: &mut Conn, account_id: i64, login: &str) -> Result<bool> {
    query("DELETE FROM portal_sessions WHERE user_id IN (SELECT id FROM users WHERE account_id = $1 AND login = $2)")
        .bind(account_id)
        .bind(login)
        .execute(c)
        .await?;
    let r =
        query("DELETE FROM users WHERE account_id = $1 AND login = $2").bind(account_id).bind(login).execute(c).await?;
    Ok(r.rows_affected() == 1)
}

/// Sets the account's user `login`'s sealed TOTP secret, its step `step`
/// used, if it has none; whether it had none (a factor is replaced only
/// after it was switched off with a current code).
pub async fn enrol_totp(c: &mut Conn, account_id: i64, login: &str, sealed: &str, step: i64) -> Result<bool> {
    let r = query(
        "UPDATE users SET totp_sealed = $3, totp_last_step = $4
         WHERE account_id = $1 AND login = $2 AND totp_sealed IS NULL",
    )
    .bind(account_id)
    .bind(login)
    .bind(sealed)
    .bind(step)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Removes the account's user `login`'s TOTP secret; whether the user exists.
pub async fn clear_totp(c: &mut Conn, account_id: i64, login: &str) -> Result<bool> {
    let sql = "UPDATE users SET totp_sealed = NULL, totp_last_step = 0 WHERE account_id = $1 AND login = $2";
    Ok(query(sql).bind(account_id).bind(login).execute(c).await?.rows_affected() == 1)
}

/// Takes TOTP step `step` for user `id` if it is later than the last one
/// used; whether it was (a code is good once).
pub async fn take_totp_step(c: &mut Conn, id: i64, step: i64) -> Result<bool> {
    let r = query("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2")
        .bind(id)
        .bind(step)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Locks user `id` until the transaction ends if its password hash is
/// still `hash`; whether it is. A password reset, which changes the hash
/// and then ends the user's sessions, waits for a sign-in that passed this
/// check, and ends the session it opens (on SQLite every writer is alone).
pub async fn lock_if_password(c: &mut Conn, id: i64, hash: &str) -> Result<bool> {
    let lock = if c.backend() == crate::Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT COUNT(*) FROM (SELECT id FROM users WHERE id = $1 AND password_hash = $2{lock}) u");
    let found: i64 = crate::sql::query_built(sql).read_as::<(i64,)>().bind(id).bind(hash).fetch_one(c).await?.0;
    Ok(found == 1)
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
    /// Whether its account requires a second factor of its users.
    pub second_factor_required: bool,
}

impl FromRow for GuardedUser {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        let user = UserRow::from_row(row)?;
        let mut next = 0;
        let locked: i64 = row.get_next(&mut next, "", "guard_locked")?;
        let failures = row.get_next(&mut next, "", "guard_failures")?;
        let required: i64 = row.get_next(&mut next, "", "guard_second_factor")?;
        Ok(GuardedUser { user, locked: locked == 1, failures, second_factor_required: required == 1 })
    }
}

/// Reads a user by login with its lockout state and its account's
/// second-factor rule, in one query: a login remembered as verified needs
/// nothing else.
pub async fn by_login_guarded(c: &mut Conn, login: &str) -> Result<Option<GuardedUser>> {
    query_as(concat!(guarded_users!(), " WHERE u.login = $1")).bind(login).fetch_optional(c).await
}
