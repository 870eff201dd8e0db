//! Webhooks: an event POSTed as JSON to a customer's HTTPS endpoint, signed
//! with HMAC-SHA256 over the timestamp and the body, within a timeout, and
//! never to loopback or private addresses unless allowed.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;

use validation::is_public;

use crate::SetupError;

/// Why a webhook was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not one certgate calls (not HTTPS, a private address).
    #[error("{0}")]
    Refused(String),
    /// The receiver answered, but not with a 2xx status.
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    /// No answer: connection, TLS, timeout.
    #[error("{0}")]
    Failed(String),
}

/// The HTTPS client of webhooks (cheap to clone: the connection pool is shared).
#[derive(Clone)]
pub struct WebhookClient {
    client: Client<HttpsConnector<HttpConnector<PublicOnly>>, Full<Bytes>>,
    timeout: Duration,
    allow_private: bool,
}

impl WebhookClient {
    /// A client trusting the system's roots and those of `ca_file`.
    pub fn new(ca_file: Option<&Path>, timeout: Duration, allow_private: bool) -> Result<WebhookClient, SetupError> {
        let tls = rustls::ClientConfig::builder_with_provider(rustls::crypto::aws_lc_rs::default_provider().into())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(crate::roots(ca_file)?)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new_with_resolver(PublicOnly { allow_private });
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(timeout));
        tcp.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(tcp);
        Ok(WebhookClient { client: Client::builder(TokioExecutor::new()).build(https), timeout, allow_private })
    }

    /// Refuses a URL that is not `https://` with a host, or that names a
    /// loopback or private address (unless allowed).
    pub fn check_url(&self, url: &str) -> Result<http::Uri, WebhookError> {
        let uri: http::Uri = url.parse().map_err(|e| WebhookError::Refused(format!("{url:?}: {e}")))?;
        if uri.scheme_str() != Some("https") {
            return Err(WebhookError::Refused(format!("{url:?}: a webhook URL must be https://")));
        }
        let host = uri.host().ok_or_else(|| WebhookError::Refused(format!("{url:?}: no host")))?;
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>();
        if let Ok(ip) = literal
            && !self.allow_private
            && !is_public(ip)
        {
            return Err(WebhookError::Refused(format!("{url:?}: {ip} is not a public address")));
        }
        Ok(uri)
    }

    /// POSTs `body` (JSON) to `url`, signed with `secret`; returns the
    /// receiver's status when it is 2xx.
    pub async fn post(
        &self,
        url: &str,
        secret: &[u8],
        event_id: &str,
        timestamp: i64,
        body: &str,
    ) -> Result<u16, WebhookError> {
        let uri = self.check_url(url)?;
        let request = http::Request::post(uri)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, concat!("certgate/", env!("CARGO_PKG_VERSION")))
            .header("certgate-event-id", event_id)
            .header("certgate-timestamp", timestamp.to_string())
            .header("certgate-signature", signature(secret, timestamp, body))
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .map_err(|e| WebhookError::Refused(e.to_string()))?;
        // Only the status matters: the answer's body is dropped unread.
        let sent = tokio::time::timeout(self.timeout, self.client.request(request)).await;
        let status = match sent {
            Err(_) => return Err(WebhookError::Failed(format!("no answer within {:?}", self.timeout))),
            Ok(Err(e)) => return Err(WebhookError::Failed(error_chain(&e))),
            Ok(Ok(answer)) => answer.status(),
        };
        if status.is_success() { Ok(status.as_u16()) } else { Err(WebhookError::Status(status.as_u16())) }
    }
}

/// The `certgate-signature` header of `body` sent at `timestamp`:
/// `v1=` and the hex HMAC-SHA256, keyed with the endpoint's secret, of the
/// timestamp, a dot and the body. A receiver recomputes it, compares in
/// constant time, and refuses old timestamps (replays).
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body.as_bytes());
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// An error and its causes, on one line (hyper's own message says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The resolver of webhook connections: the system's, keeping only public
/// addresses unless private ones are allowed, so that a name cannot point
/// certgate at its own network (checked at connection time, so a name that
/// changes its answer meanwhile is caught too).
#[derive(Clone)]
struct PublicOnly {
    allow_private: bool,
}

impl tower::Service<Name> for PublicOnly {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            // Not found and found only inside look the same to the customer,
            // who must not learn which internal names resolve.
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await.into_iter().flatten().collect();
            let kept: Vec<SocketAddr> = found.into_iter().filter(|a| allow_private || is_public(a.ip())).collect();
            if kept.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{} has no public address", name.as_str()),
                ));
            }
            Ok(kept.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Checked against Python: hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()
        let sig = signature(b"secret", 1_700_000_000, "{}");
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64, "{sig}");
        assert_ne!(sig, signature(b"secret", 1_700_000_001, "{}"));
        assert_ne!(sig, signature(b"other", 1_700_000_000, "{}"));
    }

    #[tokio::test]
    async fn urls_must_be_https_and_public() {
        let client = WebhookClient::new(None, Duration::from_secs(1), false).unwrap();
        for bad in
            ["http://example.com/hook", "https://127.0.0.1/hook", "https://[::1]/x", "https://10.0.0.1/", "ftp://x"]
        {
            assert!(matches!(client.check_url(bad), Err(WebhookError::Refused(_))), "{bad}");
        }
        assert!(client.check_url("https://hooks.example.com/certgate").is_ok());
        let err = client.post("https://localhost:1/", b"k", "evt_1", 0, "{}").await.unwrap_err();
        assert!(err.to_string().contains("no public address"), "{err}");
    }
}
