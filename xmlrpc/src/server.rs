//! The XML-RPC endpoint: one POST handler on `/xmlrpc` and the two legacy
//! paths, authentication from the first parameter, dispatch to the methods,
//! and the audit of every call (passwords and key material left out).

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use orders::{Caller, Orders, Source};
use serde::Deserialize;

use crate::fault::Fault;
use crate::{Limits, MethodCall, Value, from_value, methods, parse_call};

/// The method a request called, put in the response's extensions for the
/// gateway's metrics: its name when it exists, `unknown` when it does not,
/// `unparsed` when the body was not a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalledMethod(pub &'static str);

/// Who called and how they reached us: the client's address and the base URL
/// they used (for the URLs some answers carry).
pub(crate) struct Peer {
    pub ip: String,
    pub base: String,
}

/// The first parameter of an authenticated call; the method's own options
/// may sit beside `identification`.
#[derive(Deserialize)]
struct Authenticated {
    identification: Identification,
}

/// An API user's credentials. No `Debug`, so the password cannot reach a log.
#[derive(Deserialize, PartialEq, Eq, Hash)]
struct Identification {
    utilisateur: String,
    #[serde(rename = "motDePasse")]
    mot_de_passe: String,
}

/// The identifications checked in one request and their answers, so that a
/// `system.multicall` repeating one costs one check.
#[derive(Default)]
pub(crate) struct Logins(std::collections::HashMap<Identification, Result<Caller, Fault>>);

/// The XML-RPC front: the order core and the codec's limits.
#[derive(Clone)]
pub struct XmlRpc {
    pub(crate) orders: Orders,
    pub(crate) limits: Limits,
    public_url: Option<String>,
    trusted_proxies: Vec<proxy::IpBlock>,
}

impl XmlRpc {
    /// The front over an order core; `public_url` is the base URL clients
    /// use (else the scheme and `Host` they used).
    pub fn new(orders: Orders, limits: Limits, public_url: Option<String>) -> XmlRpc {
        XmlRpc { orders, limits, public_url, trusted_proxies: Vec::new() }
    }

    /// Believes `Forwarded` / `X-Forwarded-*` from these proxies only, for
    /// the client's address (audit, lockout) and the URLs answers carry.
    pub fn with_trusted_proxies(mut self, trusted: Vec<proxy::IpBlock>) -> XmlRpc {
        self.trusted_proxies = trusted;
        self
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
    /// in the first parameter; an identification already checked in this
    /// request gets the same answer without a second check.
    pub(crate) async fn caller(&self, params: &[Value], ip: &str, logins: &mut Logins) -> Result<Caller, Fault> {
        let first = params.first().ok_or_else(|| Fault::params("param1", "missing (it carries identification)"))?;
        let Authenticated { identification: id } = from_value(first, "param1")?;
        if let Some(known) = logins.0.get(&id) {
            return known.clone();
        }
        let answer = self.orders.authenticate(&id.utilisateur, &id.mot_de_passe, ip, Source::Xmlrpc).await;
        let answer = answer.map_err(Fault::from);
        logins.0.insert(id, answer.clone());
        answer
    }

    /// Records a refused call (or a refused request of a bulk call) in the
    /// audit log. The client gets its own fault even when the record fails:
    /// that failure is logged instead.
    pub(crate) async fn record_refusal(&self, caller: &Caller, refusal: &str) {
        if let Err(e) = self.orders.record_call(caller, refusal).await {
            tracing::warn!(error = %e, refusal, "could not record a refused call in the audit log");
        }
    }

    /// Runs one call; `nested` forbids `system.multicall` inside itself.
    pub(crate) async fn dispatch(
        &self,
        call: &MethodCall,
        peer: &Peer,
        nested: bool,
        logins: &mut Logins,
    ) -> Result<Value, Fault> {
        if let Some(r) = methods::system(self, call, peer, nested, logins).await {
            return r;
        }
        let mut caller = self.caller(&call.params, &peer.ip, logins).await?;
        // A change the call makes records the call with it, in its own
        // transaction; a read records nothing, and takes no write turn.
        caller.call = Some(format!("xmlrpc.{}", call.method));
        let outcome = methods::call(self, &caller, call, peer).await;
        if let Err(f) = &outcome {
            // A refused call changed nothing: its record is a write of its own.
            self.record_refusal(&caller, &format!("fault {}: {}", f.code, f.message)).await;
        }
        outcome
    }
}

async fn endpoint(
    State(xr): State<XmlRpc>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    https: Option<axum::Extension<proxy::Https>>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Response {
    let scheme = if https.is_some() { "https" } else { "http" };
    let view = proxy::client_view(addr, &headers, &xr.trusted_proxies, xr.public_url.as_deref(), scheme);
    let peer = Peer { ip: view.ip.to_string(), base: view.base };
    let unread = |status, message: &str| {
        let mut r = xml(crate::fault(-32700, message));
        *r.status_mut() = status;
        // The rest of the body is not read, so the connection cannot carry another request.
        r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    let limit = xr.limits.max_bytes;
    // A declared length past the limit is refused before a byte of the body is read.
    if proxy::content_length(&headers).is_some_and(|n| n > limit as u64) {
        return unread(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body exceeds {limit} bytes"));
    }
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        // Past the limit (a chunked body), too slow, or cut off: a fault, as
        // for any call that cannot be parsed.
        Err(e) => return unread(StatusCode::OK, &format!("the body could not be read: {e}")),
    };
    let (method, outcome) = match parse_call(&body, &xr.limits) {
        Ok(call) => {
            let outcome = xr.dispatch(&call, &peer, false, &mut Logins::default()).await;
            (methods::known(&call.method).unwrap_or("unknown"), outcome)
        }
        Err(e) => ("unparsed", Err(Fault::from(e))),
    };
    let mut response = xml(match outcome {
        Ok(v) => crate::response(&v),
        Err(f) => {
            metrics::counter!("certgate_xmlrpc_faults_total", "method" => method, "code" => f.code.to_string())
                .increment(1);
            crate::fault(f.code, &f.message)
        }
    });
    response.extensions_mut().insert(CalledMethod(method));
    response
}

fn xml(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    r
}
