//! Signing in and out, and choosing the language. Sign-in runs the same
//! checks as every front (`orders::Orders::sign_in`): wrong passwords here
//! and over XML-RPC count together towards the lockout.

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use orders::OrderError;
use serde::Deserialize;

use crate::layout::page;
use crate::session::{SESSION_COOKIE, SIGN_IN_COOKIE, cookie, csrf_ok, set_cookie};
use crate::words::{Lang, Word};
use crate::{Portal, Request};

/// The sign-in form, with a fresh token in its cookie and in the form.
pub(crate) async fn form(req: Request) -> Response {
    let lang = Lang::from_accept(req.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    sign_in_page(lang, &req, None, StatusCode::OK)
}

fn sign_in_page(lang: Lang, req: &Request, error: Option<&str>, status: StatusCode) -> Response {
    let token = orders::new_token();
    let body: Markup = html! {
        @if let Some(e) = error { p class="error" role="alert" { (e) } }
        form class="sign-in" method="post" action="/portal/sign-in" {
            input type="hidden" name="csrf" value=(token);
            label for="login" { (lang.t(Word::Login)) }
            input id="login" name="login" autocomplete="username" required maxlength="100";
            label for="password" { (lang.t(Word::Password)) }
            input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024";
            label for="code" { (lang.t(Word::TotpCode)) }
            input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{6}";
            button type="submit" { (lang.t(Word::SignIn)) }
        }
    };
    let cookie = set_cookie(SIGN_IN_COOKIE, &token, 900, req.https);
    (status, [(header::SET_COOKIE, cookie)], page(lang, lang.t(Word::SignIn), None, body)).into_response()
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub(crate) struct SignIn {
    csrf: String,
    login: String,
    password: String,
    /// The second-factor code, for a user who enrolled one.
    #[serde(default)]
    code: String,
}

/// Signs in: a new session and its cookie, then the home page.
pub(crate) async fn submit(State(p): State<Portal>, req: Request, Form(f): Form<SignIn>) -> Response {
    let lang = Lang::from_accept(req.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let expected = cookie(&req.headers, SIGN_IN_COOKIE).unwrap_or("");
    if !req.same_origin() || !csrf_ok(&f.csrf, expected) {
        return (StatusCode::FORBIDDEN, "the form's token does not match: reload the sign-in page").into_response();
    }
    match p.orders.sign_in(&f.login, &f.password, &f.code, &req.ip, lang.as_str()).await {
        Ok((token, _)) => {
            let max_age = p.orders.settings().portal_session_secs;
            // Two cookies: appended, as an array of headers would keep the last only.
            (
                AppendHeaders([
                    (header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, max_age, req.https)),
                    (header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", 0, req.https)),
                ]),
                Redirect::to("/portal/"),
            )
                .into_response()
        }
        Err(e) => {
            let (status, word) = match e {
                OrderError::Locked(_) => (StatusCode::FORBIDDEN, Word::Locked),
                OrderError::NotAdmitted { .. } => (StatusCode::FORBIDDEN, Word::NotAdmitted),
                // Not told apart from a wrong password: the answer must not
                // confirm a password to someone without the code.
                OrderError::BadSecondFactor => (StatusCode::UNAUTHORIZED, Word::BadCredentials),
                OrderError::Busy | OrderError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, Word::Busy),
                OrderError::BadCredentials => (StatusCode::UNAUTHORIZED, Word::BadCredentials),
                other => {
                    tracing::error!(error = %other, "portal sign-in failed");
                    return (StatusCode::INTERNAL_SERVER_ERROR, "internal error; try again later").into_response();
                }
            };
            sign_in_page(lang, &req, Some(lang.t(word)), status)
        }
    }
}

/// The fields of a form that only carries its CSRF token.
#[derive(Deserialize)]
pub(crate) struct Csrf {
    csrf: String,
}

/// Signs out: the session ends, its cookie goes.
pub(crate) async fn sign_out(State(p): State<Portal>, req: Request, Form(f): Form<Csrf>) -> Response {
    let (token, s, _) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    if let Err(e) = p.orders.sign_out(&s.caller, &token).await {
        tracing::error!(error = %e, "portal sign-out failed");
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error; try again later").into_response();
    }
    ([(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, req.https))], Redirect::to("/portal/sign-in"))
        .into_response()
}

/// The language form's fields.
#[derive(Deserialize)]
pub(crate) struct Language {
    csrf: String,
    language: String,
}

/// Sets the session's language.
pub(crate) async fn language(State(p): State<Portal>, req: Request, Form(f): Form<Language>) -> Response {
    let (token, _, _) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    match p.orders.set_session_language(&token, &f.language).await {
        Ok(()) => Redirect::to("/portal/").into_response(),
        Err(OrderError::Invalid(_)) => (StatusCode::BAD_REQUEST, "unknown language").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "portal language change failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error; try again later").into_response()
        }
    }
}
