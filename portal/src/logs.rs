//! The account's log (seed 7.5; administrative right): who did what, when,
//! from which address and through which front, newest first, 100 to a page,
//! filtered by period, user and kind of action; or as CSV.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use orders::{Keyset, LOG_KINDS, LogEntry, LogFilter, iso};
use serde::Deserialize;

use crate::forms::{CSV_MAX, csv_export, day_field, link};
use crate::layout::{date_input, page, refused};
use crate::words::{Lang, Word};
use crate::{Portal, SignedIn};

/// Entries on one page.
const PAGE_ENTRIES: i64 = 100;

/// The filters, all optional.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct LogQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    kind: String,
    /// The last entry of the previous page, `<at>.<id>`.
    #[serde(default)]
    before: String,
    #[serde(default)]
    format: String,
}

impl LogQuery {
    fn filter(&self, lang: Lang) -> Result<LogFilter, String> {
        let before = Keyset::parse(&self.before).map_err(|e| e.to_string())?;
        Ok(LogFilter {
            from: day_field(&self.from, false, 0, lang)?,
            to: day_field(&self.to, true, 0, lang)?,
            user: self.user.clone(),
            kind: self.kind.clone(),
            before,
            limit: 0,
        })
    }

    /// This search's page that starts before `before`, or its CSV.
    fn link(&self, before: Option<&LogEntry>, csv: bool) -> String {
        let before = before.map(|e| e.place().to_string()).unwrap_or_default();
        let format = if csv { "csv" } else { "" };
        let pairs: [(&str, &str); 6] = [
            ("from", &self.from),
            ("to", &self.to),
            ("user", &self.user),
            ("kind", &self.kind),
            ("before", &before),
            ("format", format),
        ];
        link("/portal/logs", &pairs)
    }
}

/// The log, or its CSV.
pub(crate) async fn page_of(
    State(p): State<Portal>,
    SignedIn(s, lang): SignedIn,
    Query(q): Query<LogQuery>,
) -> Response {
    let title = lang.t(Word::Logs);
    let mut filter = match q.filter(lang) {
        Ok(f) => f,
        Err(why) => {
            let body = html! { p class="error" role="alert" { (why) } };
            return (StatusCode::BAD_REQUEST, page(lang, title, Some(&s), body)).into_response();
        }
    };
    let csv = q.format == "csv";
    filter.limit = if csv { CSV_MAX + 1 } else { PAGE_ENTRIES + 1 };
    let mut entries = match p.orders.log(&s.caller, &filter).await {
        Ok(entries) => entries,
        Err(e) => return refused(lang, &s, title, e),
    };
    if csv {
        return csv_export(lang, &s, title, "log.csv", &entries, orders::log_csv);
    }
    let more = entries.len() as i64 > PAGE_ENTRIES;
    entries.truncate(PAGE_ENTRIES as usize);
    let body = html! {
        form class="search" method="get" action="/portal/logs" {
            (date_input("from", lang.t(Word::From), &q.from))
            (date_input("to", lang.t(Word::To), &q.to))
            div { label for="user" { (lang.t(Word::Login)) } input id="user" name="user" value=(q.user) maxlength="128"; }
            div {
                label for="kind" { (lang.t(Word::Kind)) }
                select id="kind" name="kind" {
                    option value="" { (lang.t(Word::Any)) }
                    @for k in LOG_KINDS { option value=(k) selected[q.kind == k] { (k) } }
                }
            }
            div { button type="submit" { (lang.t(Word::Show)) } }
        }
        @if entries.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
            div class="table" { table id="log-table" {
                thead { tr {
                    th scope="col" { (lang.t(Word::Date)) } th scope="col" { (lang.t(Word::Login)) }
                    th scope="col" { (lang.t(Word::Address)) } th scope="col" { (lang.t(Word::Front)) }
                    th scope="col" { (lang.t(Word::Action)) } th scope="col" { (lang.t(Word::Detail)) }
                } }
                tbody { @for e in &entries { tr {
                    td { (iso(e.at)) } td { (e.actor) } td { (e.ip) } td { (e.source) } td { (e.action) }
                    td class="detail" { (e.detail) }
                } } }
            } }
        }
        nav class="pages" aria-label=(lang.t(Word::Pages)) {
            @if more { @if let Some(last) = entries.last() {
                a href=(q.link(Some(last), false)) { (lang.t(Word::Next)) " →" }
            } }
            a href=(q.link(None, true)) { (lang.t(Word::ExportCsv)) }
        }
    };
    page(lang, title, Some(&s), body).into_response()
}
