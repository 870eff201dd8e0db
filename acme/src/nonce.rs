//! ACME nonces that cost no database write to issue: each carries its expiry
//! and 8 more bytes, sealed with an HMAC, so it is checked without a lookup.
//!
//! Instances sharing a PostgreSQL database seal with a key derived from the
//! secret key, put 8 random bytes in, and record each use in the database, so
//! a nonce from one instance is accepted once by any. On SQLite one process
//! serves the file: it seals with a key of its own, numbers its nonces, and
//! remembers their uses in memory ([`Window`]), which saves a write per ACME
//! request. Its nonces die with it; clients retry on `badNonce` with the fresh
//! nonce that comes with the error.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::nonce_window::Window;

/// Bytes of the expiry (big-endian UTC Unix seconds), the random part and the tag.
const EXPIRY: usize = 8;
const RANDOM: usize = 8;
const TAG: usize = 16;
const LEN: usize = EXPIRY + RANDOM + TAG;

/// Issues and checks sealed nonces.
pub(crate) struct Nonces {
    key: hmac::Key,
    ttl_secs: i64,
    window: Option<Window>,
}

/// What a nonce's seal vouches for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Sealed {
    /// Its expiry (UTC Unix seconds): how long its use must be remembered.
    pub expires_at: i64,
    /// Its number, for a process that remembers uses itself.
    serial: u64,
}

/// Why a nonce is refused before the database is asked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not one of ours: wrong length, not base64url, or a bad seal.
    Unknown,
    /// Ours, but past its expiry.
    Expired,
}

impl Nonces {
    /// The nonces that fit the order core's database, valid for `ttl_secs`:
    /// shared ones on PostgreSQL, this process's own on SQLite.
    pub fn for_database(orders: &orders::Orders, ttl_secs: i64) -> Nonces {
        match orders.shares_acme_nonces() {
            true => Nonces::shared(orders.mac_key("acme-nonce"), ttl_secs),
            false => {
                // A key of this process's own, derived from the secret key
                // (unguessable) and the process and time (unique).
                let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                let boot = format!("acme-nonce/{}/{}", std::process::id(), started.as_nanos());
                Nonces::local(orders.mac_key(&boot), ttl_secs)
            }
        }
    }

    /// Nonces sealed with `key`, valid for `ttl_secs`, whose uses the
    /// database records (several instances).
    pub fn shared(key: hmac::Key, ttl_secs: i64) -> Nonces {
        Nonces { key, ttl_secs, window: None }
    }

    /// Nonces sealed with `key`, which must be this process's own, valid for
    /// `ttl_secs` unless [`WINDOW`](crate::nonce_window::WINDOW) newer ones
    /// were issued meanwhile, whose uses this process remembers.
    pub fn local(key: hmac::Key, ttl_secs: i64) -> Nonces {
        Nonces { key, ttl_secs, window: Some(Window::new()) }
    }

    /// A fresh nonce, valid until `now` plus the TTL.
    pub fn issue(&self, now: i64) -> Result<String, aws_lc_rs::error::Unspecified> {
        let mut raw = [0u8; LEN];
        raw[..EXPIRY].copy_from_slice(&(now + self.ttl_secs).to_be_bytes());
        match &self.window {
            Some(window) => raw[EXPIRY..EXPIRY + RANDOM].copy_from_slice(&window.issue().to_be_bytes()),
            None => aws_lc_rs::rand::fill(&mut raw[EXPIRY..EXPIRY + RANDOM])?,
        }
        let tag = hmac::sign(&self.key, &raw[..EXPIRY + RANDOM]);
        raw[EXPIRY + RANDOM..].copy_from_slice(&tag.as_ref()[..TAG]);
        Ok(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Checks a nonce's seal and expiry at `now`.
    pub fn check(&self, nonce: &str, now: i64) -> Result<Sealed, Refused> {
        let mut raw = [0u8; LEN];
        if URL_SAFE_NO_PAD.decode_slice(nonce.as_bytes(), &mut raw) != Ok(LEN) {
            return Err(Refused::Unknown);
        }
        let (body, tag) = raw.split_at(EXPIRY + RANDOM);
        let expected = hmac::sign(&self.key, body);
        // Constant-time comparison of the truncated tag.
        if aws_lc_rs::constant_time::verify_slices_are_equal(&expected.as_ref()[..TAG], tag).is_err() {
            return Err(Refused::Unknown);
        }
        let (mut expiry, mut serial) = ([0u8; EXPIRY], [0u8; RANDOM]);
        expiry.copy_from_slice(&body[..EXPIRY]);
        serial.copy_from_slice(&body[EXPIRY..]);
        let expires_at = i64::from_be_bytes(expiry);
        if expires_at <= now {
            return Err(Refused::Expired);
        }
        Ok(Sealed { expires_at, serial: u64::from_be_bytes(serial) })
    }

    /// Marks a checked nonce used when this process remembers uses itself:
    /// `Some(true)` the first time, `Some(false)` after. `None` when the
    /// database records uses (shared nonces).
    pub fn redeem_here(&self, sealed: &Sealed) -> Option<bool> {
        self.window.as_ref().map(|w| w.redeem(sealed.serial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonces(secret: &[u8]) -> Nonces {
        Nonces::shared(hmac::Key::new(hmac::HMAC_SHA256, secret), 60)
    }

    #[test]
    fn a_nonce_checks_until_it_expires_and_is_unique() {
        let n = nonces(b"k");
        let a = n.issue(1000).unwrap();
        assert_ne!(a, n.issue(1000).unwrap());
        assert_eq!(n.check(&a, 1000).map(|s| s.expires_at), Ok(1060));
        assert_eq!(n.check(&a, 1059).map(|s| s.expires_at), Ok(1060));
        assert_eq!(n.check(&a, 1060), Err(Refused::Expired));
    }

    #[test]
    fn altered_foreign_or_malformed_nonces_are_refused() {
        let n = nonces(b"k");
        let a = n.issue(1000).unwrap();
        // Another key (another deployment's secret) does not accept it.
        assert_eq!(nonces(b"other").check(&a, 1000), Err(Refused::Unknown));
        // A later expiry written into a nonce breaks its seal.
        let mut raw = URL_SAFE_NO_PAD.decode(&a).unwrap();
        raw[EXPIRY - 1] ^= 0x40;
        assert_eq!(n.check(&URL_SAFE_NO_PAD.encode(&raw), 1000), Err(Refused::Unknown));
        for bad in ["", "short", &format!("{a}A"), &a[..a.len() - 1], "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"] {
            assert_eq!(n.check(bad, 1000), Err(Refused::Unknown), "{bad:?}");
        }
    }

    #[test]
    fn local_nonces_redeem_once_here_and_are_refused_by_another_process() {
        let n = Nonces::local(hmac::Key::new(hmac::HMAC_SHA256, b"boot 1"), 60);
        let (a, b) = (n.issue(1000).unwrap(), n.issue(1000).unwrap());
        let (sa, sb) = (n.check(&a, 1000).unwrap(), n.check(&b, 1000).unwrap());
        assert_eq!((n.redeem_here(&sb), n.redeem_here(&sa)), (Some(true), Some(true)));
        assert_eq!((n.redeem_here(&sa), n.redeem_here(&sb)), (Some(false), Some(false)));
        // A restarted process has another key.
        let restarted = Nonces::local(hmac::Key::new(hmac::HMAC_SHA256, b"boot 2"), 60);
        assert_eq!(restarted.check(&a, 1000), Err(Refused::Unknown));
        // Shared nonces leave their uses to the database.
        let shared = nonces(b"k");
        assert_eq!(shared.redeem_here(&shared.check(&shared.issue(1000).unwrap(), 1000).unwrap()), None);
    }
}
