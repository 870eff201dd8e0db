//! The home page: the account's balances (billing right), its orders
//! waiting for an action (approval, DCV, funds, a CSR) and its certificates
//! expiring within 30 days (commercial or technical right).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use orders::{Caller, Ledger, Order, OrderFilter, Right, Status, format_money, iso};

use crate::layout;
use crate::words::{Lang, Word};
use crate::{Portal, SignedIn};

/// The most rows each list of the page shows.
const ROWS: i64 = 20;

/// The home page, or the sign-in page without a session.
pub(crate) async fn page(State(p): State<Portal>, SignedIn(s, lang): SignedIn) -> Response {
    let caller = &s.caller;
    let balances = if caller.rights.has(Right::Billing) { Some(balances(&p, caller, lang).await) } else { None };
    let reads_orders = caller.rights.has(Right::Commercial) || caller.rights.has(Right::Technical);
    let waiting = if reads_orders { Some(waiting(&p, caller, lang).await) } else { None };
    let expiring = if reads_orders { Some(expiring(&p, caller, lang).await) } else { None };
    let body = html! {
        @if let Some(b) = balances { (b) }
        @if let Some(w) = waiting { (w) }
        @if let Some(e) = expiring { (e) }
    };
    layout::page(lang, lang.t(Word::Home), Some(&s), body).into_response()
}

async fn balances(p: &Portal, caller: &Caller, lang: Lang) -> Markup {
    let read = async {
        let tokens = p.orders.token_balances(caller).await?;
        Ok::<_, orders::OrderError>((tokens, p.orders.balance(caller, Ledger::Deposit, None).await?))
    };
    let (tokens, deposit) = match read.await {
        Ok(read) => read,
        Err(e) => return unavailable(lang, "balances", Word::Balances, &e),
    };
    html! {
        section aria-labelledby="balances" {
            h2 id="balances" { (lang.t(Word::Balances)) }
            p { (lang.t(Word::Deposit)) ": " strong { (format_money(deposit)) } }
            @if tokens.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="table" { table {
                    thead { tr { th scope="col" { (lang.t(Word::Item)) } th scope="col" { (lang.t(Word::Tokens)) } } }
                    tbody { @for t in &tokens { tr { td { (t.item) " " (t.name) } td { (t.balance) } } } }
                } }
            }
        }
    }
}

async fn waiting(p: &Portal, caller: &Caller, lang: Lang) -> Markup {
    let mut orders: Vec<Order> = Vec::new();
    for status in Status::AWAITING_CUSTOMER {
        let filter = OrderFilter { status: Some(status), limit: ROWS, ..Default::default() };
        match p.orders.list_orders(caller, &filter).await {
            Ok(list) => orders.extend(list),
            Err(e) => return unavailable(lang, "waiting", Word::NeedAction, &e),
        }
    }
    orders.sort_by_key(|o| std::cmp::Reverse(o.id));
    orders.truncate(ROWS as usize);
    let rows: Vec<[String; 3]> =
        orders.iter().map(|o| [o.public_reference(), o.cn.clone(), o.status.to_string()]).collect();
    table_section(lang, "waiting", Word::NeedAction, [Word::Reference, Word::Name, Word::Status], &rows)
}

async fn expiring(p: &Portal, caller: &Caller, lang: Lang) -> Markup {
    let list = match p.orders.expiring(caller, 30, ROWS).await {
        Ok(list) => list,
        Err(e) => return unavailable(lang, "expiring", Word::Expiring, &e),
    };
    let rows: Vec<[String; 3]> = list.iter().map(|(o, end)| [o.public_reference(), o.cn.clone(), iso(*end)]).collect();
    table_section(lang, "expiring", Word::Expiring, [Word::Reference, Word::Name, Word::Expires], &rows)
}

/// A section that could not be read: said so, not shown empty.
fn unavailable(lang: Lang, id: &str, title: Word, e: &orders::OrderError) -> Markup {
    tracing::error!(error = %e, section = id, "a portal section could not be read");
    html! {
        section aria-labelledby=(id) {
            h2 id=(id) { (lang.t(title)) }
            p class="error" role="alert" { (lang.t(Word::Unavailable)) }
        }
    }
}

fn table_section(lang: Lang, id: &str, title: Word, heads: [Word; 3], rows: &[[String; 3]]) -> Markup {
    html! {
        section aria-labelledby=(id) {
            h2 id=(id) { (lang.t(title)) }
            @if rows.is_empty() { p { (lang.t(Word::Nothing)) } } @else {
                div class="table" { table {
                    thead { tr { @for h in heads { th scope="col" { (lang.t(h)) } } } }
                    tbody { @for row in rows { tr { @for cell in row { td { (cell) } } } } }
                } }
            }
        }
    }
}
