//! A customer account as the order core hands it out, its formula typed;
//! made from the storage row, which stays inside the order core.

use storage::accounts::AccountRow;

use crate::{Formula, OrderError, Result};

/// A customer account of the reseller (seed 2.4).
#[derive(Clone, Debug)]
pub struct Account {
    /// The account's number.
    pub id: i64,
    /// The customer's name for it.
    pub name: String,
    /// How it pays.
    pub formula: Formula,
    /// The currency of its prices and deposit, such as `EUR`.
    pub currency: String,
    /// Whether orders by non-approvers wait for an approver.
    pub approval_mode: bool,
    /// Minor units the deposit may go below zero.
    pub overdraft: i64,
    /// When it was created (UTC Unix seconds).
    pub created_at: i64,
    /// Whether its new orders renew automatically (seed 5.7).
    pub auto_renew_default: bool,
}

/// The formula of a stored account.
pub(crate) fn formula_of(r: &AccountRow) -> Result<Formula> {
    Formula::parse(&r.formula).ok_or_else(|| OrderError::UnknownState(format!("account formula {:?}", r.formula)))
}

impl TryFrom<AccountRow> for Account {
    type Error = OrderError;
    fn try_from(r: AccountRow) -> Result<Account> {
        Ok(Account {
            formula: formula_of(&r)?,
            id: r.id,
            name: r.name,
            currency: r.currency,
            approval_mode: r.approval_mode,
            overdraft: r.overdraft,
            created_at: r.created_at,
            auto_renew_default: r.auto_renew_default,
        })
    }
}
