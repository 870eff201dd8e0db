//! Accounts, their organisations, and top-ups of tokens and deposits.

use storage::accounts;
use storage::ledger::{self, Applied, Movement};
use storage::organisations::{self, NewOrganisation};
use storage::{audit, commit};

use crate::{Account, Caller, Formula, OrderError, Orders, Organisation, Result, Right};

impl Orders {
    /// Creates a customer account and returns its id.
    pub async fn create_account(
        &self,
        name: &str,
        formula: Formula,
        currency: &str,
        approval_mode: bool,
        overdraft: i64,
    ) -> Result<i64> {
        if name.trim().is_empty() {
            return Err(OrderError::Invalid("the account needs a name".into()));
        }
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(OrderError::Invalid(format!("currency {currency:?} is not an ISO 4217 code like EUR")));
        }
        if overdraft < 0 {
            return Err(OrderError::Invalid("the overdraft allowance cannot be negative".into()));
        }
        let mut tx = self.db().begin().await?;
        let id =
            accounts::insert(&mut tx, name, formula.as_str(), currency, approval_mode, overdraft, self.now()).await?;
        audit::record(
            &mut tx,
            &Caller::operator(id).actor(),
            "account.create",
            &format!("{name} ({})", formula.as_str()),
            self.now(),
        )
        .await?;
        commit(tx).await?;
        Ok(id)
    }

    /// Every account, oldest first (an operator's view).
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        accounts::list(&mut *self.db().acquire().await?).await?.into_iter().map(Account::try_from).collect()
    }

    /// The organisations of the caller's account.
    pub async fn organisations(&self, caller: &Caller) -> Result<Vec<Organisation>> {
        let list = organisations::list(&mut *self.db().acquire().await?, caller.account_id).await?;
        Ok(list.into_iter().map(Organisation::from).collect())
    }

    /// The latest upstream jobs, optionally in one state (an operator's view).
    pub async fn jobs(&self, state: Option<crate::JobState>, limit: i64) -> Result<Vec<crate::Job>> {
        let state = state.map_or("", crate::JobState::as_str);
        let rows = storage::jobs::list(&mut *self.db().acquire().await?, state, limit).await?;
        rows.into_iter().map(crate::Job::try_from).collect()
    }

    /// Reads an account.
    pub async fn account(&self, id: i64) -> Result<Account> {
        accounts::get(&mut *self.db().acquire().await?, id).await?.ok_or(OrderError::UnknownAccount(id))?.try_into()
    }

    /// Adds an organisation to an account and returns its id.
    pub async fn create_organisation(&self, caller: &Caller, org: &NewOrganisation<'_>) -> Result<i64> {
        caller.require(Right::Administrative)?;
        if org.name.trim().is_empty() {
            return Err(OrderError::Invalid("the organisation needs a name".into()));
        }
        let mut tx = self.db().begin().await?;
        if accounts::get(&mut tx, org.account_id).await?.is_none() {
            return Err(OrderError::UnknownAccount(org.account_id));
        }
        let id = organisations::insert(&mut tx, org, self.now()).await?;
        audit::record(&mut tx, &caller.actor(), "organisation.create", &format!("{id} {}", org.name), self.now())
            .await?;
        commit(tx).await?;
        Ok(id)
    }

    /// Reads an organisation of the caller's account.
    pub async fn organisation(&self, account_id: i64, id: i64) -> Result<Organisation> {
        match organisations::get(&mut *self.db().acquire().await?, id).await? {
            Some(o) if o.account_id == account_id => Ok(o.into()),
            _ => Err(OrderError::UnknownOrganisation(id)),
        }
    }

    /// Credits `count` tokens of an item (a product, SAN or renewal code).
    pub async fn credit_tokens(&self, caller: &Caller, item: &str, count: i64, note: &str) -> Result<i64> {
        if count <= 0 {
            return Err(OrderError::Invalid("a token top-up must be positive".into()));
        }
        self.product_item(item).await?;
        self.top_up(caller, "token", item, count, note).await
    }

    /// Refuses an item that is no product's code, SAN code or renewal code.
    pub(crate) async fn product_item(&self, item: &str) -> Result<()> {
        let known = self.products().await?.into_iter().any(|p| {
            [Some(&p.code), p.san_code.as_ref(), p.wildcard_san_code.as_ref(), p.renewal_code.as_ref()]
                .contains(&Some(&item.to_string()))
        });
        if known { Ok(()) } else { Err(OrderError::UnknownProduct(item.to_string())) }
    }

    /// Credits the deposit of the caller's account with `amount` minor units.
    pub async fn credit_deposit(&self, caller: &Caller, amount: i64, note: &str) -> Result<i64> {
        if amount <= 0 {
            return Err(OrderError::Invalid("a deposit top-up must be positive".into()));
        }
        let account = self.account(caller.account_id).await?;
        self.top_up(caller, "deposit", &account.currency, amount, note).await
    }

    async fn top_up(&self, caller: &Caller, asset: &str, item: &str, amount: i64, note: &str) -> Result<i64> {
        caller.require(Right::Billing)?;
        let mut tx = self.db().begin().await?;
        if accounts::get(&mut tx, caller.account_id).await?.is_none() {
            return Err(OrderError::UnknownAccount(caller.account_id));
        }
        let m = Movement {
            account_id: caller.account_id,
            order_id: None,
            reason: crate::LedgerReason::Topup.as_str(),
            asset,
            item,
            amount,
            author: &caller.login,
            note,
        };
        let Applied::Done(balance) = ledger::apply(&mut tx, &m, None, self.now()).await? else {
            return Err(OrderError::Invalid("top-up was not applied".into()));
        };
        audit::record(&mut tx, &caller.actor(), "ledger.topup", &format!("{asset} {item} +{amount}"), self.now())
            .await?;
        commit(tx).await?;
        // The credit stands whatever happens next: orders it now pays are
        // paid here, or by the next lifecycle sweep should this fail.
        if let Err(e) = self.pay_waiting(caller.account_id, &caller.login).await {
            tracing::warn!(account = caller.account_id, error = %e, "orders waiting for funds are left to the sweep");
        }
        Ok(balance)
    }
}
