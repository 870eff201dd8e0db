//! The ACME URLs this instance has served, by directory path. What an ACME
//! URL binds (account, product, organisation) is fixed when it is created, so
//! it is remembered rather than read on every request; only its revocation
//! changes, and that is read afresh with the signing account of each request.

use orders::{AcmeBinding, Memo};

/// Paths beyond which the memory starts over, so that it stays small
/// whatever the number of ACME URLs.
const CAPACITY: usize = 10_000;

/// Remembered ACME URL bindings, by path; their `revoked` flag is never trusted.
pub(crate) type Bindings = Memo<String, AcmeBinding>;

/// An empty memory of bindings.
pub(crate) fn bindings() -> Bindings {
    Memo::new(CAPACITY)
}
