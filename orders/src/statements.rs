//! Account statements (seed 9.1): token balances per product with their last
//! operation, and the movements of tokens, deposit or invoice with a running
//! balance; each also as CSV.

use storage::ledger;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::states::states;
use crate::{Caller, Keyset, OrderError, Orders, Result, Right};

/// One token balance, as in the seed's tokens statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBalance {
    /// The product, SAN or renewal code the tokens are for.
    pub item: String,
    /// A readable name of the item, such as `<product> renewal`; empty when unknown.
    pub name: String,
    /// UTC Unix seconds of its last movement.
    pub last_operation: i64,
    /// How many tokens of the item the account holds.
    pub balance: i64,
}

/// One movement of a statement, with the balance right after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementLine {
    /// The movement's identifier, which orders movements of the same second.
    pub id: i64,
    /// When the movement happened, in UTC Unix seconds.
    pub at: i64,
    /// The order's reference, for order and refund movements.
    pub reference: Option<String>,
    /// The order's common name, for order and refund movements.
    pub cn: Option<String>,
    /// Why the balance moved.
    pub reason: LedgerReason,
    /// The product, SAN or renewal code for tokens; the currency for money.
    pub item: String,
    /// Signed, in tokens or minor units.
    pub amount: i64,
    /// The balance right after this movement, in tokens or minor units.
    pub balance: i64,
}

states! {
    /// Why a ledger balance moved.
    LedgerReason {
        /// An order was charged.
        Order = "order",
        /// An order's charge was given back.
        Refund = "refund",
        /// The operator credited the account.
        Topup = "topup",
        /// The operator corrected a balance.
        Adjustment = "adjustment",
    }
}

/// A line of the tokens statement.
pub type TokenLine = StatementLine;
/// A line of the deposit (or invoice) statement.
pub type DepositLine = StatementLine;

/// Which ledger a statement reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ledger {
    /// The account's prepaid tokens, per product, SAN or renewal code.
    Tokens,
    /// The account's prepaid money deposit.
    Deposit,
    /// The monthly account's accruals to its invoice.
    Invoice,
}

impl Ledger {
    /// Every ledger.
    pub const ALL: [Ledger; 3] = [Ledger::Tokens, Ledger::Deposit, Ledger::Invoice];

    /// Its word: `tokens`, `deposit` or `invoice`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ledger::Tokens => "tokens",
            Ledger::Deposit => "deposit",
            Ledger::Invoice => "invoice",
        }
    }

    /// The ledger a word names.
    pub fn parse(word: &str) -> Option<Ledger> {
        Ledger::ALL.into_iter().find(|l| l.as_str() == word)
    }

    /// The ledger whose rows carry `asset` (`token`, `deposit`, `invoice`).
    pub(crate) fn of_asset(asset: &str) -> Option<Ledger> {
        Ledger::ALL.into_iter().find(|l| l.asset() == asset)
    }

    fn asset(self) -> &'static str {
        match self {
            Ledger::Tokens => "token",
            Ledger::Deposit => "deposit",
            Ledger::Invoice => "invoice",
        }
    }
}

impl Orders {
    /// The caller's token balances per item.
    pub async fn token_balances(&self, caller: &Caller) -> Result<Vec<TokenBalance>> {
        caller.require(Right::Billing)?;
        let rows = ledger::balances(&mut *self.db().acquire().await?, caller.account_id, "token").await?;
        let products = self.products().await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let name = products
                    .iter()
                    .find_map(|p| {
                        if p.code == r.item {
                            Some(p.name.clone())
                        } else if p.san_code.as_deref() == Some(&r.item) {
                            Some(format!("{} additional SAN", p.name))
                        } else if p.wildcard_san_code.as_deref() == Some(&r.item) {
                            Some(format!("{} additional wildcard SAN", p.name))
                        } else if p.renewal_code.as_deref() == Some(&r.item) {
                            Some(format!("{} renewal", p.name))
                        } else {
                            None
                        }
                    })
                    .unwrap_or_default();
                TokenBalance { item: r.item, name, last_operation: r.updated_at, balance: r.amount }
            })
            .collect())
    }

    /// The balance of one ledger of the caller's account: tokens of `item`,
    /// or the deposit / invoice in the account's currency.
    pub async fn balance(&self, caller: &Caller, which: Ledger, item: Option<&str>) -> Result<i64> {
        caller.require(Right::Billing)?;
        let account = self.account(caller.account_id).await?;
        let item = item.unwrap_or(&account.currency);
        Ok(ledger::balance(&mut *self.db().acquire().await?, caller.account_id, which.asset(), item).await?)
    }

    /// The movements of one ledger within [from, to] (UTC Unix seconds).
    pub async fn statement(&self, caller: &Caller, which: Ledger, from: i64, to: i64) -> Result<Vec<StatementLine>> {
        caller.require(Right::Billing)?;
        let rows =
            ledger::movements(&mut *self.db().acquire().await?, caller.account_id, which.asset(), from, to).await?;
        rows.into_iter().map(StatementLine::from_row).collect()
    }

    /// One page of a statement: up to `limit` movements of one ledger within
    /// [from, to], oldest first, after the line `after` (none: from the
    /// first). `limit` is 1 to 10,001: a page of 10,000 and the line that
    /// says another page follows.
    pub async fn statement_page(
        &self,
        caller: &Caller,
        which: Ledger,
        (from, to): (i64, i64),
        after: Option<Keyset>,
        limit: i64,
    ) -> Result<Vec<StatementLine>> {
        caller.require(Right::Billing)?;
        let mut c = self.db().acquire().await?;
        let after = after.map_or((0, 0), |k| (k.at, k.id));
        let rows =
            ledger::movements_page(&mut c, caller.account_id, which.asset(), from, to, after, limit.clamp(1, 10_001))
                .await?;
        rows.into_iter().map(StatementLine::from_row).collect()
    }
}

impl StatementLine {
    /// Its place, where the statement's next page starts.
    pub fn place(&self) -> Keyset {
        Keyset { at: self.at, id: self.id }
    }

    fn from_row(r: ledger::StatementRow) -> Result<StatementLine> {
        Ok(StatementLine {
            reason: LedgerReason::parse(&r.reason)
                .ok_or_else(|| OrderError::UnknownState(format!("ledger reason {:?}", r.reason)))?,
            id: r.id,
            at: r.created_at,
            reference: r.reference,
            cn: r.cn,
            item: r.item,
            amount: r.amount,
            balance: r.balance,
        })
    }
}

/// Formats UTC Unix seconds as an ISO 8601 date and time.
pub fn iso(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")).ok())
        .unwrap_or_default()
}

/// A statement as CSV, one line per movement.
pub fn statement_csv(lines: &[StatementLine]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["date", "reference", "cn", "reason", "item", "amount", "balance"]);
    for l in lines {
        let _ = w.write_record([
            iso(l.at),
            l.reference.clone().unwrap_or_default(),
            l.cn.clone().unwrap_or_default(),
            l.reason.as_str().to_string(),
            l.item.clone(),
            l.amount.to_string(),
            l.balance.to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Token balances as CSV, as in the seed's tokens statement.
pub fn balances_csv(rows: &[TokenBalance]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["product", "product name", "last operation", "balance"]);
    for r in rows {
        let _ = w.write_record([r.item.clone(), r.name.clone(), iso(r.last_operation), r.balance.to_string()]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
