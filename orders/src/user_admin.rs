//! An account's users as its administrators manage them (seed 7.1, 7.1.3):
//! list them, create a web or API user (with a password given, or one made
//! and shown once), change rights, suspend and restore, unlock, reset a
//! password (shown once; only its hash is kept), and delete. Each change is
//! a conditional update within the caller's account, audited; suspending,
//! resetting and deleting end the user's portal sessions in the same
//! transaction.

use storage::{audit, commit, logins, sessions, users};

use crate::{Caller, OrderError, Orders, Result, Right, Rights, Source};

/// Where a user may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserKind {
    /// The customer area and the API (every user made before kinds existed).
    Both,
    /// The customer area in the browser only.
    Web,
    /// The XML-RPC API only (seed 7.1.3).
    Api,
}

impl UserKind {
    /// Its word: `both`, `web` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Both => "both",
            UserKind::Web => "web",
            UserKind::Api => "api",
        }
    }

    /// The kind a word names.
    pub fn parse(word: &str) -> Option<UserKind> {
        [UserKind::Both, UserKind::Web, UserKind::Api].into_iter().find(|k| k.as_str() == word)
    }

    /// Whether a user of this kind may sign in through `source`.
    pub fn admits(self, source: Source) -> bool {
        match self {
            UserKind::Both => true,
            UserKind::Web => source == Source::Portal,
            UserKind::Api => source == Source::Xmlrpc,
        }
    }
}

/// A user as its account's administrators see it.
#[derive(Clone, Debug)]
pub struct User {
    /// The login name.
    pub login: String,
    /// Its rights.
    pub rights: Rights,
    /// Where it may sign in.
    pub kind: UserKind,
    /// True while suspended by an administrator.
    pub suspended: bool,
    /// True when locked after too many failed logins.
    pub locked: bool,
    /// True when it enrolled a second factor.
    pub second_factor: bool,
    /// When it was created (UTC Unix seconds).
    pub created_at: i64,
}

/// Whether `user` may sign in through `source` now: not suspended, and of a
/// kind that this front serves.
pub(crate) fn admit(user: &users::UserRow, source: Source) -> Result<()> {
    if user.suspended {
        return Err(OrderError::NotAdmitted { login: user.login.clone(), why: "suspended".into() });
    }
    let kind = UserKind::parse(&user.kind).unwrap_or(UserKind::Both);
    // The operator's CLI and ACME never sign users in with passwords.
    if matches!(source, Source::Portal | Source::Xmlrpc) && !kind.admits(source) {
        let why = format!("a {} user does not sign in through {}", kind.as_str(), source.as_str());
        return Err(OrderError::NotAdmitted { login: user.login.clone(), why });
    }
    // The API asks no second factor: a user who enrolled one would have it
    // skipped there, so it keeps to the portal (an API user serves the API).
    if source == Source::Xmlrpc && user.totp_sealed.is_some() {
        let why = "a user with a second factor signs in to the customer area only; use an API user".into();
        return Err(OrderError::NotAdmitted { login: user.login.clone(), why });
    }
    Ok(())
}

impl Orders {
    /// The caller's account's users, by login.
    pub async fn users(&self, caller: &Caller) -> Result<Vec<User>> {
        caller.require(Right::Administrative)?;
        let rows = users::of_account(&mut *self.db().acquire().await?, caller.account_id).await?;
        Ok(rows
            .into_iter()
            .map(|g| User {
                rights: Rights::parse(&g.user.rights).unwrap_or_default(),
                kind: UserKind::parse(&g.user.kind).unwrap_or(UserKind::Both),
                suspended: g.user.suspended,
                locked: g.locked,
                second_factor: g.user.totp_sealed.is_some(),
                created_at: g.user.created_at,
                login: g.user.login,
            })
            .collect())
    }

    /// Creates a user of `kind`. Without a password, one is made: the
    /// answer holds it, to show this once.
    pub async fn create_user_of_kind(
        &self,
        caller: &Caller,
        login: &str,
        password: Option<&str>,
        rights: Rights,
        kind: UserKind,
    ) -> Result<Option<String>> {
        let made = password.is_none().then(new_password);
        let password = password.or(made.as_deref()).unwrap_or_default();
        self.create_user_kind(caller, login, password, rights, kind).await?;
        Ok(made)
    }

    /// Sets the rights of the caller's account's user `login`.
    pub async fn set_user_rights(&self, caller: &Caller, login: &str, rights: Rights) -> Result<()> {
        caller.require(Right::Administrative)?;
        if login == caller.login && !rights.has(Right::Administrative) {
            return Err(OrderError::Invalid("you cannot take your own administrative right".into()));
        }
        let mut tx = self.db().begin().await?;
        if !rights.has(Right::Administrative) {
            keeps_an_administrator(&mut tx, caller.account_id, login).await?;
        }
        if !users::set_rights(&mut tx, caller.account_id, login, &rights.to_string()).await? {
            return Err(unknown(login));
        }
        audit::record(&mut tx, &caller.actor(), "user.rights", &format!("{login} ({rights})"), self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Suspends (or restores) the caller's account's user `login`; a
    /// suspended user's sessions end at once.
    pub async fn set_user_suspended(&self, caller: &Caller, login: &str, suspended: bool) -> Result<()> {
        caller.require(Right::Administrative)?;
        if login == caller.login {
            return Err(OrderError::Invalid("you cannot suspend yourself".into()));
        }
        let mut tx = self.db().begin().await?;
        let user = own_user(&mut tx, caller, login).await?;
        if suspended {
            keeps_an_administrator(&mut tx, caller.account_id, login).await?;
        }
        if !users::set_suspended(&mut tx, caller.account_id, login, suspended).await? {
            let now = if user.suspended { "suspended" } else { "active" };
            return Err(OrderError::Invalid(format!("user {login} is {now} already")));
        }
        if suspended {
            sessions::end_for_user(&mut tx, user.id).await?;
        }
        let what = if suspended { "user.suspend" } else { "user.restore" };
        audit::record(&mut tx, &caller.actor(), what, login, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Unlocks the caller's account's user `login` after too many failed logins.
    pub async fn unlock_account_user(&self, caller: &Caller, login: &str) -> Result<()> {
        caller.require(Right::Administrative)?;
        let mut tx = self.db().begin().await?;
        own_user(&mut tx, caller, login).await?;
        if !logins::unlock(&mut tx, login).await? {
            return Err(OrderError::Invalid(format!("user {login} is not locked")));
        }
        audit::record(&mut tx, &caller.actor(), "user.unlock", login, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Gives the caller's account's user `login` a new password, made here
    /// and returned to show once; its sessions end.
    pub async fn reset_password(&self, caller: &Caller, login: &str) -> Result<String> {
        caller.require(Right::Administrative)?;
        let password = new_password();
        let hash = self.inner.passwords.hash(&password, self.password_wait()).await?;
        let mut tx = self.db().begin().await?;
        let user = own_user(&mut tx, caller, login).await?;
        users::set_password_hash(&mut tx, caller.account_id, login, &hash).await?;
        sessions::end_for_user(&mut tx, user.id).await?;
        audit::record(&mut tx, &caller.actor(), "user.password_reset", login, self.now()).await?;
        commit(tx).await?;
        Ok(password)
    }

    /// Deletes the caller's account's user `login` and its sessions.
    pub async fn delete_user(&self, caller: &Caller, login: &str) -> Result<()> {
        caller.require(Right::Administrative)?;
        if login == caller.login {
            return Err(OrderError::Invalid("you cannot delete yourself".into()));
        }
        let mut tx = self.db().begin().await?;
        keeps_an_administrator(&mut tx, caller.account_id, login).await?;
        if !users::delete(&mut tx, caller.account_id, login).await? {
            return Err(unknown(login));
        }
        audit::record(&mut tx, &caller.actor(), "user.delete", login, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }
}

/// Refuses a change that would leave the account without an active
/// administrator once `login` stops being one (read in the change's
/// transaction, so two administrators cannot remove each other at once).
async fn keeps_an_administrator(tx: &mut storage::Conn, account_id: i64, login: &str) -> Result<()> {
    // Under the account's lock: PostgreSQL's READ COMMITTED would otherwise let
    // two administrators each see the other and remove each other.
    storage::accounts::lock(tx, account_id).await?;
    let others = users::of_account(tx, account_id)
        .await?
        .into_iter()
        .filter(|g| g.user.login != login && !g.user.suspended)
        .any(|g| Rights::parse(&g.user.rights).unwrap_or_default().has(Right::Administrative));
    if others { Ok(()) } else { Err(OrderError::Invalid("the account would have no active administrator left".into())) }
}

/// The caller's account's user `login`, or the refusal naming it.
pub(crate) async fn own_user(tx: &mut storage::Conn, caller: &Caller, login: &str) -> Result<users::UserRow> {
    users::by_login(tx, login).await?.filter(|u| u.account_id == caller.account_id).ok_or_else(|| unknown(login))
}

fn unknown(login: &str) -> OrderError {
    OrderError::Invalid(format!("no user {login:?} in this account"))
}

/// A password made for a user: 18 random bytes, base64url (24 characters).
fn new_password() -> String {
    crate::new_token()[..24].to_string()
}
