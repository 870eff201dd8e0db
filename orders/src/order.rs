//! An order as the order core hands it to the fronts, with its status
//! typed; made from the storage row, which stays inside the order core.

use storage::orders::OrderRow;

use crate::{OrderError, Result, Status};

/// An order as the order core hands it out: what was asked, how it is
/// paid, and where it stands.
#[derive(Clone, Debug)]
pub struct Order {
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
    /// Where the order stands.
    pub status: Status,
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

impl Order {
    /// Its public reference, or its id before it has one: what pages, logs
    /// and errors call it.
    pub fn public_reference(&self) -> String {
        self.reference.clone().unwrap_or_else(|| self.id.to_string())
    }
}

impl TryFrom<OrderRow> for Order {
    type Error = OrderError;
    fn try_from(r: OrderRow) -> Result<Order> {
        Ok(Order {
            status: Status::parse(&r.status)
                .ok_or_else(|| OrderError::UnknownState(format!("order state {:?}", r.status)))?,
            id: r.id,
            reference: r.reference,
            account_id: r.account_id,
            organisation_id: r.organisation_id,
            product_code: r.product_code,
            kind: r.kind,
            renewal_of: r.renewal_of,
            cn: r.cn,
            sans: r.sans,
            csr_pem: r.csr_pem,
            source: r.source,
            client_ref: r.client_ref,
            idempotency_key: r.idempotency_key,
            created_by: r.created_by,
            payment: r.payment,
            price: r.price,
            currency: r.currency,
            upstream: r.upstream,
            upstream_ref: r.upstream_ref,
            failure: r.failure,
            created_at: r.created_at,
            updated_at: r.updated_at,
            dcv_token: r.dcv_token,
            purchase_started_at: r.purchase_started_at,
            previous_csr_pem: r.previous_csr_pem,
            auto_renew: r.auto_renew,
        })
    }
}

/// Reads an order.
pub(crate) async fn get(c: &mut storage::Conn, id: i64) -> Result<Option<Order>> {
    storage::orders::get(c, id).await?.map(Order::try_from).transpose()
}

/// Reads an order by its public reference.
pub(crate) async fn by_reference(c: &mut storage::Conn, reference: &str) -> Result<Option<Order>> {
    storage::orders::by_reference(c, reference).await?.map(Order::try_from).transpose()
}

/// The order an account placed with an idempotency key, if any.
pub(crate) async fn by_idempotency_key(c: &mut storage::Conn, account_id: i64, key: &str) -> Result<Option<Order>> {
    storage::orders::by_idempotency_key(c, account_id, key).await?.map(Order::try_from).transpose()
}

/// Which of the caller's orders a list returns; `None`, empty words and
/// zeros mean "any".
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only orders in this status.
    pub status: Option<Status>,
    /// Only orders of this product.
    pub product_code: String,
    /// Only orders with this client reference.
    pub client_ref: String,
    /// Only orders updated at or after this time (UTC Unix seconds).
    pub updated_from: i64,
    /// Only orders updated at or before this time (0: no bound).
    pub updated_to: i64,
    /// Only the order with this public reference.
    pub reference: String,
    /// Only the order of the certificate with this serial (hexadecimal, colons allowed).
    pub serial: String,
    /// Only orders whose common name starts with this (case does not matter).
    pub cn_prefix: String,
    /// Only orders placed at or after this time (0: no bound).
    pub created_from: i64,
    /// Only orders placed at or before this time (0: no bound).
    pub created_to: i64,
    /// Only orders with a certificate, not revoked, ending at or after this time (0: no bound).
    pub expires_from: i64,
    /// Only orders with a certificate, not revoked, ending at or before this time (0: no bound).
    pub expires_to: i64,
    /// The most orders to return (0: 100).
    pub limit: i64,
    /// How many matching orders to skip, for paging.
    pub offset: i64,
}

impl OrderFilter {
    /// The storage query for this filter over account `account_id`'s orders.
    pub(crate) fn of_account(&self, account_id: i64) -> storage::orders::OrderFilter {
        storage::orders::OrderFilter {
            account_id,
            status: self.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            product_code: self.product_code.clone(),
            client_ref: self.client_ref.clone(),
            updated_from: self.updated_from,
            updated_to: self.updated_to,
            reference: self.reference.trim().to_string(),
            // Serials are stored as lower-case hexadecimal without separators.
            serial: self.serial.trim().replace(':', "").to_ascii_lowercase(),
            // Names are stored in lower case (names.rs).
            cn_prefix: self.cn_prefix.trim().to_ascii_lowercase(),
            created_from: self.created_from,
            created_to: self.created_to,
            expires_from: self.expires_from,
            expires_to: self.expires_to,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

/// A customer's free text as a CSV cell that a spreadsheet shows rather
/// than evaluates: a leading `=`, `+`, `-`, `@` or control gets a quote.
pub(crate) fn spreadsheet_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// Orders as CSV, one line per order, as the orders page exports them.
pub fn orders_csv(orders: &[Order]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "reference",
        "client_ref",
        "cn",
        "sans",
        "product",
        "status",
        "payment",
        "price",
        "currency",
        "placed",
        "updated",
        "source",
        "auto_renew",
    ]);
    for o in orders {
        let _ = w.write_record([
            o.public_reference(),
            spreadsheet_safe(o.client_ref.as_deref().unwrap_or_default()),
            spreadsheet_safe(&o.cn),
            spreadsheet_safe(&o.sans.replace('\n', " ")),
            o.product_code.clone(),
            o.status.to_string(),
            o.payment.clone(),
            crate::format_money(o.price),
            o.currency.clone(),
            crate::iso(o.created_at),
            crate::iso(o.updated_at),
            o.source.clone(),
            o.auto_renew.to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
