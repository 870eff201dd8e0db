//! ACME orders and their authorizations: the protocol's view of an order
//! until finalize places a certgate order.

use crate::sql::{FromRow, Row, query, query_as, query_scalar};
use crate::{Backend, Conn, Db, Result};

crate::row_struct! {
    /// One row of `acme_orders`.
    #[derive(Clone, Debug)]
    pub struct AcmeOrderRow {
        /// The order's number, the last segment of its URL.
        pub id: i64,
        /// The ACME account that created it.
        pub account_id: i64,
        /// Its DNS identifiers, one per line, as requested.
        pub identifiers: String,
        /// `pending`, `ready`, `processing`, `valid` or `invalid`.
        pub status: String,
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
}

crate::row_struct! {
    /// One row of `acme_authzs`.
    #[derive(Clone, Debug)]
    pub struct AcmeAuthzRow {
        /// The authorization's number, the last segment of its URL.
        pub id: i64,
        /// The ACME order it belongs to.
        pub acme_order_id: i64,
        /// The DNS name, without a `*.` prefix.
        pub identifier: String,
        /// Whether the order asked for the wildcard of the name.
        pub wildcard: bool,
        /// `pending`, `valid`, `invalid`, `deactivated` or `expired`.
        pub status: String,
        /// The token its challenges share.
        pub token: String,
        /// The challenge type the client answered (`http-01`, `dns-01`, `tls-alpn-01`).
        pub challenge_type: Option<String>,
        /// `pending`, `processing`, `valid` or `invalid`.
        pub challenge_status: String,
        /// Why validation failed.
        pub error: Option<String>,
        /// When its validation ended, valid or not (UTC Unix seconds).
        pub validated_at: Option<i64>,
        /// When it expires (UTC Unix seconds).
        pub expires_at: i64,
        /// When it was created (UTC Unix seconds).
        pub created_at: i64,
    }
}

/// A new order with its authorizations.
#[derive(Clone, Debug)]
pub struct NewAcmeOrder<'a> {
    /// The ACME account ordering.
    pub account_id: i64,
    /// The names ordered, one per line.
    pub identifiers: &'a str,
    /// `pending`, or `ready` when every name is pre-validated.
    pub status: &'a str,
    /// When the order and its authorizations expire (Unix seconds).
    pub expires_at: i64,
    /// The certificate it replaces (RFC 9773), if any.
    pub replaces: Option<i64>,
    /// One authorization per name, in the order of the names.
    pub authzs: &'a [NewAuthz],
}

/// A new authorization of a new order.
#[derive(Clone, Debug)]
pub struct NewAuthz {
    /// The DNS name, without a `*.` prefix.
    pub identifier: String,
    /// True for the wildcard of the name.
    pub wildcard: bool,
    /// `pending`, or `valid` for a pre-validated domain.
    pub status: &'static str,
    /// The token its challenges share.
    pub token: String,
}

/// The columns of an order `o` as [`AuthzOfOrder`] reads them beside its authorization's.
macro_rules! order_columns {
    () => {
        "o.id AS order_id, o.account_id AS order_account_id, o.identifiers AS order_identifiers,
         o.status AS order_status, o.order_id AS order_order_id, o.replaces AS order_replaces,
         o.error AS order_error, o.expires_at AS order_expires_at, o.created_at AS order_created_at"
    };
}
pub(crate) use order_columns;

/// Creates an order with its authorizations, all or nothing; returns them
/// as stored. On PostgreSQL one statement does it all (no transaction to
/// begin and commit: three round trips fewer at every new-order); on SQLite
/// a transaction with one statement per row.
pub async fn create(db: &Db, new: &NewAcmeOrder<'_>, now: i64) -> Result<(AcmeOrderRow, Vec<AcmeAuthzRow>)> {
    let authzs = new.authzs;
    if db.backend() == Backend::Sqlite || authzs.is_empty() {
        let mut tx = db.begin().await?;
        let created = insert(&mut tx, new, now).await?;
        crate::commit(tx).await?;
        return Ok(created);
    }
    // The authorizations' fields go as comma-separated lists (DNS names,
    // base64url tokens and status words hold no comma), one row per position.
    let list = |field: fn(&NewAuthz) -> String| authzs.iter().map(field).collect::<Vec<_>>().join(",");
    let rows: Vec<AuthzOfOrder> = query_as(concat!(
        "WITH o AS (
             INSERT INTO acme_orders (account_id, identifiers, status, expires_at, replaces, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *),
         z AS (
             INSERT INTO acme_authzs (acme_order_id, identifier, wildcard, status, token, validated_at,
                                      expires_at, created_at)
             SELECT o.id, a.identifier, CAST(a.wildcard AS BIGINT), a.status, a.token,
                    CASE WHEN a.status = 'valid' THEN CAST($6 AS BIGINT) END, $4, $6
             FROM o, unnest(string_to_array($7, ','), string_to_array($8, ','), string_to_array($9, ','),
                            string_to_array($10, ',')) WITH ORDINALITY AS a(identifier, wildcard, status, token, n)
             ORDER BY a.n
             RETURNING *)
         SELECT z.*, ",
        order_columns!(),
        " FROM z, o ORDER BY z.id"
    ))
    .bind(new.account_id)
    .bind(new.identifiers)
    .bind(new.status)
    .bind(new.expires_at)
    .bind(new.replaces)
    .bind(now)
    .bind(list(|a| a.identifier.clone()))
    .bind(list(|a| i64::from(a.wildcard).to_string()))
    .bind(list(|a| a.status.to_string()))
    .bind(list(|a| a.token.clone()))
    .fetch_all(&mut *db.acquire().await?)
    .await?;
    order_of(rows).ok_or(crate::Error::RowNotFound)
}

/// An authorization with its order, whose columns are renamed `order_*`: a
/// row of [`create`]'s statement on PostgreSQL and of [`with_authzs`].
pub(crate) struct AuthzOfOrder {
    authz: AcmeAuthzRow,
    order: AcmeOrderRow,
}

impl FromRow for AuthzOfOrder {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(AuthzOfOrder { authz: AcmeAuthzRow::from_row(row)?, order: AcmeOrderRow::from_row_prefixed(row, "order_")? })
    }
}

/// An order and its authorizations from rows of [`AuthzOfOrder`]; `None`
/// without rows (every order has an authorization per identifier).
pub(crate) fn order_of(rows: Vec<AuthzOfOrder>) -> Option<(AcmeOrderRow, Vec<AcmeAuthzRow>)> {
    let order = rows.first()?.order.clone();
    Some((order, rows.into_iter().map(|r| r.authz).collect()))
}

/// [`create`] on SQLite: a statement per row, in the caller's transaction.
async fn insert(c: &mut Conn, new: &NewAcmeOrder<'_>, t: i64) -> Result<(AcmeOrderRow, Vec<AcmeAuthzRow>)> {
    let order: AcmeOrderRow = query_as(
        "INSERT INTO acme_orders (account_id, identifiers, status, expires_at, replaces, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
    )
    .bind(new.account_id)
    .bind(new.identifiers)
    .bind(new.status)
    .bind(new.expires_at)
    .bind(new.replaces)
    .bind(t)
    .fetch_one(&mut *c)
    .await?;
    let mut rows = Vec::with_capacity(new.authzs.len());
    for a in new.authzs {
        rows.push(
            query_as(
                "INSERT INTO acme_authzs (acme_order_id, identifier, wildcard, status, token, validated_at,
                                          expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            )
            .bind(order.id)
            .bind(&a.identifier)
            .bind(a.wildcard)
            .bind(a.status)
            .bind(&a.token)
            .bind(if a.status == "valid" { Some(t) } else { None })
            .bind(new.expires_at)
            .bind(t)
            .fetch_one(&mut *c)
            .await?,
        );
    }
    Ok((order, rows))
}

/// The rows of [`AuthzOfOrder`] of order `$id`, one per authorization, unsorted.
macro_rules! authzs_of_order {
    ($id:literal) => {
        concat!(
            "SELECT z.*, ",
            $crate::acme_orders::order_columns!(),
            " FROM acme_orders o JOIN acme_authzs z ON z.acme_order_id = o.id WHERE o.id = ",
            $id
        )
    };
}
pub(crate) use authzs_of_order;

/// Reads an order with its authorizations (in the order they were created, as
/// the order's identifiers), in one statement.
pub async fn with_authzs(c: &mut Conn, id: i64) -> Result<Option<(AcmeOrderRow, Vec<AcmeAuthzRow>)>> {
    let rows: Vec<AuthzOfOrder> =
        query_as(concat!(authzs_of_order!("$1"), " ORDER BY z.id")).bind(id).fetch_all(c).await?;
    Ok(order_of(rows))
}

/// Reads an order.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<AcmeOrderRow>> {
    query_as("SELECT * FROM acme_orders WHERE id = $1").bind(id).fetch_optional(c).await
}

/// The statement of [`by_order`] (public so that a test can check that it uses an index).
pub const BY_ORDER: &str = "SELECT * FROM acme_orders WHERE order_id = $1";

/// The ACME order that placed a certgate order.
pub async fn by_order(c: &mut Conn, order_id: i64) -> Result<Option<AcmeOrderRow>> {
    query_as(BY_ORDER).bind(order_id).fetch_optional(c).await
}

/// The order, other than an invalid one, that already replaces a certificate
/// at `now`. An order finalized into a certgate order that failed or was
/// cancelled is invalid too, though its row still says what finalize left;
/// so is one that expired before it was finalized.
pub async fn replacing(c: &mut Conn, certificate_id: i64, now: i64) -> Result<Option<AcmeOrderRow>> {
    query_as(
        "SELECT a.* FROM acme_orders a LEFT JOIN orders o ON o.id = a.order_id
         WHERE a.replaces = $1 AND a.status <> 'invalid'
           AND (o.id IS NULL OR o.status NOT IN ('failed', 'cancelled', 'cancelled_refunded', 'discarded'))
           AND (a.order_id IS NOT NULL OR a.expires_at > $2)
         LIMIT 1",
    )
    .bind(certificate_id)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// The orders of an account, oldest first.
pub async fn for_account(c: &mut Conn, account_id: i64) -> Result<Vec<AcmeOrderRow>> {
    query_as("SELECT * FROM acme_orders WHERE account_id = $1 ORDER BY id").bind(account_id).fetch_all(c).await
}

crate::row_struct! {
    /// An ACME order as the customer area lists it under its ACME URL, with
    /// the certgate order that finalize placed.
    #[derive(Clone, Debug)]
    pub struct UrlOrderRow {
        /// The ACME order's number.
        pub id: i64,
        /// The ACME account (of the URL) that created it.
        pub acme_account_id: i64,
        /// Its DNS identifiers, one per line, as requested.
        pub identifiers: String,
        /// `pending`, `ready`, `processing`, `valid` or `invalid`.
        pub status: String,
        /// Why it became invalid.
        pub error: Option<String>,
        /// When it was created (UTC Unix seconds).
        pub created_at: i64,
        /// The public reference of the certgate order placed at finalize.
        pub order_reference: Option<String>,
        /// That order's status.
        pub order_status: Option<String>,
    }
}

/// The orders made through one ACME URL, newest first, with numbers below
/// `before`, at most `limit` of them.
pub async fn of_url(c: &mut Conn, acme_url_id: i64, before: i64, limit: i64) -> Result<Vec<UrlOrderRow>> {
    query_as(
        "SELECT o.id, o.account_id AS acme_account_id, o.identifiers, o.status, o.error, o.created_at,
                r.reference AS order_reference, r.status AS order_status
         FROM acme_orders o
         JOIN acme_accounts a ON a.id = o.account_id
         LEFT JOIN orders r ON r.id = o.order_id
         WHERE a.acme_url_id = $1 AND o.id < $2
         ORDER BY o.id DESC LIMIT $3",
    )
    .bind(acme_url_id)
    .bind(before)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// Links a pending or ready order to the certgate order finalize placed,
/// with its status after finalize; false when it was neither pending nor
/// ready any more (an authorization was deactivated meanwhile, or another
/// finalize came first) or it expired by `now`.
pub async fn link_finalized(c: &mut Conn, id: i64, status: &str, order_id: i64, now: i64) -> Result<bool> {
    let r = query(
        "UPDATE acme_orders SET status = $2, order_id = $3
         WHERE id = $1 AND status IN ('pending', 'ready') AND order_id IS NULL AND expires_at > $4",
    )
    .bind(id)
    .bind(status)
    .bind(order_id)
    .bind(now)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The authorizations of an order, in identifier order.
pub async fn authzs(c: &mut Conn, acme_order_id: i64) -> Result<Vec<AcmeAuthzRow>> {
    query_as("SELECT * FROM acme_authzs WHERE acme_order_id = $1 ORDER BY id").bind(acme_order_id).fetch_all(c).await
}

/// Reads an authorization.
pub async fn authz(c: &mut Conn, id: i64) -> Result<Option<AcmeAuthzRow>> {
    query_as("SELECT * FROM acme_authzs WHERE id = $1").bind(id).fetch_optional(c).await
}

/// The ACME account that owns authorization `$z`: the account of its order,
/// by the order's key (see [`AUTHZ_OF_ACCOUNT`]).
macro_rules! authz_owner {
    ($z:literal) => {
        concat!("(SELECT o.account_id FROM acme_orders o WHERE o.id = ", $z, ".acme_order_id)")
    };
}
pub(crate) use authz_owner;

/// The statement of [`authz_of_account`] (public so that a test can check its plan).
/// The owner is a subquery on the order's key, not a join: PostgreSQL may
/// plan a join through the account's index, whose cost grows with the
/// account's orders, and keep that plan once cached while the tables were young.
pub const AUTHZ_OF_ACCOUNT: &str =
    concat!("SELECT z.* FROM acme_authzs z WHERE z.id = $1 AND ", authz_owner!("z"), " = $2");

/// Reads an authorization if an order of ACME account `account_id` holds it.
pub async fn authz_of_account(c: &mut Conn, id: i64, account_id: i64) -> Result<Option<AcmeAuthzRow>> {
    query_as(AUTHZ_OF_ACCOUNT).bind(id).bind(account_id).fetch_optional(c).await
}

/// Deactivates an authorization that is valid or pending (RFC 8555
/// §7.5.2); false when it was neither.
pub async fn deactivate_authz(c: &mut Conn, id: i64) -> Result<bool> {
    let r = query("UPDATE acme_authzs SET status = 'deactivated' WHERE id = $1 AND status IN ('valid', 'pending')")
        .bind(id)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Moves an order from status `from` to `to` (with the reason when it
/// becomes invalid); false when it was no longer `from`.
pub async fn move_status(c: &mut Conn, id: i64, from: &str, to: &str, error: Option<&str>) -> Result<bool> {
    let r = query("UPDATE acme_orders SET status = $3, error = COALESCE($4, error) WHERE id = $1 AND status = $2")
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(error)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks the challenge `kind` of a pending authorization as being validated;
/// false when it was not pending (another challenge or request came first).
pub async fn start_challenge(c: &mut Conn, id: i64, kind: &str) -> Result<bool> {
    let r = query(
        "UPDATE acme_authzs SET challenge_type = $2, challenge_status = 'processing'
         WHERE id = $1 AND status = 'pending' AND challenge_status = 'pending'",
    )
    .bind(id)
    .bind(kind)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records the outcome of a validation: the authorization and its challenge
/// become valid, or invalid with the error. False when the challenge was no
/// longer being validated (another attempt recorded it first).
pub async fn finish_challenge(c: &mut Conn, id: i64, error: Option<&str>, now: i64) -> Result<bool> {
    let status = if error.is_some() { "invalid" } else { "valid" };
    let r = query(
        "UPDATE acme_authzs SET status = $2, challenge_status = $2, error = $3,
             validated_at = $4
         WHERE id = $1 AND challenge_status = 'processing' AND status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(now)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The statement of [`created_since`], run at every new-order (public so
/// that a test can check that it uses an index). Each count stops at its
/// limit: a count that reached it is all a rate limit needs, and the work
/// stays bounded however many orders an account places in an hour.
pub const CREATED_SINCE: &str = "SELECT
        (SELECT COUNT(*) FROM (SELECT 1 FROM acme_orders
            WHERE account_id = $1 AND created_at >= $2 LIMIT $3) a),
        (SELECT COUNT(*) FROM (SELECT 1 FROM acme_orders o JOIN acme_accounts c ON c.id = o.account_id
            WHERE c.acme_url_id = $4 AND o.created_at >= $2 LIMIT $5) u)";

/// How many orders were created since `since` by an account and by all
/// accounts of its ACME URL, in one query; each is counted up to its limit
/// (`(by_account, by_url)`), so a count equal to its limit means "at least".
pub async fn created_since(
    c: &mut Conn,
    account_id: i64,
    acme_url_id: i64,
    since: i64,
    (account_limit, url_limit): (i64, i64),
) -> Result<(i64, i64)> {
    query_as(CREATED_SINCE)
        .bind(account_id)
        .bind(since)
        .bind(account_limit.max(0))
        .bind(acme_url_id)
        .bind(url_limit.max(0))
        .fetch_one(c)
        .await
}

/// When the oldest order created since `since` by an account was created
/// (when a slot of its hourly limit frees up).
pub async fn oldest_by_account_since(c: &mut Conn, account_id: i64, since: i64) -> Result<Option<i64>> {
    query_scalar("SELECT MIN(created_at) FROM acme_orders WHERE account_id = $1 AND created_at >= $2")
        .bind(account_id)
        .bind(since)
        .fetch_one(c)
        .await
}

/// When the oldest order created since `since` by any account of an ACME
/// URL was created.
pub async fn oldest_by_url_since(c: &mut Conn, acme_url_id: i64, since: i64) -> Result<Option<i64>> {
    query_scalar(
        "SELECT MIN(o.created_at) FROM acme_orders o JOIN acme_accounts c ON c.id = o.account_id
         WHERE c.acme_url_id = $1 AND o.created_at >= $2",
    )
    .bind(acme_url_id)
    .bind(since)
    .fetch_one(c)
    .await
}

/// How many validations of an account's authorizations failed since
/// `since`, and when the oldest of them was.
pub async fn failed_validations_since(c: &mut Conn, account_id: i64, since: i64) -> Result<(i64, Option<i64>)> {
    query_as(
        "SELECT COUNT(*), MIN(z.validated_at) FROM acme_authzs z JOIN acme_orders o ON o.id = z.acme_order_id
         WHERE o.account_id = $1 AND z.challenge_status = 'invalid' AND z.validated_at >= $2",
    )
    .bind(account_id)
    .bind(since)
    .fetch_one(c)
    .await
}
