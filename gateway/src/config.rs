//! Configuration: built-in defaults, then a TOML file, then `CERTGATE_*`
//! environment variables (nested keys with `__`, e.g.
//! `CERTGATE_ORDERS__JOB_LEASE_SECS=60`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration of one certgate process.
#[derive(Clone, Debug, Deserialize)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Where the SQLite database and demo files live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `sqlite://FILE` or `postgres://...`; default: `certgate.db` in `data_dir`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Seals stored secrets (EAB HMAC keys, CA keys). Keep it out of the
    /// database's backups; losing it loses those secrets.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// The base URL clients reach this gateway at, for printed URLs.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Proxies (IP addresses or CIDR blocks) whose `Forwarded` and
    /// `X-Forwarded-*` headers are believed; from anyone else they are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Settings of the order core.
    #[serde(default)]
    pub orders: OrdersConfig,
    /// Settings of the ACME front.
    #[serde(default)]
    pub acme: AcmeConfig,
    /// Settings of the XML-RPC front.
    #[serde(default)]
    pub xmlrpc: XmlRpcConfig,
    /// Upstream CAs by name; products name one. `embedded` is always defined.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamConfig>,
}

/// Settings of the order core.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    pub reissue_revoke_delay_days: i64,
    pub max_failed_logins: i64,
    pub job_lease_secs: i64,
    pub job_max_attempts: i64,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        let d = orders::Settings::default();
        OrdersConfig {
            reissue_revoke_delay_days: d.reissue_revoke_delay_days,
            max_failed_logins: d.max_failed_logins,
            job_lease_secs: d.job_lease_secs,
            job_max_attempts: d.job_max_attempts,
        }
    }
}

impl From<&OrdersConfig> for orders::Settings {
    fn from(c: &OrdersConfig) -> Self {
        orders::Settings {
            reissue_revoke_delay_days: c.reissue_revoke_delay_days,
            max_failed_logins: c.max_failed_logins,
            job_lease_secs: c.job_lease_secs,
            job_max_attempts: c.job_max_attempts,
        }
    }
}

/// Bounds of the XML-RPC front's requests.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XmlRpcConfig {
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The deepest element nesting of a call.
    pub max_depth: usize,
    /// The most elements in one call.
    pub max_elements: usize,
}

impl Default for XmlRpcConfig {
    fn default() -> Self {
        let d = xmlrpc::Limits::default();
        XmlRpcConfig { max_body_bytes: d.max_bytes, max_depth: d.max_depth, max_elements: d.max_elements }
    }
}

impl XmlRpcConfig {
    /// The codec's limits in force.
    pub fn limits(&self) -> xmlrpc::Limits {
        xmlrpc::Limits { max_bytes: self.max_body_bytes, max_depth: self.max_depth, max_elements: self.max_elements }
    }
}

/// Settings of the ACME front.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcmeConfig {
    /// Shown as `meta.termsOfService` in every directory.
    pub terms_of_service: Option<String>,
    /// Shown as `meta.website` in every directory.
    pub website: Option<String>,
    /// Shown as `meta.caaIdentities` in every directory.
    pub caa_identities: Vec<String>,
    /// Seconds a nonce stays valid.
    pub nonce_ttl_secs: i64,
    /// Seconds an order may wait for finalize.
    pub order_ttl_secs: i64,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Where the validation authority connects for challenges.
    pub va: VaConfig,
    /// Hourly limits per ACME account and per ACME URL.
    pub rate_limits: RateLimitsConfig,
    /// Refuse every n-th nonce with badNonce (tests of client retries; 0 = never).
    pub reject_every_nth_nonce: u64,
}

/// Hourly limits of the ACME front; 0 turns one off.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsConfig {
    /// New orders per ACME account per hour.
    pub orders_per_account: i64,
    /// New orders per ACME URL per hour.
    pub orders_per_url: i64,
    /// Failed validations per ACME account per hour.
    pub failed_validations_per_account: i64,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        let d = acme::RateLimits::default();
        RateLimitsConfig {
            orders_per_account: d.orders_per_account,
            orders_per_url: d.orders_per_url,
            failed_validations_per_account: d.failed_validations_per_account,
        }
    }
}

/// Where the ACME front's validation authority connects.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaConfig {
    /// Port of http-01 challenges (80 in production).
    pub http_port: u16,
    /// Port of tls-alpn-01 challenges (443 in production).
    pub tls_port: u16,
    /// DNS server (`IP:port`) for the VA's lookups; the system's when unset.
    pub dns_server: Option<std::net::SocketAddr>,
    /// Seconds one validation may take.
    pub timeout_secs: u64,
}

impl Default for VaConfig {
    fn default() -> Self {
        let d = acme::VaSettings::default();
        VaConfig {
            http_port: d.http_port,
            tls_port: d.tls_port,
            dns_server: d.dns_server,
            timeout_secs: d.timeout_secs,
        }
    }
}

impl Default for AcmeConfig {
    fn default() -> Self {
        let d = acme::Settings::default();
        AcmeConfig {
            terms_of_service: d.terms_of_service,
            website: d.website,
            caa_identities: d.caa_identities,
            nonce_ttl_secs: d.nonce_ttl_secs,
            order_ttl_secs: d.order_ttl_secs,
            max_body_bytes: d.max_body_bytes,
            va: VaConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            reject_every_nth_nonce: d.reject_every_nth_nonce,
        }
    }
}

impl Config {
    /// The ACME front's settings in force.
    pub fn acme_settings(&self) -> acme::Settings {
        acme::Settings {
            public_url: self.public_url.clone(),
            terms_of_service: self.acme.terms_of_service.clone(),
            website: self.acme.website.clone(),
            caa_identities: self.acme.caa_identities.clone(),
            nonce_ttl_secs: self.acme.nonce_ttl_secs,
            order_ttl_secs: self.acme.order_ttl_secs,
            max_body_bytes: self.acme.max_body_bytes,
            trusted_proxies: self.trusted_proxies.iter().filter_map(|p| p.parse().ok()).collect(),
            rate_limits: acme::RateLimits {
                orders_per_account: self.acme.rate_limits.orders_per_account,
                orders_per_url: self.acme.rate_limits.orders_per_url,
                failed_validations_per_account: self.acme.rate_limits.failed_validations_per_account,
            },
            reject_every_nth_nonce: self.acme.reject_every_nth_nonce,
            va: acme::VaSettings {
                http_port: self.acme.va.http_port,
                tls_port: self.acme.va.tls_port,
                dns_server: self.acme.va.dns_server,
                timeout_secs: self.acme.va.timeout_secs,
            },
        }
    }
}

/// One upstream CA.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `embedded` (the built-in CA). The `acme` kind is not built yet.
    pub kind: String,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("certgate-data")
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut b = config::Config::builder();
        if let Some(f) = file {
            b = b.add_source(config::File::from(f).format(config::FileFormat::Toml).required(true));
        }
        b = b.add_source(config::Environment::with_prefix("CERTGATE").prefix_separator("_").separator("__"));
        let mut cfg: Config = b.build()?.try_deserialize()?;
        for p in &cfg.trusted_proxies {
            p.parse::<acme::IpBlock>().map_err(|e| ConfigError::Invalid(format!("trusted_proxies: {e}")))?;
        }
        cfg.upstreams.entry("embedded".into()).or_insert(UpstreamConfig { kind: "embedded".into() });
        for (name, u) in &cfg.upstreams {
            if u.kind != "embedded" {
                return Err(ConfigError::Invalid(format!(
                    "upstream {name}: kind {:?} is not supported by this build (only \"embedded\")",
                    u.kind
                )));
            }
        }
        Ok(cfg)
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("certgate.db").display()))
    }

    /// The base URL for printed links.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen)).trim_end_matches('/').to_string()
    }

    /// The secret key, or a clear error saying how to set one.
    pub fn secret_key(&self) -> Result<&str, ConfigError> {
        self.secret_key.as_deref().filter(|s| s.len() >= 16).ok_or_else(|| {
            ConfigError::Invalid(
                "secret_key is not set (or shorter than 16 characters): set it in the config file or CERTGATE_SECRET_KEY"
                    .into(),
            )
        })
    }
}
