//! The optional second factor of the customer area (seed 7.1.2): a TOTP
//! code (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits, as every
//! authenticator app reads an `otpauth://` URI) asked at sign-in from a user
//! who enrolled. The secret is sealed with the gateway's secret key; a code
//! is accepted one step early or late, and never twice (the last step used
//! is kept, and moved forward by a conditional update). A wrong code counts
//! as a failed login toward the lockout. An administrator may require a
//! second factor of every user of its account who signs in to the customer
//! area: such a user without one may do nothing but enrol one. An
//! administrator may also clear another user's factor, lost with its phone.

use aws_lc_rs::hmac;
use storage::{audit, commit, logins, users};

use crate::{Caller, OrderError, Orders, Result, Right};

/// Seconds per step.
const STEP: i64 = 30;
/// Bytes of a secret (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;

/// The code of `secret` at time step `step` (RFC 4226's HOTP, 6 digits).
fn code_at(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    bin % 1_000_000
}

/// The step a 6-digit `code` of `secret` matches at `now` (one step of
/// clock drift either way), if any.
fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let step = now.div_euclid(STEP);
    (step - 1..=step + 1).find(|s| code_at(secret, *s) == wanted)
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(ALPHABET[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn unbase32(text: &str) -> Option<Vec<u8>> {
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.trim().trim_end_matches('=').chars().filter(|c| !c.is_whitespace()) {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

fn label(login: &str) -> String {
    format!("totp:{login}")
}

/// A secret to enrol, before it is confirmed: its base32 form and the URI
/// an authenticator app reads.
#[derive(Clone, Debug)]
pub struct TotpEnrolment {
    /// The secret, base32.
    pub secret: String,
    /// `otpauth://totp/...` with the secret, issuer and login.
    pub uri: String,
}

impl Orders {
    /// A fresh secret for the caller to enrol (nothing is written until a
    /// code from it is confirmed).
    pub fn totp_enrolment(&self, caller: &Caller) -> TotpEnrolment {
        let mut secret = [0u8; SECRET_BYTES];
        aws_lc_rs::rand::fill(&mut secret).expect("system random source");
        let secret = base32(&secret);
        let login: String = caller.login.chars().filter(|c| c.is_ascii_alphanumeric() || "-_.@".contains(*c)).collect();
        let uri = format!("otpauth://totp/certgate:{login}?secret={secret}&issuer=certgate&digits=6&period=30");
        TotpEnrolment { secret, uri }
    }

    /// Turns the second factor on for the caller, once `code` shows that
    /// its app holds `secret`. Refused while it has one: a session left
    /// open must not swap the factor without a code of the current one.
    pub async fn enable_totp(&self, caller: &Caller, secret: &str, code: &str) -> Result<()> {
        let raw = unbase32(secret).filter(|s| s.len() == SECRET_BYTES).ok_or_else(|| bad("the secret is not one"))?;
        let step = matching_step(&raw, code, self.now()).ok_or_else(|| bad("the code does not match"))?;
        let sealed = self.secret().seal(&label(&caller.login), &raw);
        let mut tx = self.db().begin().await?;
        if !users::enrol_totp(&mut tx, caller.account_id, &caller.login, &sealed, step).await? {
            return Err(OrderError::Invalid(
                "a second factor is on already; switch it off with a current code first".into(),
            ));
        }
        audit::record(&mut tx, &caller.actor(), "user.totp_on", &caller.login, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Turns the caller's second factor off, with a current code.
    pub async fn disable_totp(&self, caller: &Caller, code: &str) -> Result<()> {
        let user = users::by_login(&mut *self.db().acquire().await?, &caller.login).await?;
        self.check_totp(&user.ok_or(OrderError::BadCredentials)?, code, &caller.ip).await?;
        let mut tx = self.db().begin().await?;
        users::clear_totp(&mut tx, caller.account_id, &caller.login).await?;
        audit::record(&mut tx, &caller.actor(), "user.totp_off", &caller.login, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Requires, or no longer requires, a second factor of every user of
    /// the caller's account who signs in to the customer area. The caller
    /// must have one already: an administrator that turns the rule on
    /// without one would shut itself out at once.
    pub async fn set_second_factor_required(&self, caller: &Caller, on: bool) -> Result<()> {
        caller.require(Right::Administrative)?;
        if on && !self.has_totp(&caller.login).await? {
            return Err(OrderError::Invalid("enrol your own second factor first".into()));
        }
        let mut tx = self.db().begin().await?;
        storage::accounts::set_second_factor_required(&mut tx, caller.account_id, on).await?;
        let what = if on { "on" } else { "off" };
        audit::record(&mut tx, &caller.actor(), "account.second_factor_required", what, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Whether the caller's account requires a second factor of its users.
    pub async fn second_factor_required(&self, caller: &Caller) -> Result<bool> {
        let account = storage::accounts::get(&mut *self.db().acquire().await?, caller.account_id).await?;
        Ok(account.is_some_and(|a| a.second_factor_required))
    }

    /// Clears the second factor of another user of the caller's account
    /// (its phone was lost) and ends its sessions; it signs in with its
    /// password alone, or enrols again if the account requires it. One's own
    /// factor is switched off with a current code instead, so that a
    /// session left open cannot remove it.
    pub async fn reset_second_factor(&self, caller: &Caller, login: &str) -> Result<()> {
        caller.require(Right::Administrative)?;
        if login == caller.login {
            return Err(OrderError::Invalid("switch your own second factor off with a current code".into()));
        }
        let mut tx = self.db().begin().await?;
        let user = crate::user_admin::own_user(&mut tx, caller, login).await?;
        if user.totp_sealed.is_none() {
            return Err(OrderError::Invalid(format!("{login} has no second factor")));
        }
        users::clear_totp(&mut tx, caller.account_id, login).await?;
        storage::sessions::end_for_user(&mut tx, user.id).await?;
        audit::record(&mut tx, &caller.actor(), "user.totp_reset", login, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Whether `login` has a second factor.
    pub async fn has_totp(&self, login: &str) -> Result<bool> {
        Ok(users::by_login(&mut *self.db().acquire().await?, login).await?.is_some_and(|u| u.totp_sealed.is_some()))
    }

    /// Checks `user`'s code if it has a second factor (none needed
    /// otherwise): right and unused, its step is taken; wrong, it counts as a
    /// failed login.
    pub(crate) async fn check_totp(&self, user: &users::UserRow, code: &str, ip: &str) -> Result<()> {
        let login = user.login.as_str();
        let Some(sealed) = &user.totp_sealed else { return Ok(()) };
        let secret = self
            .secret()
            .open(&label(login), sealed)
            .map_err(|_| OrderError::Invalid("the second factor cannot be read; ask an administrator".into()))?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let taken = match matching_step(&secret, code, now) {
            // A code used already (replayed, or seen over a shoulder) is a wrong one.
            Some(step) => users::take_totp_step(&mut tx, user.id, step).await?,
            None => false,
        };
        if !taken {
            let settings = self.settings();
            let locked = logins::failed(&mut tx, login, now, settings.max_failed_logins).await?;
            if settings.failed_logins_per_ip > 0 {
                let key = crate::users::throttle_key(ip);
                logins::count_failure(&mut tx, &key, now, settings.failed_login_window_secs).await?;
            }
            if locked {
                storage::sessions::end_for_user(&mut tx, user.id).await?;
            }
            let actor = storage::audit::Actor {
                account_id: Some(user.account_id),
                name: login.to_string(),
                ip: ip.to_string(),
                source: crate::Source::Portal.as_str().into(),
                call: None,
            };
            audit::record(&mut tx, &actor, "login.failed", "wrong second-factor code", now).await?;
            commit(tx).await?;
            return Err(OrderError::BadSecondFactor);
        }
        logins::clear_failures(&mut tx, login, now).await?;
        commit(tx).await?;
        Ok(())
    }
}

fn bad(why: &str) -> OrderError {
    OrderError::Invalid(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, the last 6 of its 8 digits.
        let secret = b"12345678901234567890";
        for (t, code) in [(59, 287_082), (1_111_111_109, 81_804), (1_234_567_890, 5_924), (2_000_000_000, 279_037)] {
            assert_eq!(code_at(secret, t / STEP), code, "at {t}");
        }
        assert_eq!(matching_step(secret, "287082", 59 + STEP), Some(1), "one step late is taken");
        assert_eq!(matching_step(secret, "287082", 59 + 2 * STEP), None, "two steps late is not");
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(matching_step(secret, "28708x", 59), None);
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(unbase32("mzxw 6ytb oi").unwrap(), b"foobar");
        assert!(unbase32("MZ1").is_none());
        let raw: Vec<u8> = (0..20).collect();
        assert_eq!(unbase32(&base32(&raw)).unwrap(), raw);
    }
}
