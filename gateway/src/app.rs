//! Wiring: from a configuration to a connected, migrated database and an
//! order core with its upstreams.

use std::path::PathBuf;
use std::sync::Arc;

use orders::Orders;
use storage::Db;
use storage::sealed::SecretKey;
use upstream::{AcmeUpstream, EmbeddedCa, Upstream};

use crate::config::{Config, UpstreamConfig};

/// Everything a command needs.
pub struct App {
    pub config: Config,
    pub orders: Orders,
    /// The CA named `embedded`, for printing its root and for the demo's own
    /// HTTPS certificate.
    pub embedded_ca: Option<Arc<EmbeddedCa>>,
}

/// A failure while starting up, with a message for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Storage(#[from] storage::Error),
    #[error("embedded CA: {0}")]
    Ca(#[from] upstream::EmbeddedCaError),
    #[error("upstream {0}: {1}")]
    Upstream(String, upstream::HttpSetupError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("notifications: {0}")]
    Notifications(#[from] notify::SetupError),
}

impl App {
    /// Connects to the database, applies migrations, and builds the order core.
    pub async fn open(config: Config) -> Result<App, StartError> {
        let secret = config.secret_key()?.to_string();
        let url = config.database_url();
        if url.starts_with("sqlite:") {
            std::fs::create_dir_all(&config.data_dir)?;
        }
        crate::private_files::warn_if_exposed(config.secret_files().iter().map(PathBuf::as_path));
        let db = Db::connect_with(&url, config.database_pool_size).await?;
        db.migrate().await?;
        let key = SecretKey::from_secret(&secret);
        let mut upstreams: Vec<Arc<dyn Upstream>> = Vec::new();
        let mut embedded_ca = None;
        for (name, u) in &config.upstreams {
            match u {
                UpstreamConfig::Embedded { .. } => {
                    let ca = Arc::new(EmbeddedCa::load_or_create(&db, &key, name).await?);
                    if name == "embedded" {
                        embedded_ca = Some(ca.clone());
                    }
                    upstreams.push(ca);
                }
                UpstreamConfig::Acme(settings) => {
                    let ca = AcmeUpstream::new(name, settings.clone(), db.clone(), SecretKey::from_secret(&secret))
                        .map_err(|e| StartError::Upstream(name.clone(), e))?;
                    upstreams.push(Arc::new(ca));
                }
            }
        }
        let mut settings = config.orders.clone();
        settings.caa_identities =
            config.upstreams.iter().map(|(name, u)| (name.clone(), u.caa_identities().to_vec())).collect();
        let orders = Orders::new(db.clone(), key, upstreams, settings);
        orders.set_notifier(notify::Notifier::new(&config.notifications)?);
        Ok(App { config, orders, embedded_ca })
    }
}
