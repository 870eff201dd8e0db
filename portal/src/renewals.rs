//! "Prepare your renewals" (seed 9.3.1): for a chosen period (the next 90
//! days by default), the certificates whose renewal falls in it with their
//! renewal date and the tokens each takes, then the tokens needed per item
//! against those held; or as CSV. Billing right, as the order core requires.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use crate::account::tabs;
use crate::forms::{csv_file, day, day_field, link, order_path};
use crate::layout::{date_input, page, refused};
use crate::words::Word;
use crate::{Portal, SignedIn};

/// The most certificates the page lists (the CSV holds them all).
const SHOWN: usize = 1000;

/// The period's fields.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    format: String,
}

/// The forecast, or its CSV.
pub(crate) async fn page_of(State(p): State<Portal>, SignedIn(s, lang): SignedIn, Query(q): Query<Period>) -> Response {
    let title = lang.t(Word::PrepareRenewals);
    let now = p.orders.now();
    let period = day_field(&q.from, false, now, lang)
        .and_then(|from| Ok((from, day_field(&q.to, true, now + 90 * 86_400, lang)?)));
    let (from, to) = match period {
        Ok(period) => period,
        Err(why) => {
            let body = html! { (tabs(lang, "renewals")) p class="error" role="alert" { (why) } };
            return (StatusCode::BAD_REQUEST, page(lang, title, Some(&s), body)).into_response();
        }
    };
    let f = match p.orders.renewal_forecast(&s.caller, from, to).await {
        Ok(f) => f,
        Err(e) => return refused(lang, &s, title, e),
    };
    if q.format == "csv" {
        return csv_file("renewals.csv", orders::forecast_csv(&f));
    }
    let (shown_from, shown_to) = (day(from), day(to));
    let body = html! {
        (tabs(lang, "renewals"))
        form class="search" method="get" action="/portal/account/renewals" {
            (date_input("from", lang.t(Word::From), &shown_from))
            (date_input("to", lang.t(Word::To), &shown_to))
            div { button type="submit" { (lang.t(Word::Show)) } }
        }
        section aria-labelledby="needs" {
            h2 id="needs" { (lang.t(Word::TokensNeeded)) }
            @if f.needs.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="table" { table id="needs-table" {
                    thead { tr {
                        th scope="col" { (lang.t(Word::Item)) } th scope="col" class="num" { (lang.t(Word::Needed)) }
                        th scope="col" class="num" { (lang.t(Word::Held)) } th scope="col" class="num" { (lang.t(Word::ToBuy)) }
                    } }
                    tbody { @for n in &f.needs { tr {
                        td { (n.item) } td class="num" { (n.needed) } td class="num" { (n.held) }
                        td class="num" { @if n.shortfall > 0 { strong { (n.shortfall) } } @else { "0" } }
                    } } }
                } }
            }
        }
        section aria-labelledby="renewing" {
            h2 id="renewing" { (lang.t(Word::CertificatesToRenew)) }
            @if f.orders.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="table" { table id="renewing-table" {
                    thead { tr {
                        th scope="col" { (lang.t(Word::Reference)) } th scope="col" { (lang.t(Word::Name)) }
                        th scope="col" { (lang.t(Word::Expires)) } th scope="col" { (lang.t(Word::RenewsOn)) }
                        th scope="col" { (lang.t(Word::Tokens)) }
                    } }
                    tbody { @for o in f.orders.iter().take(SHOWN) {
                        @let r = o.order.public_reference();
                        tr {
                            td { a href=(order_path(&r)) { (r) } } td { (o.order.cn) }
                            td { (day(o.not_after)) }
                            td { (day(o.renews_at)) }
                            td { @for (item, n) in &o.items { (n) " × " (item) " " } }
                        }
                    } }
                } }
            }
        }
        @if f.orders.len() > SHOWN { p { (lang.t(Word::FirstShown)) } }
        @let csv: [(&str, &str); 3] = [("from", &shown_from), ("to", &shown_to), ("format", "csv")];
        p { a href=(link("/portal/account/renewals", &csv)) { (lang.t(Word::ExportCsv)) } }
    };
    page(lang, title, Some(&s), body).into_response()
}
