//! The ACME front's settings (`[acme]` in the configuration).

/// Settings of the ACME front (`[acme]`; `public_url` and `trusted_proxies`
/// come from the top level of the configuration).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The base URL clients reach certgate at (`https://certs.example.com`);
    /// without it, `http://` and the request's `Host`.
    #[serde(skip)]
    pub public_url: Option<String>,
    /// The terms of service URL shown in every directory's `meta`.
    pub terms_of_service: Option<String>,
    /// The website shown in every directory's `meta`.
    pub website: Option<String>,
    /// The CAA identities shown in every directory's `meta`.
    pub caa_identities: Vec<String>,
    /// Seconds a nonce stays valid.
    pub nonce_ttl_secs: i64,
    /// Seconds an unfinalized order stays valid.
    pub order_ttl_secs: i64,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Where the validation authority connects for challenges (`[acme.va]`).
    /// The order core runs the VA: the gateway hands it these settings.
    pub va: crate::VaSettings,
    /// Proxies whose `Forwarded` / `X-Forwarded-*` headers are believed.
    #[serde(skip)]
    pub trusted_proxies: Vec<crate::IpBlock>,
    /// Hourly limits per account and per ACME URL.
    pub rate_limits: crate::RateLimits,
    /// Refuse every n-th valid nonce with `badNonce`, to prove that clients
    /// retry (like pebble's `PEBBLE_WFE_NONCEREJECT`, but deterministic, so a
    /// client's retry is never refused too); 0 in production.
    pub reject_every_nth_nonce: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            public_url: None,
            terms_of_service: None,
            website: None,
            caa_identities: Vec::new(),
            nonce_ttl_secs: 3600,
            order_ttl_secs: 7 * 86_400,
            max_body_bytes: 64 * 1024,
            va: crate::VaSettings::default(),
            trusted_proxies: Vec::new(),
            rate_limits: crate::RateLimits::default(),
            reject_every_nth_nonce: 0,
        }
    }
}
