//! ACME URLs (seed 6.8.2): the account's URLs with their credentials
//! masked, a form to create one for a product and an organisation, whose
//! KID and HMAC key are shown once with the certbot command ready to copy,
//! and revoking one. The administrative right, as the order core requires.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use orders::{OrderError, Session};
use serde::Deserialize;

use crate::layout::{page, refused};
use crate::words::{Lang, Word};
use crate::{Portal, Request, SignedIn};

/// The list and the creation form.
pub(crate) async fn list(State(p): State<Portal>, req: Request, SignedIn(s, lang): SignedIn) -> Response {
    match list_page(&p, &req, &s, lang).await {
        Ok(body) => page(lang, lang.t(Word::AcmeUrls), Some(&s), body).into_response(),
        Err(e) => refused(lang, &s, lang.t(Word::AcmeUrls), e),
    }
}

async fn list_page(p: &Portal, req: &Request, s: &Session, lang: Lang) -> Result<Markup, OrderError> {
    let urls = p.orders.acme_urls(&s.caller).await?;
    let products = p.orders.products().await?;
    let organisations = p.orders.organisations(&s.caller).await?;
    Ok(html! {
        section aria-labelledby="create" {
            h2 id="create" { (lang.t(Word::CreateAcmeUrl)) }
            form class="stacked" method="post" action="/portal/acme-urls" {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="name" { (lang.t(Word::Label)) }
                input id="name" name="name" maxlength="100";
                label for="product" { (lang.t(Word::Product)) }
                select id="product" name="product" required {
                    @for pr in &products { option value=(pr.code) { (pr.code) " · " (pr.name) } }
                }
                label for="organisation" { (lang.t(Word::Organisation)) }
                select id="organisation" name="organisation" required {
                    @for o in &organisations { option value=(o.id) { (o.name) } }
                }
                button type="submit" { (lang.t(Word::Create)) }
            }
        }
        section aria-labelledby="urls" {
            h2 id="urls" { (lang.t(Word::AcmeUrls)) }
            @if urls.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="table" { table {
                    thead { tr {
                        th scope="col" { (lang.t(Word::Label)) } th scope="col" { (lang.t(Word::Product)) }
                        th scope="col" { "Directory" } th scope="col" { "KID" } th scope="col" { "HMAC" }
                        th scope="col" { (lang.t(Word::Status)) } th scope="col" { span class="hidden" { (lang.t(Word::Revoke)) } }
                    } }
                    tbody { @for u in &urls { tr {
                        td { (u.name) } td { (u.product_code) }
                        td { code { (req.origin) "/acme/" (u.path) "/directory" } }
                        td { code { (u.kid_masked) } } td { code { (u.hmac_masked) } }
                        td { (if u.revoked { lang.t(Word::Revoked) } else { lang.t(Word::Active) }) }
                        td { @if !u.revoked {
                            form method="post" action="/portal/acme-urls/revoke" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                input type="hidden" name="id" value=(u.id);
                                button type="submit" { (lang.t(Word::Revoke)) }
                            }
                        } }
                    } } }
                } }
            }
        }
    })
}

/// The creation form's fields.
#[derive(Deserialize)]
pub(crate) struct Create {
    csrf: String,
    #[serde(default)]
    name: String,
    product: String,
    organisation: i64,
}

/// Creates an ACME URL and shows its credentials, this once.
pub(crate) async fn create(State(p): State<Portal>, req: Request, Form(f): Form<Create>) -> Response {
    let (_, s) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let lang = Lang::parse(&s.language);
    let c = match p.orders.create_acme_url(&s.caller, &f.name, &f.product, f.organisation).await {
        Ok(c) => c,
        Err(e) => return refused(lang, &s, lang.t(Word::AcmeUrls), e),
    };
    let directory = format!("{}/acme/{}/directory", req.origin, c.path);
    let certbot = format!(
        "certbot certonly --register-unsafely-without-email --agree-tos -n --eab-kid={} --eab-hmac-key={} \
         --key-type rsa --server {directory} --standalone -d www.example.com",
        c.kid, c.hmac_key
    );
    let body = html! {
        p class="warning" role="alert" { (lang.t(Word::ShownOnce)) }
        dl {
            dt { "Directory" } dd { code id="directory" { (directory) } }
            dt { "EAB KID" } dd { code id="kid" { (c.kid) } }
            dt { "EAB HMAC" } dd { code id="hmac" { (c.hmac_key) } }
        }
        h2 { "certbot" }
        pre { code id="certbot" { (certbot) } }
        p { a href="/portal/acme-urls" { (lang.t(Word::AcmeUrls)) } }
    };
    page(lang, lang.t(Word::AcmeUrlCreated), Some(&s), body).into_response()
}

/// The revocation form's fields.
#[derive(Deserialize)]
pub(crate) struct Revoke {
    csrf: String,
    id: i64,
}

/// Revokes an ACME URL for good.
pub(crate) async fn revoke(State(p): State<Portal>, req: Request, Form(f): Form<Revoke>) -> Response {
    let (_, s) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    match p.orders.revoke_acme_url(&s.caller, f.id).await {
        Ok(()) => Redirect::to("/portal/acme-urls").into_response(),
        Err(e) => refused(Lang::parse(&s.language), &s, Lang::parse(&s.language).t(Word::AcmeUrls), e),
    }
}
