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

/// The account's negotiated price of an item, else its retail price.
pub async fn effective(c: &mut Conn, item: &str, account_id: i64, currency: &str) -> Result<Option<i64>> {
    query_scalar(
        "SELECT amount FROM prices WHERE item = $1 AND currency = $3 AND account_id IN ($2, 0)
         ORDER BY account_id DESC LIMIT 1",
    )
    .bind(item)
    .bind(account_id)
    .bind(currency)
    .fetch_optional(c)
    .await
}
