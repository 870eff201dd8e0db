//! The domain inventory of an account (seed 6.9; docs/domains.md): the
//! domains of its organisations, each pending until certgate sees its DCV
//! token in DNS, then validated for `domain_validation_days`, which spares
//! the orders below it their own DCV. Adding a domain never validates it by
//! itself: only the operator, who answers for it, may record one validated.

use storage::domains::{self, DomainRow, NewDomain};
use storage::{audit, commit};

use crate::dcv::{new_token, txt_name};
use crate::names::{covered_by, order_names};
use crate::states::states;
use crate::{CaaVerdict, Caller, OrderError, Orders, Prevalidation, Result, Right, Source, Status};

states! {
    /// Where a domain of the inventory stands.
    DomainState {
        /// Added; waits for its DCV token to be seen in DNS.
        Pending = "pending",
        /// Control proven: orders below it need no DCV of their own.
        Validated = "validated",
        /// Its validation ended: orders below it need DCV again until it is
        /// validated anew (`domain.add` gives it a new token).
        Expired = "expired",
    }
}

/// The most recent orders of an account that `domain.list` looks at to find
/// the orders that use each domain, so that a list costs one bounded read.
pub const LINKED_ORDERS_SCANNED: i64 = 10_000;

/// The most linked orders named per domain.
const LINKED_ORDERS_SHOWN: usize = 10;

/// The most domains a page of `domain.list` holds.
pub const DOMAIN_PAGE: i64 = 200;

/// The last CAA check of a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaaCheck {
    /// When it ran (UTC Unix seconds).
    pub checked_at: i64,
    /// The product whose CA it was for.
    pub product: String,
    /// Its verdict word (`allowed`, `forbidden`, `lookup_failed`, `not_checked`).
    pub verdict: String,
    /// What it found when it refused.
    pub detail: Option<String>,
}

/// One domain of the inventory, with what an account wants to know of it.
#[derive(Clone, Debug)]
pub struct Domain {
    /// Its number.
    pub id: i64,
    /// The organisation that holds it.
    pub organisation_id: i64,
    /// `example.test`, or `*.example.test` for the names below it only.
    pub domain: String,
    /// Where it stands.
    pub state: DomainState,
    /// The TXT record to publish and the value it must hold, while pending.
    pub dcv: Option<(String, String)>,
    /// When its control was proven.
    pub validated_at: Option<i64>,
    /// When its validation ends (none: recorded by the operator without end).
    pub expires_at: Option<i64>,
    /// Who added it.
    pub added_by: String,
    /// When it was added.
    pub created_at: i64,
    /// Its organisation's pre-validations (level, state, expiry).
    pub prevalidations: Vec<Prevalidation>,
    /// References of the recent orders with a name it covers, newest first.
    pub orders: Vec<String>,
    /// How many of the account's recent orders it covers.
    pub orders_count: i64,
    /// Its last CAA check.
    pub caa: Option<CaaCheck>,
}

impl Domain {
    fn from_row(r: DomainRow, now: i64) -> Result<Domain> {
        let state = match DomainState::parse(&r.state) {
            Some(DomainState::Validated) if r.expires_at.is_some_and(|e| e <= now) => DomainState::Expired,
            Some(s) => s,
            None => return Err(OrderError::UnknownState(format!("domain state {:?}", r.state))),
        };
        let caa = match (r.caa_checked_at, r.caa_product, r.caa_verdict) {
            (Some(checked_at), Some(product), Some(verdict)) => {
                Some(CaaCheck { checked_at, product, verdict, detail: r.caa_detail })
            }
            _ => None,
        };
        Ok(Domain {
            dcv: r.dcv_token.filter(|_| state == DomainState::Pending).map(|t| (txt_name(&r.domain), t)),
            id: r.id,
            organisation_id: r.organisation_id,
            domain: r.domain,
            state,
            validated_at: r.validated_at,
            expires_at: r.expires_at,
            added_by: r.added_by,
            created_at: r.created_at,
            prevalidations: Vec::new(),
            orders: Vec::new(),
            orders_count: 0,
            caa,
        })
    }
}

impl Orders {
    /// Adds `domain` to an organisation of the caller's account, pending
    /// until its DCV token is seen (`validate_domain`). The operator may
    /// record it `proven` (validated without end). Adding a domain the
    /// organisation holds returns it as it is, or restarts its DCV with a new
    /// token when its validation ended.
    pub async fn add_domain(
        &self,
        caller: &Caller,
        organisation_id: i64,
        domain: &str,
        proven: bool,
    ) -> Result<Domain> {
        caller.require(Right::Technical)?;
        if proven && caller.source != Source::Cli {
            return Err(OrderError::Forbidden(Right::Administrative));
        }
        let domain = crate::names::normalize(domain)?;
        self.organisation(caller.account_id, organisation_id).await?;
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let id = match domains::find(&mut tx, organisation_id, &domain).await? {
            Some(existing) => {
                let changed = if proven {
                    domains::record_validated(&mut tx, existing.id, now).await?
                } else {
                    domains::restart(&mut tx, existing.id, &new_token(), now).await?
                };
                if !changed {
                    // Nothing changed: no audit line for a repeated call.
                    drop(tx);
                    return self.domain(caller, existing.id).await;
                }
                existing.id
            }
            None => {
                let max = self.settings().max_domains;
                // Counted under the account's lock, so that adds at once stop at the cap.
                storage::accounts::lock(&mut tx, caller.account_id).await?;
                if domains::count(&mut tx, caller.account_id).await? >= max {
                    return Err(OrderError::TooManyDomains(max));
                }
                let token = new_token();
                let new = NewDomain {
                    organisation_id,
                    domain: &domain,
                    state: if proven { "validated" } else { "pending" },
                    dcv_token: (!proven).then_some(token.as_str()),
                    validated_at: proven.then_some(now),
                    expires_at: None,
                    added_by: &caller.login,
                };
                // A concurrent add of the same domain inserted it first: read it.
                match domains::insert(&mut tx, &new, now).await? {
                    Some(id) => id,
                    None => {
                        drop(tx);
                        let existing = self.domain_row(organisation_id, &domain).await?;
                        return self.domain(caller, existing).await;
                    }
                }
            }
        };
        let what = if proven { "domain.add.validated" } else { "domain.add" };
        audit::record(&mut tx, &caller.actor(), what, &format!("{organisation_id} {domain}"), now).await?;
        commit(tx).await?;
        if proven {
            self.release_waiting_dcv_or_log(caller, organisation_id).await;
        }
        self.domain(caller, id).await
    }

    async fn domain_row(&self, organisation_id: i64, domain: &str) -> Result<i64> {
        let found = domains::find(&mut *self.db().acquire().await?, organisation_id, domain).await?;
        found.map(|d| d.id).ok_or_else(|| OrderError::Invalid(format!("{domain} was removed while it was added")))
    }

    /// Has certgate's VA look for a pending domain's token in its TXT
    /// record; when it is there, the domain is validated for
    /// `domain_validation_days` and the organisation's orders waiting for
    /// DCV whose names it now covers go on to issuance.
    pub async fn validate_domain(&self, caller: &Caller, id: i64) -> Result<Domain> {
        caller.require(Right::Technical)?;
        let d = self.domain(caller, id).await?;
        let Some((record, token)) = d.dcv.clone() else {
            return match d.state {
                DomainState::Validated => Ok(d),
                _ => Err(OrderError::Invalid(format!(
                    "domain {} is {}: add it again for a new DCV token",
                    d.domain, d.state
                ))),
            };
        };
        self.va().dns_txt(&record, &token).await.map_err(|e| OrderError::DcvNotProven(format!("{}: {e}", d.domain)))?;
        let now = self.now();
        let expires_at = now + self.settings().domain_validation_days * 86_400;
        let mut tx = self.db().begin().await?;
        if domains::validate(&mut tx, id, &token, expires_at, now).await? {
            audit::record(&mut tx, &caller.actor(), "domain.validate", &d.domain, now).await?;
            commit(tx).await?;
            self.release_waiting_dcv_or_log(caller, d.organisation_id).await;
        }
        self.domain(caller, id).await
    }

    /// Removes a domain from the inventory: orders below it need DCV again.
    pub async fn remove_domain(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(Right::Technical)?;
        let d = self.domain(caller, id).await?;
        let mut tx = self.db().begin().await?;
        if domains::remove(&mut tx, id).await? {
            let detail = format!("{} {}", d.organisation_id, d.domain);
            audit::record(&mut tx, &caller.actor(), "domain.remove", &detail, self.now()).await?;
            commit(tx).await?;
        }
        Ok(())
    }

    /// One domain of the caller's account.
    pub async fn domain(&self, caller: &Caller, id: i64) -> Result<Domain> {
        caller.require(Right::Technical).or_else(|_| caller.require(Right::Commercial))?;
        let row = domains::get(&mut *self.db().acquire().await?, caller.account_id, id).await?;
        let row = row.ok_or(OrderError::UnknownDomain(id))?;
        let mut list = self.described(caller, vec![row]).await?;
        list.pop().ok_or(OrderError::UnknownDomain(id))
    }

    /// A page of the account's domains (by organisation, then name) and
    /// how many it holds in all.
    pub async fn domains(&self, caller: &Caller, page: i64) -> Result<(Vec<Domain>, i64)> {
        caller.require(Right::Technical).or_else(|_| caller.require(Right::Commercial))?;
        let mut c = self.db().acquire().await?;
        let offset = page.max(0).saturating_mul(DOMAIN_PAGE);
        let rows = domains::list(&mut c, caller.account_id, DOMAIN_PAGE, offset).await?;
        let total = domains::count(&mut c, caller.account_id).await?;
        drop(c);
        Ok((self.described(caller, rows).await?, total))
    }

    /// Domains with their organisation's pre-validations and the recent
    /// orders that use them.
    async fn described(&self, caller: &Caller, rows: Vec<DomainRow>) -> Result<Vec<Domain>> {
        let now = self.now();
        let mut c = self.db().acquire().await?;
        let prevalidations = storage::prevalidations::list_for_account(&mut c, caller.account_id).await?;
        let prevalidations: Vec<Prevalidation> =
            prevalidations.into_iter().map(Prevalidation::try_from).collect::<Result<_>>()?;
        let recent = domains::recent_order_names(&mut c, caller.account_id, LINKED_ORDERS_SCANNED).await?;
        drop(c);
        rows.into_iter()
            .map(|r| {
                let mut d = Domain::from_row(r, now)?;
                d.prevalidations =
                    prevalidations.iter().filter(|p| p.organisation_id == d.organisation_id).cloned().collect();
                for o in recent.iter().filter(|o| o.organisation_id == d.organisation_id) {
                    let mut names = std::iter::once(o.cn.as_str()).chain(o.sans.lines());
                    if names.any(|n| covered_by(n, &d.domain)) {
                        d.orders_count += 1;
                        if d.orders.len() < LINKED_ORDERS_SHOWN {
                            d.orders.extend(o.reference.clone());
                        }
                    }
                }
                Ok(d)
            })
            .collect()
    }

    /// As [`Orders::release_waiting_dcv`], after the domain's change is
    /// committed: a failure there is no failure of the change, and an order
    /// left waiting goes on at its own DCV check (`dcv.check`).
    async fn release_waiting_dcv_or_log(&self, caller: &Caller, organisation_id: i64) {
        if let Err(e) = self.release_waiting_dcv(caller, organisation_id).await {
            tracing::warn!(organisation_id, error = %e, "orders waiting for DCV are left to their own check");
        }
    }

    /// Sends on to issuance the organisation's orders waiting for DCV
    /// whose names its validated domains now all cover.
    async fn release_waiting_dcv(&self, caller: &Caller, organisation_id: i64) -> Result<()> {
        let filter = storage::orders::OrderFilter {
            account_id: caller.account_id,
            status: Status::WaitingDcv.as_str().into(),
            limit: 1000,
            ..Default::default()
        };
        let mut c = self.db().acquire().await?;
        let waiting = storage::orders::list(&mut c, &filter).await?;
        // Read once for every waiting order, not once per order.
        let covering = domains::covering(&mut c, organisation_id, self.now()).await?;
        drop(c);
        for row in waiting.into_iter().filter(|o| o.organisation_id == organisation_id) {
            let o = crate::Order::try_from(row)?;
            let Some(reference) = o.reference.clone() else { continue };
            if crate::prevalidations::uncovered(&order_names(&o), &covering).is_empty() {
                match self.dcv_proven(caller, &reference).await {
                    // Another caller moved it on first.
                    Ok(_) | Err(OrderError::WrongState { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Records the verdicts of a CAA check on the account's inventory
    /// entries of the names checked, where it has any.
    pub(crate) async fn record_caa(
        &self,
        caller: &Caller,
        product: &str,
        verdicts: &[(String, CaaVerdict)],
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        for (name, verdict) in verdicts {
            let detail = verdict.detail();
            domains::record_caa(&mut tx, caller.account_id, name, product, verdict.as_str(), detail, self.now())
                .await?;
        }
        commit(tx).await?;
        Ok(())
    }
}
