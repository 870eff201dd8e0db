//! The directory of an ACME URL and its nonce resource.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::Acme;
use crate::context::{Ctx, Reply};
use crate::problem::Problem;

impl Acme {
    /// Resolves the directory of a request, runs `f`, and answers with the
    /// common headers; errors become problem documents.
    pub(crate) async fn handle(
        &self,
        dir: &str,
        headers: &HeaderMap,
        peer: SocketAddr,
        f: impl AsyncFnOnce(Ctx) -> Result<Reply, Problem>,
    ) -> Response {
        match self.ctx(dir, headers, peer).await {
            Ok(ctx) => {
                let index = ctx.url("directory");
                let outcome = f(ctx).await;
                self.respond(Some(index), outcome).await
            }
            Err(p) => self.respond(None, Err(p)).await,
        }
    }
}

/// `GET /acme/<dir>/directory`.
pub(crate) async fn directory(
    State(acme): State<Acme>,
    Path(dir): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let settings = acme.settings.clone();
    acme.handle(&dir, &headers, peer, async |ctx| {
        let mut meta = json!({ "externalAccountRequired": true });
        if let Some(tos) = &settings.terms_of_service {
            meta["termsOfService"] = json!(tos);
        }
        if let Some(site) = &settings.website {
            meta["website"] = json!(site);
        }
        if !settings.caa_identities.is_empty() {
            meta["caaIdentities"] = json!(settings.caa_identities);
        }
        let body = json!({
            "newNonce": ctx.url("new-nonce"),
            "newAccount": ctx.url("new-account"),
            "newOrder": ctx.url("new-order"),
            "revokeCert": ctx.url("revoke-cert"),
            "keyChange": ctx.url("key-change"),
            "renewalInfo": ctx.url("renewal-info"),
            "meta": meta,
        });
        Ok(Reply::json(StatusCode::OK, &body))
    })
    .await
}

/// `HEAD` (200) and `GET` (204) `/acme/<dir>/new-nonce`: just a fresh nonce.
pub(crate) async fn new_nonce(
    State(acme): State<Acme>,
    Path(dir): Path<String>,
    method: Method,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    acme.handle(&dir, &headers, peer, async |_ctx| {
        let status = if method == Method::HEAD { StatusCode::OK } else { StatusCode::NO_CONTENT };
        let mut r = Reply::json(status, &serde_json::Value::Null);
        r.body = axum::body::Body::empty();
        Ok(r)
    })
    .await
}
