//! A short-lived memory of passwords that verified, so that an integration
//! calling the XML-RPC API many times a second does not pay an Argon2
//! verification (about 15 ms of CPU) on every call. Only successes are
//! remembered, keyed by a digest of the user, its stored hash and the
//! password: a changed password changes the key, and the lock and rights are
//! still read from the database on every call.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};

/// How long a verified password is remembered.
const TTL: Duration = Duration::from_secs(60);
/// Past this many entries the memory is cleared rather than grown.
const MAX_ENTRIES: usize = 10_000;

/// Verified (user, hash, password) digests and when they were verified.
#[derive(Default)]
pub(crate) struct Verified {
    entries: Mutex<HashMap<[u8; 32], Instant>>,
}

fn key(user_id: i64, hash: &str, password: &str) -> [u8; 32] {
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
    /// True when this password verified against this hash within the TTL.
    pub(crate) fn recently(&self, user_id: i64, hash: &str, password: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(&key(user_id, hash, password)).is_some_and(|at| at.elapsed() < TTL)
    }

    /// Remembers a successful verification.
    pub(crate) fn remember(&self, user_id: i64, hash: &str, password: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key(user_id, hash, password), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_the_same_user_hash_and_password() {
        let v = Verified::default();
        v.remember(1, "$argon2id$a", "secret");
        assert!(v.recently(1, "$argon2id$a", "secret"));
        assert!(!v.recently(1, "$argon2id$a", "Secret"));
        assert!(!v.recently(1, "$argon2id$b", "secret"), "a changed password hash forgets it");
        assert!(!v.recently(2, "$argon2id$a", "secret"));
    }
}
