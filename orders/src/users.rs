//! Users of an account: creation with an Argon2 hash, and login with the
//! guards of docs/security.md: failures counted per login name, known or
//! not, locking it after too many in a row (seed 3, 7.1), with each check
//! reserved before the password is verified so that parallel attempts
//! cannot check more; failures counted per client address, past a limit
//! refused unchecked; and a bounded number of checks at once.

use std::time::Duration;

use storage::{audit, commit, logins, users};
use tokio::time::Instant;

use crate::verified;
use crate::{Caller, OrderError, Orders, Result, Rights, Source};

/// A hash to verify against when the login is unknown, so that an unknown
/// user and a wrong password take the same time.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Q1C3vGq3bNnSh0Jx1R1m0l0i2n4CkJQm5gC0rY8dQ8";

/// Seconds after which a reserved check whose process died no longer counts.
const CHECK_LEASE_SECS: i64 = 30;

/// The longest login name: longer ones are refused unchecked, so that
/// failed attempts cannot fill the lockout table with huge names.
const MAX_LOGIN_LEN: usize = 128;

/// How often a login waits to see whether a check of the same login has ended.
const FULL_RETRY: Duration = Duration::from_millis(20);

impl Orders {
    /// Creates a user of an account with the given rights, who signs in to
    /// the portal and the API alike; returns its id.
    pub async fn create_user(&self, caller: &Caller, login: &str, password: &str, rights: Rights) -> Result<i64> {
        self.create_user_kind(caller, login, password, rights, crate::UserKind::Both).await
    }

    /// Creates a user of `kind`; returns its id.
    pub(crate) async fn create_user_kind(
        &self,
        caller: &Caller,
        login: &str,
        password: &str,
        rights: Rights,
        kind: crate::UserKind,
    ) -> Result<i64> {
        caller.require(crate::Right::Administrative)?;
        if login.trim().is_empty() || login.chars().any(char::is_whitespace) || login.len() > MAX_LOGIN_LEN {
            return Err(OrderError::Invalid(format!(
                "a login must be non-empty, without spaces, and at most {MAX_LOGIN_LEN} bytes"
            )));
        }
        if password.len() < 8 {
            return Err(OrderError::Invalid("a password needs at least 8 characters".into()));
        }
        let hash = self.inner.passwords.hash(password, self.password_wait()).await?;
        let mut tx = self.db().begin().await?;
        // Failures counted against the name before it was a user's (locked in
        // advance by someone guessing it) are not the new user's.
        logins::unlock(&mut tx, login).await?;
        let rights_word = rights.to_string();
        let id = match users::insert(&mut tx, caller.account_id, login, &hash, &rights_word, kind.as_str(), self.now())
            .await
        {
            Err(e) if e.is_unique_violation() => {
                return Err(OrderError::Invalid(format!("login {login:?} is taken")));
            }
            other => other?,
        };
        let detail = format!("{login} ({rights}; {})", kind.as_str());
        audit::record(&mut tx, &caller.actor(), "user.create", &detail, self.now()).await?;
        commit(tx).await?;
        Ok(id)
    }

    /// Checks a login and password and returns the caller they stand for.
    /// Unknown logins and wrong passwords give the same error, take the same
    /// time, and lock the login name alike after too many in a row.
    ///
    /// The check runs as a task of its own: a client that goes away (an
    /// HTTP/2 stream reset) drops the request's future, and a check dropped
    /// midway would keep its Argon2 computation running without its turn and
    /// leave its reservation and its failure uncounted.
    pub async fn authenticate(&self, login: &str, password: &str, ip: &str, source: Source) -> Result<Caller> {
        Ok(self.authenticate_verified(login, password, ip, source).await?.0)
    }

    /// As [`Orders::authenticate`], with the password hash that the
    /// password was checked against: a session is opened only while the
    /// user still has it (a reset may land during the check).
    pub(crate) async fn authenticate_verified(
        &self,
        login: &str,
        password: &str,
        ip: &str,
        source: Source,
    ) -> Result<(Caller, String)> {
        // Longer names are no one's: refused before they reach the database.
        if login.len() > MAX_LOGIN_LEN {
            return Err(OrderError::BadCredentials);
        }
        let (this, login, password, ip) = (self.clone(), login.to_string(), password.to_string(), ip.to_string());
        tokio::spawn(async move { this.check_login(&login, &password, &ip, source).await })
            .await
            .map_err(|e| OrderError::Invalid(format!("the login check failed: {e}")))?
    }

    async fn check_login(&self, login: &str, password: &str, ip: &str, source: Source) -> Result<(Caller, String)> {
        let settings = self.settings();
        let mut guarded = users::by_login_guarded(&mut *self.db().acquire().await?, login).await?;
        let user = guarded.as_ref().map(|g| g.user.clone());
        let key = user.as_ref().map(|u| verified::key(u.id, &u.password_hash, password));
        let remembered = || key.as_ref().is_some_and(|k| self.inner.verified.recently(k));
        let actor = storage::audit::Actor {
            account_id: user.as_ref().map(|u| u.account_id),
            name: login.to_string(),
            ip: ip.to_string(),
            source: source.as_str().into(),
            call: None,
        };
        let deadline = Instant::now() + self.password_wait();
        // A turn to check, a reservation of the check, or a refusal.
        let turn = loop {
            if remembered() {
                // Read again after a wait: the lock may have changed meanwhile.
                let fresh = match guarded.take() {
                    Some(g) => Some(g),
                    None => users::by_login_guarded(&mut *self.db().acquire().await?, login).await?,
                };
                // The password remembered is the one of the hash read first:
                // if it changed meanwhile (a reset), the password is an old one.
                let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_default();
                let fresh = fresh.filter(|g| g.user.password_hash == hash);
                return Ok((self.remembered_login(fresh, &actor, ip, source).await?, hash));
            }
            // Any later turn of this loop comes after a wait.
            guarded = None;
            self.refuse_throttled(ip).await?;
            let turn = self.inner.passwords.turn(deadline).await?;
            // Failures recorded while this login waited for its turn count too.
            self.refuse_throttled(ip).await?;
            let reserved = logins::reserve(
                &mut *self.db().acquire_writer().await?,
                login,
                self.now(),
                CHECK_LEASE_SECS,
                settings.max_failed_logins,
            )
            .await?;
            match reserved {
                logins::Reservation::Granted => break turn,
                logins::Reservation::Locked => {
                    audit::record(
                        &mut *self.db().acquire_writer().await?,
                        &actor,
                        "login.refused",
                        "locked",
                        self.now(),
                    )
                    .await?;
                    return Err(OrderError::Locked(login.to_string()));
                }
                // As many checks are in flight as failures are left: wait for one to end.
                logins::Reservation::Full => {
                    drop(turn);
                    if Instant::now() + FULL_RETRY >= deadline {
                        return Err(OrderError::Busy);
                    }
                    tokio::time::sleep(FULL_RETRY).await;
                }
            }
        };
        let hash = user.as_ref().map_or(DECOY_HASH, |u| u.password_hash.as_str());
        let ok = self.inner.passwords.verify(turn, hash, password).await && user.is_some();
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let user_id = user.as_ref().map(|u| u.id);
        let Some(user) = user.filter(|_| ok) else {
            let locked = logins::failed(&mut tx, login, now, settings.max_failed_logins).await?;
            if locked && let Some(id) = user_id {
                // A locked user is signed out of the portal at once, not at its next page.
                storage::sessions::end_for_user(&mut tx, id).await?;
            }
            if settings.failed_logins_per_ip > 0 {
                logins::count_failure(&mut tx, &throttle_key(ip), now, settings.failed_login_window_secs).await?;
            }
            let why = if actor.account_id.is_some() { "wrong password" } else { "unknown user" };
            let detail = if locked { format!("{why}; now locked") } else { why.to_string() };
            audit::record(&mut tx, &actor, "login.failed", &detail, self.now()).await?;
            commit(tx).await?;
            return Err(OrderError::BadCredentials);
        };
        // A right password alone does not clear the failures of a login that
        // still owes its second factor, nor of one refused here (through the
        // API, say): wrong codes must add up to the lock.
        let admitted = crate::user_admin::admit(&user, source);
        if admitted.is_ok() && !owes_second_factor(&user, source) {
            logins::succeeded(&mut tx, login, now).await?;
        } else {
            logins::checked(&mut tx, login, now).await?;
        }
        if let Err(e) = admitted {
            audit::record(&mut tx, &actor, "login.refused", &e.to_string(), self.now()).await?;
            commit(tx).await?;
            return Err(e);
        }
        commit(tx).await?;
        if let Some(k) = key {
            self.inner.verified.remember(k);
        }
        let hash = user.password_hash.clone();
        Ok((caller_of(user, ip, source), hash))
    }

    /// A login whose password verified a moment ago: only the lock, read
    /// with the user, is checked, and failures left by others are cleared
    /// as a good login clears them.
    async fn remembered_login(
        &self,
        guarded: Option<users::GuardedUser>,
        actor: &storage::audit::Actor,
        ip: &str,
        source: Source,
    ) -> Result<Caller> {
        let users::GuardedUser { user, locked, failures, .. } = guarded.ok_or(OrderError::BadCredentials)?;
        if locked {
            audit::record(&mut *self.db().acquire_writer().await?, actor, "login.refused", "locked", self.now())
                .await?;
            return Err(OrderError::Locked(user.login));
        }
        crate::user_admin::admit(&user, source)?;
        // A login with no failures to clear writes nothing, so that read-only
        // calls do not take SQLite's write lock.
        if failures != 0 && !owes_second_factor(&user, source) {
            logins::clear_failures(&mut *self.db().acquire_writer().await?, &user.login, self.now()).await?;
        }
        Ok(caller_of(user, ip, source))
    }

    /// Refuses a login from `ip` when its failed logins reached the limit
    /// of the current window.
    async fn refuse_throttled(&self, ip: &str) -> Result<()> {
        let s = self.settings();
        if s.failed_logins_per_ip <= 0 {
            return Ok(());
        }
        let mut c = self.db().acquire().await?;
        let window = s.failed_login_window_secs;
        match logins::throttled(&mut c, &throttle_key(ip), self.now(), window, s.failed_logins_per_ip).await? {
            Some(retry) => {
                metrics::counter!("certgate_logins_throttled_total").increment(1);
                Err(OrderError::Throttled(retry.max(1)))
            }
            None => Ok(()),
        }
    }

    pub(crate) fn password_wait(&self) -> Duration {
        Duration::from_millis(self.settings().password_check_wait_ms)
    }

    /// Unlocks a login name and clears its failures (an operator action);
    /// an unknown name that was locked is unlocked the same way.
    pub async fn unlock_user(&self, login: &str) -> Result<()> {
        let mut tx = self.db().begin().await?;
        let known = users::by_login(&mut tx, login).await?.is_some();
        if !logins::unlock(&mut tx, login).await? && !known {
            return Err(OrderError::Invalid(format!("no user {login:?}")));
        }
        let actor = storage::audit::Actor {
            account_id: None,
            name: "operator".into(),
            ip: "local".into(),
            source: "cli".into(),
            call: None,
        };
        audit::record(&mut tx, &actor, "user.unlock", login, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }
}

/// Whether `user` signing in through `source` must still give a second-factor code.
fn owes_second_factor(user: &users::UserRow, source: Source) -> bool {
    source == Source::Portal && user.totp_sealed.is_some()
}

pub(crate) fn caller_of(user: users::UserRow, ip: &str, source: Source) -> Caller {
    let rights = Rights::parse(&user.rights).unwrap_or_default();
    Caller { account_id: user.account_id, login: user.login, rights, ip: ip.to_string(), source, call: None }
}

/// The address failed logins are counted under: an IPv6 address's /64, the
/// block one subscriber usually gets whole, so that walking through it does
/// not escape the throttle; an IPv4 address itself.
pub(crate) fn throttle_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ipv6_addresses_are_throttled_by_their_64() {
        assert_eq!(super::throttle_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(super::throttle_key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(super::throttle_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(super::throttle_key("::ffff:192.0.2.7"), "::ffff:192.0.2.7");
    }
}
