//! The orders page (seed 6.5): the account's orders, newest first, searched
//! by common name, reference, own reference, serial, status, and order and
//! expiry dates; a page at a time, or as CSV. Commercial or technical right,
//! as the order core requires.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use orders::{Order, OrderFilter, Status, format_money};
use serde::Deserialize;

use crate::forms::{CSV_MAX, csv_export, day, day_field, link, order_path};
use crate::layout::{date_input, page, payment_label, refused, status_label};
use crate::words::{Lang, Word};
use crate::{Portal, SignedIn};

/// Orders on one page.
const PAGE_ROWS: i64 = 50;
/// The deepest page: past it, a search should be narrowed rather than paged
/// (a deep OFFSET reads every row before it).
const MAX_PAGE: i64 = 200;

/// The search form's fields, all optional.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Search {
    #[serde(default)]
    cn: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    client_ref: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    placed_from: String,
    #[serde(default)]
    placed_to: String,
    #[serde(default)]
    expires_from: String,
    #[serde(default)]
    expires_to: String,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    format: String,
}

impl Search {
    /// The order core's filter for this search; a field that does not parse
    /// is an error to show, not a filter silently dropped.
    fn filter(&self, lang: Lang) -> Result<OrderFilter, String> {
        let status = match self.status.as_str() {
            "" => None,
            s => Some(Status::parse(s).ok_or_else(|| format!("{}: {s}", lang.t(Word::UnknownStatus)))?),
        };
        let day = |field: &str, end: bool| day_field(field, end, 0, lang);
        Ok(OrderFilter {
            status,
            reference: self.reference.clone(),
            client_ref: self.client_ref.trim().to_string(),
            serial: self.serial.clone(),
            cn_prefix: self.cn.clone(),
            created_from: day(&self.placed_from, false)?,
            created_to: day(&self.placed_to, true)?,
            expires_from: day(&self.expires_from, false)?,
            expires_to: day(&self.expires_to, true)?,
            ..Default::default()
        })
    }

    /// This search on page `page`, or as CSV.
    fn link(&self, page: Option<i64>, csv: bool) -> String {
        let page = page.map(|p| p.to_string()).unwrap_or_default();
        let pairs: [(&str, &str); 11] = [
            ("cn", &self.cn),
            ("reference", &self.reference),
            ("client_ref", &self.client_ref),
            ("serial", &self.serial),
            ("status", &self.status),
            ("placed_from", &self.placed_from),
            ("placed_to", &self.placed_to),
            ("expires_from", &self.expires_from),
            ("expires_to", &self.expires_to),
            ("page", &page),
            ("format", if csv { "csv" } else { "" }),
        ];
        link("/portal/orders", &pairs)
    }
}

/// The list, or its CSV export.
pub(crate) async fn list(
    State(p): State<Portal>,
    SignedIn(s, lang): SignedIn,
    Query(search): Query<Search>,
) -> Response {
    let title = lang.t(Word::Orders);
    let mut filter = match search.filter(lang) {
        Ok(f) => f,
        Err(why) => {
            let body = html! { p class="error" role="alert" { (why) } (form(lang, &search)) };
            return (axum::http::StatusCode::BAD_REQUEST, page(lang, title, Some(&s), body)).into_response();
        }
    };
    if search.format == "csv" {
        filter.limit = CSV_MAX + 1;
        return match p.orders.list_orders(&s.caller, &filter).await {
            Ok(list) => csv_export(lang, &s, title, "orders.csv", &list, orders::orders_csv),
            Err(e) => refused(lang, &s, title, e),
        };
    }
    let page_no = search.page.unwrap_or(1).clamp(1, MAX_PAGE);
    // One row more than shown says whether there is a next page, without a count.
    filter.limit = PAGE_ROWS + 1;
    filter.offset = (page_no - 1) * PAGE_ROWS;
    let mut list = match p.orders.list_orders(&s.caller, &filter).await {
        Ok(list) => list,
        Err(e) => return refused(lang, &s, title, e),
    };
    let more = list.len() as i64 > PAGE_ROWS;
    list.truncate(PAGE_ROWS as usize);
    let body = html! {
        (form(lang, &search))
        (table(lang, &list))
        nav class="pages" aria-label=(lang.t(Word::Pages)) {
            @if page_no > 1 {
                a href=(search.link(Some(page_no - 1), false)) { "← " (lang.t(Word::Previous)) }
            }
            span { (lang.t(Word::Page)) " " (page_no) }
            @if more && page_no < MAX_PAGE {
                a href=(search.link(Some(page_no + 1), false)) { (lang.t(Word::Next)) " →" }
            }
            a href=(search.link(None, true)) { (lang.t(Word::ExportCsv)) }
        }
        @if more && page_no == MAX_PAGE { p { (lang.t(Word::NarrowSearch)) } }
    };
    page(lang, title, Some(&s), body).into_response()
}

fn form(lang: Lang, q: &Search) -> Markup {
    let text = |id: &'static str, label: Word, value: &str| {
        html! { div { label for=(id) { (lang.t(label)) } input id=(id) name=(id) value=(value) maxlength="255"; } }
    };
    html! {
        form class="search" method="get" action="/portal/orders" role="search" {
            (text("cn", Word::Name, &q.cn))
            (text("reference", Word::Reference, &q.reference))
            (text("client_ref", Word::OwnReference, &q.client_ref))
            (text("serial", Word::Serial, &q.serial))
            div {
                label for="status" { (lang.t(Word::Status)) }
                select id="status" name="status" {
                    option value="" { (lang.t(Word::Any)) }
                    @for st in Status::ALL {
                        option value=(st.as_str()) selected[q.status == st.as_str()] { (status_label(lang, st)) }
                    }
                }
            }
            (date_input("placed_from", lang.t(Word::PlacedFrom), &q.placed_from))
            (date_input("placed_to", lang.t(Word::PlacedTo), &q.placed_to))
            (date_input("expires_from", lang.t(Word::ExpiresFrom), &q.expires_from))
            (date_input("expires_to", lang.t(Word::ExpiresTo), &q.expires_to))
            div { button type="submit" { (lang.t(Word::Search)) } }
        }
    }
}

/// The orders as a table, each linking to its page.
pub(crate) fn table(lang: Lang, list: &[Order]) -> Markup {
    html! {
        @if list.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
            div class="table" { table {
                thead { tr {
                    th scope="col" { (lang.t(Word::Reference)) } th scope="col" { (lang.t(Word::Name)) }
                    th scope="col" { (lang.t(Word::Product)) } th scope="col" { (lang.t(Word::Status)) }
                    th scope="col" { (lang.t(Word::Placed)) } th scope="col" { (lang.t(Word::OwnReference)) }
                    th scope="col" { (lang.t(Word::Price)) }
                } }
                tbody { @for o in list {
                    @let r = o.public_reference();
                    tr {
                        td { a href=(order_path(&r)) { (r) } }
                        td { (o.cn) } td { (o.product_code) } td { (status_label(lang, o.status)) }
                        td { (day(o.created_at)) }
                        td { (o.client_ref.as_deref().unwrap_or("")) }
                        td { (format_money(o.price)) " " (o.currency) " · " (payment_label(lang, &o.payment)) }
                    }
                } }
            } }
        }
    }
}
