//! Sessions of the customer area in the browser (docs/portal.md): a user
//! who signed in with the same login checks as the XML-RPC front (lockout
//! shared) gets a random token for its cookie; the database keeps only the
//! token's SHA-256, with a CSRF token for its forms and its language. A
//! session ends when idle for `portal_idle_secs`, after
//! `portal_session_secs`, at sign-out, or when its user is locked.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use storage::sessions::{self, SessionRow};
use storage::{audit, users};

use crate::{Caller, OrderError, Orders, Result, Rights, Source};

/// The most sessions one user keeps open (browsers, devices).
const MAX_SESSIONS_PER_USER: i64 = 10;

/// A session as the portal sees it.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who is signed in.
    pub caller: Caller,
    /// The CSRF token every form of the session carries.
    pub csrf: String,
    /// `en` or `fr`.
    pub language: String,
    /// True when the account requires a second factor that the user has
    /// not enrolled: the caller then holds no right, and may only enrol.
    pub must_enrol: bool,
}

/// The caller of a session of `g`: with no right while it owes the second
/// factor its account requires (seed 7.1.2), so that the order core refuses
/// everything but enrolling, whatever a front forgets to check.
fn session_caller(g: users::GuardedUser, ip: &str) -> (Caller, bool) {
    let must_enrol = g.second_factor_required && g.user.totp_sealed.is_none();
    let mut caller = crate::users::caller_of(g.user, ip, Source::Portal);
    if must_enrol {
        caller.rights = Rights::default();
    }
    (caller, must_enrol)
}

/// 32 random bytes, base64url: a session or CSRF token.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("system random source");
    URL_SAFE_NO_PAD.encode(b)
}

/// Compares two tokens in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A tag of `fields` keyed with a session's CSRF token (HMAC-SHA256,
/// base64url): a page that hands fields to a form to post back (a reviewed
/// order) tags them, so that what comes back is known to be what was shown.
/// Each field is length-prefixed, so that no two lists share a tag.
pub fn tag_fields(csrf: &str, fields: &[&str]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, csrf.as_bytes());
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    for f in fields {
        ctx.update(&(f.len() as u64).to_be_bytes());
        ctx.update(f.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
}

fn hash(token: &str) -> String {
    digest(&SHA256, token.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl Orders {
    /// Signs `login` in from `ip` (the lockout and throttles of every
    /// front apply), with its second-factor `code` when it enrolled one, and
    /// opens a session in `language`; returns its token, for the cookie,
    /// and the session.
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        code: &str,
        ip: &str,
        language: &str,
    ) -> Result<(String, Session)> {
        let (caller, verified_hash) = self.authenticate_verified(login, password, ip, Source::Portal).await?;
        // Read again after the check, which may have waited its turn: a
        // factor enrolled or an account's rule set meanwhile must hold.
        let guarded = users::by_login_guarded(&mut *self.db().acquire().await?, &caller.login)
            .await?
            .ok_or(OrderError::BadCredentials)?;
        self.check_totp(&guarded.user, code, ip).await?;
        let user_id = guarded.user.id;
        let (caller, must_enrol) = session_caller(guarded, ip);
        let token = new_token();
        let row = SessionRow {
            token_hash: hash(&token),
            user_id,
            csrf: new_token(),
            language: if language == "fr" { "fr" } else { "en" }.into(),
            created_at: self.now(),
            last_seen_at: self.now(),
        };
        let mut tx = self.db().begin().await?;
        // A reset that landed while the password was checked ended the
        // user's sessions before this one existed: the password is an old one.
        if !users::lock_if_password(&mut tx, user_id, &verified_hash).await? {
            return Err(OrderError::BadCredentials);
        }
        sessions::insert(&mut tx, &row).await?;
        // A user's sessions are bounded: signing in again and again ends the oldest.
        sessions::keep_newest(&mut tx, user_id, &row.token_hash, MAX_SESSIONS_PER_USER).await?;
        audit::record(&mut tx, &caller.actor(), "portal.sign_in", "", self.now()).await?;
        storage::commit(tx).await?;
        Ok((token, Session { caller, csrf: row.csrf, language: row.language, must_enrol }))
    }

    /// The live session of a cookie's token, seen from `ip`; `None` when it
    /// is unknown, ended, or its user is locked (then it is ended).
    pub async fn session(&self, token: &str, ip: &str) -> Result<Option<Session>> {
        let key = hash(token);
        let mut c = self.db().acquire().await?;
        let Some((row, login)) = sessions::get(&mut c, &key).await? else { return Ok(None) };
        let guarded = users::by_login_guarded(&mut c, &login).await?;
        drop(c);
        let now = self.now();
        let settings = self.settings();
        let stale =
            now - row.last_seen_at > settings.portal_idle_secs || now - row.created_at > settings.portal_session_secs;
        let user = match guarded {
            // A suspended user's sessions end when it is suspended; this is the second lock.
            Some(g) if !g.locked && !stale && crate::user_admin::admit(&g.user, Source::Portal).is_ok() => g,
            _ => {
                sessions::delete(&mut *self.db().acquire_writer().await?, &key).await?;
                return Ok(None);
            }
        };
        // Written at most once a minute, so that reading pages costs no write.
        if now - row.last_seen_at >= 60 {
            sessions::touch(&mut *self.db().acquire_writer().await?, &key, now).await?;
        }
        let (caller, must_enrol) = session_caller(user, ip);
        Ok(Some(Session { caller, csrf: row.csrf, language: row.language, must_enrol }))
    }

    /// Sets the language of a session.
    pub async fn set_session_language(&self, token: &str, language: &str) -> Result<()> {
        if !notify::LANGUAGES.contains(&language) {
            return Err(OrderError::Invalid(format!("language {language:?}")));
        }
        sessions::set_language(&mut *self.db().acquire_writer().await?, &hash(token), language).await?;
        Ok(())
    }

    /// Ends a session (sign-out).
    pub async fn sign_out(&self, caller: &Caller, token: &str) -> Result<()> {
        let mut tx = self.db().begin().await?;
        if sessions::delete(&mut tx, &hash(token)).await? {
            audit::record(&mut tx, &caller.actor(), "portal.sign_out", "", self.now()).await?;
        }
        storage::commit(tx).await?;
        Ok(())
    }

    /// Ends the sessions past their idle time or lifetime; returns how many.
    pub(crate) async fn end_stale_sessions(&self, now: i64) -> Result<u64> {
        let s = self.settings();
        let mut c = self.db().acquire_writer().await?;
        Ok(sessions::delete_stale(&mut c, now - s.portal_idle_secs, now - s.portal_session_secs).await?)
    }
}
