//! HTTP validation: http-01 (RFC 8555 §8.3) and the legacy DCV file, both a
//! GET of a well-known path on the name's own address.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;

use crate::{Va, truncate};

impl Va {
    /// Checks an http-01 challenge: the token's file holds the key authorization.
    pub(crate) async fn http01(&self, name: &str, key_authz: &str) -> Result<(), String> {
        let token = key_authz.split('.').next().unwrap_or("");
        self.fetch_expecting(name, &format!("/.well-known/acme-challenge/{token}"), key_authz).await
    }

    /// Checks that `http://<name><path>` (on the configured HTTP port) holds
    /// `expected`, give or take trailing white space.
    pub async fn http_file(&self, name: &str, path: &str, expected: &str) -> Result<(), String> {
        self.timed(&format!("HTTP check of {name}"), self.fetch_expecting(name, path, expected)).await
    }

    async fn fetch_expecting(&self, name: &str, path: &str, expected: &str) -> Result<(), String> {
        let addr = SocketAddr::new(self.address(name).await?, self.settings.http_port);
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connecting to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP to {addr}: {e}"))?;
        tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, name)
            .header(hyper::header::USER_AGENT, "certgate-va")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| format!("HTTP GET http://{name}{path}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("http://{name}{path} answered {}", resp.status()));
        }
        let body = Limited::new(resp.into_body(), 4096)
            .collect()
            .await
            .map_err(|e| format!("reading http://{name}{path}: {e}"))?
            .to_bytes();
        let got = String::from_utf8_lossy(&body);
        if got.trim_end() == expected {
            Ok(())
        } else {
            Err(format!("http://{name}{path} holds {:?}, not the expected value", truncate(&got)))
        }
    }
}
