//! Faults: the interoperability codes for protocol errors, and certgate's
//! own stable business codes, mapped from the order core's refusals in this
//! one place. docs/xmlrpc.md lists them.

use orders::OrderError;

use crate::{DecodeError, ParamError};

/// An XML-RPC fault: a stable code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The `faultCode`.
    pub code: i32,
    /// The `faultString`.
    pub message: String,
}

/// The business fault codes, stable and documented in docs/xmlrpc.md.
pub mod code {
    /// Unknown user or wrong password.
    pub const AUTHENTICATION: i32 = 1;
    /// The user is locked after too many failed logins.
    pub const LOCKED: i32 = 2;
    /// The user lacks the right the method needs.
    pub const FORBIDDEN: i32 = 3;
    /// The login was not checked: too many logins are being checked at
    /// once, or too many failed from the caller's address; retry later.
    pub const RETRY_LATER: i32 = 4;
    /// Unknown product.
    pub const UNKNOWN_PRODUCT: i32 = 10;
    /// The CSR is not well formed, or its names do not match the request.
    pub const BAD_CSR: i32 = 11;
    /// The CSR's key is too weak (RSA under 2048 bits, other curves).
    pub const KEY_TOO_SMALL: i32 = 12;
    /// A domain name is not acceptable.
    pub const BAD_NAME: i32 = 13;
    /// More names than the product allows, or a wildcard it does not.
    pub const TOO_MANY_SANS: i32 = 14;
    /// The organisation has no active pre-validation for the product.
    pub const NO_PREVALIDATION: i32 = 15;
    /// Unknown organisation for this account.
    pub const UNKNOWN_ORGANISATION: i32 = 16;
    /// Domain control is not proven yet for every name of the order.
    pub const DCV_PENDING: i32 = 17;
    /// A name's CAA records forbid the product's CA (RFC 8659).
    pub const CAA_FORBIDDEN: i32 = 18;
    /// A name's CAA records could not be read; retry later.
    pub const CAA_LOOKUP: i32 = 19;
    /// Unknown order.
    pub const UNKNOWN_ORDER: i32 = 20;
    /// The order is not in a state that allows the operation.
    pub const WRONG_STATE: i32 = 21;
    /// Unknown domain for this account.
    pub const UNKNOWN_DOMAIN: i32 = 22;
    /// Not enough tokens.
    pub const INSUFFICIENT_TOKENS: i32 = 30;
    /// Not enough money on the deposit.
    pub const INSUFFICIENT_DEPOSIT: i32 = 31;
    /// No price is defined for the product in the account's currency.
    pub const NO_PRICE: i32 = 32;
    /// The upstream CA is unavailable or not configured.
    pub const UPSTREAM_UNAVAILABLE: i32 = 40;
    /// The request is invalid in another way the message explains.
    pub const INVALID: i32 = 41;
}

impl Fault {
    /// A fault with a code and a message.
    pub fn new(code: i32, message: impl Into<String>) -> Fault {
        Fault { code, message: message.into() }
    }

    /// A missing or mistyped parameter (-32602), naming its path.
    pub fn params(path: &str, what: &str) -> Fault {
        Fault::new(-32602, format!("{path}: {what}"))
    }

    /// An unknown method (-32601).
    pub fn unknown_method(name: &str) -> Fault {
        Fault::new(-32601, format!("unknown method {name:?}"))
    }

    /// An internal error (-32603); the details stay in the log.
    pub fn internal(detail: impl std::fmt::Display) -> Fault {
        tracing::error!(error = %detail, "XML-RPC call failed");
        Fault::new(-32603, "internal error; try again later")
    }
}

impl From<DecodeError> for Fault {
    fn from(e: DecodeError) -> Fault {
        Fault::new(e.fault_code(), e.to_string())
    }
}

/// A parameter that does not fit the method's struct: -32602, with its path.
impl From<ParamError> for Fault {
    fn from(e: ParamError) -> Fault {
        Fault::params(e.path(), e.message())
    }
}

impl From<OrderError> for Fault {
    fn from(e: OrderError) -> Fault {
        use code::*;
        let c = match &e {
            OrderError::BadCredentials | OrderError::NotAdmitted { .. } | OrderError::BadSecondFactor => AUTHENTICATION,
            OrderError::Locked(_) => LOCKED,
            OrderError::Busy | OrderError::Throttled(_) => RETRY_LATER,
            OrderError::Forbidden(_) => FORBIDDEN,
            OrderError::UnknownProduct(_) => UNKNOWN_PRODUCT,
            OrderError::BadCsr(_) | OrderError::NamesMismatch(_) => BAD_CSR,
            OrderError::WeakKey(_) => KEY_TOO_SMALL,
            OrderError::BadName(..) => BAD_NAME,
            OrderError::TooManySans { .. } | OrderError::WildcardNotAllowed(_) => TOO_MANY_SANS,
            OrderError::NoPrevalidation { .. } => NO_PREVALIDATION,
            OrderError::UnknownOrganisation(_) => UNKNOWN_ORGANISATION,
            OrderError::UnknownOrder(_) | OrderError::UnknownAcmeUrl(_) | OrderError::UnknownAccount(_) => {
                UNKNOWN_ORDER
            }
            OrderError::WrongState { .. }
            | OrderError::OutsideRenewalWindow(_)
            | OrderError::AlreadyRevoked
            | OrderError::AlreadyRenewed(_)
            | OrderError::PurchaseStarted(_) => WRONG_STATE,
            OrderError::InsufficientTokens { .. } => INSUFFICIENT_TOKENS,
            OrderError::InsufficientDeposit { .. } => INSUFFICIENT_DEPOSIT,
            OrderError::NoPrice { .. } => NO_PRICE,
            OrderError::UnknownUpstream(_) => UPSTREAM_UNAVAILABLE,
            OrderError::DcvNotProven(_) => DCV_PENDING,
            OrderError::CaaForbidden(_) => CAA_FORBIDDEN,
            OrderError::CaaLookup(_) => CAA_LOOKUP,
            OrderError::UnknownDomain(_) => UNKNOWN_DOMAIN,
            OrderError::Invalid(_)
            | OrderError::QuoteChanged { .. }
            | OrderError::BadRevocationReason(_)
            | OrderError::TooManyWaiting(_)
            | OrderError::TooManyDomains(_) => INVALID,
            OrderError::Storage(_) | OrderError::UnknownState(_) => return Fault::internal(e),
        };
        Fault::new(c, e.to_string())
    }
}
