//! A small in-process memory of values worth not reading or computing again
//! (verified passwords, ACME URL bindings), bounded so that it never grows
//! with the number of users or URLs: past its capacity it starts over.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

/// A bounded map shared by the tasks of one process.
pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// An empty memory of at most `capacity` entries.
    pub fn new(capacity: usize) -> Memo<K, V> {
        Memo { entries: Mutex::new(HashMap::new()), capacity }
    }

    /// The value remembered for `key`, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    /// Remembers `value` for `key`; a full memory is emptied first.
    pub fn remember(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_full_then_starts_over() {
        let m = Memo::new(2);
        m.remember("a", 1);
        m.remember("b", 2);
        assert_eq!((m.get(&"a"), m.get(&"b"), m.get(&"c")), (Some(1), Some(2), None));
        m.remember("c", 3);
        assert_eq!((m.get(&"a"), m.get(&"c")), (None, Some(3)), "a full memory is emptied, never grown");
    }
}
