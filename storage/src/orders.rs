//! Orders: what was asked, how it was paid, and where it stands.

use crate::sql::{Query, query, query_as, query_built, query_scalar};
use crate::{Backend, Conn, Db, Result, Tx};

crate::row_struct! {
    /// One row of `orders`.
    #[derive(Clone, Debug)]
    pub struct OrderRow {
        /// The order's database identifier.
        pub id: i64,
        /// The public reference: the id as digits, or `DCACME-<id>` for ACME orders.
        pub reference: Option<String>,
        /// The account that placed the order.
        pub account_id: i64,
        /// The organisation the certificate is issued to.
        pub organisation_id: i64,
        /// The product ordered.
        pub product_code: String,
        /// `new` or `renewal`.
        pub kind: String,
        /// For a renewal, the order it renews.
        pub renewal_of: Option<i64>,
        /// The common name of the certificate.
        pub cn: String,
        /// Every name of the certificate other than the CN, one per line.
        pub sans: String,
        /// The customer's certificate signing request, PEM.
        pub csr_pem: String,
        /// `acme`, `xmlrpc` or `cli`.
        pub source: String,
        /// The customer's own reference for the order, if given.
        pub client_ref: Option<String>,
        /// The key that makes a retried request return this order instead of a new one.
        pub idempotency_key: Option<String>,
        /// Who placed the order: a login, `acme:<account>` or `operator`.
        pub created_by: String,
        /// `tokens`, `deposit` or `invoice`.
        pub payment: String,
        /// The price in minor units of `currency` (tokens are priced too, for statements).
        pub price: i64,
        /// The currency of the price, such as `EUR`.
        pub currency: String,
        /// Where the order stands, as a snake-case status name such as `processing`.
        pub status: String,
        /// The configured upstream that issues the certificate.
        pub upstream: String,
        /// The upstream's reference for the order, once it has one.
        pub upstream_ref: Option<String>,
        /// Why the order failed, when it did.
        pub failure: Option<String>,
        /// When the order was placed, in UTC Unix seconds.
        pub created_at: i64,
        /// When the order last changed, in UTC Unix seconds.
        pub updated_at: i64,
        /// The value the customer publishes to prove control of names that are
        /// not pre-validated (set while the order waits for DCV).
        pub dcv_token: Option<String>,
        /// When a worker started buying the certificate upstream; from then
        /// on the order can no longer be cancelled for a refund.
        pub purchase_started_at: Option<i64>,
        /// The CSR before the latest reissue (or the reissue's, once the
        /// reissue was cancelled).
        pub previous_csr_pem: Option<String>,
        /// Whether the order renews itself 65 days before its certificate
        /// expires (seed 5.7).
        pub auto_renew: bool,
    }
}

/// The fields of a new order.
#[derive(Clone, Debug)]
pub struct NewOrder<'a> {
    /// The account placing the order.
    pub account_id: i64,
    /// The organisation the certificate is issued to.
    pub organisation_id: i64,
    /// The product ordered.
    pub product_code: &'a str,
    /// `new` or `renewal`.
    pub kind: &'a str,
    /// For a renewal, the order it renews.
    pub renewal_of: Option<i64>,
    /// The common name of the certificate.
    pub cn: &'a str,
    /// Every name of the certificate other than the CN, one per line.
    pub sans: &'a str,
    /// The customer's certificate signing request, PEM.
    pub csr_pem: &'a str,
    /// The front it came through: `acme`, `xmlrpc` or `cli`.
    pub source: &'a str,
    /// The customer's own reference for the order, if given.
    pub client_ref: Option<&'a str>,
    /// The key that makes a retried request return this order instead of a new one.
    pub idempotency_key: Option<&'a str>,
    /// Who places the order: a login, `acme:<account>` or `operator`.
    pub created_by: &'a str,
    /// How it is paid: `tokens`, `deposit` or `invoice`.
    pub payment: &'a str,
    /// The price in minor units of `currency` (tokens are priced too, for statements).
    pub price: i64,
    /// The currency of the price, such as `EUR`.
    pub currency: &'a str,
    /// The status the order starts in, as a snake-case status name.
    pub status: &'a str,
    /// The configured upstream that issues the certificate.
    pub upstream: &'a str,
    /// Prefix of the reference: empty for plain numbers, `DCACME-` for ACME.
    pub reference_prefix: &'a str,
    /// The id drawn beforehand with [`begin_with_next_id`], or `None` to draw it in the insert.
    pub id: Option<i64>,
    /// The upstream's reference, for an order inserted delivered.
    pub upstream_ref: Option<&'a str>,
}

/// The next order id, as an SQL expression of each backend. On SQLite,
/// writers hold the database's write lock, so the id cannot be taken
/// meanwhile; it is drawn as AUTOINCREMENT would (above both the highest id
/// ever used and the highest present), and the insert moves that on.
macro_rules! next_id {
    (postgres) => {
        "nextval(pg_get_serial_sequence('orders', 'id'))"
    };
    (sqlite) => {
        "MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'orders'), 0),
             COALESCE((SELECT MAX(id) FROM orders), 0)) + 1"
    };
}
pub(crate) use next_id;

/// The statement of [`insert`]: the id given as `$20`, else drawn with the
/// backend's `next_id!`, so that the reference (prefix and id) is written
/// with the row. Automatic renewal starts as the account's default, or on
/// for the renewal of an order that had it; never for an ACME order, whose
/// client renews it.
macro_rules! insert_order {
    ($backend:ident) => {
        concat!(
            "INSERT INTO orders (id, reference, account_id, organisation_id, product_code, kind, renewal_of, cn,
                 sans, csr_pem, source, client_ref, idempotency_key, created_by, payment, price, currency,
                 status, upstream, upstream_ref, created_at, updated_at, auto_renew)
             SELECT n.id, $19 || n.id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, $21, $18, $18,
                 CASE WHEN $9 = 'acme' THEN 0
                      WHEN EXISTS (SELECT 1 FROM orders r WHERE r.id = $5 AND r.auto_renew = 1) THEN 1
                      ELSE (SELECT auto_renew_default FROM accounts WHERE id = $1) END
             FROM (SELECT COALESCE(CAST($20 AS BIGINT), ",
            $crate::orders::next_id!($backend),
            ") AS id) AS n WHERE true
             ON CONFLICT (account_id, idempotency_key) DO NOTHING RETURNING *"
        )
    };
}
pub(crate) use insert_order;

/// Starts a write transaction and draws in it the id of an order to be
/// inserted there, for an order whose reference is needed before it is
/// recorded; on PostgreSQL in the same round trip as the `BEGIN`.
pub async fn begin_with_next_id(db: &Db) -> Result<(Tx, i64)> {
    db.begin_selecting(match db.backend() {
        Backend::Postgres => concat!("SELECT ", next_id!(postgres)),
        Backend::Sqlite => concat!("SELECT ", next_id!(sqlite)),
    })
    .await
}

/// Inserts an order with its reference and returns it as stored, in one
/// statement; `None` when the account already placed an order with the same
/// idempotency key (nothing is written).
pub async fn insert(c: &mut Conn, o: &NewOrder<'_>, now: i64) -> Result<Option<OrderRow>> {
    let sql = match c.backend() {
        Backend::Postgres => insert_order!(postgres),
        Backend::Sqlite => insert_order!(sqlite),
    };
    bind_order(query(sql), o, now).read_as().fetch_optional(c).await
}

/// Binds the values of [`insert_order!`]'s placeholders `$1` to `$21`, with
/// `at` as the order's creation time (`$18`).
pub(crate) fn bind_order<'q>(q: Query<'q>, o: &NewOrder<'q>, at: i64) -> Query<'q> {
    q.bind(o.account_id)
        .bind(o.organisation_id)
        .bind(o.product_code)
        .bind(o.kind)
        .bind(o.renewal_of)
        .bind(o.cn)
        .bind(o.sans)
        .bind(o.csr_pem)
        .bind(o.source)
        .bind(o.client_ref)
        .bind(o.idempotency_key)
        .bind(o.created_by)
        .bind(o.payment)
        .bind(o.price)
        .bind(o.currency)
        .bind(o.status)
        .bind(o.upstream)
        .bind(at)
        .bind(o.reference_prefix)
        .bind(o.id)
        .bind(o.upstream_ref)
}

/// Reads one order by id.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<OrderRow>> {
    query_as("SELECT * FROM orders WHERE id = $1").bind(id).fetch_optional(c).await
}

/// Reads one order by its public reference.
pub async fn by_reference(c: &mut Conn, reference: &str) -> Result<Option<OrderRow>> {
    query_as("SELECT * FROM orders WHERE reference = $1").bind(reference).fetch_optional(c).await
}

/// Records that a worker starts buying order `id`'s certificate upstream,
/// unless it is no longer processing (a cancel got there first); returns
/// whether it is still processing.
pub async fn start_purchase(c: &mut Conn, id: i64, at: i64) -> Result<bool> {
    let r = query(
        "UPDATE orders SET purchase_started_at = COALESCE(purchase_started_at, $2)
         WHERE id = $1 AND status = 'processing'",
    )
    .bind(id)
    .bind(at)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Cancels order `id` with a refund to come: it moves from `from` to
/// `cancelled_refunded` only while no purchase has started upstream.
/// Returns whether it moved.
pub async fn cancel_before_purchase(c: &mut Conn, id: i64, from: &str, now: i64) -> Result<bool> {
    let r = query(
        "UPDATE orders SET status = 'cancelled_refunded', updated_at = $3
         WHERE id = $1 AND status = $2 AND purchase_started_at IS NULL",
    )
    .bind(id)
    .bind(from)
    .bind(now)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets the names of order `id` to those of the certificate it now serves,
/// and swaps its CSR with the one it had before: a cancelled reissue gives
/// the order back its former names and CSR, and a reissued certificate that
/// comes after all takes them again.
pub async fn swap_request(c: &mut Conn, id: i64, cn: &str, sans: &str, now: i64) -> Result<()> {
    query(
        "UPDATE orders SET cn = $2, sans = $3, csr_pem = COALESCE(previous_csr_pem, csr_pem),
             previous_csr_pem = csr_pem, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(cn)
    .bind(sans)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Frees the idempotency key `key` of the account's order created at or
/// before `before`, or that ended without a certificate (cancelled,
/// rejected, failed), so that a new order may take it.
pub async fn forget_idempotency_key(c: &mut Conn, account_id: i64, key: &str, before: i64) -> Result<()> {
    query(
        "UPDATE orders SET idempotency_key = NULL WHERE account_id = $1 AND idempotency_key = $2
           AND (created_at <= $3 OR status IN ('cancelled', 'cancelled_refunded', 'discarded', 'failed'))",
    )
    .bind(account_id)
    .bind(key)
    .bind(before)
    .execute(c)
    .await?;
    Ok(())
}

/// The order an account placed earlier with the same idempotency key.
pub async fn by_idempotency_key(c: &mut Conn, account_id: i64, key: &str) -> Result<Option<OrderRow>> {
    query_as("SELECT * FROM orders WHERE account_id = $1 AND idempotency_key = $2")
        .bind(account_id)
        .bind(key)
        .fetch_optional(c)
        .await
}

/// Moves an order from `from` to `to`; false when it was no longer in `from`,
/// so that two racing transitions cannot both win.
pub async fn transition(c: &mut Conn, id: i64, from: &str, to: &str, now: i64) -> Result<bool> {
    let r = query("UPDATE orders SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2")
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Delivers an order that is processing, in one statement: its status
/// becomes `delivered`, and `serial` becomes its upstream reference unless it
/// has one (an upstream order's URL). Returns the order as stored, or `None`
/// when it was no longer processing (then nothing changed).
pub async fn deliver(c: &mut Conn, id: i64, serial: &str, now: i64) -> Result<Option<OrderRow>> {
    query_as(
        "UPDATE orders SET status = 'delivered', upstream_ref = COALESCE(upstream_ref, $2), updated_at = $3
         WHERE id = $1 AND status = 'processing' RETURNING *",
    )
    .bind(id)
    .bind(serial)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// Records the upstream's reference of the order; with `replace` false, only
/// if it has none yet (so a serial never hides an upstream order's URL).
pub async fn set_upstream_ref(c: &mut Conn, id: i64, upstream_ref: &str, replace: bool, now: i64) -> Result<()> {
    query("UPDATE orders SET upstream_ref = $2, updated_at = $3 WHERE id = $1 AND ($4 = 1 OR upstream_ref IS NULL)")
        .bind(id)
        .bind(upstream_ref)
        .bind(now)
        .bind(i64::from(replace))
        .execute(c)
        .await?;
    Ok(())
}

/// Records why the order failed.
pub async fn set_failure(c: &mut Conn, id: i64, failure: &str, now: i64) -> Result<()> {
    query("UPDATE orders SET failure = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(failure)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

/// Marks an order as changed now without changing its status (a reissue, say).
pub async fn touch(c: &mut Conn, id: i64, now: i64) -> Result<()> {
    query("UPDATE orders SET updated_at = $2 WHERE id = $1").bind(id).bind(now).execute(c).await?;
    Ok(())
}

/// Filters for [`list`]; empty strings and zeros mean "any".
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only orders of this account (0: any).
    pub account_id: i64,
    /// Only orders in this status (empty: any).
    pub status: String,
    /// Only orders of this product (empty: any).
    pub product_code: String,
    /// Only orders with this client reference (empty: any).
    pub client_ref: String,
    /// Only orders updated at or after this time.
    pub updated_from: i64,
    /// Only orders updated at or before this time (0: no bound).
    pub updated_to: i64,
    /// Only the order with this public reference (empty: any).
    pub reference: String,
    /// Only the order of the certificate with this serial, lower-case hexadecimal (empty: any).
    pub serial: String,
    /// Only orders whose common name starts with this (empty: any).
    pub cn_prefix: String,
    /// Only orders placed at or after this time (0: no bound).
    pub created_from: i64,
    /// Only orders placed at or before this time (0: no bound).
    pub created_to: i64,
    /// Only orders with an unrevoked certificate ending at or after this time (0: no bound).
    pub expires_from: i64,
    /// Only orders with an unrevoked certificate ending at or before this time (0: no bound).
    pub expires_to: i64,
    /// The most orders to return (0: 100).
    pub limit: i64,
    /// How many matching orders to skip, for paging.
    pub offset: i64,
}

/// Lists orders, newest first (within a date range: most recently changed first).
pub async fn list(c: &mut Conn, f: &OrderFilter) -> Result<Vec<OrderRow>> {
    // Only the filters given go into the WHERE clause: a catch-all
    // `($1 = '' OR status = $1)` keeps SQLite from using any index.
    enum Arg<'a> {
        Int(i64),
        Text(&'a str),
    }
    let mut conditions = Vec::new();
    let mut args: Vec<Arg<'_>> = Vec::new();
    let mut add = |column: &str, op: &str, arg| {
        args.push(arg);
        conditions.push(format!("{column} {op} ${}", args.len()));
    };
    if f.account_id != 0 {
        add("account_id", "=", Arg::Int(f.account_id));
    }
    if !f.status.is_empty() {
        add("status", "=", Arg::Text(&f.status));
    }
    if !f.product_code.is_empty() {
        add("product_code", "=", Arg::Text(&f.product_code));
    }
    if !f.client_ref.is_empty() {
        add("client_ref", "=", Arg::Text(&f.client_ref));
    }
    if f.updated_from != 0 {
        add("updated_at", ">=", Arg::Int(f.updated_from));
    }
    if f.updated_to != 0 {
        add("updated_at", "<=", Arg::Int(f.updated_to));
    }
    if !f.reference.is_empty() {
        add("reference", "=", Arg::Text(&f.reference));
    }
    // A prefix is a range of the (account_id, cn) index, compared bytewise:
    // PostgreSQL's index is on the C collation, whatever the database's is.
    let cn_end = prefix_end(&f.cn_prefix);
    let cn = if c.backend() == crate::Backend::Postgres { "cn COLLATE \"C\"" } else { "cn" };
    if !f.cn_prefix.is_empty() {
        add(cn, ">=", Arg::Text(&f.cn_prefix));
        if let Some(end) = &cn_end {
            add(cn, "<", Arg::Text(end));
        }
    }
    if f.created_from != 0 {
        add("created_at", ">=", Arg::Int(f.created_from));
    }
    if f.created_to != 0 {
        add("created_at", "<=", Arg::Int(f.created_to));
    }
    if !f.serial.is_empty() {
        args.push(Arg::Text(&f.serial));
        conditions.push(format!("id IN (SELECT order_id FROM certificates WHERE serial = ${})", args.len()));
    }
    if f.expires_from != 0 || f.expires_to != 0 {
        // The certificates ending in the range, found by the (account,
        // not_after) index; across accounts (the operator's searches), by
        // the `not_after` one.
        let account = if f.account_id != 0 {
            args.push(Arg::Int(f.account_id));
            format!("account_id = ${} AND ", args.len())
        } else {
            String::new()
        };
        args.push(Arg::Int(f.expires_from));
        let from = args.len();
        args.push(Arg::Int(if f.expires_to != 0 { f.expires_to } else { i64::MAX }));
        conditions.push(format!(
            "id IN (SELECT order_id FROM certificates WHERE {account}not_after >= ${from} AND not_after <= ${}
                    AND revoked_at IS NULL)",
            from + 1
        ));
    }
    let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    // Within a date range, or for a name's prefix, the range's index gives
    // the order too (PostgreSQL otherwise walks every id backwards).
    let order = if f.updated_from != 0 || f.updated_to != 0 {
        "updated_at DESC, id DESC"
    } else if f.created_from != 0 || f.created_to != 0 {
        "created_at DESC, id DESC"
    } else if !f.cn_prefix.is_empty() {
        if cn == "cn" { "cn, id DESC" } else { "cn COLLATE \"C\", id DESC" }
    } else {
        "id DESC"
    };
    let n = args.len();
    let sql = format!("SELECT * FROM orders {filter} ORDER BY {order} LIMIT ${} OFFSET ${}", n + 1, n + 2);
    let mut q = query_built(sql).read_as();
    for a in args {
        q = match a {
            Arg::Int(i) => q.bind(i),
            Arg::Text(t) => q.bind(t),
        };
    }
    q.bind(if f.limit > 0 { f.limit } else { 100 }).bind(f.offset).fetch_all(c).await
}

/// The first string after every string that starts with `prefix`, bytewise
/// (none when every byte is the largest).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The account's consumption per month and product with months from `from`
/// to before `to` (UTC Unix seconds of months' first seconds): `(month,
/// product, orders, amount)`, oldest month first. Read from `consumption`,
/// which triggers keep in step with every order's status and price
/// (migration 0020), so a year is a few rows, not every order.
pub async fn consumption(c: &mut Conn, account_id: i64, from: i64, to: i64) -> Result<Vec<(i64, String, i64, i64)>> {
    query_as(
        "SELECT month, product_code, orders, amount FROM consumption
         WHERE account_id = $1 AND month >= $2 AND month < $3 AND orders <> 0
         ORDER BY month, product_code",
    )
    .bind(account_id)
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await
}

/// Replaces the request of an order (a reissue with a new CSR).
pub async fn update_request(c: &mut Conn, id: i64, cn: &str, sans: &str, csr_pem: &str, now: i64) -> Result<()> {
    query(
        "UPDATE orders SET previous_csr_pem = csr_pem, cn = $2, sans = $3, csr_pem = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(cn)
    .bind(sans)
    .bind(csr_pem)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Records the DCV token of an order waiting for domain control validation.
pub async fn set_dcv_token(c: &mut Conn, id: i64, token: &str) -> Result<()> {
    query("UPDATE orders SET dcv_token = $2 WHERE id = $1").bind(id).bind(token).execute(c).await?;
    Ok(())
}

/// How many orders are in each status, database-wide.
pub async fn count_by_status(c: &mut Conn) -> Result<Vec<(String, i64)>> {
    query_as("SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status").fetch_all(c).await
}

/// Switches automatic renewal on or off for order `id` of the account, if it
/// has a certificate to renew (delivered or expired) and did not come through
/// ACME; returns whether it did.
pub async fn set_auto_renew(c: &mut Conn, account_id: i64, id: i64, on: bool) -> Result<bool> {
    let r = query(
        "UPDATE orders SET auto_renew = $3
         WHERE id = $1 AND account_id = $2 AND status IN ('delivered', 'expired') AND source <> 'acme'",
    )
    .bind(id)
    .bind(account_id)
    .bind(on)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A delivered (or expired) order with the validity of the certificate it
/// serves: the newest one not revoked.
#[derive(Clone, Debug)]
pub struct Validity {
    /// The order.
    pub order: OrderRow,
    /// The start of its certificate's validity, in UTC Unix seconds.
    pub not_before: i64,
    /// The end of its certificate's validity, in UTC Unix seconds.
    pub not_after: i64,
    /// Whether a renewal of it is placed and not cancelled, rejected or
    /// failed, nor waiting for the customer's new CSR.
    pub renewed: bool,
}

impl crate::sql::FromRow for Validity {
    fn from_row(row: &crate::sql::Row<'_>) -> Result<Self> {
        Ok(Validity {
            order: OrderRow::from_row(row)?,
            not_before: row.get("cert_not_before")?,
            not_after: row.get("cert_not_after")?,
            renewed: row.get("renewed")?,
        })
    }
}

/// The statuses of a renewal that does not renew (yet): ended without a
/// certificate, or waiting for the customer's new CSR.
macro_rules! not_renewing {
    () => {
        "('cancelled', 'cancelled_refunded', 'discarded', 'failed', 'waiting_csr')"
    };
}

/// The `SELECT` of [`Validity`] rows for orders `o` in `statuses` (an SQL
/// list), with the newest certificate that is not revoked.
macro_rules! validity {
    ($statuses:literal) => {
        concat!(
            "SELECT o.*, c.not_before AS cert_not_before, c.not_after AS cert_not_after,
                 CASE WHEN EXISTS (SELECT 1 FROM orders r WHERE r.renewal_of = o.id
                         AND r.status NOT IN ",
            not_renewing!(),
            ") THEN 1 ELSE 0 END AS renewed
             FROM orders o JOIN certificates c ON c.order_id = o.id AND c.revoked_at IS NULL
               AND c.id = (SELECT MAX(l.id) FROM certificates l WHERE l.order_id = o.id AND l.revoked_at IS NULL)
             WHERE o.status IN ",
            $statuses
        )
    };
}

/// Delivered orders whose certificate ended before `now`, at most `limit`.
pub async fn past_expiry(c: &mut Conn, now: i64, limit: i64) -> Result<Vec<Validity>> {
    query_as(concat!(validity!("('delivered')"), " AND c.not_after < $1 ORDER BY o.id LIMIT $2"))
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await
}

/// Delivered or expired orders, with automatic renewal on or off (or
/// either, for `None`), whose certificate ends within `[from, until]`,
/// after order `after` (for paging), at most `limit`.
pub async fn ending_between(
    c: &mut Conn,
    auto_renew: Option<bool>,
    from: i64,
    until: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<Validity>> {
    query_as(concat!(
        validity!("('delivered', 'expired')"),
        " AND ($5 < 0 OR o.auto_renew = $5) AND c.not_after >= $4 AND c.not_after <= $1 AND o.id > $2 ORDER BY o.id LIMIT $3"
    ))
    .bind(until)
    .bind(after)
    .bind(limit)
    .bind(from)
    .bind(auto_renew.map_or(-1, i64::from))
    .fetch_all(c)
    .await
}

/// The account's delivered and expired orders whose certificate ends within
/// `[from, to)` (0 for `to`: no end), soonest first, at most `limit`.
pub async fn validities(c: &mut Conn, account_id: i64, from: i64, to: i64, limit: i64) -> Result<Vec<Validity>> {
    query_as(concat!(
        validity!("('delivered', 'expired')"),
        " AND o.account_id = $1 AND c.not_after >= $2 AND ($3 = 0 OR c.not_after < $3)
         ORDER BY c.not_after, o.id LIMIT $4"
    ))
    .bind(account_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// The accounts that have orders waiting for funds.
pub async fn accounts_waiting_for_funds(c: &mut Conn) -> Result<Vec<i64>> {
    // The IN list matches the partial index `orders_waiting`, which SQLite needs spelled out.
    query_scalar(
        "SELECT DISTINCT account_id FROM orders
         WHERE status IN ('waiting_funds', 'waiting_csr') AND status = 'waiting_funds' ORDER BY account_id",
    )
    .fetch_all(c)
    .await
}

/// Records how an order held unpaid was finally paid, and its price then.
pub async fn set_payment(c: &mut Conn, id: i64, payment: &str, price: i64, now: i64) -> Result<()> {
    query("UPDATE orders SET payment = $2, price = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(payment)
        .bind(price)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

/// The account's orders waiting for funds after order `after`, oldest
/// first, at most `limit`.
pub async fn waiting_for_funds(c: &mut Conn, account_id: i64, after: i64, limit: i64) -> Result<Vec<OrderRow>> {
    query_as(
        "SELECT * FROM orders WHERE account_id = $1 AND status IN ('waiting_funds', 'waiting_csr')
           AND status = 'waiting_funds' AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(account_id)
    .bind(after)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// How many orders of the account wait for funds or for a CSR.
pub async fn count_waiting(c: &mut Conn, account_id: i64) -> Result<i64> {
    query_scalar("SELECT COUNT(*) FROM orders WHERE account_id = $1 AND status IN ('waiting_funds', 'waiting_csr')")
        .bind(account_id)
        .fetch_one(c)
        .await
}

/// Orders waiting for funds or for a CSR that were placed before `placed_before`,
/// or that renew an order whose certificate ended before `renewed_ended_before`,
/// at most `limit`: too old to be paid, the sweep cancels them.
pub async fn stale_waiting(
    c: &mut Conn,
    placed_before: i64,
    renewed_ended_before: i64,
    limit: i64,
) -> Result<Vec<OrderRow>> {
    query_as(
        "SELECT * FROM orders o WHERE o.status IN ('waiting_funds', 'waiting_csr')
           AND (o.created_at < $1
                OR (o.renewal_of IS NOT NULL AND (SELECT MAX(c.not_after) FROM certificates c
                                                   WHERE c.order_id = o.renewal_of) < $2))
         ORDER BY o.id LIMIT $3",
    )
    .bind(placed_before)
    .bind(renewed_ended_before)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// Whether order `id` has a renewal placed and not cancelled, rejected or
/// failed, nor waiting for a new CSR (as [`Validity::renewed`], read now).
pub async fn renewed(c: &mut Conn, id: i64) -> Result<bool> {
    let n: i64 =
        query_scalar(concat!("SELECT COUNT(*) FROM orders WHERE renewal_of = $1 AND status NOT IN ", not_renewing!()))
            .bind(id)
            .fetch_one(c)
            .await?;
    Ok(n > 0)
}
