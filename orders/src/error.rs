//! The typed refusals of the order core. Each front maps these to its own
//! wire form (ACME problem documents, XML-RPC faults) in one place.

use crate::rights::Right;

/// Why an order operation was refused or failed. A refused operation has
/// written nothing and charged nothing.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("login failed: unknown user or wrong password")]
    BadCredentials,
    #[error("user {0} is locked after too many failed logins; an operator must unlock it")]
    Locked(String),
    #[error("this needs the {0} right")]
    Forbidden(Right),
    #[error("unknown account {0}")]
    UnknownAccount(i64),
    #[error("unknown organisation {0} for this account")]
    UnknownOrganisation(i64),
    #[error("unknown product {0:?}")]
    UnknownProduct(String),
    #[error("unknown order {0:?}")]
    UnknownOrder(String),
    #[error("unknown ACME URL {0}")]
    UnknownAcmeUrl(i64),
    #[error("bad CSR: {0}")]
    BadCsr(String),
    #[error("key too weak: {0}")]
    WeakKey(String),
    #[error("bad domain name {0:?}: {1}")]
    BadName(String, String),
    #[error("the CSR's names do not match the request: {0}")]
    NamesMismatch(String),
    #[error("product {product} allows at most {max} additional names, the request has {asked}")]
    TooManySans { product: String, max: i64, asked: i64 },
    #[error("product {0} does not allow wildcard names")]
    WildcardNotAllowed(String),
    #[error("no active {validation} pre-validation at {brand} for organisation {organisation:?}")]
    NoPrevalidation { organisation: String, brand: String, validation: String },
    #[error("no token left for product {item}: {needed} needed, {available} available")]
    InsufficientTokens { item: String, needed: i64, available: i64 },
    #[error("insufficient deposit: {needed} {currency} minor units needed, balance {balance}")]
    InsufficientDeposit { currency: String, needed: i64, balance: i64 },
    #[error("no price for {item} in {currency}")]
    NoPrice { item: String, currency: String },
    #[error("order {reference} is {status}; this operation needs it {expected}")]
    WrongState { reference: String, status: String, expected: String },
    #[error("order {0} cannot be renewed now: renewal opens 90 days before expiry and closes 30 days after")]
    OutsideRenewalWindow(String),
    #[error("certificate already revoked")]
    AlreadyRevoked,
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("no upstream named {0:?} is configured")]
    UnknownUpstream(String),
    #[error(transparent)]
    Storage(#[from] storage::Error),
}

/// Result of an order operation.
pub type Result<T, E = OrderError> = std::result::Result<T, E>;
