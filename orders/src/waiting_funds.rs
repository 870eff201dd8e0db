//! Orders held unpaid (docs/lifecycle.md): an order that waited for an
//! approver or for funds is paid when it may go on, at the price of the day
//! it was placed; orders waiting for funds are paid, oldest first, when the
//! account is credited, and by the periodic sweep after a crash.

use storage::{accounts, audit, commit, orders};

use crate::names::{additional_names, order_names};
use crate::{Order, OrderError, Orders, Product, Result, Source, Status, payment};

impl Orders {
    /// Charges order `o` of `product` (read before `tx` began: a second
    /// connection taken inside it could wait for ever on a pool that racing
    /// calls hold), recorded unpaid in `from`; moves it on to `next` and
    /// queues what comes next, in `tx`. Refuses, leaving what `tx` wrote to
    /// be rolled back, when the account cannot pay.
    pub(crate) async fn pay_held(
        &self,
        tx: &mut storage::Conn,
        o: &Order,
        product: &Product,
        from: Status,
        next: Status,
        author: &str,
    ) -> Result<()> {
        let account = accounts::get(tx, o.account_id).await?.ok_or(OrderError::UnknownAccount(o.account_id))?;
        let (plain, wildcard) = additional_names(&order_names(o));
        let renewal = self.renewal_priced(tx, o).await?;
        let acme = o.source == Source::Acme.as_str();
        let q = payment::quote(tx, &account, product, plain, wildcard, renewal, None, acme).await?;
        self.transition(tx, o, from, next).await?;
        orders::set_payment(tx, o.id, q.payment.as_str(), q.total(), self.now()).await?;
        self.pay_and_queue(tx, &account, o.id, &q, next, author).await
    }

    /// Pays, oldest first, the account's orders waiting for funds that it
    /// can now pay, and queues them; an order it cannot pay yet keeps
    /// waiting without holding back the others. Returns how many were paid.
    pub(crate) async fn pay_waiting(&self, account_id: i64, author: &str) -> Result<usize> {
        let filter = orders::OrderFilter {
            account_id,
            status: Status::WaitingFunds.as_str().into(),
            limit: 1000,
            ..Default::default()
        };
        let mut waiting = orders::list(&mut *self.db().acquire().await?, &filter).await?;
        waiting.reverse();
        let mut paid = 0;
        for row in waiting {
            let o = Order::try_from(row)?;
            let needs_dcv = !self.names_needing_dcv(o.organisation_id, &order_names(&o)).await?.is_empty();
            let next = if needs_dcv { Status::WaitingDcv } else { Status::Processing };
            let product = self.product(&o.product_code).await?;
            let mut tx = self.db().begin().await?;
            match self.pay_held(&mut tx, &o, &product, Status::WaitingFunds, next, author).await {
                Ok(()) => {}
                // Not enough yet, or cancelled meanwhile: rolled back, and on to the next.
                Err(
                    OrderError::InsufficientTokens { .. }
                    | OrderError::InsufficientDeposit { .. }
                    | OrderError::WrongState { .. },
                ) => continue,
                Err(e) => return Err(e),
            }
            let reference = o.reference.clone().unwrap_or_else(|| o.id.to_string());
            let actor = crate::sweep::system_actor(o.account_id, author);
            audit::record(&mut tx, &actor, "order.pay", &format!("{reference} {next}"), self.now()).await?;
            commit(tx).await?;
            paid += 1;
        }
        if paid > 0 {
            self.wake_workers();
        }
        Ok(paid)
    }
}
