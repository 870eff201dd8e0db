//! The ACME protocol's records as the order core hands them to the ACME
//! front: accounts, orders and authorizations with typed states, made from
//! the storage rows, which stay inside the order core.

use storage::acme_accounts::AcmeAccountRow;
use storage::acme_orders::{AcmeAuthzRow, AcmeOrderRow};
use storage::acme_requests::{Names, Owned, Signer};

use super::status::{AccountStatus, AcmeOrderStatus, AuthzStatus, ChallengeStatus};
use crate::{OrderError, Result};

/// An ACME account: a key bound, through EAB, to one ACME URL.
#[derive(Clone, Debug)]
pub struct AcmeAccount {
    /// Its number, the last segment of its URL (its `kid`).
    pub id: i64,
    /// The ACME URL whose EAB credentials created it.
    pub acme_url_id: i64,
    /// The RFC 7638 thumbprint of its key.
    pub thumbprint: String,
    /// Its public key as canonical JWK JSON.
    pub jwk: String,
    /// Its `mailto:` contacts, one per line.
    pub contact: String,
    /// Whether it may act.
    pub status: AccountStatus,
    /// When it was created (UTC Unix seconds).
    pub created_at: i64,
}

/// An ACME order, from new-order until its certgate order is delivered.
#[derive(Clone, Debug)]
pub struct AcmeOrder {
    /// Its number, the last segment of its URL.
    pub id: i64,
    /// The ACME account that created it.
    pub account_id: i64,
    /// Its DNS identifiers, one per line, as requested.
    pub identifiers: String,
    /// Its state as last written (see `Orders::acme_order_state` for the
    /// state it is in now).
    pub status: AcmeOrderStatus,
    /// The certgate order placed at finalize.
    pub order_id: Option<i64>,
    /// The certificate it replaces (RFC 9773).
    pub replaces: Option<i64>,
    /// Why it became invalid.
    pub error: Option<String>,
    /// When it expires if not finalized (UTC Unix seconds).
    pub expires_at: i64,
    /// When it was created (UTC Unix seconds).
    pub created_at: i64,
}

/// An authorization of one name of an ACME order, with the challenge its
/// account answered.
#[derive(Clone, Debug)]
pub struct AcmeAuthz {
    /// Its number, the last segment of its URL.
    pub id: i64,
    /// The ACME order it belongs to.
    pub acme_order_id: i64,
    /// The DNS name, without a `*.` prefix.
    pub identifier: String,
    /// Whether the order asked for the wildcard of the name.
    pub wildcard: bool,
    /// Its state.
    pub status: AuthzStatus,
    /// The token its challenges share.
    pub token: String,
    /// The challenge type the client answered (`http-01`, `dns-01`, `tls-alpn-01`).
    pub challenge_type: Option<String>,
    /// The state of that challenge.
    pub challenge_status: ChallengeStatus,
    /// Why validation failed.
    pub error: Option<String>,
    /// When its validation ended, valid or not (UTC Unix seconds).
    pub validated_at: Option<i64>,
    /// When it expires (UTC Unix seconds).
    pub expires_at: i64,
    /// When it was created (UTC Unix seconds).
    pub created_at: i64,
}

/// The resource a signed request's URL names, read with its signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcmeNames {
    /// None (new-order, account updates, certificate download...).
    Nothing,
    /// Authorization `.0` (`authz/<id>`, `chall/<id>/<type>`).
    Authz(i64),
    /// Order `.0`, with its authorizations (`order/<id>`, its finalize).
    Order(i64),
}

/// The resource a request named, as read: `None` when there is no such
/// resource or another account owns it.
#[derive(Clone, Debug)]
pub enum AcmeOwned {
    /// The request named nothing.
    Nothing,
    /// The authorization it named.
    Authz(Option<AcmeAuthz>),
    /// The order it named, with its authorizations in identifier order.
    Order(Option<(AcmeOrder, Vec<AcmeAuthz>)>),
}

/// A signed request's account and what was read with it.
#[derive(Clone, Debug)]
pub struct AcmeSigner {
    /// The account.
    pub account: AcmeAccount,
    /// Whether its ACME URL has been revoked (then none of its accounts may act).
    pub url_revoked: bool,
    /// False when the request's nonce had been used before.
    pub nonce_fresh: bool,
    /// The resource the request named, if the account owns it.
    pub owned: AcmeOwned,
}

/// The state a stored word names; a word the order core does not know is
/// a database it cannot trust, not a client's error.
fn state<T>(parse: fn(&str) -> Option<T>, word: &str, of: &str) -> Result<T> {
    parse(word).ok_or_else(|| OrderError::UnknownState(format!("{of} {word:?}")))
}

impl TryFrom<AcmeAccountRow> for AcmeAccount {
    type Error = OrderError;
    fn try_from(r: AcmeAccountRow) -> Result<AcmeAccount> {
        Ok(AcmeAccount {
            status: state(AccountStatus::parse, &r.status, "ACME account state")?,
            id: r.id,
            acme_url_id: r.acme_url_id,
            thumbprint: r.thumbprint,
            jwk: r.jwk,
            contact: r.contact,
            created_at: r.created_at,
        })
    }
}

impl TryFrom<AcmeOrderRow> for AcmeOrder {
    type Error = OrderError;
    fn try_from(r: AcmeOrderRow) -> Result<AcmeOrder> {
        Ok(AcmeOrder {
            status: state(AcmeOrderStatus::parse, &r.status, "ACME order state")?,
            id: r.id,
            account_id: r.account_id,
            identifiers: r.identifiers,
            order_id: r.order_id,
            replaces: r.replaces,
            error: r.error,
            expires_at: r.expires_at,
            created_at: r.created_at,
        })
    }
}

impl TryFrom<AcmeAuthzRow> for AcmeAuthz {
    type Error = OrderError;
    fn try_from(r: AcmeAuthzRow) -> Result<AcmeAuthz> {
        Ok(AcmeAuthz {
            status: state(AuthzStatus::parse, &r.status, "authorization state")?,
            challenge_status: state(ChallengeStatus::parse, &r.challenge_status, "challenge state")?,
            id: r.id,
            acme_order_id: r.acme_order_id,
            identifier: r.identifier,
            wildcard: r.wildcard,
            token: r.token,
            challenge_type: r.challenge_type,
            error: r.error,
            validated_at: r.validated_at,
            expires_at: r.expires_at,
            created_at: r.created_at,
        })
    }
}

/// An order and its authorizations, as read.
pub(super) fn order_with_authzs((o, authzs): (AcmeOrderRow, Vec<AcmeAuthzRow>)) -> Result<(AcmeOrder, Vec<AcmeAuthz>)> {
    Ok((o.try_into()?, authzs.into_iter().map(AcmeAuthz::try_from).collect::<Result<_>>()?))
}

impl TryFrom<Signer> for AcmeSigner {
    type Error = OrderError;
    fn try_from(s: Signer) -> Result<AcmeSigner> {
        let owned = match s.owned {
            Owned::Nothing => AcmeOwned::Nothing,
            Owned::Authz(a) => AcmeOwned::Authz(a.map(AcmeAuthz::try_from).transpose()?),
            Owned::Order(o) => AcmeOwned::Order(o.map(order_with_authzs).transpose()?),
        };
        Ok(AcmeSigner { account: s.account.try_into()?, url_revoked: s.url_revoked, nonce_fresh: s.nonce_fresh, owned })
    }
}

impl From<AcmeNames> for Names {
    fn from(n: AcmeNames) -> Names {
        match n {
            AcmeNames::Nothing => Names::Nothing,
            AcmeNames::Authz(id) => Names::Authz(id),
            AcmeNames::Order(id) => Names::Order(id),
        }
    }
}
