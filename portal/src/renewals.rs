//! "Prepare your renewals" (seed 9.3.1): for a chosen period (the next 90
//! days by default), the certificates whose renewal falls in it with their
//! renewal date and the tokens each takes, then the tokens needed per item
//! against those held; or as CSV. Billing right, as the order core requires.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use orders::iso;
use serde::Deserialize;

use crate::account::tabs;
use crate::layout::{date_input, page, refused};
use crate::order_list::{parse_day, reference, url_encode};
use crate::words::{Lang, Word};
use crate::{Portal, Request};

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
pub(crate) async fn page_of(State(p): State<Portal>, req: Request, Query(q): Query<Period>) -> Response {
    let Some((_, s)) = p.session(&req).await else { return Redirect::to("/portal/sign-in").into_response() };
    let lang = Lang::parse(&s.language);
    let title = lang.t(Word::PrepareRenewals);
    let now = p.orders.now();
    let day = |text: &str, default: i64| match text {
        "" => Ok(default),
        t => parse_day(t).ok_or_else(|| format!("{}: {t}", lang.t(Word::BadDate))),
    };
    let period = day(&q.from, now).and_then(|from| Ok((from, day(&q.to, now + 90 * 86_400)? + 86_399)));
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
        return (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"renewals.csv\""),
            ],
            orders::forecast_csv(&f),
        )
            .into_response();
    }
    let day_of = |t: i64| iso(t).get(..10).unwrap_or_default().to_string();
    let (shown_from, shown_to) = (day_of(from), day_of(to));
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
                        @let r = reference(&o.order);
                        tr {
                            td { a href={ "/portal/orders/" (url_encode(&r)) } { (r) } } td { (o.order.cn) }
                            td { (iso(o.not_after).get(..10).unwrap_or_default()) }
                            td { (iso(o.renews_at).get(..10).unwrap_or_default()) }
                            td { @for (item, n) in &o.items { (n) " × " (item) " " } }
                        }
                    } }
                } }
            }
        }
        @if f.orders.len() > SHOWN { p { (lang.t(Word::FirstShown)) } }
        p { a href={ "/portal/account/renewals?from=" (shown_from) "&to=" (shown_to) "&format=csv" } { (lang.t(Word::ExportCsv)) } }
    };
    page(lang, title, Some(&s), body).into_response()
}
