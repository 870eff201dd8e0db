//! Sessions of the customer area in the browser (docs/portal.md), found by
//! the hash of their token.

use crate::sql::{query, query_as};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `portal_sessions`.
    #[derive(Clone, Debug)]
    pub struct SessionRow {
        /// The SHA-256 of the session's token, hex.
        pub token_hash: String,
        /// The signed-in user.
        pub user_id: i64,
        /// The CSRF token of the session's forms.
        pub csrf: String,
        /// `en` or `fr`.
        pub language: String,
        /// When it was opened.
        pub created_at: i64,
        /// When it was last used (to the minute).
        pub last_seen_at: i64,
    }
}

/// Opens a session.
pub async fn insert(c: &mut Conn, s: &SessionRow) -> Result<()> {
    query(
        "INSERT INTO portal_sessions (token_hash, user_id, csrf, language, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(s.token_hash.as_str())
    .bind(s.user_id)
    .bind(s.csrf.as_str())
    .bind(s.language.as_str())
    .bind(s.created_at)
    .execute(c)
    .await?;
    Ok(())
}

/// Ends the user's sessions but `newest` (just opened) and its `keep - 1`
/// most recent others.
pub async fn keep_newest(c: &mut Conn, user_id: i64, newest: &str, keep: i64) -> Result<()> {
    query(
        "DELETE FROM portal_sessions WHERE user_id = $1 AND token_hash <> $2 AND token_hash NOT IN (
            SELECT token_hash FROM portal_sessions WHERE user_id = $1 AND token_hash <> $2
            ORDER BY created_at DESC, token_hash LIMIT $3)",
    )
    .bind(user_id)
    .bind(newest)
    .bind(keep - 1)
    .execute(c)
    .await?;
    Ok(())
}

/// Ends every session of a user (when it is locked).
pub async fn end_for_user(c: &mut Conn, user_id: i64) -> Result<()> {
    query("DELETE FROM portal_sessions WHERE user_id = $1").bind(user_id).execute(c).await?;
    Ok(())
}

/// The session of a token's hash, with its user's login.
pub async fn get(c: &mut Conn, token_hash: &str) -> Result<Option<(SessionRow, String)>> {
    let row: Option<SessionAndLogin> = query_as(
        "SELECT s.*, u.login AS login FROM portal_sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| (r.session, r.login)))
}

struct SessionAndLogin {
    session: SessionRow,
    login: String,
}

impl crate::sql::FromRow for SessionAndLogin {
    fn from_row(row: &crate::sql::Row<'_>) -> Result<Self> {
        Ok(SessionAndLogin { session: SessionRow::from_row(row)?, login: row.get("login")? })
    }
}

/// Marks a session used at `now`.
pub async fn touch(c: &mut Conn, token_hash: &str, now: i64) -> Result<()> {
    query("UPDATE portal_sessions SET last_seen_at = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

/// Sets a session's language.
pub async fn set_language(c: &mut Conn, token_hash: &str, language: &str) -> Result<()> {
    query("UPDATE portal_sessions SET language = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(language)
        .execute(c)
        .await?;
    Ok(())
}

/// Ends a session; false when it had ended already.
pub async fn delete(c: &mut Conn, token_hash: &str) -> Result<bool> {
    Ok(query("DELETE FROM portal_sessions WHERE token_hash = $1").bind(token_hash).execute(c).await?.rows_affected()
        == 1)
}

/// Ends the sessions that were idle since before `idle_before` or opened
/// before `opened_before`; returns how many.
pub async fn delete_stale(c: &mut Conn, idle_before: i64, opened_before: i64) -> Result<u64> {
    Ok(query("DELETE FROM portal_sessions WHERE last_seen_at < $1 OR created_at < $2")
        .bind(idle_before)
        .bind(opened_before)
        .execute(c)
        .await?
        .rows_affected())
}
