//! A short-lived memory of passwords that verified, so that an integration
//! calling the XML-RPC API many times a second does not pay an Argon2
//! verification (about 15 ms of CPU) on every call. Only successes are
//! remembered, keyed by a digest of the user, its stored hash and the
//! password: a changed password changes the key, and the lock and rights are
//! still read from the database on every call.

use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};

use crate::memo::Memo;

/// How long a verified password is remembered.
const TTL: Duration = Duration::from_secs(60);
/// Past this many entries the memory is cleared rather than grown.
const MAX_ENTRIES: usize = 10_000;

/// What a verification is remembered by: a digest of user, hash and password.
pub(crate) type Key = [u8; 32];

/// Verified (user, hash, password) digests and when they were verified.
pub(crate) struct Verified {
    entries: Memo<Key, Instant>,
}

impl Default for Verified {
    fn default() -> Verified {
        Verified { entries: Memo::new(MAX_ENTRIES) }
    }
}

/// The key of a verification of `password` against user `user_id`'s stored `hash`.
pub(crate) fn key(user_id: i64, hash: &str, password: &str) -> Key {
    let mut input = Vec::with_capacity(hash.len() + password.len() + 10);
    input.extend_from_slice(&user_id.to_be_bytes());
    input.extend_from_slice(hash.as_bytes());
    input.push(0);
    input.extend_from_slice(password.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, &input).as_ref());
    out
}

impl Verified {
    /// True when this verification succeeded within the TTL.
    pub(crate) fn recently(&self, key: &Key) -> bool {
        self.entries.get(key).is_some_and(|at| at.elapsed() < TTL)
    }

    /// Remembers a successful verification.
    pub(crate) fn remember(&self, key: Key) {
        self.entries.remember(key, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_the_same_user_hash_and_password() {
        let v = Verified::default();
        v.remember(key(1, "$argon2id$a", "secret"));
        assert!(v.recently(&key(1, "$argon2id$a", "secret")));
        assert!(!v.recently(&key(1, "$argon2id$a", "Secret")));
        assert!(!v.recently(&key(1, "$argon2id$b", "secret")), "a changed password hash forgets it");
        assert!(!v.recently(&key(2, "$argon2id$a", "secret")));
    }
}
