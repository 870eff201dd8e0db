//! The methods the legacy API lacks, with English dotted names and the same
//! authentication: orders, certificates, statements, the catalogue, ACME URLs
//! and pre-validations. Each takes (identification, arguments).

use orders::{Caller, Ledger, format_money, iso, statement_csv};

use crate::args::{Arg, int, opt_string, string};
use crate::fault::{Fault, code};
use crate::methods::order_value;
use crate::server::{Peer, XmlRpc};
use crate::{MethodCall, Value};

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// The second parameter, the method's arguments (an empty struct when absent).
fn args(call: &MethodCall) -> Arg<'_> {
    static EMPTY: Value = Value::Struct(Vec::new());
    Arg { v: call.params.get(1).unwrap_or(&EMPTY), path: "param2" }
}

/// Runs a modern method, or `None` when `call` names none.
pub(crate) async fn call(xr: &XmlRpc, caller: &Caller, call: &MethodCall, peer: &Peer) -> Option<Result<Value, Fault>> {
    let a = args(call);
    let o = &xr.orders;
    Some(match call.method.as_str() {
        "order.cancel" => async { Ok(one(xr, caller, &o.cancel(caller, &string(a, "reference")?).await?).await) }.await,
        "order.approve" => {
            async { Ok(one(xr, caller, &o.approve(caller, &string(a, "reference")?).await?).await) }.await
        }
        "order.reject" => async { Ok(one(xr, caller, &o.reject(caller, &string(a, "reference")?).await?).await) }.await,
        "order.list" => list(xr, caller, a).await,
        "cert.download" => download(xr, caller, a).await,
        "account.statement" => statement(xr, caller, a).await,
        "catalog.products" => products(xr, caller).await,
        "acme.url.create" => acme_create(xr, caller, a, peer).await,
        "acme.url.list" => acme_list(xr, caller, peer).await,
        "acme.url.revoke" => {
            async {
                o.revoke_acme_url(caller, int(a, "id")?).await?;
                Ok(Value::Struct(vec![("messageReponse".into(), s("OK"))]))
            }
            .await
        }
        "prevalidation.list" => prevalidations(xr, caller).await,
        _ => return None,
    })
}

async fn one(xr: &XmlRpc, caller: &Caller, order: &orders::Order) -> Value {
    let reference = order.reference.clone().unwrap_or_default();
    let certs = xr.orders.certificates(caller, &reference).await.unwrap_or_default();
    order_value(order, &certs)
}

fn opt_date(a: Arg<'_>, name: &str) -> Result<i64, Fault> {
    match a.opt(name) {
        None => Ok(0),
        Some(Value::DateTime(t)) => Ok(t.unix_timestamp()),
        Some(Value::Int(i)) => Ok(*i),
        Some(Value::String(v)) => crate::parse_datetime(v)
            .map(|t| t.unix_timestamp())
            .or_else(|| v.trim().parse().ok())
            .ok_or_else(|| Fault::params(&format!("{}.{name}", a.path), &format!("{v:?} is not a date"))),
        Some(other) => {
            Err(Fault::params(&format!("{}.{name}", a.path), &format!("expected a date, found {}", other.type_name())))
        }
    }
}

async fn list(xr: &XmlRpc, caller: &Caller, a: Arg<'_>) -> Result<Value, Fault> {
    let filter = orders::OrderFilter {
        status: opt_string(a, "statut").unwrap_or_default(),
        product_code: opt_string(a, "produit").unwrap_or_default(),
        updated_from: opt_date(a, "depuis")?,
        updated_to: opt_date(a, "jusqua")?,
        limit: if a.opt("limite").is_some() { int(a, "limite")?.clamp(1, 1000) } else { 100 },
        offset: if a.opt("decalage").is_some() { int(a, "decalage")?.max(0) } else { 0 },
        ..Default::default()
    };
    let list = xr.orders.list_orders(caller, &filter).await?;
    Ok(Value::Array(list.iter().map(|o| order_value(o, &[])).collect()))
}

async fn download(xr: &XmlRpc, caller: &Caller, a: Arg<'_>) -> Result<Value, Fault> {
    let reference = string(a, "reference")?;
    let format = opt_string(a, "format").unwrap_or_else(|| "pem".into());
    let certs = xr.orders.certificates(caller, &reference).await?;
    let cert = certs
        .iter()
        .rev()
        .find(|c| c.revoked_at.is_none())
        .or(certs.last())
        .ok_or_else(|| Fault::new(code::WRONG_STATE, format!("order {reference} has no certificate yet")))?;
    let content = match format.as_str() {
        "pem" => s(cert.leaf_pem.clone()),
        "pem_chain" => s(format!("{}{}", cert.leaf_pem, cert.chain_pem)),
        "der" => Value::Base64(
            orders::formats::pem_blocks(&cert.leaf_pem)
                .pop()
                .ok_or_else(|| Fault::internal("stored certificate is not PEM"))?,
        ),
        "pkcs7" => Value::Base64(orders::formats::pkcs7_der(&format!("{}{}", cert.leaf_pem, cert.chain_pem))),
        other => {
            return Err(Fault::new(code::INVALID, format!("format {other:?}: use pem, pem_chain, der or pkcs7")));
        }
    };
    Ok(Value::Struct(vec![("format".into(), s(format)), ("contenu".into(), content)]))
}

async fn statement(xr: &XmlRpc, caller: &Caller, a: Arg<'_>) -> Result<Value, Fault> {
    let which = match opt_string(a, "type").as_deref().unwrap_or("tokens") {
        "tokens" | "jetons" => Ledger::Tokens,
        "deposit" | "depot" => Ledger::Deposit,
        "invoice" | "facture" => Ledger::Invoice,
        other => {
            return Err(Fault::params(
                &format!("{}.type", a.path),
                &format!("{other:?}: use tokens, deposit or invoice"),
            ));
        }
    };
    let to = opt_date(a, "jusqua")?;
    let lines = xr.orders.statement(caller, which, opt_date(a, "depuis")?, if to == 0 { i64::MAX } else { to }).await?;
    if a.opt("csv").is_some_and(|v| *v == Value::Bool(true)) {
        return Ok(Value::Struct(vec![("csv".into(), s(statement_csv(&lines)))]));
    }
    let money = which != Ledger::Tokens;
    let fmt = |v: i64| if money { s(format_money(v)) } else { Value::Int(v) };
    Ok(Value::Struct(vec![(
        "lignes".into(),
        Value::Array(
            lines
                .iter()
                .map(|l| {
                    Value::Struct(vec![
                        ("date".into(), s(iso(l.at))),
                        ("reference".into(), s(l.reference.clone().unwrap_or_default())),
                        ("cn".into(), s(l.cn.clone().unwrap_or_default())),
                        ("motif".into(), s(l.reason.clone())),
                        ("article".into(), s(l.item.clone())),
                        ("montant".into(), fmt(l.amount)),
                        ("solde".into(), fmt(l.balance)),
                    ])
                })
                .collect(),
        ),
    )]))
}

async fn products(xr: &XmlRpc, caller: &Caller) -> Result<Value, Fault> {
    let account = xr.orders.account(caller.account_id).await?;
    let mut out = Vec::new();
    for p in xr.orders.products().await? {
        let price = xr.orders.price_of(&p.code, caller.account_id, &account.currency).await?;
        out.push(Value::Struct(vec![
            ("code".into(), s(p.code)),
            ("nom".into(), s(p.name)),
            ("validiteJours".into(), Value::Int(p.validity_days)),
            ("validation".into(), s(p.validation)),
            ("marque".into(), s(p.brand)),
            ("wildcard".into(), Value::Bool(p.wildcard)),
            ("maxSans".into(), Value::Int(p.max_sans)),
            ("prix".into(), price.map_or(Value::Nil, |v| s(format_money(v)))),
            ("devise".into(), s(account.currency.clone())),
        ]));
    }
    Ok(Value::Array(out))
}

async fn acme_create(xr: &XmlRpc, caller: &Caller, a: Arg<'_>, peer: &Peer) -> Result<Value, Fault> {
    let name = opt_string(a, "nom").unwrap_or_default();
    let c = xr.orders.create_acme_url(caller, &name, &string(a, "produit")?, int(a, "organisation")?).await?;
    Ok(Value::Struct(vec![
        ("id".into(), Value::Int(c.id)),
        ("directory".into(), s(format!("{}/acme/{}/directory", peer.base, c.path))),
        ("kid".into(), s(c.kid)),
        ("hmac".into(), s(c.hmac_key)),
    ]))
}

async fn acme_list(xr: &XmlRpc, caller: &Caller, peer: &Peer) -> Result<Value, Fault> {
    let urls = xr.orders.acme_urls(caller).await?;
    Ok(Value::Array(
        urls.into_iter()
            .map(|u| {
                Value::Struct(vec![
                    ("id".into(), Value::Int(u.id)),
                    ("nom".into(), s(u.name)),
                    ("produit".into(), s(u.product_code)),
                    ("organisation".into(), Value::Int(u.organisation_id)),
                    ("directory".into(), s(format!("{}/acme/{}/directory", peer.base, u.path))),
                    ("kid".into(), s(u.kid_masked)),
                    ("hmac".into(), s(u.hmac_masked)),
                    ("revoquee".into(), Value::Bool(u.revoked)),
                ])
            })
            .collect(),
    ))
}

async fn prevalidations(xr: &XmlRpc, caller: &Caller) -> Result<Value, Fault> {
    let list = xr.orders.prevalidations(caller).await?;
    Ok(Value::Array(
        list.into_iter()
            .map(|p| {
                Value::Struct(vec![
                    ("id".into(), Value::Int(p.id)),
                    ("organisation".into(), Value::Int(p.organisation_id)),
                    ("marque".into(), s(p.brand)),
                    ("validation".into(), s(p.validation)),
                    ("etat".into(), s(p.state)),
                    ("expiration".into(), s(iso(p.expires_at))),
                ])
            })
            .collect(),
    ))
}
