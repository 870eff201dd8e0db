//! The product catalogue: what each product code is and which upstream sells it.

use crate::accounts::AccountRow;
use crate::sql::{FromRow, Row, query, query_as};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `products`.
    #[derive(Clone, Debug)]
    pub struct ProductRow {
        /// The product code that orders and prices refer to.
        pub code: String,
        /// The product's display name.
        pub name: String,
        /// How long its certificates are valid, in days.
        pub validity_days: i64,
        /// `DV`, `OV` or `EV`.
        pub validation: String,
        /// The CA brand (pre-validations are per brand).
        pub brand: String,
        /// The configured upstream that issues it.
        pub upstream: String,
        /// Whether wildcard names are allowed.
        pub wildcard: bool,
        /// How many names beyond the CN the certificate may carry.
        pub max_sans: i64,
        /// The price item charged per additional name, if any.
        pub san_code: Option<String>,
        /// The price item charged per additional wildcard name, if any.
        pub wildcard_san_code: Option<String>,
        /// The price item charged for a renewal instead of the product code, if any.
        pub renewal_code: Option<String>,
        /// Whether ordering needs an active pre-validation of the organisation.
        pub needs_prevalidation: bool,
        /// Whether a renewal may keep the certificate's key (the same CSR).
        pub key_reuse: bool,
    }
}

/// Inserts or replaces a product by code.
pub async fn upsert(c: &mut Conn, p: &ProductRow) -> Result<()> {
    query(
        "INSERT INTO products (code, name, validity_days, validation, brand, upstream, wildcard,
                               max_sans, san_code, wildcard_san_code, renewal_code, needs_prevalidation,
                               key_reuse)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name,
             validity_days = excluded.validity_days, validation = excluded.validation,
             brand = excluded.brand, upstream = excluded.upstream, wildcard = excluded.wildcard,
             max_sans = excluded.max_sans, san_code = excluded.san_code,
             wildcard_san_code = excluded.wildcard_san_code, renewal_code = excluded.renewal_code,
             needs_prevalidation = excluded.needs_prevalidation, key_reuse = excluded.key_reuse",
    )
    .bind(&p.code)
    .bind(&p.name)
    .bind(p.validity_days)
    .bind(&p.validation)
    .bind(&p.brand)
    .bind(&p.upstream)
    .bind(p.wildcard)
    .bind(p.max_sans)
    .bind(p.san_code.as_deref())
    .bind(p.wildcard_san_code.as_deref())
    .bind(p.renewal_code.as_deref())
    .bind(p.needs_prevalidation)
    .bind(p.key_reuse)
    .execute(c)
    .await?;
    Ok(())
}

/// Reads one product by code.
pub async fn get(c: &mut Conn, code: &str) -> Result<Option<ProductRow>> {
    query_as("SELECT * FROM products WHERE code = $1").bind(code).fetch_optional(c).await
}

/// Lists the catalogue by code.
pub async fn list(c: &mut Conn) -> Result<Vec<ProductRow>> {
    query_as("SELECT * FROM products ORDER BY code").fetch_all(c).await
}

/// A product with what ordering it for an organisation of an account needs
/// to know, read in one statement.
#[derive(Clone, Debug)]
pub struct Orderable {
    /// The product.
    pub product: ProductRow,
    /// The organisation's name.
    pub organisation_name: String,
    /// True when the organisation holds an active pre-validation for the
    /// product's brand and validation type.
    pub prevalidated: bool,
    /// The ordering account.
    pub account: AccountRow,
    /// The product code's price for the account in its currency (its own
    /// price, else the catalogue's), if it has one.
    pub price: Option<i64>,
    /// The organisation's validated, unexpired domains (`example.test` or `*.example.test`).
    pub prevalidated_domains: Vec<String>,
    /// The account's tokens of the product code (0 when it never had any).
    pub product_tokens: i64,
    /// The account's deposit balance in its currency (0 when it never had one).
    pub deposit: i64,
}

impl FromRow for Orderable {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(Orderable {
            product: ProductRow::from_row(row)?,
            organisation_name: row.get("organisation_name")?,
            prevalidated: row.get::<i64>("prevalidations")? > 0,
            // The account's columns are renamed: products have a `name` too.
            account: AccountRow::from_row_prefixed(row, "account_")?,
            price: row.get("price")?,
            prevalidated_domains: row
                .get::<Option<String>>("prevalidated_domains")?
                .map(|list| list.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            product_tokens: row.get::<Option<i64>>("product_tokens")?.unwrap_or(0),
            deposit: row.get::<Option<i64>>("deposit")?.unwrap_or(0),
        })
    }
}

/// The statement of [`orderable`], run at every new order and finalize
/// (public so that a test can check that it uses indexes).
pub const ORDERABLE: &str = concat!(
    "SELECT p.*, o.name AS organisation_name,
        (SELECT COUNT(*) FROM prevalidations v WHERE v.organisation_id = o.id AND v.brand = p.brand
            AND v.validation = p.validation AND v.state = 'active' AND v.expires_at > $4) AS prevalidations,
        a.id AS account_id, a.name AS account_name, a.formula AS account_formula,
        a.currency AS account_currency, a.approval_mode AS account_approval_mode,
        a.overdraft AS account_overdraft, a.created_at AS account_created_at,
        a.auto_renew_default AS account_auto_renew_default, a.notified AS account_notified,
        a.warned AS account_warned, a.second_factor_required AS account_second_factor_required,
        (SELECT string_agg(d.domain, ',') FROM prevalidated_domains d WHERE d.organisation_id = o.id
            AND d.state = 'validated' AND (d.expires_at IS NULL OR d.expires_at > $4))
            AS prevalidated_domains,
        (SELECT b.amount FROM balances b WHERE b.account_id = a.id AND b.asset = 'token' AND b.item = p.code)
            AS product_tokens,
        (SELECT b.amount FROM balances b WHERE b.account_id = a.id AND b.asset = 'deposit' AND b.item = a.currency)
            AS deposit, ",
    crate::prices::effective_price!("p.code", "a.id", "a.currency"),
    " AS price
     FROM products p JOIN organisations o ON o.id = $3 AND o.account_id = $2 JOIN accounts a ON a.id = $2
     WHERE p.code = $1"
);

/// For an order of `code` by account `account_id` for its organisation
/// `organisation_id`, in one statement: the product, the organisation, its
/// pre-validation at `at` and pre-validated domains, the account, its tokens
/// of the product and its deposit, and the product's price. `None` when
/// the product does not exist or the organisation is not the account's.
pub async fn orderable(
    c: &mut Conn,
    code: &str,
    account_id: i64,
    organisation_id: i64,
    at: i64,
) -> Result<Option<Orderable>> {
    query_as(ORDERABLE).bind(code).bind(account_id).bind(organisation_id).bind(at).fetch_optional(c).await
}
