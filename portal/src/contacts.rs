//! The account's contact points and warning levels (seed 7.2.3): who is
//! told of deliveries, expiries and money (one address and language per
//! role; administrative right), and the deposit or token balance below which
//! the account is warned (billing right). Each part shows only with its
//! right; each change goes through the order core, which checks it.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use orders::{CONTACT_ROLES, Ledger, Right, Session, format_money, parse_money};
use serde::Deserialize;

use crate::account::tabs;
use crate::layout::{page, refused};
use crate::words::{Lang, Word};
use crate::{Portal, Request, SignedIn};

/// The page.
pub(crate) async fn page_of(State(p): State<Portal>, SignedIn(s, lang): SignedIn) -> Response {
    let title = lang.t(Word::Contacts);
    let rights = s.caller.rights;
    if !rights.has(Right::Administrative) && !rights.has(Right::Billing) {
        return refused(lang, &s, title, orders::OrderError::Forbidden(Right::Administrative));
    }
    let contacts = if rights.has(Right::Administrative) {
        match p.orders.contacts(&s.caller).await {
            Ok(c) => Some(c),
            Err(e) => return refused(lang, &s, title, e),
        }
    } else {
        None
    };
    let levels = if rights.has(Right::Billing) {
        match p.orders.warning_levels(&s.caller).await {
            Ok(l) => Some(l),
            Err(e) => return refused(lang, &s, title, e),
        }
    } else {
        None
    };
    let body = html! {
        (tabs(lang, "contacts"))
        @if let Some(contacts) = contacts {
            section aria-labelledby="contacts" {
                h2 id="contacts" { (lang.t(Word::Contacts)) }
                @if contacts.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                    div class="table" { table id="contacts-table" {
                        thead { tr { th scope="col" { (lang.t(Word::Role)) } th scope="col" { "E-mail" } th scope="col" { (lang.t(Word::Language)) } } }
                        tbody { @for c in &contacts { tr { td { (c.role) } td { (c.email) } td { (c.language) } } } }
                    } }
                }
                (contact_form(lang, &s))
            }
        }
        @if let Some(levels) = levels {
            section aria-labelledby="levels" {
                h2 id="levels" { (lang.t(Word::WarningLevels)) }
                @if levels.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                    div class="table" { table id="levels-table" {
                        thead { tr { th scope="col" { (lang.t(Word::Ledger)) } th scope="col" { (lang.t(Word::Item)) } th scope="col" class="num" { (lang.t(Word::Level)) } } }
                        tbody { @for (l, item, level) in &levels { tr {
                            td { (l.as_str()) } td { (item) }
                            td class="num" { @if *l == Ledger::Deposit { (format_money(*level)) } @else { (level) } }
                        } } }
                    } }
                }
                (level_form(lang, &s))
            }
        }
    };
    page(lang, title, Some(&s), body).into_response()
}

fn contact_form(lang: Lang, s: &Session) -> Markup {
    html! {
        form class="stacked" method="post" action="/portal/account/contacts" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="role" { (lang.t(Word::Role)) }
            select id="role" name="role" { @for r in CONTACT_ROLES { option value=(r) { (r) } } }
            label for="email" { "E-mail" }
            input type="email" id="email" name="email" required maxlength="254";
            label for="contact-language" { (lang.t(Word::Language)) }
            select id="contact-language" name="language" {
                option value="en" selected[lang == Lang::En] { "English" }
                option value="fr" selected[lang == Lang::Fr] { "Français" }
            }
            button type="submit" { (lang.t(Word::SetContact)) }
        }
    }
}

fn level_form(lang: Lang, s: &Session) -> Markup {
    html! {
        form class="stacked" method="post" action="/portal/account/warning-level" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="level-ledger" { (lang.t(Word::Ledger)) }
            select id="level-ledger" name="ledger" {
                option value="deposit" { (lang.t(Word::Deposit)) }
                option value="tokens" { (lang.t(Word::Tokens)) }
            }
            label for="level-item" { (lang.t(Word::ItemForTokens)) }
            input id="level-item" name="item" maxlength="50";
            label for="level" { (lang.t(Word::LevelHowTo)) }
            input id="level" name="level" required maxlength="20" inputmode="decimal";
            button type="submit" { (lang.t(Word::SetLevel)) }
        }
    }
}

/// The contact form's fields.
#[derive(Deserialize)]
pub(crate) struct ContactForm {
    csrf: String,
    role: String,
    email: String,
    language: String,
}

/// Sets the contact of a role.
pub(crate) async fn set_contact(State(p): State<Portal>, req: Request, Form(f): Form<ContactForm>) -> Response {
    let (_, s, lang) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    match p.orders.set_contact(&s.caller, &f.role, f.email.trim(), &f.language).await {
        Ok(()) => Redirect::to("/portal/account/contacts").into_response(),
        Err(e) => refused(lang, &s, lang.t(Word::Contacts), e),
    }
}

/// The warning level form's fields.
#[derive(Deserialize)]
pub(crate) struct LevelForm {
    csrf: String,
    ledger: String,
    #[serde(default)]
    item: String,
    level: String,
}

/// Sets (or, at 0, removes) a warning level.
pub(crate) async fn set_level(State(p): State<Portal>, req: Request, Form(f): Form<LevelForm>) -> Response {
    let (_, s, lang) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let title = lang.t(Word::WarningLevels);
    let invalid = |why: String| refused(lang, &s, title, orders::OrderError::Invalid(why));
    let (ledger, item, level) = match Ledger::parse(&f.ledger) {
        // The deposit's level is money; a token level counts tokens.
        Some(Ledger::Deposit) => match parse_money(f.level.trim()) {
            Some(v) => (Ledger::Deposit, None, v),
            None => return invalid(format!("{}: {}", lang.t(Word::Level), f.level)),
        },
        Some(Ledger::Tokens) => match f.level.trim().parse::<i64>() {
            Ok(v) => (Ledger::Tokens, Some(f.item.trim()).filter(|i| !i.is_empty()), v),
            Err(_) => return invalid(format!("{}: {}", lang.t(Word::Level), f.level)),
        },
        _ => return invalid(format!("{}: {}", lang.t(Word::Ledger), f.ledger)),
    };
    match p.orders.set_warning_level(&s.caller, ledger, item, level).await {
        Ok(()) => Redirect::to("/portal/account/contacts").into_response(),
        Err(e) => refused(lang, &s, title, e),
    }
}
