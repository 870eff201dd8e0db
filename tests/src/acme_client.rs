//! instant-acme as the tests' ACME client: its HTTP client with TCP_NODELAY
//! on (else every request on loopback waits for a delayed ACK, about 40 ms),
//! and an account made with EAB credentials as certgate hands them out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{Account, BodyWrapper, ExternalAccountKey, HttpClient, NewAccount};

/// How the client uses connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connections {
    /// Kept and reused, as clients normally do.
    Reused,
    /// A new connection per request, so that a round-robin balancer sends
    /// each request to the next instance.
    PerRequest,
}

/// instant-acme's HTTP client over plain HTTP, TCP_NODELAY on.
pub fn acme_http(connections: Connections) -> Box<dyn HttpClient> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let mut builder = Client::builder(TokioExecutor::new());
    if connections == Connections::PerRequest {
        builder.pool_max_idle_per_host(0);
    }
    Box::new(builder.build::<_, BodyWrapper<Bytes>>(connector))
}

/// A new account at `directory`, bound with the EAB key ID `kid` and the
/// base64url HMAC key `hmac`, as certgate prints them.
pub async fn acme_account(
    directory: &str,
    kid: &str,
    hmac: &str,
    connections: Connections,
) -> Result<Account, instant_acme::Error> {
    let key = URL_SAFE_NO_PAD.decode(hmac).map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
    let eab = ExternalAccountKey::new(kid.to_string(), &key);
    let new = NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false };
    let (account, _) =
        Account::builder_with_http(acme_http(connections)).create(&new, directory.into(), Some(&eab)).await?;
    Ok(account)
}
