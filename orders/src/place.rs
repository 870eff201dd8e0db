//! Placing an order: validate everything first, then in one transaction
//! record the order, pay for it and queue its issuance.

use storage::signed_orders::{self, SignedOrder};
use storage::{accounts, audit, certificates, commit, jobs, orders, products};
use upstream::{BoxFuture, Checkpoint, Issued, Upstream, UpstreamError};

use crate::csr::Csr;
use crate::delivery;
use crate::payment::{self, Quote};
use crate::{Caller, Order, OrderError, Orders, Product, Result, Right, Source, Status, names};

/// A request to order a certificate, as every front builds it.
#[derive(Clone, Debug, Default)]
pub struct PlaceOrder {
    /// The organisation of the caller's account the certificate is issued to.
    pub organisation_id: i64,
    /// The code of the product to order.
    pub product_code: String,
    /// The CSR as PEM (either armour), DER or bare base64.
    pub csr: Vec<u8>,
    /// The names to certify, common name first. Empty: the CSR's names.
    pub names: Vec<String>,
    /// The customer's own reference.
    pub client_ref: Option<String>,
    /// Makes a retried request return the first order instead of a second one.
    pub idempotency_key: Option<String>,
    /// True when the front has already validated control of every name (ACME challenges).
    pub dcv_done: bool,
    /// The order whose certificate this one replaces (ACME `replaces`). Inside
    /// that certificate's renewal window (seed 5.2) the new order is a
    /// renewal, paid with renewal tokens where the product has them.
    pub renews: Option<i64>,
    /// When the account cannot pay now, hold the order unpaid in
    /// `waiting_funds` until it is credited, instead of refusing it.
    pub wait_for_funds: bool,
    /// What the caller was shown before confirming ([`Orders::quote_order`]):
    /// the order is refused if it would now cost or be paid otherwise.
    pub quoted: Option<Quoted>,
}

/// A quote's total, payment and items, as a customer confirmed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quoted {
    /// The total in minor units of the account's currency.
    pub total: i64,
    /// `tokens`, `deposit` or `invoice`.
    pub payment: String,
    /// The items and counts, as `item:count,...`: which tokens a token
    /// payment spends (a renewal token or the product's own), which the
    /// total alone does not tell.
    pub items: String,
}

impl Quoted {
    /// The figures of quote `q`.
    pub(crate) fn of(q: &Quote) -> Quoted {
        let items = q.lines.iter().map(|l| (l.item.as_str(), l.count));
        Quoted { total: q.total(), payment: q.payment.as_str().to_string(), items: items_of(items) }
    }
}

/// Items and counts as `item:count,...`, in the quote's order.
fn items_of<'a>(lines: impl Iterator<Item = (&'a str, i64)>) -> String {
    lines.map(|(item, count)| format!("{item}:{count}")).collect::<Vec<_>>().join(",")
}

/// The outcome of [`Orders::place`].
#[derive(Clone, Debug)]
pub struct Placed {
    /// The order placed, or the earlier one when replayed.
    pub order: Order,
    /// True when an earlier order with the same idempotency key was returned.
    pub replayed: bool,
    /// The certificate, when [`Orders::place_and_issue`] issued it in the
    /// order's own transaction.
    pub certificate_id: Option<i64>,
}

/// What to do with an order the account cannot pay now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Funds {
    /// Refuse it (faults 30 and 31).
    Required,
    /// Hold it unpaid in `waiting_funds`.
    MayWait,
    /// Recorded as waiting, unpaid (the account could not pay it).
    Held,
}

/// How a validated order is to be recorded.
#[derive(Clone, Copy)]
pub(crate) struct Spec<'a> {
    pub kind: &'a str,
    pub renewal_of: Option<i64>,
    /// Priced as a renewal: placed 60 to 90 days before the renewed
    /// certificate expires (seed 5.7).
    pub renewal_priced: bool,
    pub funds: Funds,
    /// For an order held for funds: why the account could not pay it.
    pub unpaid_because: Option<&'a str>,
    /// Recorded unpaid in `waiting_csr`: an automatic renewal whose product
    /// does not allow the key to be reused.
    pub awaits_csr: bool,
    pub client_ref: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    /// The key is the request's content: it holds for
    /// `Settings::retry_window_secs` only, then the same request orders again.
    pub retry_window: bool,
    pub needs_dcv: bool,
    /// Sign in the order's transaction when the upstream can (see [`Orders::place_and_issue`]).
    pub issue_now: bool,
    /// The ACME order that finalize places this order for: it is linked to
    /// the order in the same transaction, so the two cannot disagree.
    pub acme_order: Option<i64>,
    /// The price and payment the caller confirmed, if it saw one.
    pub quoted: Option<&'a Quoted>,
}

/// What [`Orders::check_order`] found an order's names to be.
#[derive(Clone, Debug)]
pub struct CheckedNames {
    /// The names, normalized, without duplicates, in the order asked.
    pub names: Vec<String>,
    /// Those of them that no pre-validated domain covers: they need validation.
    pub needing_dcv: Vec<String>,
}

/// What an order would cost and do if placed now ([`Orders::quote_order`]).
#[derive(Clone, Debug)]
pub struct OrderQuote {
    /// The names, common name first, normalized.
    pub names: Vec<String>,
    /// Those that no pre-validated domain covers: the order would wait for DCV.
    pub needing_dcv: Vec<String>,
    /// The organisation's name.
    pub organisation: String,
    /// The priced lines: item, count, and unit price in minor units (none for tokens).
    pub lines: Vec<(String, i64, Option<i64>)>,
    /// The total in minor units of `currency`.
    pub total: i64,
    /// The account's currency.
    pub currency: String,
    /// `tokens`, `deposit` or `invoice`.
    pub payment: String,
    /// True when the order would wait for an approver, who pays when approving.
    pub needs_approval: bool,
    /// True when it must come with a new CSR: a renewal of a product that
    /// does not allow a key to be reused.
    pub new_key_required: bool,
}

impl OrderQuote {
    /// The figures to confirm the order at ([`PlaceOrder::quoted`]).
    pub fn quoted(&self) -> Quoted {
        let items = items_of(self.lines.iter().map(|(item, count, _)| (item.as_str(), *count)));
        Quoted { total: self.total, payment: self.payment.clone(), items }
    }
}

/// What validation of a request yields: the checked CSR and names.
pub(crate) struct Checked {
    pub csr: Csr,
    pub names: Vec<String>,
    pub plain_sans: i64,
    pub wildcard_sans: i64,
}

impl Orders {
    /// Validates, prices and pays for an order, and queues its issuance, all
    /// or nothing. With approval mode on and a caller without the approval
    /// right, the order waits for an approver and nothing is charged yet.
    pub async fn place(&self, caller: &Caller, req: &PlaceOrder) -> Result<Placed> {
        self.place_with(caller, req, false, None).await
    }

    /// As [`Orders::place`]; and when the product's upstream signs at once
    /// (the embedded CA), the certificate is issued and the order delivered in
    /// the same transaction that pays for it, with no job to wait for. The
    /// ACME front's finalize uses it (through `finalize_acme_order`), which
    /// may then answer with a valid order.
    pub async fn place_and_issue(&self, caller: &Caller, req: &PlaceOrder) -> Result<Placed> {
        self.place_with(caller, req, true, None).await
    }

    pub(crate) async fn place_with(
        &self,
        caller: &Caller,
        req: &PlaceOrder,
        issue_now: bool,
        acme_order: Option<i64>,
    ) -> Result<Placed> {
        caller.require(Right::Technical)?;
        let ctx = self.order_context(caller.account_id, req.organisation_id, &req.product_code).await?;
        let (product, org_id) = (&ctx.product, req.organisation_id);
        let checked = check_request(&req.csr, &req.names, product)?;
        ctx.check_prevalidation()?;
        self.check_caa(&product.upstream, &checked.names).await?;
        let needs_dcv = !req.dcv_done && !ctx.needing_dcv(&checked.names).is_empty();

        let renewed = match req.renews {
            Some(id) => self.renewable(caller, id).await?,
            None => None,
        };
        let renewal_of = renewed.map(|r| r.order_id);
        // Without a key of the front's own, the request's content is the key:
        // a client retrying after a lost answer gets its first order back.
        let content_key = req.idempotency_key.is_none().then(|| retry_key(req, &checked, renewal_of));
        let spec = Spec {
            kind: if renewal_of.is_some() { "renewal" } else { "new" },
            renewal_of,
            renewal_priced: renewed.is_some_and(|r| r.priced_as_renewal),
            funds: if req.wait_for_funds { Funds::MayWait } else { Funds::Required },
            unpaid_because: None,
            awaits_csr: false,
            client_ref: req.client_ref.as_deref(),
            idempotency_key: req.idempotency_key.as_deref().or(content_key.as_deref()),
            retry_window: content_key.is_some(),
            needs_dcv,
            issue_now,
            acme_order,
            quoted: req.quoted.as_ref(),
        };
        self.record(caller, org_id, &ctx, &checked, &spec).await
    }

    /// The product, organisation and account of an order, whether the
    /// organisation holds the product's pre-validation, and the product's
    /// price: one query when they exist, and the precise refusal when one does
    /// not.
    pub(crate) async fn order_context(
        &self,
        account_id: i64,
        organisation_id: i64,
        product_code: &str,
    ) -> Result<OrderContext> {
        let mut c = self.db().acquire().await?;
        match products::orderable(&mut c, product_code, account_id, organisation_id, self.now()).await? {
            Some(o) => Ok(OrderContext {
                product: Product::from(o.product),
                organisation: o.organisation_name,
                prevalidated: o.prevalidated,
                account: o.account,
                price: o.price,
                domains: o.prevalidated_domains,
                balances: payment::Known { product_tokens: o.product_tokens, deposit: o.deposit },
            }),
            None => {
                drop(c);
                if accounts::get(&mut *self.db().acquire().await?, account_id).await?.is_none() {
                    return Err(OrderError::UnknownAccount(account_id));
                }
                self.product(product_code).await?;
                self.organisation(account_id, organisation_id).await?;
                // Both exist after all: they were created in between.
                Err(OrderError::UnknownOrganisation(organisation_id))
            }
        }
    }

    /// Records, pays and queues a validated order in one transaction. An
    /// order that may wait for funds and that the account cannot pay is
    /// recorded again, unpaid, in `waiting_funds`.
    pub(crate) async fn record(
        &self,
        caller: &Caller,
        organisation_id: i64,
        ctx: &OrderContext,
        checked: &Checked,
        spec: &Spec<'_>,
    ) -> Result<Placed> {
        match self.record_once(caller, organisation_id, ctx, checked, spec).await {
            Err(e @ (OrderError::InsufficientTokens { .. } | OrderError::InsufficientDeposit { .. }))
                if spec.funds == Funds::MayWait =>
            {
                let why = e.to_string();
                let held = Spec { funds: Funds::Held, unpaid_because: Some(&why), ..*spec };
                self.record_once(caller, organisation_id, ctx, checked, &held).await
            }
            other => other,
        }
    }

    async fn record_once(
        &self,
        caller: &Caller,
        organisation_id: i64,
        ctx: &OrderContext,
        checked: &Checked,
        spec: &Spec<'_>,
    ) -> Result<Placed> {
        let (product, account) = (&ctx.product, &ctx.account);
        let pending = account.approval_mode && !caller.rights.has(Right::Approval);
        let status = match (pending, spec.funds, spec.needs_dcv) {
            // Nothing to approve or pay before the new CSR comes.
            _ if spec.awaits_csr => Status::WaitingCsr,
            (true, _, _) => Status::PendingApproval,
            (false, Funds::Held, _) => Status::WaitingFunds,
            (false, _, true) => Status::WaitingDcv,
            (false, _, false) => Status::Processing,
        };
        // The upstream that signs this order now, if it is to be and can be.
        let signer = if spec.issue_now && status == Status::Processing {
            Some(self.upstream(&product.upstream)?).filter(|u| u.issues_at_once())
        } else {
            None
        };
        // Signed before it is recorded, an order is inserted delivered: an
        // update to deliver it afterwards cost more than the insert (no HOT
        // update, and PostgreSQL re-checks the foreign keys of a row its own
        // transaction inserted). Its reference needs its id drawn first,
        // with the transaction's start, so before the price is checked: a
        // refused quote then leaves a gap in PostgreSQL's order ids, as a
        // refused debit always did. The upstream is looked up before that too.
        let (mut tx, signing) = match signer {
            Some(upstream) => {
                let (tx, id) = orders::begin_with_next_id(self.db()).await?;
                (tx, Some((upstream, id)))
            }
            None => (self.db().begin().await?, None),
        };
        if matches!(status, Status::WaitingFunds | Status::WaitingCsr) {
            self.check_waiting_room(&mut tx, account.id).await?;
        }
        let at_once = signing.is_some();
        if let (true, Some(key)) = (spec.retry_window, spec.idempotency_key) {
            let expired = self.now() - self.settings().retry_window_secs;
            orders::forget_idempotency_key(&mut tx, account.id, key, expired).await?;
        }
        // The account and the product's price were read with the order's
        // context, just before this transaction: a price or setting an
        // operator changes meanwhile applies from the next order on (as if
        // changed a moment later). The balance is checked by the conditional
        // debit, inside this transaction.
        let renewal = spec.renewal_priced;
        let priced = Some((product.code.as_str(), ctx.price));
        let (plain, wildcard) = (checked.plain_sans, checked.wildcard_sans);
        let acme = caller.source == Source::Acme;
        let q = match payment::quote(&mut tx, account, product, plain, wildcard, renewal, priced, acme).await {
            Ok(q) => q,
            // A retry still gets its order if the price changed since (a
            // database error leaves nothing to read in this transaction).
            Err(e) if !matches!(e, OrderError::Storage(_)) => return replayed(&mut tx, caller, spec).await?.ok_or(e),
            Err(e) => return Err(e),
        };
        // Checked against the quote this transaction charges, so a price
        // changed or a token spent after the review is never charged unseen.
        if let Err(e) = check_quoted(spec.quoted, &q, &account.currency) {
            return replayed(&mut tx, caller, spec).await?.ok_or(e);
        }
        let reference_prefix = if caller.source == Source::Acme { "DCACME-" } else { "" };
        // Should the transaction not commit (a refused debit, or a racing
        // retry whose order the insert finds), the certificate goes with it:
        // signed in memory only, never stored or sent, so never usable.
        // It comes with the order id it was signed for.
        let issued = match signing {
            Some((upstream, id)) => {
                let reference = format!("{reference_prefix}{id}");
                sign_at_once(upstream.as_ref(), reference, checked, product).await.map(|issued| (id, issued))
            }
            None => None,
        };
        let sans = checked.names[1..].join("\n");
        let csr_pem = checked.csr.pem();
        let new = orders::NewOrder {
            account_id: account.id,
            organisation_id,
            product_code: &product.code,
            kind: spec.kind,
            renewal_of: spec.renewal_of,
            cn: &checked.names[0],
            sans: &sans,
            csr_pem: &csr_pem,
            source: caller.source.as_str(),
            client_ref: spec.client_ref,
            idempotency_key: spec.idempotency_key,
            created_by: &caller.login,
            payment: q.payment.as_str(),
            price: q.total(),
            currency: &account.currency,
            status: if issued.is_some() { Status::Delivered.as_str() } else { status.as_str() },
            upstream: &product.upstream,
            reference_prefix,
            id: signing.map(|(_, id)| id),
            upstream_ref: issued.as_ref().map(|(_, i)| i.serial.as_str()),
        };
        let placed = |id: i64| {
            let (kind, code, cn, payment) = (spec.kind, &product.code, &checked.names[0], q.payment.as_str());
            format!("{id} {kind} {code} {cn} [{payment}] {}", status.as_str())
        };
        let actor = caller.actor();
        // Signed at once, the order is inserted with its certificate and both
        // of its audit entries.
        let inserted = match issued.as_ref() {
            Some(&(id, ref issued)) => {
                let (placed, delivered) = (placed(id), delivery::delivered_detail(id, &issued.serial));
                let earlier = [("order.place", placed.as_str())];
                let audit = delivery::Audit { actor: &actor, earlier: &earlier }.with_delivery(&delivered);
                let certificate = delivery::new_certificate(id, new.cn, issued);
                let signed = SignedOrder { order: &new, certificate: &certificate, actor: &actor, audit: &audit };
                signed_orders::insert(&mut tx, &signed, self.now()).await.map(|o| o.map(|(order, c)| (order, Some(c))))
            }
            None => orders::insert(&mut tx, &new, self.now()).await.map(|o| o.map(|order| (order, None))),
        };
        let inserted = match (inserted, spec.renewal_of) {
            // Another live renewal of the same order holds the unique index.
            (Err(e), Some(renewed)) if e.is_unique_violation() => {
                return Err(OrderError::AlreadyRenewed(renewed.to_string()));
            }
            (other, _) => other?,
        };
        let Some((order, certificate_id)) = inserted else {
            // The key was used: a retried request gets the first order.
            return replayed(&mut tx, caller, spec).await?.ok_or(storage::Error::RowNotFound.into());
        };
        let mut order = Order::try_from(order)?;
        let id = order.id;
        if certificate_id.is_none() {
            if at_once {
                // The upstream refused: the order is queued like any other.
                jobs::enqueue(&mut tx, crate::JobKind::Issue.as_str(), id, None, self.now()).await?;
            } else if !pending && !matches!(status, Status::WaitingFunds | Status::WaitingCsr) {
                self.pay_and_queue(&mut tx, account, id, &q, status, &caller.login).await?;
            }
            audit::record(&mut tx, &actor, "order.place", &placed(id), self.now()).await?;
        }
        if status == Status::WaitingDcv {
            // The DCV token changed the row since it was inserted.
            order = crate::order::get(&mut tx, id).await?.ok_or_else(|| OrderError::UnknownOrder(id.to_string()))?;
        }
        if account.notified {
            self.placed_events(&mut tx, caller, &order, spec, issued.as_ref().map(|(_, i)| i)).await?;
        }
        let placed = Placed { order, replayed: false, certificate_id };
        if let Some(acme_order) = spec.acme_order {
            let status = crate::acme::finalized_status(&placed).as_str();
            if !storage::acme_orders::link_finalized(&mut tx, acme_order, status, id, self.now()).await? {
                // Rolled back: nothing placed, nothing charged.
                return Err(OrderError::WrongState {
                    reference: format!("ACME order {acme_order}"),
                    status: "no longer ready".into(),
                    expected: "ready".into(),
                });
            }
        }
        if at_once {
            // Paid last, whether signed or queued: the conditional debit locks
            // the account's balance row until the commit (on PostgreSQL), so
            // the account's other orders wait for the debit and the commit
            // only, not for the signing and the writes before them.
            payment::charge(&mut tx, account, id, &q, &caller.login, self.now()).await?;
        }
        commit(tx).await?;
        if certificate_id.is_none() {
            // A job may have been queued; an order signed at once left none.
            self.wake_workers();
        }
        Ok(placed)
    }

    /// Checks, without writing anything, that an order of `product_code` for
    /// `names` could be placed now: names, wildcard and SAN limits, the
    /// pre-validation, and funds (tokens held, or the deposit in credit).
    /// Returns the names normalized, and those of them that no pre-validated
    /// domain covers. The ACME front calls it at new-order; the charge itself
    /// happens at finalize, through [`Orders::place`]. `renews` is as in
    /// [`PlaceOrder::renews`].
    pub async fn check_order(
        &self,
        caller: &Caller,
        organisation_id: i64,
        product_code: &str,
        names: &[String],
        renews: Option<i64>,
    ) -> Result<CheckedNames> {
        caller.require(Right::Technical)?;
        let ctx = self.order_context(caller.account_id, organisation_id, product_code).await?;
        let product = &ctx.product;
        let mut wanted: Vec<String> = Vec::new();
        for n in names {
            let n = names::normalize(n)?;
            if !wanted.contains(&n) {
                wanted.push(n);
            }
        }
        if wanted.is_empty() {
            return Err(OrderError::Invalid("an order needs at least one name".into()));
        }
        let (plain, wildcard) = limits(&wanted, product)?;
        ctx.check_prevalidation()?;
        self.check_caa(&product.upstream, &wanted).await?;
        let account = &ctx.account;
        let renewal = match renews {
            Some(id) => self.renewable(caller, id).await?.is_some_and(|r| r.priced_as_renewal),
            None => false,
        };
        let mut c = self.db().acquire().await?;
        let priced = Some((product.code.as_str(), ctx.price));
        let acme = caller.source == Source::Acme;
        let q = payment::quote(&mut c, account, product, plain, wildcard, renewal, priced, acme).await?;
        payment::check_funds(&mut c, account, &q, &product.code, &ctx.balances).await?;
        let needing_dcv = ctx.needing_dcv(&wanted);
        Ok(CheckedNames { names: wanted, needing_dcv })
    }

    /// What the caller may order: the products and its account's
    /// organisations, for an order form; the technical right, as ordering.
    pub async fn orderable(&self, caller: &Caller) -> Result<(Vec<Product>, Vec<crate::Organisation>)> {
        caller.require(Right::Technical)?;
        Ok((self.products().await?, self.organisations(caller).await?))
    }

    /// What placing `req` now would cost and do, without writing anything:
    /// the names, those needing DCV, the priced lines, the payment, and
    /// whether it would wait for an approver. Refuses as [`Orders::place`]
    /// would, a lack of funds included (unless it would wait for an approver,
    /// who pays when approving).
    pub async fn quote_order(&self, caller: &Caller, req: &PlaceOrder) -> Result<OrderQuote> {
        caller.require(Right::Technical)?;
        let ctx = self.order_context(caller.account_id, req.organisation_id, &req.product_code).await?;
        let product = &ctx.product;
        let checked = check_request(&req.csr, &req.names, product)?;
        ctx.check_prevalidation()?;
        self.check_caa(&product.upstream, &checked.names).await?;
        let renewal = match req.renews {
            Some(id) => self.renewable(caller, id).await?.is_some_and(|r| r.priced_as_renewal),
            None => false,
        };
        self.quote_names(caller, &ctx, checked.names, (checked.plain_sans, checked.wildcard_sans), renewal).await
    }

    /// The quote of `names` (with `sans` plain and wildcard additional
    /// names) of the context's product, priced as a renewal or not.
    pub(crate) async fn quote_names(
        &self,
        caller: &Caller,
        ctx: &OrderContext,
        names: Vec<String>,
        (plain, wildcard): (i64, i64),
        renewal: bool,
    ) -> Result<OrderQuote> {
        let (account, product) = (&ctx.account, &ctx.product);
        let needs_approval = account.approval_mode && !caller.rights.has(Right::Approval);
        let mut c = self.db().acquire().await?;
        let priced = Some((product.code.as_str(), ctx.price));
        let acme = caller.source == Source::Acme;
        let q = payment::quote(&mut c, account, product, plain, wildcard, renewal, priced, acme).await?;
        if !needs_approval {
            payment::check_funds(&mut c, account, &q, &product.code, &ctx.balances).await?;
        }
        Ok(OrderQuote {
            needing_dcv: ctx.needing_dcv(&names),
            names,
            organisation: ctx.organisation.clone(),
            lines: q.lines.iter().map(|l| (l.item.clone(), l.count, l.unit_price)).collect(),
            total: q.total(),
            currency: account.currency.clone(),
            payment: q.payment.as_str().to_string(),
            needs_approval,
            new_key_required: false,
        })
    }

    /// Tells the account what became of an order it placed: delivered at
    /// once, waiting for an approver or for funds, or placed as an
    /// automatic renewal (waiting for DCV is told where it starts).
    async fn placed_events(
        &self,
        tx: &mut storage::Conn,
        caller: &Caller,
        order: &Order,
        spec: &Spec<'_>,
        issued: Option<&Issued>,
    ) -> Result<()> {
        use crate::EventKind;
        let now = self.now();
        let told = match (issued, order.status) {
            (Some(issued), _) => return delivery::delivered_event(tx, order, issued, now).await,
            (None, Status::PendingApproval) => {
                Some((EventKind::WaitingApproval, serde_json::json!({"created_by": order.created_by})))
            }
            (None, Status::WaitingFunds) => {
                Some((EventKind::WaitingFunds, serde_json::json!({"reason": spec.unpaid_because.unwrap_or_default()})))
            }
            _ => None,
        };
        if let Some((kind, data)) = told {
            crate::events::emit(tx, kind, order.account_id, Some(order), data, None, now).await?;
        }
        if caller.login == crate::AUTOMATIC_RENEWAL
            && let Some(renewed) = order.renewal_of
        {
            let data = serde_json::json!({
                "renews": renewed.to_string(),
                "price": crate::format_money(order.price),
                "currency": order.currency,
                "payment": order.payment,
            });
            // Not placed and paid yet: it asks for the new CSR instead.
            let kind = if order.status == Status::WaitingCsr {
                EventKind::RenewalWaitingCsr
            } else {
                EventKind::RenewalPlaced
            };
            crate::events::emit(tx, kind, order.account_id, Some(order), data, None, now).await?;
        }
        Ok(())
    }

    /// Refuses, in the transaction that would add one, a new order waiting
    /// for funds or a CSR past `orders.max_waiting_orders` of the account:
    /// each costs every credit and sweep a try. The account's row is locked
    /// first, so that parallel requests cannot all pass the count.
    pub(crate) async fn check_waiting_room(&self, tx: &mut storage::Conn, account_id: i64) -> Result<()> {
        storage::accounts::lock(tx, account_id).await?;
        let max = self.settings().max_waiting_orders;
        if orders::count_waiting(tx, account_id).await? >= max {
            return Err(OrderError::TooManyWaiting(max));
        }
        Ok(())
    }

    /// Charges an order and, when it is ready for issuance, queues the job.
    pub(crate) async fn pay_and_queue(
        &self,
        tx: &mut storage::Conn,
        account: &storage::accounts::AccountRow,
        order_id: i64,
        q: &Quote,
        status: Status,
        author: &str,
    ) -> Result<()> {
        payment::charge(tx, account, order_id, q, author, self.now()).await?;
        match status {
            Status::Processing => {
                jobs::enqueue(tx, crate::JobKind::Issue.as_str(), order_id, None, self.now()).await?;
            }
            Status::WaitingDcv => self.start_dcv(tx, order_id).await?,
            _ => {}
        }
        Ok(())
    }
}

/// Asks `upstream`, which signs at once, for the certificate of the order
/// to be recorded as `reference`. `None` when it refused: the order is then
/// queued like any other, so the worker's retries and final refund apply,
/// and the caller sees it processing.
async fn sign_at_once(
    upstream: &dyn Upstream,
    reference: String,
    checked: &Checked,
    product: &Product,
) -> Option<Issued> {
    let req = delivery::request_for(reference, checked.names.clone(), checked.csr.clone(), product.validity_days);
    let started = std::time::Instant::now();
    let result = upstream.issue(&req, None, &NoCheckpoint).await;
    delivery::observe_upstream(upstream.name(), "issue", started, result.as_ref().err());
    result
        .map_err(|e| {
            tracing::warn!(order = %req.order_reference, error = %e, "signing at once failed: the order is queued instead");
        })
        .ok()
}

/// Refuses quote `q` when the caller confirmed other figures.
pub(crate) fn check_quoted(seen: Option<&Quoted>, q: &Quote, currency: &str) -> Result<()> {
    let now = Quoted::of(q);
    match seen {
        Some(seen) if *seen != now => {
            let shown =
                |f: &Quoted| format!("{} {currency} ({}: {})", crate::format_money(f.total), f.payment, f.items);
            Err(OrderError::QuoteChanged { quoted: shown(seen), now: shown(&now) })
        }
        _ => Ok(()),
    }
}

/// The order placed earlier with the request's idempotency key, if any.
async fn replayed(tx: &mut storage::Conn, caller: &Caller, spec: &Spec<'_>) -> Result<Option<Placed>> {
    let Some(key) = spec.idempotency_key else {
        return Ok(None);
    };
    let Some(order) = crate::order::by_idempotency_key(tx, caller.account_id, key).await? else {
        return Ok(None);
    };
    let certificate_id = certificates::for_order(tx, order.id).await?.first().map(|c| c.id);
    Ok(Some(Placed { order, replayed: true, certificate_id }))
}

/// The key of a request without one of its own: a digest of what it asks
/// for (organisation, product, names, CSR, the client's reference and the
/// order it renews), so that only an identical request matches.
fn retry_key(req: &PlaceOrder, checked: &Checked, renewal_of: Option<i64>) -> String {
    use aws_lc_rs::digest::{Context, SHA256};
    let mut d = Context::new(&SHA256);
    let field = |d: &mut Context, bytes: &[u8]| {
        d.update(&(bytes.len() as u64).to_be_bytes());
        d.update(bytes);
    };
    field(&mut d, &req.organisation_id.to_be_bytes());
    field(&mut d, req.product_code.as_bytes());
    field(&mut d, checked.names.join("\n").as_bytes());
    field(&mut d, &checked.csr.der);
    field(&mut d, req.client_ref.as_deref().unwrap_or("").as_bytes());
    field(&mut d, &renewal_of.unwrap_or(0).to_be_bytes());
    let hex: String = d.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("request-{hex}")
}

/// What ordering a product for an organisation of the account needs to know.
pub(crate) struct OrderContext {
    pub product: Product,
    organisation: String,
    prevalidated: bool,
    pub account: storage::accounts::AccountRow,
    /// The product code's price for the account, read with the rest.
    price: Option<i64>,
    /// The organisation's pre-validated domains.
    domains: Vec<String>,
    /// The account's balances read with the rest.
    pub balances: payment::Known,
}

impl OrderContext {
    /// The names among `names` that no pre-validated domain of the organisation covers.
    pub fn needing_dcv(&self, names: &[String]) -> Vec<String> {
        crate::prevalidations::uncovered(names, &self.domains)
    }

    /// Refuses when the product needs a pre-validation the organisation lacks.
    pub fn check_prevalidation(&self) -> Result<()> {
        if self.product.needs_prevalidation && !self.prevalidated {
            return Err(OrderError::NoPrevalidation {
                organisation: self.organisation.clone(),
                brand: self.product.brand.clone(),
                validation: self.product.validation.clone(),
            });
        }
        Ok(())
    }
}

/// Checks a CSR against the requested names and the product's limits.
pub(crate) fn check_request(csr: &[u8], requested: &[String], product: &Product) -> Result<Checked> {
    let csr = Csr::parse(csr)?;
    let csr_names = csr.names().iter().map(|n| names::normalize(n)).collect::<Result<Vec<_>>>()?;
    if csr_names.is_empty() {
        return Err(OrderError::BadCsr("it names no domain (no CN and no subjectAltName)".into()));
    }
    let mut wanted: Vec<String> = Vec::new();
    for n in if requested.is_empty() { &csr_names[..] } else { requested } {
        let n = names::normalize(n)?;
        if !wanted.contains(&n) {
            wanted.push(n);
        }
    }
    if let Some(extra) = csr_names.iter().find(|n| !wanted.contains(n)) {
        return Err(OrderError::NamesMismatch(format!("the CSR names {extra}, which the request does not")));
    }
    if !csr_names.contains(&wanted[0]) {
        return Err(OrderError::NamesMismatch(format!("the CSR does not name the common name {}", wanted[0])));
    }
    let (plain_sans, wildcard_sans) = limits(&wanted, product)?;
    Ok(Checked { csr, names: wanted, plain_sans, wildcard_sans })
}

/// Checks the product's wildcard and SAN limits for `names` (common name
/// first); returns the counts of plain and wildcard additional names.
pub(crate) fn limits(names: &[String], product: &Product) -> Result<(i64, i64)> {
    if !product.wildcard && names.iter().any(|n| n.starts_with("*.")) {
        return Err(OrderError::WildcardNotAllowed(product.code.clone()));
    }
    let extra = &names[1..];
    let asked = extra.len() as i64;
    if asked > product.max_sans {
        return Err(OrderError::TooManySans { product: product.code.clone(), max: product.max_sans, asked });
    }
    let wildcard = extra.iter().filter(|n| n.starts_with("*.")).count() as i64;
    Ok((asked - wildcard, wildcard))
}

/// An upstream that signs at once records no handle to resume from.
struct NoCheckpoint;

impl Checkpoint for NoCheckpoint {
    fn record<'a>(&'a self, _upstream_ref: &'a str) -> BoxFuture<'a, std::result::Result<(), UpstreamError>> {
        Box::pin(async { Ok(()) })
    }
}
