//! Pre-validations of organisations (seed 6.7), and which names of an order
//! the organisation's validated domains (docs/domains.md) spare their DCV.

use storage::prevalidations::{self, PrevalidationRow};
use storage::{audit, commit};

use crate::states::states;
use crate::{Caller, OrderError, Orders, Result, Right};

states! {
    /// Where a pre-validation stands.
    PrevalidationState {
        /// Requested, not yet granted by the CA.
        Pending = "pending",
        /// Granted: orders of its organisation and brand need no vetting.
        Active = "active",
        /// Withdrawn.
        Revoked = "revoked",
    }
}

/// A pre-validation of an organisation at a CA brand (seed 6.7).
#[derive(Clone, Debug)]
pub struct Prevalidation {
    /// Its number.
    pub id: i64,
    /// The organisation pre-validated.
    pub organisation_id: i64,
    /// The CA brand it is held at.
    pub brand: String,
    /// The validation level it covers: `DV`, `OV` or `EV`.
    pub validation: String,
    /// Where it stands.
    pub state: PrevalidationState,
    /// When it stops being valid (UTC Unix seconds).
    pub expires_at: i64,
    /// When it was recorded (UTC Unix seconds).
    pub created_at: i64,
}

impl TryFrom<PrevalidationRow> for Prevalidation {
    type Error = OrderError;
    fn try_from(r: PrevalidationRow) -> Result<Prevalidation> {
        Ok(Prevalidation {
            state: PrevalidationState::parse(&r.state)
                .ok_or_else(|| OrderError::UnknownState(format!("pre-validation state {:?}", r.state)))?,
            id: r.id,
            organisation_id: r.organisation_id,
            brand: r.brand,
            validation: r.validation,
            expires_at: r.expires_at,
            created_at: r.created_at,
        })
    }
}

impl Orders {
    /// Records a pre-validation of an organisation at a brand, for a validation
    /// type, valid until `expires_at`; returns its id.
    pub async fn add_prevalidation(
        &self,
        caller: &Caller,
        organisation_id: i64,
        brand: &str,
        validation: &str,
        expires_at: i64,
    ) -> Result<i64> {
        caller.require(Right::Administrative)?;
        let validation = validation.to_ascii_uppercase();
        if !["DV", "OV", "EV"].contains(&validation.as_str()) {
            return Err(OrderError::Invalid(format!("validation type {validation:?} is not DV, OV or EV")));
        }
        if expires_at <= self.now() {
            return Err(OrderError::Invalid("the pre-validation would already be expired".into()));
        }
        self.organisation(caller.account_id, organisation_id).await?;
        let mut tx = self.db().begin().await?;
        let id = prevalidations::insert(&mut tx, organisation_id, brand, &validation, "active", expires_at, self.now())
            .await?;
        audit::record(
            &mut tx,
            &caller.actor(),
            "prevalidation.add",
            &format!("{organisation_id} {brand} {validation}"),
            self.now(),
        )
        .await?;
        commit(tx).await?;
        Ok(id)
    }

    /// The pre-validations of the caller's account.
    pub async fn prevalidations(&self, caller: &Caller) -> Result<Vec<Prevalidation>> {
        caller.require(Right::Commercial).or_else(|_| caller.require(Right::Technical))?;
        let list = prevalidations::list_for_account(&mut *self.db().acquire().await?, caller.account_id).await?;
        list.into_iter().map(Prevalidation::try_from).collect()
    }

    /// The names among `names` that no validated domain of the organisation covers.
    pub async fn names_needing_dcv(&self, organisation_id: i64, names: &[String]) -> Result<Vec<String>> {
        let domains = storage::domains::covering(&mut *self.db().acquire().await?, organisation_id, self.now()).await?;
        Ok(uncovered(names, &domains))
    }
}

/// The names among `names` that none of the pre-validated `domains` covers.
pub(crate) fn uncovered(names: &[String], domains: &[String]) -> Vec<String> {
    names.iter().filter(|n| !domains.iter().any(|d| crate::names::covered_by(n, d))).cloned().collect()
}
