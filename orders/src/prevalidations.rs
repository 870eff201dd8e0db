//! Pre-validations of organisations and their pre-validated domains (seed 6.7, 6.9).

use storage::prevalidations::{self, PrevalidationRow};
use storage::{audit, commit};

use crate::{Caller, OrderError, Orders, Result, Right, names};

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

    /// Adds a pre-validated domain (`example.test` or `*.example.test`) to an organisation.
    pub async fn add_prevalidated_domain(&self, caller: &Caller, organisation_id: i64, domain: &str) -> Result<String> {
        caller.require(Right::Administrative)?;
        let domain = names::normalize(domain)?;
        self.organisation(caller.account_id, organisation_id).await?;
        let mut tx = self.db().begin().await?;
        prevalidations::add_domain(&mut tx, organisation_id, &domain, self.now()).await?;
        audit::record(
            &mut tx,
            &caller.actor(),
            "prevalidation.domain",
            &format!("{organisation_id} {domain}"),
            self.now(),
        )
        .await?;
        commit(tx).await?;
        Ok(domain)
    }

    /// The pre-validations of the caller's account.
    pub async fn prevalidations(&self, caller: &Caller) -> Result<Vec<PrevalidationRow>> {
        caller.require(Right::Commercial).or_else(|_| caller.require(Right::Technical))?;
        Ok(prevalidations::list_for_account(&mut *self.db().acquire().await?, caller.account_id).await?)
    }

    /// The names among `names` that no pre-validated domain of the organisation covers.
    pub async fn names_needing_dcv(&self, organisation_id: i64, names: &[String]) -> Result<Vec<String>> {
        let domains = prevalidations::domains(&mut *self.db().acquire().await?, organisation_id).await?;
        Ok(uncovered(names, &domains))
    }
}

/// The names among `names` that none of the pre-validated `domains` covers.
pub(crate) fn uncovered(names: &[String], domains: &[String]) -> Vec<String> {
    names.iter().filter(|n| !domains.iter().any(|d| names::covered_by(n, d))).cloned().collect()
}
