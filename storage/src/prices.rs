//! Prices per item code: the retail list (account 0) and negotiated prices.

use crate::sql::{query, query_scalar};
use crate::{Conn, Result};

/// The account id under which the retail price list is stored.
pub const RETAIL: i64 = 0;

/// Sets the price of an item for an account (or [`RETAIL`]).
pub async fn set(c: &mut Conn, item: &str, account_id: i64, currency: &str, amount: i64) -> Result<()> {
    query(
        "INSERT INTO prices (item, account_id, currency, amount) VALUES ($1, $2, $3, $4)
         ON CONFLICT (item, account_id, currency) DO UPDATE SET amount = excluded.amount",
    )
    .bind(item)
    .bind(account_id)
    .bind(currency)
    .bind(amount)
    .execute(c)
    .await?;
    Ok(())
}

/// The SQL subquery of an account's price of an item in a currency (its
/// negotiated price, else the retail one), given the three as SQL
/// expressions: one rule for [`effective`] and the order context's statement
/// (`products::ORDERABLE`).
macro_rules! effective_price {
    ($item:literal, $account:literal, $currency:literal) => {
        concat!(
            "(SELECT r.amount FROM prices r WHERE r.item = ",
            $item,
            " AND r.currency = ",
            $currency,
            " AND r.account_id IN (",
            $account,
            ", 0) ORDER BY r.account_id DESC LIMIT 1)"
        )
    };
}
pub(crate) use effective_price;

/// The account's negotiated price of an item, else its retail price.
pub async fn effective(c: &mut Conn, item: &str, account_id: i64, currency: &str) -> Result<Option<i64>> {
    query_scalar(concat!("SELECT ", effective_price!("$1", "$2", "$3")))
        .bind(item)
        .bind(account_id)
        .bind(currency)
        .fetch_one(c)
        .await
}
