//! The typed refusals of the order core. Each front maps these to its own
//! wire form (ACME problem documents, XML-RPC faults) in one place.

use crate::rights::Right;

/// Why an order operation was refused or failed. A refused operation has
/// written nothing and charged nothing.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The login is unknown or the password is wrong.
    #[error("login failed: unknown user or wrong password")]
    BadCredentials,
    /// The user is locked after too many failed logins.
    #[error("user {0} is locked after too many failed logins; an operator must unlock it")]
    Locked(String),
    /// The user's password is right but it may not sign in here: suspended
    /// by an administrator, or of a kind this front does not serve.
    #[error("user {login} may not sign in here: {why}")]
    NotAdmitted {
        /// The login.
        login: String,
        /// Why not.
        why: String,
    },
    /// The user has a second factor and the code given is missing, wrong or used.
    #[error("the second-factor code is missing, wrong or already used")]
    BadSecondFactor,
    /// Too many password checks are running; the login was not checked.
    #[error("too many logins are being checked at once; retry in a moment")]
    Busy,
    /// Too many failed logins came from the client's address lately; the
    /// login was not checked.
    #[error("too many failed logins from this address; retry in {0} seconds")]
    Throttled(i64),
    /// The caller lacks the right the operation needs.
    #[error("this needs the {0} right")]
    Forbidden(Right),
    /// No account has this id.
    #[error("unknown account {0}")]
    UnknownAccount(i64),
    /// The caller's account has no organisation with this id.
    #[error("unknown organisation {0} for this account")]
    UnknownOrganisation(i64),
    /// No product or price item has this code.
    #[error("unknown product {0:?}")]
    UnknownProduct(String),
    /// No order or certificate of the caller's account matches this reference or id.
    #[error("unknown order {0:?}")]
    UnknownOrder(String),
    /// The caller's account has no ACME URL with this id.
    #[error("unknown ACME URL {0}")]
    UnknownAcmeUrl(i64),
    /// The order would now cost or be paid otherwise than the caller was
    /// quoted and confirmed: nothing was ordered.
    #[error("the price changed since it was shown: quoted {quoted}, now {now}")]
    QuoteChanged {
        /// The confirmed total, payment and items.
        quoted: String,
        /// Today's.
        now: String,
    },
    /// The CSR cannot be decoded, its signature does not verify, or it names no domain.
    #[error("bad CSR: {0}")]
    BadCsr(String),
    /// The CSR's key is neither RSA of 2048 bits or more nor ECDSA P-256 or P-384.
    #[error("key too weak: {0}")]
    WeakKey(String),
    /// A requested domain name is not a valid name to certify.
    #[error("bad domain name {0:?}: {1}")]
    BadName(String, String),
    /// The CSR's names differ from the names requested.
    #[error("the CSR's names do not match the request: {0}")]
    NamesMismatch(String),
    /// The request has more additional names than the product allows.
    #[error("product {product} allows at most {max} additional names, the request has {asked}")]
    TooManySans {
        /// The code of the product ordered.
        product: String,
        /// How many additional names the product allows.
        max: i64,
        /// How many additional names the request has.
        asked: i64,
    },
    /// A wildcard name was requested for a product that does not allow them.
    #[error("product {0} does not allow wildcard names")]
    WildcardNotAllowed(String),
    /// The product needs an active pre-validation that the organisation does not have.
    #[error("no active {validation} pre-validation at {brand} for organisation {organisation:?}")]
    NoPrevalidation {
        /// The organisation's name.
        organisation: String,
        /// The CA brand the pre-validation is needed at.
        brand: String,
        /// The validation level needed: `DV`, `OV` or `EV`.
        validation: String,
    },
    /// The account holds too few tokens of an item to pay for the order.
    #[error("no token left for product {item}: {needed} needed, {available} available")]
    InsufficientTokens {
        /// The product, SAN or renewal code that is short of tokens.
        item: String,
        /// How many tokens of it the order needs.
        needed: i64,
        /// How many tokens of it the account holds.
        available: i64,
    },
    /// The deposit, even with its overdraft allowance, cannot cover the order's price.
    #[error("insufficient deposit: {needed} {currency} minor units needed, balance {balance}")]
    InsufficientDeposit {
        /// The currency of the deposit.
        currency: String,
        /// The order's price, in minor units.
        needed: i64,
        /// The deposit's current balance, in minor units.
        balance: i64,
    },
    /// An item of the order has no price in the account's currency.
    #[error("no price for {item} in {currency}")]
    NoPrice {
        /// The product, SAN or renewal code without a price.
        item: String,
        /// The account's currency.
        currency: String,
    },
    /// The order is not in the status the operation needs.
    #[error("order {reference} is {status}; this operation needs it {expected}")]
    WrongState {
        /// The order's public reference.
        reference: String,
        /// The status the order is in.
        status: String,
        /// The status the operation needs.
        expected: String,
    },
    /// The order's certificate is being bought upstream: it can no longer be
    /// cancelled for a refund.
    #[error("order {0} cannot be cancelled: the CA is already issuing its certificate")]
    PurchaseStarted(String),
    /// A renewal was asked for outside the window from 90 days before expiry to 30 days after.
    #[error("order {0} cannot be renewed now: renewal opens 90 days before expiry and closes 30 days after")]
    OutsideRenewalWindow(String),
    /// The order already has a renewal that is not cancelled or failed: an
    /// order is renewed once.
    #[error("order {0} is already renewed")]
    AlreadyRenewed(String),
    /// A certificate cannot be revoked for this RFC 5280 reason code.
    #[error("{0} is not a reason a certificate can be revoked for (0-6, 9 or 10)")]
    BadRevocationReason(i64),
    /// The certificate to revoke is already revoked.
    #[error("certificate already revoked")]
    AlreadyRevoked,
    /// The account already has as many orders waiting for funds or a CSR as it may.
    #[error("the account already has {0} orders waiting for funds or a CSR; pay or cancel some first")]
    TooManyWaiting(i64),
    /// No domain of the caller's account has this id.
    #[error("unknown domain {0}")]
    UnknownDomain(i64),
    /// The account's organisations already hold as many domains as they may.
    #[error("the account already holds {0} domains; remove some first")]
    TooManyDomains(i64),
    /// The request is malformed or inconsistent in a way no other variant covers.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The product's upstream is not configured on this instance.
    #[error("no upstream named {0:?} is configured")]
    UnknownUpstream(String),
    /// The database holds a state the order core does not know (a newer
    /// version wrote it, or the row was edited by hand).
    #[error("the database holds an unknown {0}")]
    UnknownState(String),
    /// A name's CAA records do not allow the product's CA to issue (RFC 8659).
    #[error("{0}")]
    CaaForbidden(String),
    /// A name's CAA records could not be read (the DNS kept failing).
    #[error("{0}; retry later")]
    CaaLookup(String),
    /// Domain control of some names was not proven: what was found for each.
    #[error("domain control not proven yet: {0}")]
    DcvNotProven(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] storage::Error),
}

/// Result of an order operation.
pub type Result<T, E = OrderError> = std::result::Result<T, E>;
