//! The append-only ledger of token and money movements, and the balances it
//! sums to. A movement and its balance change are written together; a debit
//! is one conditional UPDATE, so concurrent orders cannot overspend.

use crate::sql::{query, query_as, query_scalar};
use crate::{Backend, Conn, Result};

crate::row_struct! {
    /// One row of `ledger`.
    #[derive(Clone, Debug)]
    pub struct LedgerRow {
        /// The movement's database identifier.
        pub id: i64,
        /// The account whose balance moved.
        pub account_id: i64,
        /// The order that caused the movement, unset for top-ups and adjustments.
        pub order_id: Option<i64>,
        /// `order`, `refund`, `topup` or `adjustment`.
        pub reason: String,
        /// `token`, `deposit` or `invoice`.
        pub asset: String,
        /// A product (or SAN, renewal) code for tokens; the currency otherwise.
        pub item: String,
        /// Signed: negative debits, positive credits (invoice accruals are positive).
        pub amount: i64,
        /// The balance of (account, asset, item) right after this movement.
        pub balance: i64,
        /// Who made the movement: a login, `operator`, or the worker that refunded.
        pub author: String,
        /// A free-text note, empty when none was given.
        pub note: String,
        /// When the movement was written, in UTC Unix seconds.
        pub created_at: i64,
    }
}

/// A movement to append.
#[derive(Clone, Debug)]
pub struct Movement<'a> {
    /// The account whose balance moves.
    pub account_id: i64,
    /// The order that causes the movement, if any.
    pub order_id: Option<i64>,
    /// Why it moves: `order`, `refund`, `topup` or `adjustment`.
    pub reason: &'a str,
    /// What moves: `token`, `deposit` or `invoice`.
    pub asset: &'a str,
    /// A product (or SAN, renewal) code for tokens; the currency otherwise.
    pub item: &'a str,
    /// Signed change in tokens or minor units: negative debits, positive credits.
    pub amount: i64,
    /// Who makes the movement: a login, `operator`, or the worker that refunds.
    pub author: &'a str,
    /// A free-text note, empty when none.
    pub note: &'a str,
}

/// What [`apply`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Written; the balance is now this.
    Done(i64),
    /// This (order, reason, item) was already in the ledger: nothing changed
    /// (but the balance's time, when a concurrent transaction wrote it first).
    Duplicate,
    /// The balance would fall below the floor: nothing changed. Holds the balance.
    Insufficient(i64),
}

/// Appends a movement and moves the balance, in the caller's transaction.
/// With `floor`, the balance may not end below it (a debit of tokens uses 0, a
/// deposit debit minus the overdraft allowance); the check and the update are
/// one statement. A movement of an order is written once: the update checks
/// that it is not in the ledger yet, and the ledger's unique key on (order,
/// reason, item) catches one written meanwhile; either is an [`Applied::Duplicate`].
pub async fn apply(c: &mut Conn, m: &Movement<'_>, floor: Option<i64>, now: i64) -> Result<Applied> {
    let t = now;
    let mut updated = match c.backend() {
        Backend::Postgres => match move_and_append(c, m, floor, t).await? {
            (Some(balance), Some(_)) => return Ok(Applied::Done(balance)),
            (Some(_), None) => return undo_duplicate(c, m, t).await,
            (None, _) => None,
        },
        Backend::Sqlite => move_balance(c, m, m.amount, floor, m.order_id, t).await?,
    };
    if updated.is_none() {
        if m.order_id.is_some() && written(c, m).await? {
            return Ok(Applied::Duplicate);
        }
        // The first movement of this (account, asset, item) creates its balance at 0.
        let created = query(
            "INSERT INTO balances (account_id, asset, item, amount, updated_at) VALUES ($1, $2, $3, 0, $4)
             ON CONFLICT (account_id, asset, item) DO NOTHING",
        )
        .bind(m.account_id)
        .bind(m.asset)
        .bind(m.item)
        .bind(t)
        .execute(&mut *c)
        .await?;
        if created.rows_affected() == 1 {
            updated = move_balance(c, m, m.amount, floor, m.order_id, t).await?;
        }
    }
    let Some(balance) = updated else {
        return Ok(Applied::Insufficient(self::balance(c, m.account_id, m.asset, m.item).await?));
    };
    // Movements without an order never conflict (their order_id is NULL).
    let appended: Option<i64> = query_scalar(
        "INSERT INTO ledger (account_id, order_id, reason, asset, item, amount, balance, author, note, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (order_id, reason, item) DO NOTHING RETURNING id",
    )
    .bind(m.account_id)
    .bind(m.order_id)
    .bind(m.reason)
    .bind(m.asset)
    .bind(m.item)
    .bind(m.amount)
    .bind(balance)
    .bind(m.author)
    .bind(m.note)
    .bind(t)
    .fetch_optional(&mut *c)
    .await?;
    if appended.is_none() {
        return undo_duplicate(c, m, t).await;
    }
    Ok(Applied::Done(balance))
}

/// The conditional balance update of a movement: `$4` is added to the
/// balance of (`$1`, `$2`, `$3`) at time `$5`, unless it would end below `$6`
/// or the movement of order `$7` for reason `$8` is in the ledger already
/// (never when `$7` is NULL), so that a retry moves nothing, not even the
/// balance's time. Returns the new amount.
macro_rules! update_balance {
    () => {
        "UPDATE balances SET amount = amount + $4, updated_at = $5
         WHERE account_id = $1 AND asset = $2 AND item = $3 AND ($6 IS NULL OR amount + $4 >= $6)
           AND ($7 IS NULL OR NOT EXISTS (SELECT 1 FROM ledger w
                                          WHERE w.order_id = $7 AND w.reason = $8 AND w.item = $3))
         RETURNING amount"
    };
}

/// On PostgreSQL, the usual movement in one statement: the conditional
/// balance update and the ledger row that records it. Returns the new
/// balance (`None`: refused, or no balance yet) and the ledger row's id
/// (`None`: nothing appended, or written before).
async fn move_and_append(
    c: &mut Conn,
    m: &Movement<'_>,
    floor: Option<i64>,
    t: i64,
) -> Result<(Option<i64>, Option<i64>)> {
    query_as(concat!(
        "WITH b AS (",
        update_balance!(),
        "),
         l AS (
             INSERT INTO ledger (account_id, order_id, reason, asset, item, amount, balance, author, note, created_at)
             SELECT $1, $7, $8, $2, $3, $4, b.amount, $9, $10, $5 FROM b
             ON CONFLICT (order_id, reason, item) DO NOTHING RETURNING id)
         SELECT (SELECT amount FROM b), (SELECT id FROM l)"
    ))
    .bind(m.account_id)
    .bind(m.asset)
    .bind(m.item)
    .bind(m.amount)
    .bind(t)
    .bind(floor)
    .bind(m.order_id)
    .bind(m.reason)
    .bind(m.author)
    .bind(m.note)
    .fetch_one(c)
    .await
}

/// The movement was written by a transaction that committed while this one
/// waited for the balance's row (a race the update's own check cannot see):
/// its balance moves back. Only then does a duplicate touch the balance's time.
async fn undo_duplicate(c: &mut Conn, m: &Movement<'_>, t: i64) -> Result<Applied> {
    move_balance(c, m, -m.amount, None, None, t).await?;
    Ok(Applied::Duplicate)
}

/// Adds `amount` to the balance of the movement's (account, asset, item)
/// unless it would end below `floor` or, with `once`, the movement of that
/// order is in the ledger already; returns the new balance, or `None` when
/// refused or when the balance does not exist yet.
async fn move_balance(
    c: &mut Conn,
    m: &Movement<'_>,
    amount: i64,
    floor: Option<i64>,
    once: Option<i64>,
    t: i64,
) -> Result<Option<i64>> {
    query_scalar(update_balance!())
        .bind(m.account_id)
        .bind(m.asset)
        .bind(m.item)
        .bind(amount)
        .bind(t)
        .bind(floor)
        .bind(once)
        .bind(m.reason)
        .fetch_optional(c)
        .await
}

/// True when the movement's (order, reason, item) is already in the ledger.
async fn written(c: &mut Conn, m: &Movement<'_>) -> Result<bool> {
    let seen: Option<i64> = query_scalar("SELECT id FROM ledger WHERE order_id = $1 AND reason = $2 AND item = $3")
        .bind(m.order_id)
        .bind(m.reason)
        .bind(m.item)
        .fetch_optional(c)
        .await?;
    Ok(seen.is_some())
}

/// The current balance of one (account, asset, item); zero when never moved.
pub async fn balance(c: &mut Conn, account_id: i64, asset: &str, item: &str) -> Result<i64> {
    Ok(query_scalar("SELECT amount FROM balances WHERE account_id = $1 AND asset = $2 AND item = $3")
        .bind(account_id)
        .bind(asset)
        .bind(item)
        .fetch_optional(c)
        .await?
        .unwrap_or(0))
}

crate::row_struct! {
    /// One balance with the time of its last movement.
    #[derive(Clone, Debug)]
    pub struct BalanceRow {
        /// What is held: `token`, `deposit` or `invoice`.
        pub asset: String,
        /// A product (or SAN, renewal) code for tokens; the currency otherwise.
        pub item: String,
        /// The current balance, in tokens or minor units.
        pub amount: i64,
        /// When the balance last moved, in UTC Unix seconds.
        pub updated_at: i64,
    }
}

/// Every balance of an account of one asset, by item.
pub async fn balances(c: &mut Conn, account_id: i64, asset: &str) -> Result<Vec<BalanceRow>> {
    query_as(
        "SELECT asset, item, amount, updated_at FROM balances WHERE account_id = $1 AND asset = $2
         ORDER BY item",
    )
    .bind(account_id)
    .bind(asset)
    .fetch_all(c)
    .await
}

/// The sum of the ledger rows of one (account, asset, item): what the balance must equal.
pub async fn sum(c: &mut Conn, account_id: i64, asset: &str, item: &str) -> Result<i64> {
    query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger WHERE account_id = $1 AND asset = $2 AND item = $3",
    )
    .bind(account_id)
    .bind(asset)
    .bind(item)
    .fetch_one(c)
    .await
}

crate::row_struct! {
    /// A ledger row with the order it belongs to, for statements.
    #[derive(Clone, Debug)]
    pub struct StatementRow {
        /// The ledger row's database identifier.
        pub id: i64,
        /// When the movement was written, in UTC Unix seconds.
        pub created_at: i64,
        /// Why it moved: `order`, `refund`, `topup` or `adjustment`.
        pub reason: String,
        /// A product (or SAN, renewal) code for tokens; the currency otherwise.
        pub item: String,
        /// Signed change in tokens or minor units: negative debits, positive credits.
        pub amount: i64,
        /// The balance right after this movement.
        pub balance: i64,
        /// The movement's free-text note.
        pub note: String,
        /// The public reference of the movement's order, if it has one.
        pub reference: Option<String>,
        /// The common name of the movement's order, if it has one.
        pub cn: Option<String>,
        /// The product of the movement's order, if it has one.
        pub product_code: Option<String>,
    }
}

/// Every movement of an account of one asset within [from, to], oldest
/// first (the operator's whole statement; the fronts read pages).
pub async fn movements(c: &mut Conn, account_id: i64, asset: &str, from: i64, to: i64) -> Result<Vec<StatementRow>> {
    movements_page(c, account_id, asset, from, to, (0, 0), i64::MAX).await
}

/// Up to `limit` movements of an account of one asset within [from, to],
/// oldest first, after the movement (`after_at`, `after_id`) (`(0, 0)`:
/// from the start): one page of a statement, found by the
/// (account, asset, time) index however long the account's history. The
/// time range is the only bound on `created_at` (the page's start folded
/// into it): given `created_at > after` as well, SQLite ranged the index
/// from that bound and read the whole history before the period.
#[allow(clippy::too_many_arguments)]
pub async fn movements_page(
    c: &mut Conn,
    account_id: i64,
    asset: &str,
    from: i64,
    to: i64,
    after: (i64, i64),
    limit: i64,
) -> Result<Vec<StatementRow>> {
    query_as(
        "SELECT l.id, l.created_at, l.reason, l.item, l.amount, l.balance, l.note,
                o.reference, o.cn, o.product_code
         FROM ledger l LEFT JOIN orders o ON o.id = l.order_id
         WHERE l.account_id = $1 AND l.asset = $2 AND l.created_at >= $3 AND l.created_at <= $4
           AND NOT (l.created_at = $5 AND l.id <= $6)
         ORDER BY l.created_at, l.id LIMIT $7",
    )
    .bind(account_id)
    .bind(asset)
    .bind(from.max(after.0))
    .bind(to)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// The movements tied to one order, oldest first.
pub async fn for_order(c: &mut Conn, order_id: i64) -> Result<Vec<LedgerRow>> {
    query_as("SELECT * FROM ledger WHERE order_id = $1 ORDER BY id").bind(order_id).fetch_all(c).await
}
