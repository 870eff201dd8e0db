//! CAA before an order is paid (RFC 8659; docs/caa.md): every name of an
//! order is checked against the CAA issuer domains of the CA that sells
//! the product, by certgate's VA, so that a name whose owner allowed other
//! CAs only is refused before any charge rather than failed by the CA; and
//! a customer may ask the same of names before ordering.

use validation::CaaError;

use crate::{OrderError, Orders, Result};

impl Orders {
    /// Refuses when a name's CAA records do not allow upstream `upstream`
    /// (or cannot be read); an upstream without CAA identities is not checked.
    pub(crate) async fn check_caa(&self, upstream: &str, names: &[String]) -> Result<()> {
        let Some(identities) = self.settings().caa_identities.get(upstream).filter(|i| !i.is_empty()) else {
            return Ok(());
        };
        for name in names {
            self.va().check_caa(name, identities).await.map_err(|e| match e {
                CaaError::Forbidden { .. } => OrderError::CaaForbidden(e.to_string()),
                CaaError::Lookup { .. } => OrderError::CaaLookup(e.to_string()),
            })?;
        }
        Ok(())
    }
}

/// What the CAA records of one name say of a product's CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaaVerdict {
    /// The CA may issue for it.
    Allowed,
    /// Its CAA records name other CAs only (the detail says which records, where).
    Forbidden(String),
    /// Its CAA records could not be read (the detail says why).
    LookupFailed(String),
    /// The product's CA has no CAA identities configured: not checked.
    NotChecked,
}

impl CaaVerdict {
    /// What a refusal found (the records, or why they could not be read).
    pub fn detail(&self) -> Option<&str> {
        match self {
            CaaVerdict::Forbidden(d) | CaaVerdict::LookupFailed(d) => Some(d),
            CaaVerdict::Allowed | CaaVerdict::NotChecked => None,
        }
    }

    /// The verdict's word on the wire: `allowed`, `forbidden`, `lookup_failed` or `not_checked`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CaaVerdict::Allowed => "allowed",
            CaaVerdict::Forbidden(_) => "forbidden",
            CaaVerdict::LookupFailed(_) => "lookup_failed",
            CaaVerdict::NotChecked => "not_checked",
        }
    }
}

impl Orders {
    /// Checks, before ordering, what the CAA records of `names` say of the
    /// CA that sells `product_code` (docs/caa.md). A name in the account's
    /// domain inventory keeps the verdict as its last CAA check.
    pub async fn caa_verdicts(
        &self,
        caller: &crate::Caller,
        product_code: &str,
        names: &[String],
    ) -> Result<Vec<(String, CaaVerdict)>> {
        caller.require(crate::Right::Technical).or_else(|_| caller.require(crate::Right::Commercial))?;
        if names.is_empty() || names.len() > 100 {
            return Err(OrderError::Invalid("name between 1 and 100 names".into()));
        }
        let product = self.product(product_code).await?;
        let identities = self.settings().caa_identities.get(&product.upstream).filter(|i| !i.is_empty());
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let name = crate::names::normalize(name)?;
            let verdict = match identities {
                None => CaaVerdict::NotChecked,
                Some(ids) => match self.va().check_caa(&name, ids).await {
                    Ok(()) => CaaVerdict::Allowed,
                    Err(e @ CaaError::Forbidden { .. }) => CaaVerdict::Forbidden(e.to_string()),
                    Err(e @ CaaError::Lookup { .. }) => CaaVerdict::LookupFailed(e.to_string()),
                },
            };
            out.push((name, verdict));
        }
        self.record_caa(caller, product_code, &out).await?;
        Ok(out)
    }
}
