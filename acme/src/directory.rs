//! The directory of an ACME URL and its nonce resource.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use orders::acme::AcmeNames as Names;
use serde_json::json;

use crate::Acme;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::request::{AcmeRequest, Ctx, Head, KeyMode, Signed};

impl Acme {
    /// Resolves the directory of a request, runs `f`, and answers with the
    /// common headers; errors become problem documents.
    pub(crate) async fn handle(&self, head: &Head, f: impl AsyncFnOnce(Ctx) -> Result<Reply, Problem>) -> Response {
        match self.ctx(head).await {
            Ok(ctx) => {
                let index = ctx.url("directory");
                let outcome = f(ctx).await;
                self.respond(Some(index), outcome).await
            }
            Err(p) => self.respond(None, Err(p)).await,
        }
    }

    /// As [`Acme::handle`], for a signed request: its JWS is checked first
    /// (nonce, `url`, key of `mode`, signature), then `f` runs.
    pub(crate) async fn signed(
        &self,
        req: AcmeRequest,
        mode: KeyMode,
        f: impl AsyncFnOnce(Ctx, Signed) -> Result<Reply, Problem>,
    ) -> Response {
        self.signed_naming(req, mode, Names::Nothing, f).await
    }

    /// As [`Acme::signed`], for a request whose URL `names` a resource of the
    /// account that signs it: `f` finds it in [`Signed::owned`], read with
    /// the account.
    pub(crate) async fn signed_naming(
        &self,
        req: AcmeRequest,
        mode: KeyMode,
        names: Names,
        f: impl AsyncFnOnce(Ctx, Signed) -> Result<Reply, Problem>,
    ) -> Response {
        let AcmeRequest { head, body } = req;
        self.handle(&head, async |ctx| {
            let signed = self.verify(&ctx, &head.path, &head.headers, body, mode, names).await?;
            f(ctx, signed).await
        })
        .await
    }
}

/// `GET /acme/<dir>/directory`.
pub(crate) async fn directory(State(acme): State<Acme>, req: AcmeRequest) -> Response {
    let settings = acme.settings.clone();
    acme.handle(&req.head, async |ctx| {
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
pub(crate) async fn new_nonce(State(acme): State<Acme>, method: Method, req: AcmeRequest) -> Response {
    acme.handle(&req.head, async |_ctx| {
        let status = if method == Method::HEAD { StatusCode::OK } else { StatusCode::NO_CONTENT };
        let mut r = Reply::json(status, &serde_json::Value::Null);
        r.body = axum::body::Body::empty();
        Ok(r)
    })
    .await
}
