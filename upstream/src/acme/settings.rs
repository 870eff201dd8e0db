//! The configuration of one ACME upstream (`[upstreams.<name>]` with
//! `kind = "acme"`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// How to reach one upstream ACME CA and how patient to be with it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeSettings {
    /// The upstream's ACME directory URL.
    pub directory_url: String,
    /// This CA's CAA issuer domains (such as `letsencrypt.org`): an order
    /// is refused before it is paid when a name's CAA records name others.
    /// Empty: no CAA check (the CA itself still checks).
    #[serde(default)]
    pub caa_identities: Vec<String>,
    /// The reseller's External Account Binding key ID at this CA.
    #[serde(default)]
    pub eab_kid: Option<String>,
    /// The EAB HMAC key, base64url (padding optional).
    #[serde(default)]
    pub eab_hmac: Option<String>,
    /// A PEM file of extra trusted roots for the upstream's TLS (test CAs);
    /// the system's roots are trusted too.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// The ACME profile to ask for (draft-ietf-acme-profiles), if any.
    #[serde(default)]
    pub profile: Option<String>,
    /// The contact address registered with the upstream account.
    #[serde(default)]
    pub contact: Option<String>,
    /// Seconds one HTTP exchange with the upstream may take, body included.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Seconds one job attempt may spend on an order (polling included); keep
    /// it well under the job lease so that no other worker takes the job meanwhile.
    #[serde(default = "default_attempt")]
    pub attempt_secs: u64,
    /// Transient errors in a row that one attempt absorbs before it hands
    /// the job back to the queue to retry later.
    #[serde(default = "default_step_retries")]
    pub step_retries: u32,
    /// Seconds after an order was queued past which transient failures are
    /// no longer retried: the order fails and is refunded.
    #[serde(default = "default_deadline")]
    pub deadline_secs: i64,
    /// What to do when an upstream authorization is not valid yet.
    #[serde(default)]
    pub pending_authorizations: PendingAuthorizations,
}

/// What the connector does with an upstream authorization that is pending.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PendingAuthorizations {
    /// Fail the order: the reseller must pre-validate the domain at the CA
    /// (seed 6.8.1). The right choice for commercial CAs.
    #[default]
    Fail,
    /// Ask the upstream to validate one challenge without publishing
    /// anything, for CAs that validate out of band (and for pebble with
    /// `PEBBLE_VA_ALWAYS_VALID`, which stands in for them in tests).
    Trigger,
}

fn default_request_timeout() -> u64 {
    30
}
fn default_attempt() -> u64 {
    60
}
fn default_step_retries() -> u32 {
    6
}
fn default_deadline() -> i64 {
    24 * 3600
}

impl AcmeSettings {
    /// Settings for `directory_url` with every other value at its default.
    pub fn new(directory_url: impl Into<String>) -> AcmeSettings {
        AcmeSettings {
            directory_url: directory_url.into(),
            caa_identities: Vec::new(),
            eab_kid: None,
            eab_hmac: None,
            ca_bundle: None,
            profile: None,
            contact: None,
            request_timeout_secs: default_request_timeout(),
            attempt_secs: default_attempt(),
            step_retries: default_step_retries(),
            deadline_secs: default_deadline(),
            pending_authorizations: PendingAuthorizations::Fail,
        }
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    pub(crate) fn attempt(&self) -> Duration {
        Duration::from_secs(self.attempt_secs.max(1))
    }
}
