//! A new order (seed 5.1): product, organisation, CSR pasted or uploaded,
//! and the customer's own reference; then a review of the names, the price
//! and the payment that the order core quotes, and only then the order. The
//! review's confirmation carries an idempotency key, so a form posted twice
//! orders once, and a tag of the reviewed fields, so a form changed after
//! the review orders nothing. Technical right, as the order core requires.

use axum::Form;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use orders::{OrderError, OrderQuote, PlaceOrder, Session, format_money, new_token, same_token, tag_fields};
use serde::Deserialize;

use crate::forms::{QuoteFields, order_path};
use crate::layout::{page, payment_label, refusal, refused};
use crate::words::{Lang, Word};
use crate::{Portal, Request, SignedIn};

/// The largest CSR accepted, pasted or uploaded.
const MAX_CSR_BYTES: usize = 16 * 1024;

/// The order form.
pub(crate) async fn form(State(p): State<Portal>, SignedIn(s, lang): SignedIn) -> Response {
    match form_body(&p, &s, lang, &Fields::default()).await {
        Ok(body) => page(lang, lang.t(Word::NewOrder), Some(&s), body).into_response(),
        Err(e) => refused(lang, &s, lang.t(Word::NewOrder), e),
    }
}

/// What the order form sends.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Fields {
    csrf: String,
    product: String,
    organisation: i64,
    #[serde(default)]
    csr: String,
    #[serde(default)]
    client_ref: String,
    /// Set by the review: `<nonce>.<tag>`, the nonce making the
    /// confirmation order once, the tag binding it to the reviewed fields.
    #[serde(default)]
    key: String,
    /// Set by the review: the figures quoted.
    #[serde(flatten, default)]
    quote: QuoteFields,
}

impl Fields {
    /// The tag of the order's fields and `nonce` in session `s`.
    fn tag(&self, s: &Session, nonce: &str) -> String {
        let organisation = self.organisation.to_string();
        // A browser posts a field's line breaks as CRLF, whatever the page held.
        let csr = self.csr.trim().replace("\r\n", "\n");
        let [total, payment, items] = self.quote.parts();
        let fields = [nonce, &self.product, &organisation, &csr, self.client_ref.trim(), total, payment, items];
        tag_fields(&s.csrf, &fields)
    }

    /// Whether the key is one the review made for these very fields.
    fn reviewed(&self, s: &Session) -> bool {
        self.key.split_once('.').is_some_and(|(nonce, tag)| !nonce.is_empty() && same_token(tag, &self.tag(s, nonce)))
    }
}

impl Fields {
    fn place_order(&self) -> PlaceOrder {
        let client_ref = self.client_ref.trim();
        PlaceOrder {
            organisation_id: self.organisation,
            product_code: self.product.clone(),
            csr: self.csr.trim().as_bytes().to_vec(),
            client_ref: (!client_ref.is_empty()).then(|| client_ref.to_string()),
            idempotency_key: (!self.key.is_empty()).then(|| format!("portal:{}", self.key)),
            quoted: self.quote.quoted(),
            ..Default::default()
        }
    }
}

async fn form_body(p: &Portal, s: &Session, lang: Lang, f: &Fields) -> Result<Markup, OrderError> {
    let (products, organisations) = p.orders.orderable(&s.caller).await?;
    Ok(html! {
        form class="stacked" method="post" action="/portal/orders/new" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="product" { (lang.t(Word::Product)) }
            select id="product" name="product" required {
                @for pr in &products { option value=(pr.code) selected[f.product == pr.code] { (pr.code) " · " (pr.name) } }
            }
            label for="organisation" { (lang.t(Word::Organisation)) }
            select id="organisation" name="organisation" required {
                @for o in &organisations { option value=(o.id) selected[f.organisation == o.id] { (o.name) } }
            }
            label for="csr" { (lang.t(Word::CsrPaste)) }
            textarea id="csr" name="csr" rows="10" { (f.csr) }
            label for="csr_file" { (lang.t(Word::CsrUpload)) }
            input type="file" id="csr_file" name="csr_file" accept=".csr,.pem,.der,.req,.txt";
            label for="client_ref" { (lang.t(Word::OwnReference)) }
            input id="client_ref" name="client_ref" maxlength="100" value=(f.client_ref);
            button type="submit" { (lang.t(Word::Review)) }
        }
    })
}

/// Reads the order form (multipart, for the upload), bounded.
async fn read_form(mut m: Multipart) -> Result<Fields, String> {
    let mut f = Fields::default();
    let mut uploaded = Vec::new();
    while let Some(field) = m.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| e.body_text())?;
        if bytes.len() > MAX_CSR_BYTES {
            return Err(format!("{name}: larger than {MAX_CSR_BYTES} bytes"));
        }
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => f.csrf = text(),
            "product" => f.product = text(),
            "organisation" => f.organisation = text().trim().parse().map_err(|_| "organisation: not a number")?,
            "csr" => f.csr = text(),
            "csr_file" => uploaded = bytes.to_vec(),
            "client_ref" => f.client_ref = text(),
            _ => {}
        }
    }
    if f.csr.trim().is_empty() && !uploaded.is_empty() {
        // An uploaded DER request travels on as base64, which the order core reads too.
        f.csr = match String::from_utf8(uploaded) {
            Ok(pem) => pem,
            Err(e) => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(e.into_bytes())
            }
        };
    }
    Ok(f)
}

/// The review: names, price and payment as the order core quotes them, and
/// the confirmation form; or the form again with the refusal.
pub(crate) async fn review(State(p): State<Portal>, req: Request, m: Multipart) -> Response {
    let f = match read_form(m).await {
        Ok(f) => f,
        Err(why) => return (axum::http::StatusCode::BAD_REQUEST, why).into_response(),
    };
    let (_, s, lang) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    review_page(&p, &s, lang, f, None).await
}

/// The review of fields `f` at today's quote, under `changed` (the figures
/// confirmed, and today's) when an earlier quote no longer holds; or the
/// form again with the refusal.
async fn review_page(
    p: &Portal,
    s: &Session,
    lang: Lang,
    mut f: Fields,
    changed: Option<(String, String)>,
) -> Response {
    let title = lang.t(Word::NewOrder);
    let q = match p.orders.quote_order(&s.caller, &f.place_order()).await {
        Ok(q) => q,
        Err(e) => {
            // Bad input comes back with the form to mend it; a missing right
            // or a failure is a page of its own.
            let (status, text) = refusal(lang, &e);
            if status != axum::http::StatusCode::BAD_REQUEST {
                return refused(lang, s, title, e);
            }
            let form = match form_body(p, s, lang, &f).await {
                Ok(form) => form,
                Err(e) => return refused(lang, s, title, e),
            };
            let body = html! { p class="error" role="alert" { (text) } (form) };
            return (status, page(lang, title, Some(s), body)).into_response();
        }
    };
    f.quote = QuoteFields::of(&q.quoted());
    let nonce = new_token();
    f.key = format!("{nonce}.{}", f.tag(s, &nonce));
    let body = html! {
        @if let Some((quoted, now)) = &changed {
            p class="error" role="alert" { (lang.t(Word::QuoteChanged)) " " (quoted) " → " (now) }
        }
        (review_body(lang, s, &f, &q))
    };
    // A changed quote is a conflict with what was confirmed: nothing was ordered.
    let status = if changed.is_some() { axum::http::StatusCode::CONFLICT } else { axum::http::StatusCode::OK };
    (status, page(lang, lang.t(Word::ReviewOrder), Some(s), body)).into_response()
}

fn review_body(lang: Lang, s: &Session, f: &Fields, q: &OrderQuote) -> Markup {
    html! {
        section aria-labelledby="review" {
            h2 id="review" { (lang.t(Word::ReviewOrder)) }
            dl class="summary" {
                dt { (lang.t(Word::Product)) } dd { (f.product) }
                dt { (lang.t(Word::Organisation)) } dd { (q.organisation) }
                dt { (lang.t(Word::Names)) } dd { @for n in &q.names { (n) br; } }
                @if !q.needing_dcv.is_empty() {
                    dt { (lang.t(Word::DomainValidation)) } dd { (lang.t(Word::WillNeedDcv)) " " (q.needing_dcv.join(", ")) }
                }
                dt { (lang.t(Word::Payment)) } dd id="payment" { (payment_label(lang, &q.payment)) }
                dt { (lang.t(Word::Price)) } dd id="price" {
                    @for (item, count, unit) in &q.lines {
                        (count) " × " (item)
                        @if let Some(u) = unit { " @ " (format_money(*u)) " " (q.currency) }
                        br;
                    }
                    strong { (lang.t(Word::Total)) " " (format_money(q.total)) " " (q.currency) }
                }
            }
            @if q.needs_approval { p class="warning" { (lang.t(Word::WillNeedApproval)) } }
            form class="stacked" method="post" action="/portal/orders/new/confirm" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="product" value=(f.product);
                input type="hidden" name="organisation" value=(f.organisation);
                input type="hidden" name="csr" value=(f.csr);
                input type="hidden" name="client_ref" value=(f.client_ref);
                input type="hidden" name="key" value=(f.key);
                (f.quote.inputs())
                button type="submit" { (lang.t(Word::ConfirmOrder)) }
            }
            p { a href="/portal/orders/new" { (lang.t(Word::StartOver)) } }
        }
    }
}

/// Places the reviewed order, once however often the form is posted, and
/// shows its page.
pub(crate) async fn confirm(State(p): State<Portal>, req: Request, Form(f): Form<Fields>) -> Response {
    let (_, s, lang) = match p.posted(&req, &f.csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    if f.key.is_empty() {
        let e = OrderError::Invalid("review the order before confirming it".into());
        return refused(lang, &s, lang.t(Word::NewOrder), e);
    }
    if !f.reviewed(&s) {
        let e = OrderError::Invalid("the order changed since it was reviewed; review it again".into());
        return refused(lang, &s, lang.t(Word::NewOrder), e);
    }
    match p.orders.place(&s.caller, &f.place_order()).await {
        Ok(placed) => {
            let r = placed.order.public_reference();
            Redirect::to(&order_path(&r)).into_response()
        }
        // The review again at today's price, to confirm or leave.
        Err(OrderError::QuoteChanged { quoted, now }) => review_page(&p, &s, lang, f, Some((quoted, now))).await,
        Err(e) => refused(lang, &s, lang.t(Word::NewOrder), e),
    }
}
