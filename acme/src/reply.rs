//! The answer every ACME request gets: its body and status, and the headers
//! every answer carries (`Replay-Nonce`, `Link: index`, `Cache-Control`),
//! problem documents included.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::Acme;
use crate::problem::Problem;

/// A successful ACME answer, before the common headers are added.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Body,
    pub content_type: &'static str,
    pub location: Option<String>,
    pub retry_after: Option<u64>,
    pub links: Vec<String>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: StatusCode, v: &Value) -> Reply {
        Reply {
            status,
            body: Body::from(v.to_string()),
            content_type: "application/json",
            location: None,
            retry_after: None,
            links: Vec::new(),
        }
    }

    /// Adds a `Location` header.
    pub fn location(mut self, url: String) -> Reply {
        self.location = Some(url);
        self
    }
}

impl Acme {
    /// Turns an outcome into the HTTP response, with a fresh nonce and the
    /// directory link on success and on error alike.
    pub(crate) async fn respond(&self, dir_url: Option<String>, outcome: Result<Reply, Problem>) -> Response {
        let mut reply = match outcome {
            Ok(r) => r,
            Err(p) => {
                let mut r = Reply::json(p.status, &p.body());
                r.content_type = "application/problem+json";
                r.retry_after = p.retry_after;
                r
            }
        };
        if let Some(d) = dir_url {
            reply.links.push(format!("<{d}>;rel=\"index\""));
        }
        let mut resp = (reply.status, reply.body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self.nonce() {
            Ok(n) => {
                if let Ok(v) = HeaderValue::from_str(&n) {
                    h.insert("replay-nonce", v);
                }
            }
            Err(p) => tracing::warn!(detail = %p.detail, "could not issue a nonce"),
        }
        if let Some(loc) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            h.insert(header::LOCATION, loc);
        }
        if let Some(secs) = reply.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        for link in reply.links {
            if let Ok(v) = HeaderValue::from_str(&link) {
                h.append(header::LINK, v);
            }
        }
        resp
    }
}

/// Formats UTC Unix seconds as RFC 3339, as ACME objects carry times.
pub(crate) fn rfc3339(ts: i64) -> String {
    orders::iso(ts)
}
