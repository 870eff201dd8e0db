//! The account's statement (seed 9.1): one ledger (tokens, deposit or the
//! month's invoice) over a period, a page of movements at a time with the
//! balance after each, or as CSV; and the tabs of the account's other
//! pages. Billing right, as the order core requires.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use orders::{Keyset, Ledger, StatementLine, format_money, iso};
use serde::Deserialize;

use crate::forms::{CSV_MAX, csv_export, day_field, link, order_path, parse_day};
use crate::layout::{date_input, page, refused};
use crate::words::{Lang, Word};
use crate::{Portal, SignedIn};

/// Movements on one page of a statement.
const PAGE_LINES: i64 = 100;

/// The statement's fields, all optional.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct StatementQuery {
    #[serde(default)]
    ledger: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The last line of the previous page, `<at>.<id>`.
    #[serde(default)]
    after: String,
    #[serde(default)]
    format: String,
}

impl StatementQuery {
    /// The ledger asked for; the tokens by default.
    fn ledger(&self) -> Ledger {
        Ledger::parse(&self.ledger).unwrap_or(Ledger::Tokens)
    }

    /// The period, by default the current month so far; an unreadable date
    /// or ledger is an error, not a default.
    fn period(&self, now: i64, lang: Lang) -> Result<(i64, i64), String> {
        if !self.ledger.is_empty() && Ledger::parse(&self.ledger).is_none() {
            return Err(format!("{}: {}", lang.t(Word::Ledger), self.ledger));
        }
        let month_start = parse_day(&format!("{}-01", iso(now).get(..7).unwrap_or_default())).unwrap_or(0);
        Ok((day_field(&self.from, false, month_start, lang)?, day_field(&self.to, true, now, lang)?))
    }

    /// This statement's page that starts after `after`, or its CSV.
    fn link(&self, after: Option<&StatementLine>, csv: bool) -> String {
        let after = after.map(|l| l.place().to_string()).unwrap_or_default();
        let format = if csv { "csv" } else { "" };
        let pairs: [(&str, &str); 5] =
            [("ledger", &self.ledger), ("from", &self.from), ("to", &self.to), ("after", &after), ("format", format)];
        link("/portal/account", &pairs)
    }
}

/// The account page, or its statement as CSV.
pub(crate) async fn page_or_csv(
    State(p): State<Portal>,
    SignedIn(s, lang): SignedIn,
    Query(q): Query<StatementQuery>,
) -> Response {
    let title = lang.t(Word::Account);
    let period = match q.period(p.orders.now(), lang) {
        Ok(period) => period,
        Err(why) => {
            let body = html! { p class="error" role="alert" { (why) } (statement_form(lang, &q)) };
            return (StatusCode::BAD_REQUEST, page(lang, title, Some(&s), body)).into_response();
        }
    };
    let csv = q.format == "csv";
    let limit = if csv { CSV_MAX + 1 } else { PAGE_LINES + 1 };
    let after = match Keyset::parse(&q.after) {
        Ok(after) => after,
        Err(e) => return refused(lang, &s, title, e),
    };
    let mut lines = match p.orders.statement_page(&s.caller, q.ledger(), period, after, limit).await {
        Ok(lines) => lines,
        Err(e) => return refused(lang, &s, title, e),
    };
    if csv {
        let name = format!("statement-{}.csv", q.ledger().as_str());
        return csv_export(lang, &s, title, &name, &lines, orders::statement_csv);
    }
    let more = lines.len() as i64 > PAGE_LINES;
    lines.truncate(PAGE_LINES as usize);
    let body = html! {
        (tabs(lang, "statement"))
        section aria-labelledby="statement" {
            h2 id="statement" { (lang.t(Word::Statement)) }
            (statement_form(lang, &q))
            (statement_table(lang, q.ledger(), &lines))
            nav class="pages" aria-label=(lang.t(Word::Pages)) {
                @if more { a href=(q.link(lines.last(), false)) { (lang.t(Word::Next)) " →" } }
                a href=(q.link(None, true)) { (lang.t(Word::ExportCsv)) }
            }
        }
    };
    page(lang, title, Some(&s), body).into_response()
}

fn statement_form(lang: Lang, q: &StatementQuery) -> Markup {
    let ledger = q.ledger();
    html! {
        form class="search" method="get" action="/portal/account" {
            div {
                label for="ledger" { (lang.t(Word::Ledger)) }
                select id="ledger" name="ledger" {
                    @for (l, w) in [(Ledger::Tokens, Word::Tokens), (Ledger::Deposit, Word::Deposit), (Ledger::Invoice, Word::Invoice)] {
                        option value=(l.as_str()) selected[ledger == l] { (lang.t(w)) }
                    }
                }
            }
            (date_input("from", lang.t(Word::From), &q.from))
            (date_input("to", lang.t(Word::To), &q.to))
            div { button type="submit" { (lang.t(Word::Show)) } }
        }
    }
}

fn statement_table(lang: Lang, ledger: Ledger, lines: &[StatementLine]) -> Markup {
    // Tokens count units; the deposit and the invoice count money.
    let amount = |v: i64| if ledger == Ledger::Tokens { v.to_string() } else { format_money(v) };
    html! {
        @if lines.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
            div class="table" { table id="statement-lines" {
                thead { tr {
                    th scope="col" { (lang.t(Word::Date)) } th scope="col" { (lang.t(Word::Reference)) }
                    th scope="col" { (lang.t(Word::Name)) } th scope="col" { (lang.t(Word::Movement)) }
                    th scope="col" { (lang.t(Word::Item)) } th scope="col" class="num" { (lang.t(Word::Amount)) }
                    th scope="col" class="num" { (lang.t(Word::Balance)) }
                } }
                tbody { @for l in lines { tr {
                    td { (iso(l.at)) }
                    td { @if let Some(r) = &l.reference { a href=(order_path(r)) { (r) } } }
                    td { (l.cn.as_deref().unwrap_or("")) } td { (l.reason.as_str()) } td { (l.item) }
                    td class="num" { (amount(l.amount)) } td class="num" { (amount(l.balance)) }
                } } }
            } }
        }
    }
}

/// The links between the account's pages, `current` marked.
pub(crate) fn tabs(lang: Lang, current: &str) -> Markup {
    let tabs = [
        ("statement", "/portal/account", Word::Statement),
        ("consumption", "/portal/account/consumption", Word::Consumption),
        ("renewals", "/portal/account/renewals", Word::PrepareRenewals),
        ("contacts", "/portal/account/contacts", Word::Contacts),
    ];
    html! {
        nav class="tabs" aria-label=(lang.t(Word::Account)) {
            @for (id, href, word) in tabs {
                @if id == current { a href=(href) aria-current="page" { (lang.t(word)) } }
                @else { a href=(href) { (lang.t(word)) } }
            }
        }
    }
}
