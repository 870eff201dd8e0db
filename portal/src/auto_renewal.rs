//! Automatic renewal (seed 5.7): the account's certificates that can renew
//! (not those of ACME, whose clients renew them), soonest to expire first,
//! each with its renewal date or "manual"; select several and switch them
//! on or off in one change, all or none, as the order core does it.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::forms::{day, order_path};
use crate::layout::{page, refused, status_label};
use crate::words::Word;
use crate::{Portal, Request, SignedIn};

/// The prefix of a certificate's checkbox: `order:<reference>`.
const PICK: &str = "order:";

/// The list, with a checkbox per certificate.
pub(crate) async fn list(State(p): State<Portal>, SignedIn(s, lang): SignedIn) -> Response {
    let title = lang.t(Word::AutoRenewal);
    let list = match p.orders.auto_renewals(&s.caller).await {
        Ok(list) => list,
        Err(e) => return refused(lang, &s, title, e),
    };
    let body = html! {
        p { (lang.t(Word::AutoRenewalHowTo)) }
        @if list.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
            form method="post" action="/portal/auto-renewal" {
                input type="hidden" name="csrf" value=(s.csrf);
                div class="table" { table {
                    thead { tr {
                        th scope="col" { span class="hidden" { (lang.t(Word::Select)) } }
                        th scope="col" { (lang.t(Word::Reference)) } th scope="col" { (lang.t(Word::Name)) }
                        th scope="col" { (lang.t(Word::Status)) } th scope="col" { (lang.t(Word::Expires)) }
                        th scope="col" { (lang.t(Word::RenewsOn)) }
                    } }
                    tbody { @for a in &list {
                        @let r = a.order.public_reference();
                        @let id = format!("pick-{r}");
                        tr {
                            td { input type="checkbox" id=(id) name={ (PICK) (r) } value="on"; }
                            td { label for=(id) { a href=(order_path(&r)) { (r) } } }
                            td { (a.order.cn) } td { (status_label(lang, a.order.status)) }
                            td { (day(a.not_after)) }
                            td class="renews" {
                                @match (a.renewed, a.renews_at) {
                                    (true, _) => { (lang.t(Word::Renewed)) }
                                    (false, Some(at)) => { (day(at)) }
                                    (false, None) => { (lang.t(Word::Manual)) }
                                }
                            }
                        }
                    } }
                } }
                div class="buttons" {
                    button type="submit" name="switch" value="on" { (lang.t(Word::AutoRenewOn)) }
                    button type="submit" name="switch" value="off" { (lang.t(Word::AutoRenewOff)) }
                }
            }
        }
    };
    page(lang, title, Some(&s), body).into_response()
}

/// Switches the selected certificates on or off, all or none.
pub(crate) async fn switch(State(p): State<Portal>, req: Request, Form(f): Form<HashMap<String, String>>) -> Response {
    let csrf = f.get("csrf").map(String::as_str).unwrap_or_default();
    let (_, s, lang) = match p.posted(&req, csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let mut picked: Vec<String> = f.keys().filter_map(|k| k.strip_prefix(PICK)).map(str::to_string).collect();
    picked.sort();
    let on = match f.get("switch").map(String::as_str) {
        Some("on") => true,
        Some("off") => false,
        _ => return refused(lang, &s, lang.t(Word::AutoRenewal), invalid("switch: on or off")),
    };
    if picked.is_empty() {
        return refused(lang, &s, lang.t(Word::AutoRenewal), invalid(lang.t(Word::SelectSome)));
    }
    match p.orders.set_auto_renew(&s.caller, &picked, on).await {
        Ok(_) => Redirect::to("/portal/auto-renewal").into_response(),
        Err(e) => refused(lang, &s, lang.t(Word::AutoRenewal), e),
    }
}

fn invalid(why: &str) -> orders::OrderError {
    orders::OrderError::Invalid(why.to_string())
}
