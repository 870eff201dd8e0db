//! ACME URLs (seed 6.8.2): the account's URLs with their credentials
//! masked, a form to create one for a product and an organisation, whose
//! KID and HMAC key are shown once with the certbot command ready to copy,
//! revoking one, and the ACME orders made through each. The administrative
//! right, as the order core requires.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use orders::{AcmeUrlOrder, OrderError, Session};
use serde::Deserialize;

use crate::forms::{day, order_path};
use crate::layout::{page, refused, status_label};
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
                        td { a href={ "/portal/acme-urls/" (u.id) } { (u.name) } } td { (u.product_code) }
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

/// ACME orders on one page of an ACME URL's.
const ORDER_ROWS: i64 = 50;

/// Where a page of an ACME URL's orders starts: below this ACME order number.
#[derive(Deserialize)]
pub(crate) struct Before {
    before: Option<i64>,
}

/// One ACME URL, and the ACME orders made through it, newest first.
pub(crate) async fn show(
    State(p): State<Portal>,
    req: Request,
    SignedIn(s, lang): SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<Before>,
) -> Response {
    // One row more than shown says whether there is an older page.
    let (url, mut list) = match p.orders.acme_url_orders(&s.caller, id, q.before, ORDER_ROWS + 1).await {
        Ok(found) => found,
        Err(e) => return refused(lang, &s, lang.t(Word::AcmeOrders), e),
    };
    let more = list.len() as i64 > ORDER_ROWS;
    list.truncate(ORDER_ROWS as usize);
    let body = html! {
        dl {
            dt { (lang.t(Word::Product)) } dd { (url.product_code) }
            dt { "Directory" } dd { code { (req.origin) "/acme/" (url.path) "/directory" } }
            dt { "KID" } dd { code { (url.kid_masked) } }
            dt { "HMAC" } dd { code { (url.hmac_masked) } }
            dt { (lang.t(Word::Status)) } dd { (if url.revoked { lang.t(Word::Revoked) } else { lang.t(Word::Active) }) }
        }
        section aria-labelledby="acme-orders" {
            h2 id="acme-orders" { (lang.t(Word::AcmeOrders)) }
            (orders_table(lang, &list))
            nav class="pages" aria-label=(lang.t(Word::Pages)) {
                @if q.before.is_some() { a href={ "/portal/acme-urls/" (url.id) } { "← " (lang.t(Word::Newest)) } }
                @if let (true, Some(last)) = (more, list.last()) {
                    a href={ "/portal/acme-urls/" (url.id) "?before=" (last.id) } { (lang.t(Word::Older)) " →" }
                }
            }
        }
        p { a href="/portal/acme-urls" { (lang.t(Word::AcmeUrls)) } }
    };
    page(lang, &url.name, Some(&s), body).into_response()
}

fn orders_table(lang: Lang, list: &[AcmeUrlOrder]) -> Markup {
    html! {
        @if list.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
            div class="table" { table {
                thead { tr {
                    th scope="col" { (lang.t(Word::AcmeOrder)) } th scope="col" { (lang.t(Word::Names)) }
                    th scope="col" { (lang.t(Word::AcmeStatus)) } th scope="col" { (lang.t(Word::Placed)) }
                    th scope="col" { (lang.t(Word::Order)) } th scope="col" { (lang.t(Word::Status)) }
                    th scope="col" { (lang.t(Word::AcmeAccount)) }
                } }
                tbody { @for o in list { tr {
                    td { (o.id) }
                    td { @for (i, n) in o.names.iter().enumerate() { @if i > 0 { br; } (n) } }
                    td {
                        (o.status)
                        @if let Some(why) = &o.error { br; small { (why) } }
                    }
                    td { (day(o.created_at)) }
                    td { @if let Some(r) = &o.order_reference { a href=(order_path(r)) { (r) } } }
                    td { @if let Some(st) = o.order_status { (status_label(lang, st)) } }
                    td { (o.acme_account_id) }
                } } }
            } }
        }
    }
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
    let (_, s, lang) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
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
    let (_, s, lang) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    match p.orders.revoke_acme_url(&s.caller, f.id).await {
        Ok(()) => Redirect::to("/portal/acme-urls").into_response(),
        Err(e) => refused(lang, &s, lang.t(Word::AcmeUrls), e),
    }
}
