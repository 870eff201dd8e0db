//! Users of an account: creation with an argon2 hash, login with lockout
//! after too many failures in a row (seed 3, 7.1), and unlocking.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use storage::{audit, commit, users};

use crate::verified;
use crate::{Caller, OrderError, Orders, Result, Rights, Source};

/// A hash to verify against when the login is unknown, so that an unknown
/// user and a wrong password take the same time.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Q1C3vGq3bNnSh0Jx1R1m0l0i2n4CkJQm5gC0rY8dQ8";

/// True when `password` matches the Argon2 `hash`, checked off the async
/// threads (it takes about 15 ms of CPU).
async fn argon2_verifies(hash: &str, password: &str) -> bool {
    let (hash, password) = (hash.to_string(), password.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

impl Orders {
    /// Creates a user of an account with the given rights; returns its id.
    pub async fn create_user(&self, caller: &Caller, login: &str, password: &str, rights: Rights) -> Result<i64> {
        caller.require(crate::Right::Administrative)?;
        if login.trim().is_empty() || login.chars().any(char::is_whitespace) {
            return Err(OrderError::Invalid("a login must be non-empty and without spaces".into()));
        }
        if password.len() < 8 {
            return Err(OrderError::Invalid("a password needs at least 8 characters".into()));
        }
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || {
            Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string())
        })
        .await
        .map_err(|e| OrderError::Invalid(format!("hashing failed: {e}")))?
        .map_err(|e| OrderError::Invalid(format!("hashing failed: {e}")))?;
        let mut tx = self.db().begin().await?;
        let id = match users::insert(&mut tx, caller.account_id, login, &hash, &rights.to_string()).await {
            Err(e) if e.is_unique_violation() => {
                return Err(OrderError::Invalid(format!("login {login:?} is taken")));
            }
            other => other?,
        };
        audit::record(&mut tx, &caller.actor(), "user.create", &format!("{login} ({rights})")).await?;
        commit(tx).await?;
        Ok(id)
    }

    /// Checks a login and password and returns the caller they stand for. Five
    /// failures in a row lock the user until an operator unlocks it; unknown
    /// users and wrong passwords give the same error.
    pub async fn authenticate(&self, login: &str, password: &str, ip: &str, source: Source) -> Result<Caller> {
        let user = users::by_login(&mut *self.db().acquire().await?, login).await?;
        let key = user.as_ref().map(|u| verified::key(u.id, &u.password_hash, password));
        let remembered = key.as_ref().is_some_and(|k| self.inner.verified.recently(k));
        let ok = remembered || {
            let hash = user.as_ref().map_or(DECOY_HASH, |u| u.password_hash.as_str());
            argon2_verifies(hash, password).await
        };
        if let (true, false, Some(k)) = (ok, remembered, key) {
            self.inner.verified.remember(k);
        }
        let actor = storage::audit::Actor {
            account_id: user.as_ref().map(|u| u.account_id),
            name: login.to_string(),
            ip: ip.to_string(),
            source: source.as_str().into(),
        };
        let Some(user) = user else {
            audit::record(&mut *self.db().acquire_writer().await?, &actor, "login.failed", "unknown user").await?;
            return Err(OrderError::BadCredentials);
        };
        if user.locked == 1 {
            audit::record(&mut *self.db().acquire_writer().await?, &actor, "login.refused", "user locked").await?;
            return Err(OrderError::Locked(user.login));
        }
        if !ok {
            let mut tx = self.db().begin().await?;
            let locked = users::record_failure(&mut tx, user.id, self.settings().max_failed_logins).await?;
            let detail = if locked { "wrong password; now locked" } else { "wrong password" };
            audit::record(&mut tx, &actor, "login.failed", detail).await?;
            commit(tx).await?;
            return Err(OrderError::BadCredentials);
        }
        // A successful login with no failures to reset writes nothing, so
        // that read-only calls do not take SQLite's write lock.
        if user.failed_attempts != 0 {
            users::reset_failures(&mut *self.db().acquire_writer().await?, user.id).await?;
        }
        let rights = Rights::parse(&user.rights).unwrap_or_default();
        Ok(Caller { account_id: user.account_id, login: user.login, rights, ip: ip.to_string(), source })
    }

    /// Unlocks a user and clears its failure count (an operator action).
    pub async fn unlock_user(&self, login: &str) -> Result<()> {
        let mut tx = self.db().begin().await?;
        if !users::unlock(&mut tx, login).await? {
            return Err(OrderError::Invalid(format!("no user {login:?}")));
        }
        let actor = storage::audit::Actor {
            account_id: None,
            name: "operator".into(),
            ip: "local".into(),
            source: "cli".into(),
        };
        audit::record(&mut tx, &actor, "user.unlock", login).await?;
        commit(tx).await?;
        Ok(())
    }
}
