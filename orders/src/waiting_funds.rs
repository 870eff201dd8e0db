//! Orders held unpaid (docs/lifecycle.md): an order that waited for an
//! approver or for funds is paid when it may go on, at that day's prices
//! (priced as a renewal or not by the day it was placed); orders waiting for funds are paid, oldest first, when the
//! account is credited, and by the periodic sweep after a crash.

use storage::accounts::AccountRow;
use storage::{accounts, audit, commit, orders};

use crate::names::{additional_names, order_names};
use crate::payment::Quote;
use crate::place::check_quoted;
use crate::{Order, OrderError, Orders, Product, Quoted, Result, Source, Status, payment};

impl Orders {
    /// Charges order `o` of `product` (read before `tx` began: a second
    /// connection taken inside it could wait for ever on a pool that racing
    /// calls hold), recorded unpaid in `from`; moves it on to `next` and
    /// queues what comes next, in `tx`. Refuses, leaving what `tx` wrote to
    /// be rolled back, when the account cannot pay, or when the caller
    /// confirmed other figures (`quoted`) than it would be charged now.
    pub(crate) async fn pay_held(
        &self,
        tx: &mut storage::Conn,
        o: &Order,
        product: &Product,
        (from, next): (Status, Status),
        quoted: Option<&Quoted>,
        author: &str,
    ) -> Result<()> {
        let account = accounts::get(tx, o.account_id).await?.ok_or(OrderError::UnknownAccount(o.account_id))?;
        let q = self.held_quote(tx, &account, o, product).await?;
        check_quoted(quoted, &q, &account.currency)?;
        self.transition(tx, o, from, next).await?;
        orders::set_payment(tx, o.id, q.payment.as_str(), q.total(), self.now()).await?;
        self.pay_and_queue(tx, &account, o.id, &q, next, author).await
    }

    /// What order `o` of `product`, held unpaid, would be charged now by
    /// `account`: today's prices, priced as a renewal or not by the day it
    /// was placed.
    pub(crate) async fn held_quote(
        &self,
        c: &mut storage::Conn,
        account: &AccountRow,
        o: &Order,
        product: &Product,
    ) -> Result<Quote> {
        let (plain, wildcard) = additional_names(&order_names(o));
        let renewal = self.renewal_priced(c, o).await?;
        let acme = o.source == Source::Acme.as_str();
        payment::quote(c, account, product, plain, wildcard, renewal, None, acme).await
    }

    /// Pays, oldest first, the account's orders waiting for funds that it
    /// can now pay, and queues them; an order it cannot pay yet keeps
    /// waiting without holding back the others. Returns how many were paid.
    pub(crate) async fn pay_waiting(&self, account_id: i64, author: &str) -> Result<usize> {
        let mut paid = 0;
        let mut after = 0;
        loop {
            let page = orders::waiting_for_funds(&mut *self.db().acquire().await?, account_id, after, 100).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let full = page.len() == 100;
            for row in page {
                let o = Order::try_from(row)?;
                match self.pay_one(&o, author).await {
                    Ok(true) => paid += 1,
                    Ok(false) => {}
                    // The database failing fails the whole call (it is tried again).
                    Err(e @ OrderError::Storage(_)) => return Err(e),
                    // Any other refusal (a price gone, a product withdrawn) is this
                    // order's alone: it keeps waiting, and the others are paid.
                    Err(e) => tracing::warn!(order = o.id, error = %e, "an order waiting for funds cannot be paid"),
                }
            }
            if !full {
                break;
            }
        }
        if paid > 0 {
            self.wake_workers();
        }
        Ok(paid)
    }

    /// Pays one order waiting for funds, if the account can; returns whether it did.
    async fn pay_one(&self, o: &Order, author: &str) -> Result<bool> {
        let needs_dcv = !self.names_needing_dcv(o.organisation_id, &order_names(o)).await?.is_empty();
        let next = if needs_dcv { Status::WaitingDcv } else { Status::Processing };
        let product = self.product(&o.product_code).await?;
        let mut tx = self.db().begin().await?;
        match self.pay_held(&mut tx, o, &product, (Status::WaitingFunds, next), None, author).await {
            Ok(()) => {}
            // Not enough yet, or cancelled meanwhile: rolled back.
            // Too late for a renewal: the sweep cancels it.
            Err(
                OrderError::InsufficientTokens { .. }
                | OrderError::InsufficientDeposit { .. }
                | OrderError::WrongState { .. }
                | OrderError::OutsideRenewalWindow(_),
            ) => return Ok(false),
            Err(e) => return Err(e),
        }
        let reference = o.public_reference();
        let actor = crate::sweep::system_actor(o.account_id, author);
        audit::record(&mut tx, &actor, "order.pay", &format!("{reference} {next}"), self.now()).await?;
        commit(tx).await?;
        Ok(true)
    }
}
