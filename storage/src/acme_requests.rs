//! What a request signed by an ACME account reads before its handler runs:
//! the account with its ACME URL's state, the use of the request's nonce, and
//! the resource its URL names if that account owns it. One statement reads
//! it all (SQLite, which has no writing `WITH`, marks a shared nonce used in
//! a statement of its own), so a POST-as-GET of an authorization or an order
//! costs one round trip to PostgreSQL instead of two.

use crate::acme_accounts::{AcmeAccountRow, signer_columns};
use crate::acme_orders::{AcmeAuthzRow, AcmeOrderRow, AuthzOfOrder, authz_owner, authzs_of_order, order_of};
use crate::sql::{FromRow, QueryAs, Row, query_as};
use crate::{Backend, Conn, Result};

/// The resource a signed request's URL names, read with its signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
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
pub enum Owned {
    /// The request named nothing.
    Nothing,
    /// The authorization it named.
    Authz(Option<AcmeAuthzRow>),
    /// The order it named, with its authorizations in identifier order.
    Order(Option<(AcmeOrderRow, Vec<AcmeAuthzRow>)>),
}

/// A request's signer and what it read with it.
#[derive(Clone, Debug)]
pub struct Signer {
    /// The account.
    pub account: AcmeAccountRow,
    /// Whether its ACME URL has been revoked (then none of its accounts may act).
    pub url_revoked: bool,
    /// False when the request's nonce had been used before.
    pub nonce_fresh: bool,
    /// The resource the request named, if the account owns it.
    pub owned: Owned,
}

/// The account `$1` and its URL's revocation, the account's columns renamed
/// `signer_*` so that a resource's columns keep their own names beside them.
macro_rules! signer {
    () => {
        concat!(
            "SELECT ",
            signer_columns!(),
            ", u.revoked_at AS url_revoked_at
             FROM acme_accounts a JOIN acme_urls u ON u.id = a.acme_url_id WHERE a.id = $1"
        )
    };
}

/// No resource.
macro_rules! nothing {
    ($id:literal) => {
        " FROM s"
    };
}

/// Authorization `$id` if the signer `s` owns it, as
/// [`crate::acme_orders::AUTHZ_OF_ACCOUNT`] decides.
macro_rules! authz {
    ($id:literal) => {
        concat!(
            ", r.* FROM s LEFT JOIN (SELECT z.* FROM acme_authzs z WHERE z.id = ",
            $id,
            ") r ON ",
            authz_owner!("r"),
            " = s.signer_id"
        )
    };
}

/// Order `$id` with its authorizations, a row each. Its owner is compared
/// in [`read`], not joined: PostgreSQL would carry the signer's id over to
/// the order and may plan its lookup through the account's index.
macro_rules! order {
    ($id:literal) => {
        concat!(", r.* FROM s LEFT JOIN (", authzs_of_order!($id), ") r ON true ORDER BY r.id")
    };
}

/// The two statements reading the signer and the resource of `$resource`:
/// without a nonce to mark (the resource's id is `$2`), and marking nonce
/// `$2` used until `$3` (PostgreSQL only; the resource's id is `$4`).
macro_rules! statements {
    ($resource:ident) => {
        [
            concat!("WITH s AS (", signer!(), ") SELECT s.*, 1 AS nonce_fresh", $resource!("$2")),
            concat!(
                "WITH used AS (INSERT INTO acme_used_nonces (nonce, expires_at) VALUES ($2, $3)
                               ON CONFLICT (nonce) DO NOTHING RETURNING 1),
                 s AS (",
                signer!(),
                ") SELECT s.*, (SELECT COUNT(*) FROM used) AS nonce_fresh",
                $resource!("$4")
            ),
        ]
    };
}

/// The statements of [`read`] naming nothing: `[plain, marking the nonce]`
/// (public, as the two below, so that a test can check their plans).
pub const NOTHING: [&str; 2] = statements!(nothing);
/// As [`NOTHING`], with an authorization.
pub const AUTHZ: [&str; 2] = statements!(authz);
/// As [`NOTHING`], with an order and its authorizations.
pub const ORDER: [&str; 2] = statements!(order);

/// Reads the account `account_id` that signed a request, with the resource
/// the request `names` if the account owns it, and with `nonce` marks the
/// request's nonce used until its expiry (as [`crate::acme_nonces::redeem`]):
/// the nonce is marked used even when there is no such account (`None`).
pub async fn read(c: &mut Conn, account_id: i64, nonce: Option<(&str, i64)>, names: Names) -> Result<Option<Signer>> {
    Ok(match names {
        Names::Nothing => rows::<NoResource>(c, NOTHING, account_id, nonce, None).await?.map(|(s, _)| s),
        Names::Authz(id) => rows::<AcmeAuthzRow>(c, AUTHZ, account_id, nonce, Some(id))
            .await?
            .map(|(s, found)| Signer { owned: Owned::Authz(found.into_iter().next()), ..s }),
        Names::Order(id) => rows::<AuthzOfOrder>(c, ORDER, account_id, nonce, Some(id)).await?.map(|(s, found)| {
            let owned = order_of(found).filter(|(o, _)| o.account_id == s.account.id);
            Signer { owned: Owned::Order(owned), ..s }
        }),
    })
}

/// Runs one of [`read`]'s pairs of statements, with the id of the resource
/// it names; returns the signer (owning nothing yet) and the resource's rows.
async fn rows<R: Resource>(
    c: &mut Conn,
    [plain, marking]: [&'static str; 2],
    account_id: i64,
    nonce: Option<(&str, i64)>,
    resource: Option<i64>,
) -> Result<Option<(Signer, Vec<R>)>> {
    let rows: Vec<SignedRow<R>> = match nonce {
        Some((nonce, expires_at)) if c.backend() == Backend::Postgres => {
            with_id(query_as(marking).bind(account_id).bind(nonce).bind(expires_at), resource).fetch_all(c).await?
        }
        _ => {
            let fresh = match nonce {
                Some((nonce, expires_at)) => crate::acme_nonces::redeem(c, nonce, expires_at).await?,
                None => true,
            };
            let mut rows: Vec<SignedRow<R>> = with_id(query_as(plain).bind(account_id), resource).fetch_all(c).await?;
            rows.iter_mut().for_each(|r| r.nonce_fresh &= fresh);
            rows
        }
    };
    let Some(first) = rows.first() else { return Ok(None) };
    let signer = Signer {
        account: first.account.clone(),
        url_revoked: first.url_revoked,
        nonce_fresh: first.nonce_fresh,
        owned: Owned::Nothing,
    };
    Ok(Some((signer, rows.into_iter().filter_map(|r| r.resource).collect())))
}

/// Binds the resource's id, if the statement names one.
fn with_id<'q, R: FromRow>(q: QueryAs<'q, R>, resource: Option<i64>) -> QueryAs<'q, R> {
    match resource {
        Some(id) => q.bind(id),
        None => q,
    }
}

/// One row of [`read`]'s statements: the signer, and the resource's columns
/// unless they are NULL (no such resource, or another account's).
struct SignedRow<R> {
    account: AcmeAccountRow,
    url_revoked: bool,
    nonce_fresh: bool,
    resource: Option<R>,
}

impl<R: Resource> FromRow for SignedRow<R> {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(SignedRow {
            account: AcmeAccountRow::from_row_prefixed(row, "signer_")?,
            url_revoked: row.get::<Option<i64>>("url_revoked_at")?.is_some(),
            nonce_fresh: row.get::<bool>("nonce_fresh")?,
            resource: R::read(row)?,
        })
    }
}

/// A resource's part of a row of [`read`]'s statements.
trait Resource: Sized {
    /// Reads it; `None` where the LEFT JOIN found nothing.
    fn read(row: &Row<'_>) -> Result<Option<Self>>;
}

/// What a statement naming nothing reads besides its signer.
struct NoResource;

impl Resource for NoResource {
    fn read(_: &Row<'_>) -> Result<Option<Self>> {
        Ok(None)
    }
}

/// Reads a joined authorization's columns (alone or with its order's),
/// which are all NULL where the join found nothing.
fn joined<T: FromRow>(row: &Row<'_>) -> Result<Option<T>> {
    match row.get::<Option<i64>>("id")? {
        Some(_) => T::from_row(row).map(Some),
        None => Ok(None),
    }
}

impl Resource for AcmeAuthzRow {
    fn read(row: &Row<'_>) -> Result<Option<Self>> {
        joined(row)
    }
}

impl Resource for AuthzOfOrder {
    fn read(row: &Row<'_>) -> Result<Option<Self>> {
        joined(row)
    }
}
