//! Secrets at rest (EAB HMAC keys, CA private keys) are sealed with
//! AES-256-GCM under a key taken from configuration, so a copy of the
//! database alone does not give them away.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The key that seals and opens secrets stored in the database.
pub struct SecretKey {
    key: LessSafeKey,
    /// The root of the keys derived for other purposes (MACs), kept apart
    /// from the sealing key.
    derive_root: hmac::Key,
}

/// A sealed secret could not be opened: wrong key, or the value was altered.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open a sealed secret: the configured secret key is not the one it was sealed with, or the value is corrupt"
)]
pub struct OpenError;

impl SecretKey {
    /// Derives the key from configuration text (a passphrase or random string)
    /// with SHA-256, so any length of secret gives a 256-bit key.
    pub fn from_secret(secret: &str) -> SecretKey {
        let hash = digest(&SHA256, secret.as_bytes());
        // A 32-byte key always fits AES-256.
        let unbound = UnboundKey::new(&AES_256_GCM, hash.as_ref()).expect("32-byte AES-256 key");
        let root = digest(&SHA256, [b"certgate derive\0".as_slice(), secret.as_bytes()].concat().as_slice());
        SecretKey { key: LessSafeKey::new(unbound), derive_root: hmac::Key::new(hmac::HMAC_SHA256, root.as_ref()) }
    }

    /// An HMAC-SHA256 key for one purpose, derived from the secret: every
    /// instance with the same secret derives the same key, and keys of
    /// different `purpose`s are unrelated.
    pub fn mac_key(&self, purpose: &str) -> hmac::Key {
        let derived = hmac::sign(&self.derive_root, purpose.as_bytes());
        hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
    }

    /// Seals a secret as base64 of nonce, ciphertext and tag. `label` binds the
    /// sealed value to its purpose, so one secret cannot be swapped for another.
    pub fn seal(&self, label: &str, plain: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("system random source");
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(label.as_bytes()), &mut buf)
            .expect("AES-GCM seal of an in-memory buffer");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        STANDARD.encode(out)
    }

    /// Opens a value made by [`SecretKey::seal`] with the same label.
    pub fn open(&self, label: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let raw = STANDARD.decode(sealed).map_err(|_| OpenError)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut body = body.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(label.as_bytes()), &mut body).map_err(|_| OpenError)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_refuses_wrong_key_or_label() {
        let k = SecretKey::from_secret("one");
        let s = k.seal("eab", b"hmac-key");
        assert_ne!(s.as_bytes(), b"hmac-key");
        assert_eq!(k.open("eab", &s).unwrap(), b"hmac-key");
        assert!(k.open("ca", &s).is_err());
        assert!(SecretKey::from_secret("two").open("eab", &s).is_err());
        assert!(k.open("eab", "not base64!").is_err());
    }

    #[test]
    fn mac_keys_depend_on_secret_and_purpose() {
        let tag = |secret: &str, purpose: &str| {
            hmac::sign(&SecretKey::from_secret(secret).mac_key(purpose), b"message").as_ref().to_vec()
        };
        assert_eq!(tag("one", "nonce"), tag("one", "nonce"));
        assert_ne!(tag("one", "nonce"), tag("two", "nonce"));
        assert_ne!(tag("one", "nonce"), tag("one", "other"));
    }
}
