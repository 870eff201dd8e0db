//! The product catalogue and prices: the retail list and per-account
//! negotiated prices, imported from CSV with the columns of seed 8.1.1.

use std::collections::HashMap;

use storage::products::{self, ProductRow};
use storage::{audit, commit, prices};

use crate::{Caller, OrderError, Orders, Result};

/// A product as the order core uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
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
    /// True when wildcard names are allowed.
    pub wildcard: bool,
    /// How many names beyond the CN the certificate may carry.
    pub max_sans: i64,
    /// The price item charged per additional name, if any.
    pub san_code: Option<String>,
    /// The price item charged per additional wildcard name, if any.
    pub wildcard_san_code: Option<String>,
    /// The price item charged for a renewal instead of the product code, if any.
    pub renewal_code: Option<String>,
    /// True when ordering needs an active pre-validation of the organisation.
    pub needs_prevalidation: bool,
    /// True when a renewal may keep the certificate's key (the same CSR);
    /// otherwise an automatic renewal waits for a new CSR.
    pub key_reuse: bool,
}

impl From<ProductRow> for Product {
    fn from(r: ProductRow) -> Product {
        Product {
            code: r.code,
            name: r.name,
            validity_days: r.validity_days,
            validation: r.validation,
            brand: r.brand,
            upstream: r.upstream,
            wildcard: r.wildcard,
            max_sans: r.max_sans,
            san_code: r.san_code,
            wildcard_san_code: r.wildcard_san_code,
            renewal_code: r.renewal_code,
            needs_prevalidation: r.needs_prevalidation,
            key_reuse: r.key_reuse,
        }
    }
}

impl From<&Product> for ProductRow {
    fn from(p: &Product) -> ProductRow {
        ProductRow {
            code: p.code.clone(),
            name: p.name.clone(),
            validity_days: p.validity_days,
            validation: p.validation.clone(),
            brand: p.brand.clone(),
            upstream: p.upstream.clone(),
            wildcard: p.wildcard,
            max_sans: p.max_sans,
            san_code: p.san_code.clone(),
            wildcard_san_code: p.wildcard_san_code.clone(),
            renewal_code: p.renewal_code.clone(),
            needs_prevalidation: p.needs_prevalidation,
            key_reuse: p.key_reuse,
        }
    }
}

/// What an import wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// How many products were added or replaced.
    pub products: usize,
    /// How many prices were set.
    pub prices: usize,
}

impl Orders {
    /// Adds or replaces a product.
    pub async fn upsert_product(&self, p: &Product) -> Result<()> {
        check_product(p)?;
        let mut tx = self.db().begin().await?;
        products::upsert(&mut tx, &p.into()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Reads a product by code.
    pub async fn product(&self, code: &str) -> Result<Product> {
        products::get(&mut *self.db().acquire().await?, code)
            .await?
            .map(Product::from)
            .ok_or_else(|| OrderError::UnknownProduct(code.to_string()))
    }

    /// The whole catalogue.
    pub async fn products(&self) -> Result<Vec<Product>> {
        Ok(products::list(&mut *self.db().acquire().await?).await?.into_iter().map(Product::from).collect())
    }

    /// Sets a price in minor units, for an account or (`None`) the retail list.
    pub async fn set_price(&self, item: &str, account_id: Option<i64>, currency: &str, amount: i64) -> Result<()> {
        if amount < 0 {
            return Err(OrderError::Invalid("a price cannot be negative".into()));
        }
        let mut tx = self.db().begin().await?;
        prices::set(&mut tx, item, account_id.unwrap_or(prices::RETAIL), currency, amount).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The account's price of an item: negotiated, else retail.
    pub async fn price_of(&self, item: &str, account_id: i64, currency: &str) -> Result<Option<i64>> {
        Ok(prices::effective(&mut *self.db().acquire().await?, item, account_id, currency).await?)
    }

    /// Imports a price list in CSV (comma, semicolon or tab separated) with
    /// the columns of seed 8.1.1 plus `Code` and the catalogue columns (see
    /// docs/operations.md, "Price list CSV"). Without `account_id`, it
    /// defines products and the retail prices; with one, it sets that
    /// account's negotiated prices of existing products. One bad line
    /// refuses the whole file.
    pub async fn import_prices(
        &self,
        caller: &Caller,
        csv_text: &str,
        account_id: Option<i64>,
    ) -> Result<ImportReport> {
        let rows = parse_price_csv(csv_text)?;
        let mut report = ImportReport::default();
        let mut tx = self.db().begin().await?;
        for row in &rows {
            let code = row.product.code.clone();
            let existing = products::get(&mut tx, &code).await?.map(Product::from);
            let product = match (account_id, existing) {
                (None, _) => {
                    products::upsert(&mut tx, &(&row.product).into()).await?;
                    report.products += 1;
                    row.product.clone()
                }
                (Some(_), Some(p)) => p,
                (Some(_), None) => {
                    return Err(OrderError::Invalid(format!("line {}: unknown product {code:?}", row.line)));
                }
            };
            let items = [
                (Some(product.code.clone()), row.price),
                (product.san_code.clone(), row.san_price),
                (product.wildcard_san_code.clone(), row.wildcard_san_price),
                (product.renewal_code.clone(), row.renewal_price.or(row.price)),
            ];
            for (item, amount) in items {
                if let (Some(item), Some(amount)) = (item, amount) {
                    prices::set(&mut tx, &item, account_id.unwrap_or(prices::RETAIL), &row.currency, amount).await?;
                    report.prices += 1;
                }
            }
        }
        let target = account_id.map_or("retail".to_string(), |a| format!("account {a}"));
        audit::record(
            &mut tx,
            &caller.actor(),
            "catalog.import",
            &format!("{target}: {} products, {} prices", report.products, report.prices),
            self.now(),
        )
        .await?;
        commit(tx).await?;
        Ok(report)
    }
}

fn check_product(p: &Product) -> Result<()> {
    if p.code.is_empty() || !p.code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(OrderError::Invalid(format!("product code {:?} must be letters, digits, '-' or '_'", p.code)));
    }
    if !["DV", "OV", "EV"].contains(&p.validation.as_str()) {
        return Err(OrderError::Invalid(format!("product {}: validation must be DV, OV or EV", p.code)));
    }
    if p.validity_days <= 0 || p.max_sans < 0 {
        return Err(OrderError::Invalid(format!("product {}: validity and SAN limit must be positive", p.code)));
    }
    Ok(())
}

struct PriceRow {
    line: usize,
    product: Product,
    currency: String,
    price: Option<i64>,
    san_price: Option<i64>,
    wildcard_san_price: Option<i64>,
    renewal_price: Option<i64>,
}

fn parse_price_csv(text: &str) -> Result<Vec<PriceRow>> {
    let first = text.lines().next().unwrap_or_default();
    let delimiter = [b'\t', b';', b','].into_iter().max_by_key(|d| first.matches(*d as char).count()).unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| OrderError::Invalid(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();
    if !index.contains_key("code") {
        return Err(OrderError::Invalid("CSV needs a Code column".into()));
    }
    let mut out = Vec::new();
    let mut brand = String::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| OrderError::Invalid(format!("line {line}: {e}")))?;
        let get = |col: &str| index.get(col).and_then(|i| record.get(*i)).map(str::trim).unwrap_or("");
        let bad = |what: String| OrderError::Invalid(format!("line {line}: {what}"));
        let code = get("code");
        if code.is_empty() {
            continue;
        }
        // The seed's list names the brand only on the first line of its group.
        if !get("range").is_empty() {
            brand = get("range").to_string();
        }
        let years = match get("validity (year)") {
            "" | "-" => 1,
            y => y.parse::<i64>().map_err(|_| bad(format!("validity {y:?} is not a number of years")))?,
        };
        let opt = |col: &str| {
            let v = get(col);
            (!v.is_empty() && v != "-").then(|| v.to_string())
        };
        let flag = |col: &str| matches!(get(col).to_ascii_lowercase().as_str(), "yes" | "y" | "1" | "true" | "oui");
        let validation = opt("validation").unwrap_or_else(|| "DV".into()).to_ascii_uppercase();
        let product = Product {
            code: code.to_string(),
            name: opt("product").unwrap_or_else(|| code.to_string()),
            validity_days: years * 365,
            needs_prevalidation: validation != "DV" || flag("pre-validation"),
            validation,
            brand: opt("brand").unwrap_or_else(|| brand.clone()),
            upstream: opt("upstream").unwrap_or_else(|| "embedded".into()),
            wildcard: flag("wildcard"),
            max_sans: match get("max sans") {
                "" | "-" => 0,
                v => v.parse().map_err(|_| bad(format!("Max SANs {v:?} is not a number")))?,
            },
            san_code: opt("san code"),
            wildcard_san_code: opt("wildcard san code"),
            renewal_code: opt("renewal code"),
            // Keeping the key is the rule unless the list says otherwise.
            key_reuse: get("key reuse").is_empty() || flag("key reuse"),
        };
        check_product(&product).map_err(|e| bad(e.to_string()))?;
        let money = |col: &str| -> Result<Option<i64>> {
            match get(col) {
                "" | "-" => Ok(None),
                v => parse_money(v).map(Some).ok_or_else(|| bad(format!("{col} {v:?} is not an amount"))),
            }
        };
        out.push(PriceRow {
            line,
            currency: opt("currency").unwrap_or_else(|| "EUR".into()).to_ascii_uppercase(),
            price: money("new order and renewal")?,
            san_price: money("additional san")?,
            wildcard_san_price: money("additional san wildcard")?,
            renewal_price: money("renewal price")?,
            product,
        });
    }
    Ok(out)
}

/// Parses `106.95`, `1,234.50`, `106,95` or `€ 12` into minor units, exactly;
/// `None` when it is not an amount.
pub fn parse_money(s: &str) -> Option<i64> {
    let s: String = s.chars().filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',').collect();
    let s = if s.contains('.') { s.replace(',', "") } else { s.replace(',', ".") };
    let (units, cents) = match s.split_once('.') {
        Some((u, c)) if c.len() <= 2 && !c.is_empty() => (u, format!("{c:0<2}")),
        Some(_) => return None,
        None => (s.as_str(), "00".to_string()),
    };
    if units.is_empty() {
        return None;
    }
    units.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents.parse::<i64>().ok()?)
}

/// Formats minor units as `1234.50` (a minus sign when negative).
pub fn format_money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats_exactly() {
        assert_eq!(format_money(10695), "106.95");
        assert_eq!(format_money(-5), "-0.05");
        assert_eq!(format_money(0), "0.00");
    }

    #[test]
    fn money_is_parsed_exactly() {
        assert_eq!(parse_money("106.95"), Some(10695));
        assert_eq!(parse_money("1,234.5"), Some(123450));
        assert_eq!(parse_money("106,95"), Some(10695));
        assert_eq!(parse_money("€ 12"), Some(1200));
        assert_eq!(parse_money("0.1"), Some(10));
        assert_eq!(parse_money("1.234"), None);
        assert_eq!(parse_money("abc"), None);
    }

    #[test]
    fn seed_price_list_parses_with_brand_carried_forward() {
        let csv = "Range\tDiscount (%)\tCode\tProduct\tValidity (year)\tNew order and renewal\tlicense\tAdditional SAN\tadditional SAN Wildcard\tDomain SAN\tValidation\tSAN code\tWildcard SAN code\n\
                   Thawte\t22.5\tssl1\tSSL Standard\t1\t106.95\t-\t68.20\t309.23\t-\tOV\tsanssl1\tsanwildssl1\n\
                   \t22.5\tssl2\tSSL Standard\t2\t188.33\t-\t119.35\t540.95\t-\tOV\tsanssl2\tsanwildssl2\n";
        let rows = parse_price_csv(csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].product.brand, "Thawte");
        assert_eq!(rows[1].product.validity_days, 730);
        assert_eq!(rows[0].san_price, Some(6820));
        assert_eq!(rows[0].wildcard_san_price, Some(30923));
        assert!(rows[0].product.needs_prevalidation);
    }

    #[test]
    fn bad_lines_are_named() {
        let csv = "Code,Product,New order and renewal\nssl1,SSL,abc\n";
        let err = parse_price_csv(csv).err().unwrap().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
