//! What the pages' forms and links share: reading a date field, writing a
//! day and a link with its query, carrying a quote back, and answering
//! with a CSV file.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use orders::{Quoted, Session, iso};
use serde::Deserialize;

use crate::layout::page;
use crate::words::{Lang, Word};

/// The most lines a CSV export holds. A search that finds more is refused
/// with a word to narrow it, never cut short without a sign: a statement
/// missing its last lines would read as a whole one.
pub(crate) const CSV_MAX: i64 = 10_000;

/// A quote as a form carries it back: the figures a page showed, which
/// the order core holds the paid action to. Text, as posted, so that it
/// can sit flattened in a form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct QuoteFields {
    #[serde(default)]
    total: String,
    #[serde(default)]
    payment: String,
    #[serde(default)]
    items: String,
}

impl QuoteFields {
    /// The fields of quote `q`.
    pub(crate) fn of(q: &Quoted) -> QuoteFields {
        QuoteFields { total: q.total.to_string(), payment: q.payment.clone(), items: q.items.clone() }
    }

    /// The figures posted, or `None` when the form carried none.
    pub(crate) fn quoted(&self) -> Option<Quoted> {
        let total = self.total.parse().ok().filter(|_| !self.payment.is_empty())?;
        Some(Quoted { total, payment: self.payment.clone(), items: self.items.clone() })
    }

    /// The fields as posted, for a tag over a form.
    pub(crate) fn parts(&self) -> [&str; 3] {
        [&self.total, &self.payment, &self.items]
    }

    /// The hidden inputs that post them back.
    pub(crate) fn inputs(&self) -> Markup {
        html! {
            input type="hidden" name="total" value=(self.total);
            input type="hidden" name="payment" value=(self.payment);
            input type="hidden" name="items" value=(self.items);
        }
    }
}

/// UTC midnight of a `YYYY-MM-DD` day, as a date field sends it.
pub(crate) fn parse_day(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text.trim(), format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// A date field's day: its first second, or its last with `end_of_day`;
/// `empty` when the field is empty; the words of the refusal when it is no day.
pub(crate) fn day_field(text: &str, end_of_day: bool, empty: i64, lang: Lang) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(empty);
    }
    let start = parse_day(text).ok_or_else(|| format!("{}: {text}", lang.t(Word::BadDate)))?;
    Ok(if end_of_day { start + 86_399 } else { start })
}

/// The day of UTC Unix seconds, `YYYY-MM-DD` (empty when out of range).
pub(crate) fn day(ts: i64) -> String {
    iso(ts).get(..10).unwrap_or_default().to_string()
}

/// A link to `path` with the query of `pairs` whose values are not empty
/// (an empty field is an absent one to every page's form).
pub(crate) fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
    if query.is_empty() { path.to_string() } else { format!("{path}?{}", query.join("&")) }
}

/// The page of the order with public reference `reference`.
pub(crate) fn order_path(reference: &str) -> String {
    format!("/portal/orders/{}", url_encode(reference))
}

/// Percent-encodes a query string value.
pub(crate) fn url_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The CSV file of `rows` (read with a limit of [`CSV_MAX`] + 1) named
/// `name`, written by `write`; or the refusal when there were more.
pub(crate) fn csv_export<T>(
    lang: Lang,
    s: &Session,
    title: &str,
    name: &str,
    rows: &[T],
    write: impl FnOnce(&[T]) -> String,
) -> Response {
    if rows.len() as i64 > CSV_MAX {
        let body = html! { p class="error" role="alert" { (lang.t(Word::CsvTooLong)) } };
        return (StatusCode::BAD_REQUEST, page(lang, title, Some(s), body)).into_response();
    }
    csv_file(name, write(rows))
}

/// `body` as a CSV file named `name` to save.
pub(crate) fn csv_file(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}
