//! Prepaid balance warning levels (seed 7.2.3): the deposit, or the tokens
//! of an item, below which the account is told it is running out.

use crate::sql::{query, query_scalar};
use crate::{Conn, Result};

/// Sets the level of `asset` (`token` or `deposit`) and `item`; 0 removes it.
pub async fn set(c: &mut Conn, account_id: i64, asset: &str, item: &str, level: i64) -> Result<()> {
    if level <= 0 {
        query("DELETE FROM warning_levels WHERE account_id = $1 AND asset = $2 AND item = $3")
            .bind(account_id)
            .bind(asset)
            .bind(item)
            .execute(c)
            .await?;
        return Ok(());
    }
    query(
        "INSERT INTO warning_levels (account_id, asset, item, level) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, asset, item) DO UPDATE SET level = $4",
    )
    .bind(account_id)
    .bind(asset)
    .bind(item)
    .bind(level)
    .execute(c)
    .await?;
    Ok(())
}

/// The level of `asset` and `item`, if one is set.
pub async fn get(c: &mut Conn, account_id: i64, asset: &str, item: &str) -> Result<Option<i64>> {
    query_scalar("SELECT level FROM warning_levels WHERE account_id = $1 AND asset = $2 AND item = $3")
        .bind(account_id)
        .bind(asset)
        .bind(item)
        .fetch_optional(c)
        .await
}

/// Every level of the account: (asset, item, level), by asset then item.
pub async fn list(c: &mut Conn, account_id: i64) -> Result<Vec<(String, String, i64)>> {
    crate::sql::query_as("SELECT asset, item, level FROM warning_levels WHERE account_id = $1 ORDER BY asset, item")
        .bind(account_id)
        .fetch_all(c)
        .await
}
