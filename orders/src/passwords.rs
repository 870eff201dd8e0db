//! Argon2 password hashing and checking, bounded: at most a configured number
//! run at once, each in a working area (about 19 MiB) that is allocated once
//! and reused. A burst of logins therefore costs neither unbounded memory nor
//! threads, and a call that cannot get a turn within the configured wait is
//! refused at once (docs/security.md).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::{OrderError, Result};

/// The bounded set of Argon2 working areas.
pub(crate) struct Passwords {
    turns: Semaphore,
    areas: Mutex<Vec<Vec<Block>>>,
}

/// The right to run one Argon2 computation now.
pub(crate) struct Turn<'a> {
    _permit: SemaphorePermit<'a>,
}

impl Passwords {
    /// At most `concurrent` computations at once (at least one).
    pub(crate) fn new(concurrent: usize) -> Passwords {
        Passwords { turns: Semaphore::new(concurrent.max(1)), areas: Mutex::new(Vec::new()) }
    }

    /// Waits for a turn until `deadline`; past it, [`OrderError::Busy`].
    pub(crate) async fn turn(&self, deadline: Instant) -> Result<Turn<'_>> {
        match tokio::time::timeout_at(deadline, self.turns.acquire()).await {
            Ok(Ok(permit)) => Ok(Turn { _permit: permit }),
            _ => {
                metrics::counter!("certgate_password_checks_refused_total").increment(1);
                Err(OrderError::Busy)
            }
        }
    }

    /// True when `password` matches the PHC string `hash`.
    pub(crate) async fn verify(&self, turn: Turn<'_>, hash: &str, password: &str) -> bool {
        metrics::counter!("certgate_password_checks_total").increment(1);
        let (hash, password) = (hash.to_string(), password.to_string());
        self.compute(turn, move |area| verify_in(area, &hash, password.as_bytes())).await.unwrap_or(false)
    }

    /// A PHC string of `password` with a fresh salt and the default parameters,
    /// waiting up to `wait` for a turn.
    pub(crate) async fn hash(&self, password: &str, wait: Duration) -> Result<String> {
        let turn = self.turn(Instant::now() + wait).await?;
        let password = password.to_string();
        self.compute(turn, move |area| hash_in(area, password.as_bytes()))
            .await
            .ok_or_else(|| OrderError::Invalid("hashing failed".into()))?
            .map_err(|e| OrderError::Invalid(format!("hashing failed: {e}")))
    }

    /// Runs `f` on a blocking thread with a working area, which is returned
    /// to the set afterwards; `None` when the thread panicked.
    async fn compute<T: Send + 'static>(
        &self,
        _turn: Turn<'_>,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Option<T> {
        let mut area = self.areas.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default();
        let done = tokio::task::spawn_blocking(move || {
            let out = f(&mut area);
            (area, out)
        })
        .await;
        let (area, out) = done.ok()?;
        self.areas.lock().unwrap_or_else(PoisonError::into_inner).push(area);
        Some(out)
    }
}

/// Grows `area` to hold `blocks` blocks; it is never shrunk, so it is
/// allocated once for the default parameters.
fn sized(area: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if area.len() < blocks {
        area.resize(blocks, Block::new());
    }
    &mut area[..blocks]
}

fn verify_in(area: &mut Vec<Block>, hash: &str, password: &[u8]) -> bool {
    let Ok(hash) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&hash) else { return false };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    argon2.hash_password_into_with_memory(password, salt, &mut out, sized(area, blocks)).is_ok()
        && aws_lc_rs::constant_time::verify_slices_are_equal(&out, expected.as_bytes()).is_ok()
}

fn hash_in(area: &mut Vec<Block>, password: &[u8]) -> std::result::Result<String, String> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| "no randomness".to_string())?;
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::default(), Version::default(), params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(password, &salt, &mut out, sized(area, params.block_count()))
        .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier as _;

    #[tokio::test]
    async fn hashes_verify_with_the_argon2_crate_and_back() {
        let p = Passwords::new(1);
        let wait = Duration::from_secs(5);
        let hash = p.hash("correct horse", wait).await.unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok(), "{hash}");
        let deadline = Instant::now() + wait;
        assert!(p.verify(p.turn(deadline).await.unwrap(), &hash, "correct horse").await);
        assert!(!p.verify(p.turn(deadline).await.unwrap(), &hash, "wrong horse").await);
        assert!(!p.verify(p.turn(deadline).await.unwrap(), "not a hash", "correct horse").await);
        // A hash made by the argon2 crate itself verifies here too.
        let theirs = {
            use argon2::PasswordHasher as _;
            Argon2::default().hash_password(b"s3cret pass").unwrap().to_string()
        };
        assert!(p.verify(p.turn(deadline).await.unwrap(), &theirs, "s3cret pass").await);
        // One computation at a time, one area kept.
        assert_eq!(p.areas.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_turn_not_free_within_the_wait_is_refused() {
        let p = Passwords::new(1);
        let held = p.turn(Instant::now()).await.unwrap();
        let refused = p.turn(Instant::now() + Duration::from_millis(50)).await;
        assert!(matches!(refused, Err(OrderError::Busy)));
        drop(held);
        assert!(p.turn(Instant::now() + Duration::from_millis(50)).await.is_ok());
    }
}
