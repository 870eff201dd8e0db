//! The page of one order (seed 6.6): its status, names and payment, every
//! certificate it was issued with downloads in each format, what to publish
//! while it waits for domain control validation, and forms for exactly the
//! actions the order core says are open (`orders::actions`).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use orders::formats::Format;
use orders::{Action, OrderDetail, OrderError, Quoted, Reissue, Session, format_money, iso};
use serde::Deserialize;

use crate::forms::{QuoteFields, order_path};
use crate::layout::{page, payment_label, refusal, refused, status_label};
use crate::words::{Lang, Word};
use crate::{Portal, Request, SignedIn};

/// The revocation reasons a customer may give (RFC 5280), with their words.
const REASONS: [(i64, Word); 5] = [
    (0, Word::ReasonUnspecified),
    (1, Word::ReasonKeyCompromise),
    (3, Word::ReasonAffiliationChanged),
    (4, Word::ReasonSuperseded),
    (5, Word::ReasonCessation),
];

/// The order's page.
pub(crate) async fn show(
    State(p): State<Portal>,
    SignedIn(s, lang): SignedIn,
    Path(reference): Path<String>,
) -> Response {
    let d = match p.orders.order_detail(&s.caller, &reference).await {
        Ok(d) => d,
        Err(e) => return refused(lang, &s, lang.t(Word::Order), e),
    };
    // Approving and renewing are paid: the price and payment are shown by
    // the button and confirmed with it.
    let mut quotes = Vec::new();
    for a in d.actions.iter().copied() {
        let quote = match a {
            Action::Approve => p.orders.quote_approval(&s.caller, &reference).await.map(|q| (q, false)),
            Action::Renew => {
                p.orders.quote_renewal(&s.caller, &reference).await.map(|q| (q.quoted(), q.new_key_required))
            }
            _ => continue,
        };
        // A quote that cannot be had says why in place of the button; the rest of the page still shows.
        quotes.push((a, quote.map_err(|e| refusal(lang, &e).1)));
    }
    let title = format!("{} {}", lang.t(Word::Order), reference);
    page(lang, &title, Some(&s), body(lang, &s, &d, &quotes)).into_response()
}

/// A paid action's quote and whether it needs a new CSR, or why it cannot
/// be had now.
type Quote = Result<(Quoted, bool), String>;

fn body(lang: Lang, s: &Session, d: &OrderDetail, quotes: &[(Action, Quote)]) -> Markup {
    let o = &d.order;
    let r = o.public_reference();
    let base = order_path(&r);
    html! {
        section aria-labelledby="summary" {
            h2 id="summary" { (lang.t(Word::Summary)) }
            dl class="summary" {
                dt { (lang.t(Word::Status)) } dd id="status" { (status_label(lang, o.status)) }
                dt { (lang.t(Word::Name)) } dd { (o.cn) }
                @if !o.sans.is_empty() {
                    dt { (lang.t(Word::OtherNames)) } dd { @for n in o.sans.lines() { (n) br; } }
                }
                dt { (lang.t(Word::Product)) } dd { (o.product_code) }
                dt { (lang.t(Word::Price)) } dd { (format_money(o.price)) " " (o.currency) " · " (payment_label(lang, &o.payment)) }
                dt { (lang.t(Word::Placed)) } dd { (iso(o.created_at)) " · " (o.created_by) " · " (o.source) }
                dt { (lang.t(Word::Updated)) } dd { (iso(o.updated_at)) }
                @if let Some(c) = &o.client_ref { dt { (lang.t(Word::OwnReference)) } dd { (c) } }
                dt { (lang.t(Word::AutoRenewal)) } dd { (if o.auto_renew { lang.t(Word::On) } else { lang.t(Word::Off) }) }
                @if let Some(f) = &o.failure { dt { (lang.t(Word::Failure)) } dd { (f) } }
            }
        }
        @if let Some(dcv) = &d.dcv {
            section aria-labelledby="dcv" {
                h2 id="dcv" { (lang.t(Word::DomainValidation)) }
                p { (lang.t(Word::DcvHowTo)) }
                dl { dt { (lang.t(Word::Value)) } dd { code id="dcv-token" { (dcv.token) } } }
                div class="table" { table {
                    thead { tr { th scope="col" { (lang.t(Word::Name)) } th scope="col" { "DNS TXT" } th scope="col" { "HTTP" } } }
                    tbody { @for place in dcv.places() { tr {
                        td { (place.name) } td { code { (place.txt_name) } }
                        td { @if let Some(u) = &place.http_url { code { (u) } } @else { "—" } }
                    } } }
                } }
            }
        }
        section aria-labelledby="certificates" {
            h2 id="certificates" { (lang.t(Word::Certificates)) }
            @if d.certificates.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="table" { table {
                    thead { tr {
                        th scope="col" { (lang.t(Word::Serial)) } th scope="col" { (lang.t(Word::ValidFrom)) }
                        th scope="col" { (lang.t(Word::Expires)) } th scope="col" { (lang.t(Word::Status)) }
                        th scope="col" { (lang.t(Word::Download)) }
                    } }
                    tbody { @for c in d.certificates.iter().rev() { tr {
                        td { code { (c.serial) } } td { (iso(c.not_before)) } td { (iso(c.not_after)) }
                        td { @if c.revoked_at.is_some() { (lang.t(Word::Revoked)) } @else { (lang.t(Word::Valid)) } }
                        td { @for f in Format::ALL {
                            a class="download" href={ (base) "/certificates/" (c.id) "/" (f.as_str()) } { (format_label(f)) } " "
                        } }
                    } } }
                } }
            }
        }
        @if !d.actions.is_empty() {
            section aria-labelledby="actions" {
                h2 id="actions" { (lang.t(Word::Actions)) }
                @for a in &d.actions {
                    @let quote = quotes.iter().find(|(paid, _)| paid == a).map(|(_, q)| q);
                    (action_form(lang, s, &base, (o.auto_renew, &o.currency), *a, quote))
                }
            }
        }
    }
}

fn format_label(f: Format) -> &'static str {
    match f {
        Format::Pem => "PEM",
        Format::PemChain => "PEM + chain",
        Format::Der => "DER",
        Format::Pkcs7 => "PKCS#7",
    }
}

/// The form of one action, posted to `<base>/action`; a paid one's with
/// its quote, or why it cannot be had now and no button.
fn action_form(
    lang: Lang,
    s: &Session,
    base: &str,
    (auto_renew, currency): (bool, &str),
    a: Action,
    quote: Option<&Quote>,
) -> Markup {
    let (word, name) = match a {
        Action::Approve => (Word::Approve, "approve"),
        Action::Reject => (Word::Reject, "reject"),
        Action::Cancel => (Word::Cancel, "cancel"),
        Action::CheckDcv => (Word::CheckDcv, "check_dcv"),
        Action::Renew => (Word::Renew, "renew"),
        Action::Reissue => (Word::Reissue, "reissue"),
        Action::Revoke => (Word::Revoke, "revoke"),
        Action::AutoRenew if auto_renew => (Word::AutoRenewOff, "auto_renew_off"),
        Action::AutoRenew => (Word::AutoRenewOn, "auto_renew_on"),
    };
    if let Some(Err(why)) = quote {
        return html! { p class="error" id={ (name) "-refused" } { (lang.t(word)) ": " (why) } };
    }
    let id = |field: &str| format!("{name}-{field}");
    html! {
        form class="action stacked" method="post" action={ (base) "/action" } {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="action" value=(name);
            @if let Some(Ok((q, _))) = quote {
                p id={ (name) "-price" } {
                    (lang.t(Word::Price)) " " (format_money(q.total)) " " (currency) " · " (payment_label(lang, &q.payment)) " (" (q.items) ")"
                }
                (QuoteFields::of(q).inputs())
            }
            @match a {
                Action::Renew => {
                    @let new_key = matches!(quote, Some(Ok((_, true))));
                    label for=(id("csr")) { (lang.t(if new_key { Word::NewCsr } else { Word::NewCsrOptional })) }
                    textarea id=(id("csr")) name="csr" rows="6" required[new_key] {}
                }
                Action::Reissue => {
                    label for=(id("csr")) { (lang.t(Word::NewCsr)) }
                    textarea id=(id("csr")) name="csr" rows="6" required {}
                }
                Action::Revoke => {
                    label for=(id("reason")) { (lang.t(Word::Reason)) }
                    select id=(id("reason")) name="reason" {
                        @for (code, w) in REASONS { option value=(code) { (lang.t(w)) } }
                    }
                    label { input type="checkbox" name="confirm" value="yes" required; " " (lang.t(Word::ConfirmRevoke)) }
                }
                _ => {}
            }
            button type="submit" { (lang.t(word)) }
        }
    }
}

/// An action's form.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    csrf: String,
    action: String,
    #[serde(default)]
    csr: String,
    #[serde(default)]
    reason: i64,
    #[serde(default)]
    confirm: String,
    /// A paid action's quote, as the page showed it.
    #[serde(flatten, default)]
    quote: QuoteFields,
}

impl ActionForm {
    /// The quote the page showed, which a paid action needs.
    fn quoted(&self, lang: Lang) -> Result<Quoted, OrderError> {
        self.quote.quoted().ok_or_else(|| OrderError::Invalid(lang.t(Word::Unquoted).to_string()))
    }
}

/// Takes an action; back to the order's page (or the renewal's) when done.
pub(crate) async fn act(
    State(p): State<Portal>,
    req: Request,
    Path(reference): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let (_, s, lang) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let c = &s.caller;
    let o = &p.orders;
    let csr = f.csr.trim();
    let done = match f.action.as_str() {
        "approve" => match f.quoted(lang) {
            Ok(quoted) => o.approve(c, &reference, Some(&quoted)).await.map(|_| None),
            Err(e) => Err(e),
        },
        "reject" => o.reject(c, &reference).await.map(|_| None),
        "cancel" => o.cancel(c, &reference).await.map(|_| None),
        "check_dcv" => o.check_dcv(c, &reference).await.map(|_| None),
        "renew" => match f.quoted(lang) {
            Ok(quoted) => {
                let csr = (!csr.is_empty()).then_some(csr.as_bytes());
                let renewed = o.renew(c, &reference, csr, None, Some(&quoted)).await;
                renewed.map(|placed| Some(placed.order.public_reference()))
            }
            Err(e) => Err(e),
        },
        "reissue" => {
            o.reissue(c, &reference, &Reissue { csr: csr.as_bytes().to_vec(), names: Vec::new() }).await.map(|_| None)
        }
        "revoke" if f.confirm == "yes" => o.revoke(c, &reference, None, f.reason).await.map(|_| None),
        "revoke" => Err(OrderError::Invalid(lang.t(Word::ConfirmRevoke).to_string())),
        "auto_renew_on" | "auto_renew_off" => {
            let on = f.action == "auto_renew_on";
            o.set_auto_renew(c, std::slice::from_ref(&reference), on).await.map(|_| None)
        }
        other => Err(OrderError::Invalid(format!("unknown action {other:?}"))),
    };
    match done {
        Ok(next) => {
            let to = next.unwrap_or(reference);
            Redirect::to(&order_path(&to)).into_response()
        }
        Err(e) => refused(lang, &s, lang.t(Word::Order), e),
    }
}

/// A certificate of the order in one format, as a file.
pub(crate) async fn download(
    State(p): State<Portal>,
    SignedIn(s, lang): SignedIn,
    Path((reference, id, format)): Path<(String, i64, String)>,
) -> Response {
    let Some(format) = Format::parse(&format) else {
        return (StatusCode::NOT_FOUND, lang.t(Word::Nothing)).into_response();
    };
    let certs = match p.orders.certificates(&s.caller, &reference).await {
        Ok(certs) => certs,
        Err(e) => return refused(lang, &s, lang.t(Word::Order), e),
    };
    let Some(bytes) = certs.iter().find(|c| c.id == id).and_then(|c| format.encode(c)) else {
        return (StatusCode::NOT_FOUND, lang.t(Word::Nothing)).into_response();
    };
    // The reference is digits or `DCACME-<digits>`: safe in a header as it is.
    let name: String = reference.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let disposition = format!("attachment; filename=\"{name}-{id}.{}\"", format.extension());
    ([(header::CONTENT_TYPE, format.media_type().to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response()
}
