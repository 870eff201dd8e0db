//! ACME nonces that cost no database write to issue: each carries its expiry
//! and 8 random bytes, sealed with an HMAC under a key derived from the
//! secret key, so any instance can check it. Only redemption touches the
//! database, to make each nonce usable once across every instance.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes of the expiry (big-endian UTC Unix seconds), the random part and the tag.
const EXPIRY: usize = 8;
const RANDOM: usize = 8;
const TAG: usize = 16;
const LEN: usize = EXPIRY + RANDOM + TAG;

/// Issues and checks sealed nonces.
pub(crate) struct Nonces {
    key: hmac::Key,
    ttl_secs: i64,
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
    /// Nonces sealed with `key` that stay valid for `ttl_secs`.
    pub fn new(key: hmac::Key, ttl_secs: i64) -> Nonces {
        Nonces { key, ttl_secs }
    }

    /// A fresh nonce, valid until `now` plus the TTL.
    pub fn issue(&self, now: i64) -> Result<String, aws_lc_rs::error::Unspecified> {
        let mut raw = [0u8; LEN];
        raw[..EXPIRY].copy_from_slice(&(now + self.ttl_secs).to_be_bytes());
        aws_lc_rs::rand::fill(&mut raw[EXPIRY..EXPIRY + RANDOM])?;
        let tag = hmac::sign(&self.key, &raw[..EXPIRY + RANDOM]);
        raw[EXPIRY + RANDOM..].copy_from_slice(&tag.as_ref()[..TAG]);
        Ok(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Checks a nonce's seal and expiry at `now`; returns its expiry, which
    /// is how long its use must be remembered.
    pub fn check(&self, nonce: &str, now: i64) -> Result<i64, Refused> {
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
        let mut expiry = [0u8; EXPIRY];
        expiry.copy_from_slice(&body[..EXPIRY]);
        let expires_at = i64::from_be_bytes(expiry);
        if expires_at <= now {
            return Err(Refused::Expired);
        }
        Ok(expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonces(secret: &[u8]) -> Nonces {
        Nonces::new(hmac::Key::new(hmac::HMAC_SHA256, secret), 60)
    }

    #[test]
    fn a_nonce_checks_until_it_expires_and_is_unique() {
        let n = nonces(b"k");
        let a = n.issue(1000).unwrap();
        assert_ne!(a, n.issue(1000).unwrap());
        assert_eq!(n.check(&a, 1000), Ok(1060));
        assert_eq!(n.check(&a, 1059), Ok(1060));
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
}
