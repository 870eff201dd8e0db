//! "Prepare your renewals" (seed 9.3.1; docs/lifecycle.md): for a period,
//! the tokens needed to renew the certificates that expire in it, the
//! orders they are for, and what the account lacks.

use std::collections::{BTreeMap, HashMap};

use storage::{ledger, orders};

use crate::names::{additional_names, order_names};
use crate::renewal::{CLOSES_AFTER_EXPIRY, automatic_renewal_at, priced_as_renewal};
use crate::statements::iso;
use crate::{Caller, Order, OrderError, Orders, Product, Result, Right};

/// One certificate to renew in the period, and the tokens its renewal takes.
#[derive(Clone, Debug)]
pub struct ForecastOrder {
    /// The order that delivered it.
    pub order: Order,
    /// When the certificate expires (UTC Unix seconds).
    pub not_after: i64,
    /// When it is due for renewal: 65 days before expiry (seed 5.7).
    pub renews_at: i64,
    /// The tokens its renewal takes: (item, count).
    pub items: Vec<(String, i64)>,
}

/// The tokens of one item that the period's renewals take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenNeed {
    /// The product, renewal or SAN code.
    pub item: String,
    /// How many the renewals take.
    pub needed: i64,
    /// How many the account holds now.
    pub held: i64,
    /// How many it lacks: `needed - held`, or 0.
    pub shortfall: i64,
}

/// The renewal needs of a period.
#[derive(Clone, Debug)]
pub struct Forecast {
    /// The start of the period (UTC Unix seconds, included).
    pub from: i64,
    /// The end of the period (UTC Unix seconds, excluded).
    pub to: i64,
    /// The certificates expiring in it that are not renewed yet, soonest first.
    pub orders: Vec<ForecastOrder>,
    /// The tokens needed per item, by item code.
    pub needs: Vec<TokenNeed>,
}

/// The longest period a forecast covers: the longest certificate lifetime
/// sold, and more.
const LONGEST_PERIOD: i64 = 3 * 366 * 86_400;

impl Orders {
    /// The tokens needed to renew the caller's certificates that expire
    /// within `[from, to)`, not renewed yet: for each, one token of the
    /// product, or of its renewal code when its renewal date (65 days
    /// before expiry, or now when that has passed) still falls 60 to 90
    /// days before expiry; and one SAN or wildcard-SAN token per
    /// additional name (seed 9.3.1). It counts the renewal tokens to buy: a
    /// renewal placed when none is held uses a token of the product instead.
    pub async fn renewal_forecast(&self, caller: &Caller, from: i64, to: i64) -> Result<Forecast> {
        caller.require(Right::Billing)?;
        if to <= from || to - from > LONGEST_PERIOD {
            return Err(OrderError::Invalid("the period must end after it starts, within 3 years".into()));
        }
        let now = self.now();
        let mut c = self.db().acquire().await?;
        let rows = orders::validities(&mut c, caller.account_id, from, to, 100_000).await?;
        drop(c);
        let mut products: HashMap<String, Product> = HashMap::new();
        let mut needed: BTreeMap<String, i64> = BTreeMap::new();
        let mut out = Vec::new();
        // Not those renewed already, nor those past their renewal window.
        let open = |v: &storage::orders::Validity| !v.renewed && v.not_after + CLOSES_AFTER_EXPIRY >= now;
        for v in rows.into_iter().filter(open) {
            let order = Order::try_from(v.order)?;
            if !products.contains_key(&order.product_code) {
                let p = self.product(&order.product_code).await?;
                products.insert(order.product_code.clone(), p);
            }
            let product = &products[&order.product_code];
            let renews_at = automatic_renewal_at(v.not_before, v.not_after);
            let base = match &product.renewal_code {
                Some(code) if priced_as_renewal(v.not_after, renews_at.max(now)) => code.clone(),
                _ => product.code.clone(),
            };
            let (plain, wildcard) = additional_names(&order_names(&order));
            let items = crate::payment::items(product, base, plain, wildcard);
            for (item, n) in &items {
                *needed.entry(item.clone()).or_default() += n;
            }
            out.push(ForecastOrder { order, not_after: v.not_after, renews_at, items });
        }
        let mut c = self.db().acquire().await?;
        let mut needs = Vec::with_capacity(needed.len());
        for (item, needed) in needed {
            let held = ledger::balance(&mut c, caller.account_id, "token", &item).await?;
            needs.push(TokenNeed { shortfall: (needed - held).max(0), item, needed, held });
        }
        Ok(Forecast { from, to, orders: out, needs })
    }
}

/// A forecast as CSV: one line per token item (needed, held, shortfall),
/// then one per order to renew with its items.
pub fn forecast_csv(f: &Forecast) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ =
        w.write_record(["kind", "item or reference", "cn", "expires", "renewal date", "needed", "held", "shortfall"]);
    for n in &f.needs {
        let (needed, held, short) = (n.needed.to_string(), n.held.to_string(), n.shortfall.to_string());
        let _ = w.write_record(["tokens", &n.item, "", "", "", &needed, &held, &short]);
    }
    for o in &f.orders {
        let items = o.items.iter().map(|(i, n)| format!("{n} {i}")).collect::<Vec<_>>().join(" + ");
        let reference = o.order.reference.clone().unwrap_or_default();
        let _ =
            w.write_record(["order", &reference, &o.order.cn, &iso(o.not_after), &iso(o.renews_at), &items, "", ""]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
