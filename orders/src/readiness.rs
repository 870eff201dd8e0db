//! Whether this instance may take traffic: the database answers, its schema
//! is the one this build expects, and every product's upstream is configured.

use crate::{Orders, Result};

/// What `/readyz` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// The database answered a query.
    pub database: bool,
    /// Every migration of this build is applied, and none newer.
    pub migrations_current: bool,
    /// The configured upstreams, by name.
    pub upstreams: Vec<String>,
    /// `(product, upstream)` for each product whose upstream this instance
    /// does not have: orders for it would fail (and be refunded).
    pub unconfigured: Vec<(String, String)>,
}

impl Readiness {
    /// True when the instance should receive requests. A product without
    /// its upstream does not count against readiness: it fails its own
    /// orders, cleanly, and everything else still works.
    pub fn ready(&self) -> bool {
        self.database && self.migrations_current
    }
}

impl Orders {
    /// Checks the database, the schema and the upstreams of the catalogue.
    pub async fn readiness(&self) -> Readiness {
        let mut upstreams: Vec<String> = self.inner.upstreams.keys().cloned().collect();
        upstreams.sort();
        let database = self.db().ping().await;
        let migrations_current = database && self.db().migrations_current().await.unwrap_or(false);
        let unconfigured = self.unconfigured_products().await.unwrap_or_default();
        Readiness { database, migrations_current, upstreams, unconfigured }
    }

    async fn unconfigured_products(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .products()
            .await?
            .into_iter()
            .filter(|p| !self.inner.upstreams.contains_key(&p.upstream))
            .map(|p| (p.code, p.upstream))
            .collect())
    }
}
