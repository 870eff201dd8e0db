//! The HTTP client the connector gives instant-acme: rustls with the system's
//! roots plus the configured extra ones, TCP_NODELAY on (without it every
//! request on a fast link waits for a delayed ACK), and a timeout on each
//! whole exchange, body included, so that a frozen upstream cannot hang a job.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, BytesResponse, Error, HttpClient};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    /// The extra roots file could not be read or holds no certificate.
    #[error("CA bundle {path}: {detail}")]
    Bundle {
        /// The configured file.
        path: String,
        /// What was wrong with it.
        detail: String,
    },
    /// rustls refused the client configuration.
    #[error("TLS client setup: {0}")]
    Tls(#[from] rustls::Error),
}

/// An exchange that did not finish in time.
#[derive(Debug, thiserror::Error)]
#[error("no complete answer within {0:?}")]
pub(crate) struct TimedOut(Duration);

/// instant-acme's HTTP client for one upstream (cheap to clone: the connection pool is shared).
#[derive(Clone)]
pub(crate) struct Http {
    client: Client<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>,
    timeout: Duration,
}

impl Http {
    /// A client trusting the system's roots and those in `bundle`.
    pub(crate) fn new(bundle: Option<&Path>, timeout: Duration) -> Result<Http, HttpSetupError> {
        let mut roots = RootCertStore::empty();
        // Unreadable system certificates are skipped: the configured bundle
        // may be all this upstream needs.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = bundle {
            let bad = |detail: String| HttpSetupError::Bundle { path: path.display().to_string(), detail };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("no certificate in it".into()));
            }
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad("no usable certificate in it".into()));
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(rustls::crypto::aws_lc_rs::default_provider().into())
            .with_safe_default_protocol_versions()
            .map_err(HttpSetupError::Tls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(timeout));
        tcp.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        Ok(Http { client: Client::builder(TokioExecutor::new()).build(https), timeout })
    }
}

impl HttpClient for Http {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, Error>> + Send>> {
        let sent = self.client.request(req);
        let timeout = self.timeout;
        Box::pin(async move {
            let exchange = async move {
                let rsp = sent.await.map_err(|e| Error::Other(Box::new(e)))?;
                let (parts, body) = rsp.into_parts();
                let body = body.collect().await.map_err(|e| Error::Other(Box::new(e)))?.to_bytes();
                let body = problem_for_bare_error(parts.status, body);
                Ok(BytesResponse::from(http::Response::from_parts(parts, Full::new(body))))
            };
            tokio::time::timeout(timeout, exchange)
                .await
                .unwrap_or_else(|_| Err(Error::Other(Box::new(TimedOut(timeout)))))
        })
    }
}

/// An error status without a problem document (pebble's bare 404 for an
/// unknown order, a proxy's HTML 502 page) becomes an RFC 7807 `about:blank`
/// problem carrying the status, so that errors are sorted by what the
/// upstream answered rather than failing as unreadable JSON.
fn problem_for_bare_error(status: http::StatusCode, body: Bytes) -> Bytes {
    if status.is_success() || status.is_redirection() || status.is_informational() {
        return body;
    }
    if serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body).is_ok() {
        return body;
    }
    let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
    let detail = format!("HTTP {status} without a problem document: {}", text.trim());
    let problem = serde_json::json!({"type": "about:blank", "status": status.as_u16(), "detail": detail});
    Bytes::from(problem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_error_statuses_become_problems_and_documents_pass_through() {
        let p = problem_for_bare_error(http::StatusCode::NOT_FOUND, Bytes::new());
        let v: serde_json::Value = serde_json::from_slice(&p).unwrap();
        assert_eq!(v["status"], 404);
        let html = problem_for_bare_error(http::StatusCode::BAD_GATEWAY, Bytes::from_static(b"<html>bad</html>"));
        let v: serde_json::Value = serde_json::from_slice(&html).unwrap();
        assert_eq!(v["status"], 502);
        assert!(v["detail"].as_str().unwrap().contains("<html>bad</html>"));
        let doc = Bytes::from_static(br#"{"type":"urn:ietf:params:acme:error:malformed","status":400}"#);
        assert_eq!(problem_for_bare_error(http::StatusCode::BAD_REQUEST, doc.clone()), doc);
        assert_eq!(problem_for_bare_error(http::StatusCode::OK, Bytes::new()), Bytes::new());
    }
}
