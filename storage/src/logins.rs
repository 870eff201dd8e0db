//! The guards around logins: failures counted per login name, with checks
//! reserved before a password is verified (lockout, seed 3), and failures
//! counted per client address (throttling). Both tables are shared by every
//! instance.

use crate::Result;
use crate::sql::{query, query_scalar};

/// What reserving a password check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The check may run; [`failed`] or [`succeeded`] must follow.
    Granted,
    /// The login is locked.
    Locked,
    /// The failures so far plus the checks in flight reach the limit: no
    /// check may start until one of those ends.
    Full,
}

/// Reserves one password check of `login`, unless it is locked or its
/// failures plus the checks in flight reach `limit`. A reservation is
/// considered abandoned `lease` seconds after the last one was taken.
pub async fn reserve(c: &mut crate::Conn, login: &str, now: i64, lease: i64, limit: i64) -> Result<Reservation> {
    let granted: Option<i64> = query_scalar(
        "INSERT INTO login_guards (login, failures, in_flight, in_flight_until, locked, updated_at)
         VALUES ($1, 0, 1, $2 + $3, 0, $2)
         ON CONFLICT (login) DO UPDATE SET
             in_flight = CASE WHEN login_guards.in_flight_until < $2 THEN 1 ELSE login_guards.in_flight + 1 END,
             in_flight_until = $2 + $3,
             updated_at = $2
         WHERE login_guards.locked = 0
           AND login_guards.failures
               + CASE WHEN login_guards.in_flight_until < $2 THEN 0 ELSE login_guards.in_flight END < $4
         RETURNING 1",
    )
    .bind(login)
    .bind(now)
    .bind(lease)
    .bind(limit)
    .fetch_optional(&mut *c)
    .await?;
    if granted.is_some() {
        return Ok(Reservation::Granted);
    }
    let locked: Option<i64> =
        query_scalar("SELECT locked FROM login_guards WHERE login = $1").bind(login).fetch_optional(c).await?;
    Ok(if locked == Some(1) { Reservation::Locked } else { Reservation::Full })
}

/// Ends a reserved check that found a wrong password: one more failure in a
/// row, locking the login at `limit`. Returns whether it is now locked.
pub async fn failed(c: &mut crate::Conn, login: &str, now: i64, limit: i64) -> Result<bool> {
    let locked: Option<i64> = query_scalar(
        "UPDATE login_guards SET
             in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END,
             failures = failures + 1,
             locked = CASE WHEN failures + 1 >= $3 THEN 1 ELSE locked END,
             updated_at = $2
         WHERE login = $1 RETURNING locked",
    )
    .bind(login)
    .bind(now)
    .bind(limit)
    .fetch_optional(c)
    .await?;
    Ok(locked == Some(1))
}

/// Ends a reserved check that found the right password. The failures in a
/// row are cleared only when no other check of the login is in flight: one
/// that started beside this one may yet fail, and a success must not erase
/// its count.
pub async fn succeeded(c: &mut crate::Conn, login: &str, now: i64) -> Result<()> {
    query(
        "UPDATE login_guards SET
             failures = CASE WHEN in_flight <= 1 OR in_flight_until < $2 THEN 0 ELSE failures END,
             in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END,
             updated_at = $2
         WHERE login = $1",
    )
    .bind(login)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Ends a check whose password was right but whose login still needs a
/// second factor: its reservation ends, its failures stay until the code
/// is right too.
pub async fn checked(c: &mut crate::Conn, login: &str, now: i64) -> Result<()> {
    query(
        "UPDATE login_guards SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END, updated_at = $2
         WHERE login = $1",
    )
    .bind(login)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Clears the failures of an unlocked login with no check in flight (a
/// right password, known without a check).
pub async fn clear_failures(c: &mut crate::Conn, login: &str, now: i64) -> Result<()> {
    query(
        "UPDATE login_guards SET failures = 0, updated_at = $2
         WHERE login = $1 AND locked = 0 AND failures <> 0 AND (in_flight = 0 OR in_flight_until < $2)",
    )
    .bind(login)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Unlocks a login and forgets its failures; false when it had none.
pub async fn unlock(c: &mut crate::Conn, login: &str) -> Result<bool> {
    let r = query("DELETE FROM login_guards WHERE login = $1").bind(login).execute(c).await?;
    Ok(r.rows_affected() == 1)
}

/// Seconds until `ip` may try again, when its failed logins in the current
/// window of `window` seconds reached `limit`; `None` when it may try now.
pub async fn throttled(c: &mut crate::Conn, ip: &str, now: i64, window: i64, limit: i64) -> Result<Option<i64>> {
    let row: Option<(i64, i64)> =
        crate::sql::query_as("SELECT window_start, failures FROM login_throttles WHERE ip = $1")
            .bind(ip)
            .fetch_optional(c)
            .await?;
    Ok(row
        .filter(|(start, failures)| start + window > now && *failures >= limit)
        .map(|(start, _)| start + window - now))
}

/// Counts one failed login from `ip`, starting a new window of `window`
/// seconds when the last one has passed.
pub async fn count_failure(c: &mut crate::Conn, ip: &str, now: i64, window: i64) -> Result<()> {
    query(
        "INSERT INTO login_throttles (ip, window_start, failures) VALUES ($1, $2, 1)
         ON CONFLICT (ip) DO UPDATE SET
             failures = CASE WHEN login_throttles.window_start + $3 <= $2 THEN 1 ELSE login_throttles.failures + 1 END,
             window_start = CASE WHEN login_throttles.window_start + $3 <= $2 THEN $2 ELSE login_throttles.window_start END",
    )
    .bind(ip)
    .bind(now)
    .bind(window)
    .execute(c)
    .await?;
    Ok(())
}

/// Forgets what no longer counts: throttle windows of `window` seconds that
/// ended by `now`, and failures in a row of logins, known or not, that are
/// not locked, have no check in flight (or only one whose process died)
/// and saw no attempt since `idle_since` (names an attacker sprayed would
/// otherwise stay for ever). A lock stays until an operator lifts it.
/// Returns how many rows went.
pub async fn prune(c: &mut crate::Conn, now: i64, window: i64, idle_since: i64) -> Result<u64> {
    let throttles = query("DELETE FROM login_throttles WHERE window_start + $2 <= $1")
        .bind(now)
        .bind(window)
        .execute(&mut *c)
        .await?;
    let guards = query(
        "DELETE FROM login_guards
         WHERE locked = 0 AND (in_flight = 0 OR in_flight_until < $2) AND updated_at < $1",
    )
    .bind(idle_since)
    .bind(now)
    .execute(c)
    .await?;
    Ok(throttles.rows_affected() + guards.rows_affected())
}
