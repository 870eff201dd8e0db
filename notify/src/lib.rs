//! certgate's messages to the outside world: e-mail through SMTP with
//! STARTTLS (or to a log file), and webhooks POSTed as JSON signed with
//! HMAC-SHA256, their wording rendered from templates kept in the
//! repository. What to send, to whom and when is decided by `orders`.

mod email;
mod templates;
mod webhook;

use std::path::PathBuf;
use std::time::Duration;

pub use email::{Email, MailError, Mailer};
pub use templates::{LANGUAGES, Rendered, kinds, render};
pub use webhook::{WebhookClient, WebhookError, signature};

/// Settings of the notifications (`[notifications]`).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The SMTP server, as `smtp://user:password@host:587` (STARTTLS
    /// required) or `smtps://...` (TLS from the start); none: no e-mail.
    pub smtp_url: Option<String>,
    /// The sender of every message.
    pub from: String,
    /// Roots to trust for the SMTP server beside the system's (PEM).
    pub smtp_ca_file: Option<PathBuf>,
    /// Messages are appended to this file (created private) instead of
    /// being sent, when no SMTP server is configured: what `demo` does.
    pub log_file: Option<PathBuf>,
    /// Seconds one SMTP exchange or webhook POST may take.
    pub timeout_secs: u64,
    /// Roots to trust for webhook receivers beside the system's (PEM).
    pub webhook_ca_file: Option<PathBuf>,
    /// Lets webhooks reach loopback and private addresses; off, so that a
    /// customer's URL cannot make certgate call its own network.
    pub allow_private_webhooks: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            smtp_url: None,
            from: "certgate <certgate@localhost>".into(),
            smtp_ca_file: None,
            log_file: None,
            timeout_secs: 10,
            webhook_ca_file: None,
            allow_private_webhooks: false,
        }
    }
}

/// Why the notifications could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The SMTP URL or sender is not usable.
    #[error("notifications.smtp_url / from: {0}")]
    Smtp(String),
    /// A CA file could not be read or holds no certificate.
    #[error("{path}: {detail}")]
    CaFile {
        /// The configured file.
        path: String,
        /// What was wrong with it.
        detail: String,
    },
    /// rustls refused the client configuration.
    #[error("TLS client setup: {0}")]
    Tls(#[from] rustls::Error),
}

/// The channels notifications go out by.
pub struct Notifier {
    /// E-mail, when an SMTP server or a log file is configured.
    pub mailer: Option<Mailer>,
    /// The webhook client.
    pub webhooks: WebhookClient,
}

impl Notifier {
    /// Builds the channels from the settings.
    pub fn new(settings: &Settings) -> Result<Notifier, SetupError> {
        let timeout = Duration::from_secs(settings.timeout_secs.max(1));
        Ok(Notifier {
            mailer: Mailer::new(settings, timeout)?,
            webhooks: WebhookClient::new(
                settings.webhook_ca_file.as_deref(),
                timeout,
                settings.allow_private_webhooks,
            )?,
        })
    }
}

/// The system's roots and those of the PEM file `extra`.
pub(crate) fn roots(extra: Option<&std::path::Path>) -> Result<rustls::RootCertStore, SetupError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped: the extra file may be all that is needed.
    store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = extra {
        let fail = |detail: String| SetupError::CaFile { path: path.display().to_string(), detail };
        let read: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path).map_err(|e| fail(e.to_string()))?.collect();
        let (added, _) = store.add_parsable_certificates(read.map_err(|e| fail(e.to_string()))?);
        if added == 0 {
            return Err(fail("no usable certificate in it".into()));
        }
    }
    Ok(store)
}
