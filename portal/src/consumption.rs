//! Consumption per product and month (seed 9.2): the last twelve months'
//! orders of each product, drawn on the server as an SVG chart beside the
//! same numbers as a table. Billing right, as the order core requires.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use orders::{Consumption, format_money};

use crate::account::tabs;
use crate::chart::stacked_bars;
use crate::layout::{page, refused};
use crate::words::{Lang, Word};
use crate::{Portal, SignedIn};

/// The months the chart covers.
const MONTHS: u32 = 12;

/// The consumption page.
pub(crate) async fn page_of(State(p): State<Portal>, SignedIn(s, lang): SignedIn) -> Response {
    let title = lang.t(Word::Consumption);
    match p.orders.consumption(&s.caller, MONTHS).await {
        Ok((months, rows)) => {
            let body = html! { (tabs(lang, "consumption")) (section(lang, &months, &rows)) };
            page(lang, title, Some(&s), body).into_response()
        }
        Err(e) => refused(lang, &s, title, e),
    }
}

/// The chart and the table of the consumption per product and month.
fn section(lang: Lang, months: &[String], rows: &[Consumption]) -> Markup {
    let mut products: Vec<String> = rows.iter().map(|r| r.product_code.clone()).collect();
    products.sort();
    products.dedup();
    let value = |month: &str, product: &str| {
        rows.iter().find(|r| r.month == month && r.product_code == product).map_or(0, |r| r.count)
    };
    let series: Vec<(String, Vec<i64>)> =
        products.iter().map(|p| (p.clone(), months.iter().map(|m| value(m, p)).collect())).collect();
    html! {
        section aria-labelledby="consumption" {
            h2 id="consumption" { (lang.t(Word::Consumption)) }
            @if rows.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="chart-and-table" {
                    (stacked_bars(lang.t(Word::Consumption), months, &series))
                    div class="table" { table id="consumption-table" {
                        thead { tr {
                            th scope="col" { (lang.t(Word::Month)) } th scope="col" { (lang.t(Word::Product)) }
                            th scope="col" class="num" { (lang.t(Word::Orders)) } th scope="col" class="num" { (lang.t(Word::Amount)) }
                        } }
                        tbody { @for r in rows { tr {
                            td { (r.month) } td { (r.product_code) } td class="num" { (r.count) }
                            td class="num" { (format_money(r.amount)) }
                        } } }
                    } }
                }
            }
        }
    }
}
