//! The session cookie and the CSRF checks of forms: a session is found
//! from the cookie `certgate_session` (HttpOnly, SameSite=Lax, Secure over
//! HTTPS, path `/portal/`); a form that changes something carries the
//! session's CSRF token, and the sign-in form, before any session, a token
//! that must match its own short-lived cookie.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use orders::Session;

use crate::words::Lang;
use crate::{Portal, Request};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "certgate_session";
/// The cookie of the sign-in form's token.
pub(crate) const SIGN_IN_COOKIE: &str = "certgate_sign_in";

/// The value of cookie `name` in the request, if it has one.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        // A token is base64url: anything else is no token of ours.
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A `Set-Cookie` value for `name`: HttpOnly, SameSite=Lax, path
/// `/portal/`, Secure over HTTPS; `max_age` 0 removes it.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path=/portal/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("certgate_session=; Max-Age=0"))
}

impl Portal {
    /// The live session of the request, if any.
    pub(crate) async fn session(&self, req: &Request) -> Option<(String, Session)> {
        let token = cookie(&req.headers, SESSION_COOKIE)?;
        match self.orders.session(token, &req.ip).await {
            Ok(s) => s.map(|s| (token.to_string(), s)),
            Err(e) => {
                tracing::warn!(error = %e, "a portal session could not be read");
                None
            }
        }
    }
}

impl Portal {
    /// The session of a posted form whose token is `csrf`, with its
    /// language; else the answer:
    /// the sign-in page without a session, 403 when the token does not match.
    pub(crate) async fn posted(&self, req: &Request, csrf: &str) -> Result<(String, Session, Lang), Response> {
        if !req.same_origin() {
            return Err((StatusCode::FORBIDDEN, "the form was not posted from the portal").into_response());
        }
        let Some((token, s)) = self.session(req).await else {
            return Err(Redirect::to("/portal/sign-in").into_response());
        };
        if !csrf_ok(csrf, &s.csrf) {
            return Err((StatusCode::FORBIDDEN, "the form's token does not match the session").into_response());
        }
        let lang = Lang::parse(&s.language);
        Ok((token, s, lang))
    }
}

/// Whether a form's token matches the expected one.
pub(crate) fn csrf_ok(sent: &str, expected: &str) -> bool {
    !expected.is_empty() && orders::same_token(sent, expected)
}
