//! The users of the account (seed 7.1, 7.1.3; administrative right): the
//! list with each user's kind, rights and state; creating a web or API user
//! (with a password given, or one made and shown once); and per user:
//! changing rights, suspending or restoring, unlocking, resetting the
//! password (the new one shown once), clearing a lost second factor and
//! deleting (once a box confirms it); and requiring a second factor of
//! every user (seed 7.1.2).

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use orders::{OrderError, Right, Rights, Session, User, UserKind};

use crate::forms::day;
use crate::layout::{page, refused};
use crate::words::{Lang, Word};
use crate::{Portal, Request, SignedIn};

/// The list and the forms.
pub(crate) async fn list(State(p): State<Portal>, SignedIn(s, lang): SignedIn) -> Response {
    let title = lang.t(Word::Users);
    let (users, required) = match p.orders.users(&s.caller).await {
        Ok(users) => match p.orders.second_factor_required(&s.caller).await {
            Ok(required) => (users, required),
            Err(e) => return refused(lang, &s, title, e),
        },
        Err(e) => return refused(lang, &s, title, e),
    };
    let body = html! {
        section aria-labelledby="users" {
            h2 id="users" { (lang.t(Word::Users)) }
            div class="table" { table id="users-table" {
                thead { tr {
                    th scope="col" { (lang.t(Word::Login)) } th scope="col" { (lang.t(Word::Kind)) }
                    th scope="col" { (lang.t(Word::Rights)) } th scope="col" { (lang.t(Word::State)) }
                    th scope="col" { (lang.t(Word::SecondFactor)) } th scope="col" { (lang.t(Word::Created)) }
                } }
                tbody { @for u in &users { tr {
                    td { (u.login) } td { (u.kind.as_str()) } td { (u.rights.to_string()) }
                    td { (state(lang, u)) } td { (lang.t(if u.second_factor { Word::On } else { Word::Off })) }
                    td { (day(u.created_at)) }
                } } }
            } }
        }
        section aria-labelledby="second-factor" {
            h2 id="second-factor" { (lang.t(Word::SecondFactor)) }
            p id="second-factor-rule" {
                (lang.t(if required { Word::SecondFactorRequired } else { Word::SecondFactorOptional }))
            }
            form method="post" action="/portal/users/action" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="action" value=(if required { "relax_totp" } else { "require_totp" });
                button type="submit" { (lang.t(if required { Word::RelaxSecondFactor } else { Word::RequireSecondFactor })) }
            }
        }
        @for u in users.iter().filter(|u| u.login != s.caller.login) { (user_forms(lang, &s, u)) }
        (create_form(lang, &s))
    };
    page(lang, title, Some(&s), body).into_response()
}

fn state(lang: Lang, u: &User) -> &'static str {
    match (u.suspended, u.locked) {
        (true, _) => lang.t(Word::Suspended),
        (false, true) => lang.t(Word::LockedState),
        (false, false) => lang.t(Word::Active),
    }
}

/// Checkboxes of the rights, ticked as in `rights`, ids prefixed with `prefix`.
fn rights_boxes(lang: Lang, prefix: &str, rights: Rights) -> Markup {
    html! {
        fieldset {
            legend { (lang.t(Word::Rights)) }
            @for r in Right::ALL {
                @let id = format!("{prefix}-{}", r.as_str());
                label for=(id) class="check" {
                    input type="checkbox" id=(id) name={ "right_" (r.as_str()) } value="on" checked[rights.has(r)];
                    " " (r.as_str())
                }
            }
        }
    }
}

fn user_forms(lang: Lang, s: &Session, u: &User) -> Markup {
    let prefix = format!("u-{}", u.login);
    let button = |action: &str, word: Word| {
        html! {
            form method="post" action="/portal/users/action" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="login" value=(u.login);
                input type="hidden" name="action" value=(action);
                button type="submit" { (lang.t(word)) }
            }
        }
    };
    html! {
        section class="user" aria-label=(u.login) {
            h2 { (u.login) }
            form class="stacked" method="post" action="/portal/users/action" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="login" value=(u.login);
                input type="hidden" name="action" value="rights";
                (rights_boxes(lang, &prefix, u.rights))
                button type="submit" { (lang.t(Word::SaveRights)) }
            }
            div class="buttons" {
                @if u.suspended { (button("restore", Word::Restore)) } @else { (button("suspend", Word::Suspend)) }
                @if u.locked { (button("unlock", Word::Unlock)) }
                (button("reset", Word::ResetPassword))
                @if u.second_factor { (button("reset_totp", Word::ClearSecondFactor)) }
            }
            form class="action" method="post" action="/portal/users/action" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="login" value=(u.login);
                input type="hidden" name="action" value="delete";
                label class="check" { input type="checkbox" name="confirm" value="yes" required; " " (lang.t(Word::ConfirmDelete)) }
                button type="submit" { (lang.t(Word::Delete)) }
            }
        }
    }
}

fn create_form(lang: Lang, s: &Session) -> Markup {
    html! {
        section aria-labelledby="new-user" {
            h2 id="new-user" { (lang.t(Word::NewUser)) }
            form class="stacked" method="post" action="/portal/users" {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="new-login" { (lang.t(Word::Login)) }
                input id="new-login" name="login" required maxlength="128" autocomplete="off";
                label for="new-kind" { (lang.t(Word::Kind)) }
                select id="new-kind" name="kind" {
                    option value="web" { (lang.t(Word::WebUser)) }
                    option value="api" { (lang.t(Word::ApiUser)) }
                }
                (rights_boxes(lang, "new", Rights::default()))
                label for="new-password" { (lang.t(Word::PasswordOptional)) }
                input type="password" id="new-password" name="password" maxlength="1024" autocomplete="new-password";
                button type="submit" { (lang.t(Word::Create)) }
            }
        }
    }
}

/// The rights ticked in a form.
fn ticked(f: &HashMap<String, String>) -> Rights {
    Right::ALL.into_iter().filter(|r| f.contains_key(&format!("right_{}", r.as_str()))).collect()
}

fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> &'a str {
    f.get(name).map(String::as_str).unwrap_or_default()
}

/// Shows a password made for a user, this once.
fn password_page(lang: Lang, s: &Session, login: &str, password: &str) -> Response {
    let body = html! {
        p class="warning" role="alert" { (lang.t(Word::PasswordShownOnce)) }
        dl class="summary" {
            dt { (lang.t(Word::Login)) } dd { code id="new-user-login" { (login) } }
            dt { (lang.t(Word::Password)) } dd { code id="new-user-password" { (password) } }
        }
        p { a href="/portal/users" { (lang.t(Word::Users)) } }
    };
    page(lang, lang.t(Word::Users), Some(s), body).into_response()
}

/// Creates a user.
pub(crate) async fn create(State(p): State<Portal>, req: Request, Form(f): Form<HashMap<String, String>>) -> Response {
    let (_, s, lang) = match p.posted(&req, field(&f, "csrf")).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let title = lang.t(Word::Users);
    let login = field(&f, "login").trim();
    let Some(kind) = UserKind::parse(field(&f, "kind")).filter(|k| *k != UserKind::Both) else {
        return refused(lang, &s, title, OrderError::Invalid("kind: web or api".into()));
    };
    let password = Some(field(&f, "password")).filter(|p| !p.is_empty());
    match p.orders.create_user_of_kind(&s.caller, login, password, ticked(&f), kind).await {
        Ok(Some(made)) => password_page(lang, &s, login, &made),
        Ok(None) => Redirect::to("/portal/users").into_response(),
        Err(e) => refused(lang, &s, title, e),
    }
}

/// One action on a user.
pub(crate) async fn act(State(p): State<Portal>, req: Request, Form(f): Form<HashMap<String, String>>) -> Response {
    let (_, s, lang) = match p.posted(&req, field(&f, "csrf")).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let (c, o, login) = (&s.caller, &p.orders, field(&f, "login"));
    let done = match field(&f, "action") {
        "rights" => o.set_user_rights(c, login, ticked(&f)).await,
        "suspend" => o.set_user_suspended(c, login, true).await,
        "restore" => o.set_user_suspended(c, login, false).await,
        "unlock" => o.unlock_account_user(c, login).await,
        "reset_totp" => o.reset_second_factor(c, login).await,
        "require_totp" => o.set_second_factor_required(c, true).await,
        "relax_totp" => o.set_second_factor_required(c, false).await,
        "delete" if field(&f, "confirm") == "yes" => o.delete_user(c, login).await,
        "delete" => Err(OrderError::Invalid(lang.t(Word::ConfirmDelete).to_string())),
        "reset" => {
            return match o.reset_password(c, login).await {
                Ok(password) => password_page(lang, &s, login, &password),
                Err(e) => refused(lang, &s, lang.t(Word::Users), e),
            };
        }
        other => Err(OrderError::Invalid(format!("unknown action {other:?}"))),
    };
    match done {
        Ok(()) => Redirect::to("/portal/users").into_response(),
        Err(e) => refused(lang, &s, lang.t(Word::Users), e),
    }
}
