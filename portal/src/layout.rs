//! The frame of every page: the language, the title, the navigation with
//! the signed-in user and the sign-out and language forms, and the one
//! style sheet (no inline style, as the CSP wants). Usable at 360 px and
//! with a keyboard alone: labels on every field and a visible focus.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use orders::{OrderError, Session, Status};

use crate::words::{Lang, Word};

/// A page in `lang`, titled `title`, for `session` when signed in.
pub(crate) fn page(lang: Lang, title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · certgate" }
                link rel="stylesheet" href="/portal/style.css";
            }
            body {
                header {
                    a href="/portal/" class="brand" { "certgate · " (lang.t(Word::Portal)) }
                    @if let Some(s) = session {
                        nav aria-label="pages" {
                            a href="/portal/" { (lang.t(Word::Home)) }
                            a href="/portal/orders" { (lang.t(Word::Orders)) }
                            a href="/portal/orders/new" { (lang.t(Word::NewOrder)) }
                            a href="/portal/auto-renewal" { (lang.t(Word::AutoRenewal)) }
                            a href="/portal/acme-urls" { (lang.t(Word::AcmeUrls)) }
                            a href="/portal/domains" { (lang.t(Word::Domains)) }
                            a href="/portal/account" { (lang.t(Word::Account)) }
                            a href="/portal/users" { (lang.t(Word::Users)) }
                            a href="/portal/logs" { (lang.t(Word::Logs)) }
                        }
                        nav {
                            span class="who" { (lang.t(Word::SignedInAs)) " " strong { (s.caller.login) } }
                            a href="/portal/second-factor" { (lang.t(Word::SecondFactor)) }
                            form method="post" action="/portal/language" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                label for="language" { (lang.t(Word::Language)) }
                                select id="language" name="language" {
                                    option value="en" selected[lang == Lang::En] { "English" }
                                    option value="fr" selected[lang == Lang::Fr] { "Français" }
                                }
                                button type="submit" { (lang.t(Word::Change)) }
                            }
                            form method="post" action="/portal/sign-out" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { (lang.t(Word::SignOut)) }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// The style sheet.
pub(crate) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS)
}

const CSS: &str = "\
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1b1f24;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;background:#123;color:#fff}
header a.brand{color:#fff;font-weight:600;text-decoration:none}
nav{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
nav form{display:flex;gap:.25rem;align-items:center;margin:0}
header nav label,.hidden{position:absolute;left:-9999px}
header nav a{color:#fff}
nav.pages{display:flex;flex-wrap:wrap;gap:1rem;margin-top:.75rem}
form.search{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.5rem 1rem;align-items:end;margin-bottom:1rem}
form.search div{display:grid;gap:.2rem}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dl.summary dt{font-weight:600}
dl.summary dd{margin:0;overflow-wrap:anywhere}
form.action{margin:.75rem 0 0;padding-top:.75rem;border-top:1px solid #e3e6ea}
div.buttons{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.75rem}
.num{text-align:right}
fieldset{border:1px solid #d9dde3;border-radius:4px;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
label.check{font-weight:400}
td.detail{white-space:normal;overflow-wrap:anywhere;min-width:16rem}
nav.tabs{display:flex;flex-wrap:wrap;gap:1rem;margin-bottom:1rem}
nav.tabs a[aria-current]{font-weight:700;text-decoration:none}
svg.chart{width:100%;max-width:44rem;height:auto;display:block;margin-bottom:1rem}
textarea{font:14px/1.4 ui-monospace,monospace;padding:.4rem;border:1px solid #8a94a3;border-radius:4px;width:100%}
form.stacked{display:grid;gap:.5rem;max-width:28rem}
pre{white-space:pre-wrap;word-break:break-all;background:#fff;border:1px solid #d9dde3;padding:.75rem}
dd code{word-break:break-all}
.warning{background:#fff7e6;border:1px solid #f5c26b;padding:.5rem .75rem;border-radius:4px}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
section{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:.75rem 1rem;margin-bottom:1rem}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;white-space:nowrap}
form.sign-in{display:grid;gap:.5rem;max-width:22rem}
label{font-weight:600}
input,select,button{font:inherit;padding:.4rem .6rem;border:1px solid #8a94a3;border-radius:4px}
button{background:#1d4ed8;color:#fff;border-color:#1d4ed8;cursor:pointer}
a,button,input,select,textarea{outline-offset:2px}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b}
.error{color:#9b1c1c;background:#fde8e8;border:1px solid #f8b4b4;padding:.5rem .75rem;border-radius:4px}
";

/// The page of a refusal by the order core, as [`refusal`] words it.
pub(crate) fn refused(lang: Lang, s: &Session, title: &str, e: OrderError) -> Response {
    let (status, text) = refusal(lang, &e);
    let body = html! { p class="error" role="alert" { (text) } };
    (status, page(lang, title, Some(s), body)).into_response()
}

/// The status and words of a refusal by the order core, the one mapping
/// of the customer area: a missing right (403), bad input or a wrong state
/// (400, with the core's words), an unknown order or ACME URL (404), a
/// price that changed since it was shown (409), or an internal error (500,
/// logged, not shown).
pub(crate) fn refusal(lang: Lang, e: &OrderError) -> (StatusCode, String) {
    match e {
        OrderError::Forbidden(_) => (StatusCode::FORBIDDEN, lang.t(Word::NoRight).to_string()),
        OrderError::UnknownOrder(_) | OrderError::UnknownAcmeUrl(_) => (StatusCode::NOT_FOUND, e.to_string()),
        OrderError::BadSecondFactor => (StatusCode::FORBIDDEN, lang.t(Word::BadSecondFactor).to_string()),
        OrderError::QuoteChanged { quoted, now } => {
            (StatusCode::CONFLICT, format!("{} {quoted} → {now}", lang.t(Word::PriceChanged)))
        }
        OrderError::Storage(_) | OrderError::UnknownState(_) => {
            tracing::error!(error = %e, "portal page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, lang.t(Word::Unavailable).to_string())
        }
        other => (StatusCode::BAD_REQUEST, other.to_string()),
    }
}

/// A labelled date field (`YYYY-MM-DD`).
pub(crate) fn date_input(id: &str, label: &str, value: &str) -> Markup {
    html! { div { label for=(id) { (label) } input type="date" id=(id) name=(id) value=(value); } }
}

/// A payment method (`tokens`, `deposit`, `invoice`) in words; another
/// code as it is.
pub(crate) fn payment_label(lang: Lang, payment: &str) -> &str {
    match payment {
        "tokens" => lang.t(Word::Tokens),
        "deposit" => lang.t(Word::Deposit),
        "invoice" => lang.t(Word::Invoice),
        other => other,
    }
}

/// An order status in words.
pub(crate) fn status_label(lang: Lang, s: Status) -> &'static str {
    let (en, fr) = match s {
        Status::PendingApproval => ("waiting for approval", "en attente d'approbation"),
        Status::WaitingDcv => ("waiting for domain validation", "en attente de validation du domaine"),
        Status::Processing => ("being issued", "vérification en cours"),
        Status::Delivered => ("delivered", "délivré"),
        Status::Cancelled => ("cancelled", "annulé"),
        Status::CancelledRefunded => ("cancelled and refunded", "annulé et remboursé"),
        Status::Discarded => ("rejected", "rejeté"),
        Status::Failed => ("failed", "échec"),
        Status::Revoked => ("revoked", "révoqué"),
        Status::WaitingFunds => ("waiting for funds", "en attente de fonds"),
        Status::Expired => ("expired", "expiré"),
        Status::WaitingCsr => ("waiting for a CSR", "en attente d'un CSR"),
    };
    if lang == Lang::Fr { fr } else { en }
}
