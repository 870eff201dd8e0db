//! The ACME URLs this instance has served, by directory path. What an ACME
//! URL binds (account, product, organisation) is fixed when it is created, so
//! it is remembered rather than read on every request; only its revocation
//! changes, and that is read afresh with the signing account of each request.

use std::collections::HashMap;
use std::sync::Mutex;

use orders::AcmeBinding;

/// Paths beyond which the memory starts over, so that it stays small
/// whatever the number of ACME URLs.
const CAPACITY: usize = 10_000;

/// Remembered ACME URL bindings; their `revoked` flag is never trusted.
#[derive(Default)]
pub(crate) struct Bindings {
    by_path: Mutex<HashMap<String, AcmeBinding>>,
}

impl Bindings {
    /// The binding of `path`, if this instance has seen it.
    pub fn get(&self, path: &str) -> Option<AcmeBinding> {
        self.by_path.lock().ok()?.get(path).cloned()
    }

    /// Remembers a binding read from the database.
    pub fn remember(&self, binding: &AcmeBinding) {
        if let Ok(mut map) = self.by_path.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(binding.path.clone(), binding.clone());
        }
    }
}
