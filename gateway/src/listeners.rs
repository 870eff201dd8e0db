//! The listeners `serve` and `demo` take connections on: plain HTTP, HTTPS,
//! or both, as the configuration says.

use crate::config::Config;
use crate::connections::{Gate, Plain};
use crate::tls::{TlsError, TlsListener};

/// Where `serve` and `demo` take connections: plain HTTP, HTTPS, or both.
pub struct Listeners {
    /// The plain-HTTP listener.
    pub http: Option<Plain>,
    /// The HTTPS listener.
    pub tls: Option<TlsListener>,
}

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The plain-HTTP address could not be bound.
    #[error("listen {0}: {1}")]
    Http(String, std::io::Error),
    /// The HTTPS listener or its certificate could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl Listeners {
    /// Binds the listeners the configuration asks for.
    /// Both share one cap on open connections (`[http] max_connections`).
    pub async fn bind(config: &Config) -> Result<Listeners, ListenError> {
        let gate = Gate::new(config.http.max_connections);
        let http = match config.http_listen() {
            Some(addr) => {
                let tcp = crate::connections::bind(&addr).await.map_err(|e| ListenError::Http(addr, e))?;
                Some(Plain { tcp, gate: gate.clone() })
            }
            None => None,
        };
        let tls = match &config.tls {
            Some(settings) => Some(TlsListener::bind(settings, gate).await?),
            None => None,
        };
        Ok(Listeners { http, tls })
    }

    /// Logs where the gateway takes connections.
    pub fn announce(&self) {
        if let Some(addr) = self.http.as_ref().and_then(|l| l.tcp.local_addr().ok()) {
            tracing::info!(listen = %addr, "certgate serving HTTP");
        }
        if let Some(addr) = self.tls.as_ref().map(TlsListener::local_addr) {
            tracing::info!(listen = %addr, "certgate serving HTTPS");
        }
    }
}
