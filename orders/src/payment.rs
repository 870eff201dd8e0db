//! Pricing an order and paying for it inside the order's transaction: token
//! debits, deposit debits, or accruals to the month's invoice, and refunds.
//! Every movement goes through `storage::ledger::apply`, whose unique key on
//! (order, reason, item) makes a retried charge or refund a no-op.

use storage::accounts::AccountRow;
use storage::ledger::{self, Applied, Movement};
use storage::{Conn, prices};

use crate::{Formula, LedgerReason, OrderError, Product, Result};

/// One priced line of an order: `count` units of `item` at `unit_price`.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub item: String,
    pub count: i64,
    pub unit_price: Option<i64>,
}

/// How an order is paid, as stored in `orders.payment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payment {
    Tokens,
    Deposit,
    Invoice,
}

impl Payment {
    pub fn as_str(self) -> &'static str {
        match self {
            Payment::Tokens => "tokens",
            Payment::Deposit => "deposit",
            Payment::Invoice => "invoice",
        }
    }
}

/// The lines and the payment method chosen for an order.
#[derive(Clone, Debug)]
pub(crate) struct Quote {
    pub lines: Vec<Line>,
    pub payment: Payment,
}

impl Quote {
    /// The total in minor units (lines without a price count as zero, which
    /// only happens for token payments).
    pub fn total(&self) -> i64 {
        self.lines.iter().map(|l| l.count * l.unit_price.unwrap_or(0)).sum()
    }
}

/// Prices an order of `product` with `plain_sans` additional names and
/// `wildcard_sans` additional wildcard names, and picks how it is paid.
/// `priced` is an item whose price for the account is known already (read
/// with the order's context), so it is not read again. `acme`: the order
/// comes through an ACME URL, which a Rebate account pays with tokens only
/// (seed 6.8.1), as a Bulk one does.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn quote(
    c: &mut Conn,
    account: &AccountRow,
    product: &Product,
    plain_sans: i64,
    wildcard_sans: i64,
    renewal: bool,
    priced: Option<(&str, Option<i64>)>,
    acme: bool,
) -> Result<Quote> {
    let formula = crate::account::formula_of(account)?;
    let mut base = product.code.clone();
    if renewal && let Some(code) = &product.renewal_code {
        // A renewal token is used when held; otherwise the product's own.
        let uses_tokens = matches!(formula, Formula::Bulk | Formula::Rebate);
        if !uses_tokens || ledger::balance(c, account.id, "token", code).await? > 0 {
            base = code.clone();
        }
    }
    let mut lines = Vec::new();
    for (item, count) in items(product, base, plain_sans, wildcard_sans) {
        let unit_price = match priced {
            Some((known, price)) if known == item => price,
            _ => prices::effective(c, &item, account.id, &account.currency).await?,
        };
        lines.push(Line { item, count, unit_price });
    }
    let payment = match formula {
        Formula::Bulk => Payment::Tokens,
        Formula::Deposit => Payment::Deposit,
        Formula::Monthly => Payment::Invoice,
        Formula::Rebate if acme => Payment::Tokens,
        Formula::Rebate => {
            let mut all_held = true;
            for l in &lines {
                all_held &= ledger::balance(c, account.id, "token", &l.item).await? >= l.count;
            }
            if all_held { Payment::Tokens } else { Payment::Invoice }
        }
    };
    if payment != Payment::Tokens
        && let Some(l) = lines.iter().find(|l| l.unit_price.is_none())
    {
        return Err(OrderError::NoPrice { item: l.item.clone(), currency: account.currency.clone() });
    }
    Ok(Quote { lines, payment })
}

/// The items an order of `product` takes: one of `base` (the product's
/// code, or its renewal code), and one SAN or wildcard-SAN item per
/// additional name, as (item, count).
pub(crate) fn items(product: &Product, base: String, plain_sans: i64, wildcard_sans: i64) -> Vec<(String, i64)> {
    let mut wanted = vec![(base, 1)];
    for (code, n) in [(&product.san_code, plain_sans), (&product.wildcard_san_code, wildcard_sans)] {
        if let Some(code) = code
            && n > 0
        {
            wanted.push((code.clone(), n));
        }
    }
    wanted
}

/// Charges an order in the caller's transaction. Refuses, changing nothing
/// that the transaction will keep, when tokens or deposit fall short.
pub(crate) async fn charge(
    c: &mut Conn,
    account: &AccountRow,
    order_id: i64,
    q: &Quote,
    author: &str,
    now: i64,
) -> Result<()> {
    let movement = |asset, item, amount| Movement {
        account_id: account.id,
        order_id: Some(order_id),
        reason: LedgerReason::Order.as_str(),
        asset,
        item,
        amount,
        author,
        note: "",
    };
    match q.payment {
        Payment::Tokens => {
            for l in &q.lines {
                match ledger::apply(c, &movement("token", &l.item, -l.count), Some(0), now).await? {
                    Applied::Insufficient(available) => {
                        return Err(OrderError::InsufficientTokens {
                            item: l.item.clone(),
                            needed: l.count,
                            available,
                        });
                    }
                    Applied::Done(left) => {
                        warn_if_low(c, account, "token", &l.item, left, l.count, order_id, now).await?
                    }
                    // Charged already (a retry): told then.
                    Applied::Duplicate => {}
                }
            }
        }
        Payment::Deposit => {
            let total = q.total();
            let m = movement("deposit", &account.currency, -total);
            match ledger::apply(c, &m, Some(-account.overdraft), now).await? {
                Applied::Insufficient(balance) => {
                    return Err(OrderError::InsufficientDeposit {
                        currency: account.currency.clone(),
                        needed: total,
                        balance,
                    });
                }
                Applied::Done(left) => {
                    warn_if_low(c, account, "deposit", &account.currency, left, total, order_id, now).await?
                }
                Applied::Duplicate => {}
            }
        }
        Payment::Invoice => {
            ledger::apply(c, &movement("invoice", &account.currency, q.total()), None, now).await?;
        }
    }
    metrics::counter!("certgate_ledger_debits_total", "kind" => kind_label(&q.payment)).increment(1);
    Ok(())
}

/// Tells the account when a debit of `debited` took its balance of
/// `asset` and `item` from at or above its warning level (seed 7.2.3) to
/// `left`, below it: once per crossing.
#[allow(clippy::too_many_arguments)]
async fn warn_if_low(
    c: &mut Conn,
    account: &AccountRow,
    asset: &str,
    item: &str,
    left: i64,
    debited: i64,
    order_id: i64,
    now: i64,
) -> Result<()> {
    if !account.warned {
        return Ok(());
    }
    let Some(level) = storage::warning_levels::get(c, account.id, asset, item).await? else { return Ok(()) };
    if left >= level || left + debited < level {
        return Ok(());
    }
    let money = asset == "deposit";
    let shown = |v: i64| if money { crate::format_money(v) } else { v.to_string() };
    let data = serde_json::json!({
        "asset": if money { "deposit" } else { "tokens" },
        "item": item,
        "balance": shown(left),
        "level": shown(level),
        "order": order_id,
    });
    crate::events::emit(c, crate::EventKind::BalanceLow, account.id, None, data, None, now).await?;
    Ok(())
}

/// The `kind` label of the ledger metrics.
fn kind_label(payment: &Payment) -> &'static str {
    match payment {
        Payment::Tokens => "tokens",
        Payment::Deposit => "deposit",
        Payment::Invoice => "invoice",
    }
}

/// Refuses, as [`charge`] would, when the account cannot pay the quote now;
/// writes nothing. `known` are the balances read with the order's context
/// for `product_code`; the tokens of other items are read here.
pub(crate) async fn check_funds(
    c: &mut Conn,
    account: &AccountRow,
    q: &Quote,
    product_code: &str,
    known: &Known,
) -> Result<()> {
    match q.payment {
        Payment::Tokens => {
            for l in &q.lines {
                let available = if l.item == product_code {
                    known.product_tokens
                } else {
                    ledger::balance(c, account.id, "token", &l.item).await?
                };
                if available < l.count {
                    return Err(OrderError::InsufficientTokens { item: l.item.clone(), needed: l.count, available });
                }
            }
        }
        Payment::Deposit => {
            let balance = known.deposit;
            if balance - q.total() < -account.overdraft {
                return Err(OrderError::InsufficientDeposit {
                    currency: account.currency.clone(),
                    needed: q.total(),
                    balance,
                });
            }
        }
        Payment::Invoice => {}
    }
    Ok(())
}

/// Balances read with an order's context (see `storage::products::orderable`),
/// so that checking the funds of the usual order reads nothing more.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known {
    /// The account's tokens of the ordered product's own code.
    pub product_tokens: i64,
    /// The account's deposit balance in its currency.
    pub deposit: i64,
}

/// Reverses every charge of an order (tokens back, deposit back, or a credit
/// on the invoice). Running it twice refunds once.
pub(crate) async fn refund(c: &mut Conn, order_id: i64, author: &str, note: &str, now: i64) -> Result<()> {
    let mut refunded = None;
    for row in ledger::for_order(c, order_id).await? {
        if row.reason != LedgerReason::Order.as_str() {
            continue;
        }
        let m = Movement {
            account_id: row.account_id,
            order_id: Some(order_id),
            reason: LedgerReason::Refund.as_str(),
            asset: &row.asset,
            item: &row.item,
            amount: -row.amount,
            author,
            note,
        };
        if let Applied::Done(_) = ledger::apply(c, &m, None, now).await? {
            refunded = Some(match row.asset.as_str() {
                "token" => "tokens",
                "deposit" => "deposit",
                _ => "invoice",
            });
        }
    }
    if let Some(kind) = refunded {
        metrics::counter!("certgate_ledger_refunds_total", "kind" => kind).increment(1);
    }
    Ok(())
}
