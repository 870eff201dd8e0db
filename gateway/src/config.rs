//! Configuration: built-in defaults, then a TOML file, then `CERTGATE_*`
//! environment variables (nested keys with `__`, e.g.
//! `CERTGATE_ORDERS__JOB_LEASE_SECS=60`).

use std::collections::BTreeMap;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::tls::TlsSettings;

/// The whole configuration of one certgate process.
#[derive(Clone, Debug, Deserialize)]
pub struct Config {
    /// Address the plain-HTTP server listens on; without it, `127.0.0.1:8080`
    /// unless `[tls]` is set, which then serves HTTPS alone.
    #[serde(default)]
    pub listen: Option<String>,
    /// HTTPS, beside or instead of plain HTTP.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Where the SQLite database and demo files live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `sqlite://FILE` or `postgres://...`; default: `certgate.db` in `data_dir`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// How many connections this process keeps to its database at most;
    /// default 8 on SQLite, and on PostgreSQL 4 per core, from 4 to 16.
    /// Several instances on one PostgreSQL need instances × this below its
    /// `max_connections`.
    #[serde(default)]
    pub database_pool_size: Option<NonZeroU32>,
    /// Threads that serve requests and run jobs; default one per core this
    /// process may use (or tokio's `TOKIO_WORKER_THREADS`). BENCHMARKS.md
    /// measures what fewer threads save in CPU and cost in peak rate.
    #[serde(default)]
    pub worker_threads: Option<NonZeroUsize>,
    /// Seals stored secrets (EAB HMAC keys, CA keys). Keep it out of the
    /// database's backups; losing it loses those secrets.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// The file the configuration was read from, if any: it may hold the
    /// secret key, a database password and upstream EAB keys.
    #[serde(skip)]
    pub file: Option<PathBuf>,
    /// The base URL clients reach this gateway at, for printed URLs.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Proxies (IP addresses or CIDR blocks) whose `Forwarded` and
    /// `X-Forwarded-*` headers are believed; from anyone else they are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// How many client connections are held, and for how long.
    #[serde(default)]
    pub http: crate::connections::HttpLimits,
    /// Settings of the order core.
    #[serde(default)]
    pub orders: orders::Settings,
    /// Settings of the ACME front.
    #[serde(default)]
    pub acme: acme::Settings,
    /// Settings of the XML-RPC front.
    #[serde(default)]
    pub xmlrpc: xmlrpc::Limits,
    /// E-mail and webhook notifications.
    #[serde(default)]
    pub notifications: notify::Settings,
    /// Upstream CAs by name; products name one. `embedded` is always defined.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamConfig>,
}

impl UpstreamConfig {
    /// The CAA issuer domains of this CA.
    pub fn caa_identities(&self) -> &[String] {
        match self {
            UpstreamConfig::Embedded { caa_identities } => caa_identities,
            UpstreamConfig::Acme(settings) => &settings.caa_identities,
        }
    }
}

impl Config {
    /// The ACME front's settings in force: `[acme]` plus the top-level
    /// `public_url` and `trusted_proxies`.
    pub fn acme_settings(&self) -> acme::Settings {
        acme::Settings {
            public_url: self.public_url.clone(),
            trusted_proxies: self.trusted_proxies.iter().filter_map(|p| p.parse().ok()).collect(),
            ..self.acme.clone()
        }
    }
}

/// One upstream CA, by `kind`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum UpstreamConfig {
    /// The built-in CA, signing with keys kept sealed in the database.
    Embedded {
        /// CAA issuer domains that stand for it (tests and trials).
        #[serde(default)]
        caa_identities: Vec<String>,
    },
    /// A CA that speaks ACME, reached with the reseller's EAB credentials.
    Acme(upstream::AcmeSettings),
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
        // List-valued keys come from the environment comma-separated. The
        // environment source is not asked to parse values itself, since it
        // would turn a digits-only secret into a number and drop its leading zeros.
        for (var, key) in
            [("CERTGATE_TRUSTED_PROXIES", "trusted_proxies"), ("CERTGATE_ACME__CAA_IDENTITIES", "acme.caa_identities")]
        {
            if let Ok(v) = std::env::var(var) {
                let items: Vec<String> =
                    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
                b = b.set_override(key, items)?;
            }
        }
        let mut cfg: Config = b.build()?.try_deserialize()?;
        for p in &cfg.trusted_proxies {
            p.parse::<acme::IpBlock>().map_err(|e| ConfigError::Invalid(format!("trusted_proxies: {e}")))?;
        }
        cfg.http.check().map_err(ConfigError::Invalid)?;
        cfg.upstreams.entry("embedded".into()).or_insert(UpstreamConfig::Embedded { caa_identities: Vec::new() });
        // The VA is configured beside the ACME front, whose challenges are
        // its main use, but the order core runs it (for both fronts).
        cfg.orders.va = cfg.acme.va.clone();
        cfg.file = file.map(Path::to_path_buf);
        Ok(cfg)
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("certgate.db").display()))
    }

    /// The files and directories that hold secrets: the SQLite database with
    /// its WAL and shared memory and the directory holding them, the demo's
    /// secret key, the TLS key, and the configuration file.
    pub fn secret_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self.file.iter().cloned().collect();
        let url = self.database_url();
        if let Some(db) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            files.extend([self.data_dir.clone(), self.data_dir.join("secret.key")]);
            let db = PathBuf::from(db.split('?').next().unwrap_or(db));
            for suffix in ["-wal", "-shm"] {
                let mut side = db.clone().into_os_string();
                side.push(suffix);
                files.push(side.into());
            }
            if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
                files.push(dir.to_path_buf());
            }
            files.push(db);
        }
        files.extend(self.tls.iter().map(|t| t.key_file.clone()));
        files.sort();
        files.dedup();
        files
    }

    /// The address plain HTTP listens on, if it is served.
    pub fn http_listen(&self) -> Option<String> {
        match (&self.listen, &self.tls) {
            (Some(l), _) => Some(l.clone()),
            (None, Some(_)) => None,
            (None, None) => Some("127.0.0.1:8080".into()),
        }
    }

    /// The base URL for printed links: HTTPS when it is served.
    pub fn public_url(&self) -> String {
        let own = || match &self.tls {
            Some(tls) => format!("https://{}", tls.listen),
            None => format!("http://{}", self.http_listen().unwrap_or_default()),
        };
        self.public_url.clone().unwrap_or_else(own).trim_end_matches('/').to_string()
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
