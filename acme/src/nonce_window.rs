//! Which of this process's recent nonces were used, kept in memory: nonces
//! are numbered as they are issued, and a ring of one bit per number remembers
//! the uses of the last [`WINDOW`] of them. Older numbers are refused (the
//! client gets `badNonce` and retries with the fresh nonce that comes with
//! it), so the memory is fixed whatever the load and however long a nonce lives.

use std::sync::{Mutex, PoisonError};

/// How many of the most recently issued nonces can still be redeemed: about
/// ten minutes of the busiest load measured here (1,500 nonces/s), in 128 KiB.
pub(crate) const WINDOW: u64 = 1 << 20;

/// The ring of use bits, with the number the next nonce gets.
pub(crate) struct Window {
    ring: Mutex<Ring>,
}

struct Ring {
    next: u64,
    used: Box<[u64]>,
}

impl Ring {
    fn slot(serial: u64) -> (usize, u64) {
        let bit = serial % WINDOW;
        ((bit / 64) as usize, 1 << (bit % 64))
    }
}

impl Window {
    /// An empty window: no nonce issued yet.
    pub(crate) fn new() -> Window {
        Window { ring: Mutex::new(Ring { next: 0, used: vec![0; (WINDOW / 64) as usize].into_boxed_slice() }) }
    }

    /// The number of a new nonce, marked unused (its bit last served the
    /// number [`WINDOW`] before it, which is now out of the window).
    pub(crate) fn issue(&self) -> u64 {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let serial = ring.next;
        ring.next += 1;
        let (word, mask) = Ring::slot(serial);
        ring.used[word] &= !mask;
        serial
    }

    /// Marks nonce `serial` used: true the first time, false if it was used
    /// before, was never issued, or has fallen out of the window.
    pub(crate) fn redeem(&self, serial: u64) -> bool {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        if serial >= ring.next || ring.next - serial > WINDOW {
            return false;
        }
        let (word, mask) = Ring::slot(serial);
        let fresh = ring.used[word] & mask == 0;
        ring.used[word] |= mask;
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_issued_number_redeems_once_and_unissued_ones_never() {
        let w = Window::new();
        let (a, b) = (w.issue(), w.issue());
        assert!(!w.redeem(b + 1), "not issued yet");
        assert!(w.redeem(b) && w.redeem(a));
        assert!(!w.redeem(a) && !w.redeem(b));
    }

    #[test]
    fn a_number_that_fell_out_of_the_window_is_refused_and_its_bit_serves_the_next() {
        let w = Window::new();
        let old = w.issue();
        let used = w.issue();
        assert!(w.redeem(used));
        for _ in 2..WINDOW {
            w.issue();
        }
        // `old` is the oldest number still inside the window.
        let reuses_old_bit = w.issue();
        assert_eq!(reuses_old_bit % WINDOW, old % WINDOW);
        assert!(!w.redeem(old), "out of the window");
        assert!(w.redeem(reuses_old_bit), "its bit was cleared when it was issued");
        let reuses_used_bit = w.issue();
        assert!(w.redeem(reuses_used_bit), "a used bit is cleared for the number that takes it over");
    }

    #[test]
    fn concurrent_redemptions_of_one_number_succeed_once() {
        let w = std::sync::Arc::new(Window::new());
        let serials: Vec<u64> = (0..1000).map(|_| w.issue()).collect();
        let wins: usize = std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..8).map(|_| s.spawn(|| serials.iter().filter(|&&n| w.redeem(n)).count())).collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(wins, serials.len());
    }
}
