//! Pre-validations and domains (seed 6.7.2, 6.9), read only: the account's
//! pre-validations with their level, state and expiry; and its domain
//! inventory, 200 to a page, with each domain's state, dates, the TXT record
//! a pending one waits for, its orders and its last CAA check. Commercial or
//! technical right, as the order core requires; changes stay with the API.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use orders::DOMAIN_PAGE;
use serde::Deserialize;

use crate::forms::day;
use crate::layout::{page, refused};
use crate::words::Word;
use crate::{Portal, SignedIn};

/// The page asked for.
#[derive(Deserialize)]
pub(crate) struct Paging {
    #[serde(default)]
    page: i64,
}

/// A day, or a dash for none.
fn day_or_dash(t: Option<i64>) -> String {
    t.map(day).filter(|d| !d.is_empty()).unwrap_or_else(|| "—".into())
}

/// The page.
pub(crate) async fn page_of(State(p): State<Portal>, SignedIn(s, lang): SignedIn, Query(q): Query<Paging>) -> Response {
    let title = lang.t(Word::Domains);
    let read = async {
        let pre = p.orders.prevalidations(&s.caller).await?;
        let domains = p.orders.domains(&s.caller, q.page.max(0)).await?;
        Ok::<_, orders::OrderError>((pre, domains))
    };
    let (pre, (domains, total)) = match read.await {
        Ok(read) => read,
        Err(e) => return refused(lang, &s, title, e),
    };
    let pages = (total + DOMAIN_PAGE - 1) / DOMAIN_PAGE;
    let body = html! {
        section aria-labelledby="prevalidations" {
            h2 id="prevalidations" { (lang.t(Word::Prevalidations)) }
            @if pre.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="table" { table id="prevalidations-table" {
                    thead { tr {
                        th scope="col" { (lang.t(Word::Organisation)) } th scope="col" { (lang.t(Word::Brand)) }
                        th scope="col" { (lang.t(Word::Level)) } th scope="col" { (lang.t(Word::State)) }
                        th scope="col" { (lang.t(Word::Expires)) }
                    } }
                    tbody { @for v in &pre { tr {
                        td { (v.organisation_id) } td { (v.brand) } td { (v.validation) } td { (v.state.to_string()) }
                        td { (day(v.expires_at)) }
                    } } }
                } }
            }
        }
        section aria-labelledby="domains" {
            h2 id="domains" { (lang.t(Word::Domains)) " (" (total) ")" }
            @if domains.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="table" { table id="domains-table" {
                    thead { tr {
                        th scope="col" { (lang.t(Word::Domain)) } th scope="col" { (lang.t(Word::Organisation)) }
                        th scope="col" { (lang.t(Word::State)) } th scope="col" { (lang.t(Word::Validated)) }
                        th scope="col" { (lang.t(Word::Expires)) } th scope="col" { (lang.t(Word::Orders)) }
                        th scope="col" { "CAA" }
                    } }
                    tbody { @for d in &domains { tr {
                        td { (d.domain) } td { (d.organisation_id) }
                        td {
                            (d.state.to_string())
                            @if let Some((name, token)) = &d.dcv { br; small { "TXT " code { (name) } " = " code { (token) } } }
                        }
                        td { (day_or_dash(d.validated_at)) } td { (day_or_dash(d.expires_at)) } td class="num" { (d.orders_count) }
                        td { @if let Some(c) = &d.caa { (c.verdict) " · " (day(c.checked_at)) } @else { "—" } }
                    } } }
                } }
            }
            @if pages > 1 {
                nav class="pages" aria-label=(lang.t(Word::Pages)) {
                    @for n in 0..pages.min(50) {
                        @if n == q.page { span { (n + 1) } } @else { a href={ "/portal/domains?page=" (n) } { (n + 1) } }
                    }
                }
            }
        }
    };
    page(lang, title, Some(&s), body).into_response()
}
