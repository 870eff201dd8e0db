//! The signed-in user's second factor (seed 7.1.2): a TOTP secret to add to
//! an authenticator app, switched on once a code from the app confirms it,
//! and off again with a current code. Any user may protect its own login;
//! a user of an account that requires it is sent here until it has.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::layout::{page, refused};
use crate::words::Word;
use crate::{Portal, Request, SignedIn};

/// The page: the enrolment, or the way to switch it off.
pub(crate) async fn page_of(State(p): State<Portal>, SignedIn(s, lang): SignedIn) -> Response {
    let title = lang.t(Word::SecondFactor);
    let on = match p.orders.has_totp(&s.caller.login).await {
        Ok(on) => on,
        Err(e) => return refused(lang, &s, title, e),
    };
    let body = if on {
        html! {
            p id="totp-state" { (lang.t(Word::TotpOn)) }
            form class="stacked" method="post" action="/portal/second-factor" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="action" value="disable";
                label for="code" { (lang.t(Word::Code)) }
                input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6";
                button type="submit" { (lang.t(Word::TotpDisable)) }
            }
        }
    } else {
        let e = p.orders.totp_enrolment(&s.caller);
        html! {
            @if s.must_enrol { p class="warning" role="alert" id="must-enrol" { (lang.t(Word::MustEnrol)) } }
            p { (lang.t(Word::TotpHowTo)) }
            dl class="summary" {
                dt { (lang.t(Word::Secret)) } dd { code id="totp-secret" { (e.secret) } }
                dt { "URI" } dd { code id="totp-uri" { (e.uri) } }
            }
            form class="stacked" method="post" action="/portal/second-factor" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="action" value="enable";
                input type="hidden" name="secret" value=(e.secret);
                label for="code" { (lang.t(Word::Code)) }
                input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6";
                button type="submit" { (lang.t(Word::TotpEnable)) }
            }
        }
    };
    page(lang, title, Some(&s), body).into_response()
}

/// The form's fields.
#[derive(Deserialize)]
pub(crate) struct TotpForm {
    csrf: String,
    action: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

/// Switches the second factor on or off.
pub(crate) async fn change(State(p): State<Portal>, req: Request, Form(f): Form<TotpForm>) -> Response {
    let (_, s, lang) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let done = match f.action.as_str() {
        "enable" => p.orders.enable_totp(&s.caller, &f.secret, &f.code).await,
        "disable" => p.orders.disable_totp(&s.caller, &f.code).await,
        other => Err(orders::OrderError::Invalid(format!("unknown action {other:?}"))),
    };
    match done {
        Ok(()) => Redirect::to("/portal/second-factor").into_response(),
        Err(e) => refused(lang, &s, lang.t(Word::SecondFactor), e),
    }
}
