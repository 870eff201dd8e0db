//! CAA before an order is paid (RFC 8659; docs/caa.md): every name of an
//! order is checked against the CAA issuer domains of the CA that sells
//! the product, by certgate's VA, so that a name whose owner allowed other
//! CAs only is refused before any charge rather than failed by the CA.

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
