//! The XML-RPC endpoint: one POST handler on `/xmlrpc` and the two legacy
//! paths, authentication from the first parameter, dispatch to the methods,
//! and the audit of every call (passwords and key material left out).

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use orders::{Caller, Orders, Source};

use crate::args::{Arg, string};
use crate::fault::Fault;
use crate::{Limits, MethodCall, Value, encode, methods, parse_call};

/// The XML-RPC front: the order core and the codec's limits.
#[derive(Clone)]
pub struct XmlRpc {
    pub(crate) orders: Orders,
    limits: Limits,
}

impl XmlRpc {
    /// The front over an order core.
    pub fn new(orders: Orders, limits: Limits) -> XmlRpc {
        XmlRpc { orders, limits }
    }

    /// Its routes: `/xmlrpc`, `/api-operations.php` and `/api-infos.php`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/xmlrpc", post(endpoint))
            .route("/api-operations.php", post(endpoint))
            .route("/api-infos.php", post(endpoint))
            .with_state(self)
    }

    /// Authenticates the caller from `identification {utilisateur, motDePasse}`
    /// in the first parameter.
    pub(crate) async fn caller(&self, params: &[Value], ip: &str) -> Result<Caller, Fault> {
        let first = params.first().ok_or_else(|| Fault::params("param 1", "missing (it carries identification)"))?;
        let (ident, path) = Arg { v: first, path: "param1" }.member("identification")?;
        let ident = Arg { v: &ident, path: &path };
        let (login, password) = (string(ident, "utilisateur")?, string(ident, "motDePasse")?);
        Ok(self.orders.authenticate(&login, &password, ip, Source::Xmlrpc).await?)
    }

    /// Runs one call; `nested` forbids `system.multicall` inside itself.
    pub(crate) async fn dispatch(&self, call: &MethodCall, ip: &str, nested: bool) -> Result<Value, Fault> {
        if let Some(r) = methods::system(self, call, ip, nested).await {
            return r;
        }
        let caller = self.caller(&call.params, ip).await?;
        let outcome = methods::call(self, &caller, call).await;
        let detail = match &outcome {
            Ok(_) => "ok".to_string(),
            Err(f) => format!("fault {}: {}", f.code, f.message),
        };
        let mut c = self.orders.db().acquire().await?;
        storage::audit::record(&mut c, &caller.actor(), &format!("xmlrpc.{}", call.method), &detail).await?;
        outcome
    }
}

async fn endpoint(State(xr): State<XmlRpc>, ConnectInfo(peer): ConnectInfo<SocketAddr>, body: Body) -> Response {
    let ip = peer.ip().to_string();
    let body = match axum::body::to_bytes(body, xr.limits.max_bytes).await {
        Ok(b) => b,
        Err(_) => return xml(encode::fault(-32700, &format!("the body exceeds {} bytes", xr.limits.max_bytes))),
    };
    let outcome = match parse_call(&body, &xr.limits) {
        Ok(call) => xr.dispatch(&call, &ip, false).await,
        Err(e) => Err(Fault::from(e)),
    };
    xml(match outcome {
        Ok(v) => encode::response(&v),
        Err(f) => encode::fault(f.code, &f.message),
    })
}

fn xml(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    r
}
