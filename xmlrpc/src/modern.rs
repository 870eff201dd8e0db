//! The methods the legacy API lacks, with English dotted names and the same
//! authentication: orders, certificates, statements, the catalogue, ACME URLs
//! and pre-validations. Each takes (identification, arguments).

use orders::{Caller, Keyset, Ledger, format_money, formats, iso, statement_csv};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::fault::{Fault, code};
use crate::server::{Peer, XmlRpc};
use crate::values::{order_value, s, unix_time};
use crate::{DateParam, MethodCall, Value, from_value};

/// The second parameter, the method's arguments (an empty struct when absent).
pub(crate) fn args<T: DeserializeOwned>(call: &MethodCall) -> Result<T, Fault> {
    static EMPTY: Value = Value::Struct(Vec::new());
    Ok(from_value(call.params.get(1).unwrap_or(&EMPTY), "param2")?)
}

/// The arguments of the methods on one order.
#[derive(Deserialize)]
struct ByReference {
    reference: String,
}

/// Runs a modern method, or `None` when `call` names none.
pub(crate) async fn call(xr: &XmlRpc, caller: &Caller, call: &MethodCall, peer: &Peer) -> Option<Result<Value, Fault>> {
    let o = &xr.orders;
    let reference = || args::<ByReference>(call).map(|a| a.reference);
    Some(match call.method.as_str() {
        "order.cancel" => async { Ok(one(xr, caller, &o.cancel(caller, &reference()?).await?).await) }.await,
        "order.approve" => async { Ok(one(xr, caller, &o.approve(caller, &reference()?, None).await?).await) }.await,
        "order.reject" => async { Ok(one(xr, caller, &o.reject(caller, &reference()?).await?).await) }.await,
        "order.list" => list(xr, caller, call).await,
        "order.provideCsr" => {
            async {
                let ProvideCsr { reference, csr } = args(call)?;
                Ok(one(xr, caller, &o.provide_csr(caller, &reference, csr.as_bytes()).await?).await)
            }
            .await
        }
        "cert.download" => download(xr, caller, call).await,
        "account.statement" => statement(xr, caller, call).await,
        "catalog.products" => products(xr, caller).await,
        "acme.url.create" => acme_create(xr, caller, call, peer).await,
        "acme.url.list" => acme_list(xr, caller, peer).await,
        "acme.url.revoke" => {
            async {
                let AcmeRevoke { id } = args(call)?;
                o.revoke_acme_url(caller, id).await?;
                Ok(Value::Struct(vec![("messageReponse".into(), s("OK"))]))
            }
            .await
        }
        "prevalidation.list" => prevalidations(xr, caller).await,
        "cert.autoRenew.list" => async { Ok(auto_renewals(&o.auto_renewals(caller).await?)) }.await,
        "cert.autoRenew.set" => {
            async {
                let a: AutoRenewSet = args(call)?;
                Ok(auto_renewals(&o.set_auto_renew(caller, &a.references, a.actif).await?))
            }
            .await
        }
        "account.autoRenewDefault.set" => {
            async {
                let Switch { actif } = args(call)?;
                o.set_auto_renew_default(caller, actif).await?;
                Ok(Value::Struct(vec![("messageReponse".into(), s("OK")), ("actif".into(), Value::Bool(actif))]))
            }
            .await
        }
        "account.renewalForecast" => forecast(xr, caller, call).await,
        m if m.starts_with("domain.") => return crate::domains::call(xr, caller, call).await,
        m if m.starts_with("monitor.") => return crate::monitoring::call(xr, caller, call).await,
        "account.contacts.list" => async { Ok(contacts(&o.contacts(caller).await?)) }.await,
        "account.contacts.set" => {
            async {
                let a: ContactSet = args(call)?;
                match a.email.as_str() {
                    "" => o.remove_contact(caller, &a.role).await?,
                    email => o.set_contact(caller, &a.role, email, a.langue.as_deref().unwrap_or("en")).await?,
                }
                Ok(contacts(&o.contacts(caller).await?))
            }
            .await
        }
        "account.webhooks.create" => {
            async {
                let WebhookCreate { url } = args(call)?;
                let w = o.create_webhook(caller, &url).await?;
                Ok(Value::Struct(vec![
                    ("id".into(), Value::Int(w.webhook.id)),
                    ("url".into(), s(w.webhook.url)),
                    ("secret".into(), s(w.secret)),
                ]))
            }
            .await
        }
        "account.webhooks.list" => async { Ok(webhooks(&o.webhooks(caller).await?)) }.await,
        "account.webhooks.delete" => {
            async {
                let AcmeRevoke { id } = args(call)?;
                o.delete_webhook(caller, id).await?;
                Ok(Value::Struct(vec![("messageReponse".into(), s("OK"))]))
            }
            .await
        }
        "account.webhooks.deliveries" => deliveries(xr, caller, call).await,
        "account.warningLevel.set" => {
            async {
                let a: WarningLevel = args(call)?;
                let (which, level) = match a.kind.as_str() {
                    "deposit" | "depot" => (Ledger::Deposit, orders::parse_money(&a.niveau)),
                    "tokens" | "jetons" => (Ledger::Tokens, a.niveau.trim().parse().ok()),
                    other => return Err(Fault::new(code::INVALID, format!("type {other:?}: deposit or tokens"))),
                };
                let level = level.ok_or_else(|| Fault::new(code::INVALID, format!("niveau {:?}", a.niveau)))?;
                o.set_warning_level(caller, which, a.article.as_deref(), level).await?;
                Ok(Value::Struct(vec![("messageReponse".into(), s("OK"))]))
            }
            .await
        }
        _ => return None,
    })
}

async fn one(xr: &XmlRpc, caller: &Caller, order: &orders::Order) -> Value {
    let reference = order.reference.clone().unwrap_or_default();
    let certs = xr.orders.certificates(caller, &reference).await.unwrap_or_default();
    order_value(order, &certs)
}

/// The `depuis` and `jusqua` bounds of a listing, in Unix seconds (0 when absent).
fn period(depuis: Option<&DateParam>, jusqua: Option<&DateParam>) -> Result<(i64, i64), Fault> {
    Ok((unix_time(depuis, "param2.depuis", None)?, unix_time(jusqua, "param2.jusqua", None)?))
}

/// The filters of `order.list`; dates are Unix seconds or ISO 8601.
#[derive(Deserialize)]
struct ListArgs {
    statut: Option<String>,
    produit: Option<String>,
    depuis: Option<DateParam>,
    jusqua: Option<DateParam>,
    limite: Option<i64>,
    decalage: Option<i64>,
}

async fn list(xr: &XmlRpc, caller: &Caller, call: &MethodCall) -> Result<Value, Fault> {
    let a: ListArgs = args(call)?;
    let (updated_from, updated_to) = period(a.depuis.as_ref(), a.jusqua.as_ref())?;
    let status = match a.statut.as_deref() {
        None | Some("") => None,
        Some(word) => Some(
            orders::Status::parse(word)
                .ok_or_else(|| Fault::new(code::INVALID, format!("statut: no order status {word:?}")))?,
        ),
    };
    let filter = orders::OrderFilter {
        status,
        product_code: a.produit.unwrap_or_default(),
        updated_from,
        updated_to,
        limit: a.limite.map_or(100, |l| l.clamp(1, 1000)),
        offset: a.decalage.map_or(0, |d| d.max(0)),
        ..Default::default()
    };
    let list = xr.orders.list_orders(caller, &filter).await?;
    Ok(Value::Array(list.iter().map(|o| order_value(o, &[])).collect()))
}

/// The arguments of `cert.download`; the format is checked below, where an
/// unknown one is a business fault (41) rather than a type error.
#[derive(Deserialize)]
struct DownloadArgs {
    reference: String,
    format: Option<String>,
}

async fn download(xr: &XmlRpc, caller: &Caller, call: &MethodCall) -> Result<Value, Fault> {
    let DownloadArgs { reference, format } = args(call)?;
    let format = format.unwrap_or_else(|| "pem".into());
    let certs = xr.orders.certificates(caller, &reference).await?;
    let cert = formats::served(&certs)
        .ok_or_else(|| Fault::new(code::WRONG_STATE, format!("order {reference} has no certificate yet")))?;
    let Some(f) = formats::Format::parse(&format) else {
        return Err(Fault::new(code::INVALID, format!("format {format:?}: use pem, pem_chain, der or pkcs7")));
    };
    let bytes = f.encode(cert).ok_or_else(|| Fault::internal("stored certificate is not PEM"))?;
    let content = match f {
        // The PEM formats are text, the others binary.
        formats::Format::Pem | formats::Format::PemChain => s(String::from_utf8_lossy(&bytes).into_owned()),
        formats::Format::Der | formats::Format::Pkcs7 => Value::Base64(bytes),
    };
    Ok(Value::Struct(vec![("format".into(), s(format)), ("contenu".into(), content)]))
}

/// Which ledger `account.statement` reads, in English or French.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum LedgerName {
    #[serde(alias = "jetons")]
    Tokens,
    #[serde(alias = "depot")]
    Deposit,
    #[serde(alias = "facture")]
    Invoice,
}

/// The arguments of `account.statement`.
#[derive(Deserialize)]
struct StatementArgs {
    #[serde(rename = "type")]
    ledger: Option<LedgerName>,
    depuis: Option<DateParam>,
    jusqua: Option<DateParam>,
    csv: Option<bool>,
    /// The `suite` of the previous answer: where this one starts.
    apres: Option<String>,
}

/// The most lines one `account.statement` answer holds; a longer statement
/// is read in several calls, each given the previous answer's `suite`, so
/// that no call holds an account's whole history in memory.
pub const STATEMENT_LINES: usize = 10_000;

async fn statement(xr: &XmlRpc, caller: &Caller, call: &MethodCall) -> Result<Value, Fault> {
    let a: StatementArgs = args(call)?;
    let which = match a.ledger {
        None | Some(LedgerName::Tokens) => Ledger::Tokens,
        Some(LedgerName::Deposit) => Ledger::Deposit,
        Some(LedgerName::Invoice) => Ledger::Invoice,
    };
    let (from, to) = period(a.depuis.as_ref(), a.jusqua.as_ref())?;
    let after = Keyset::parse(a.apres.as_deref().unwrap_or_default())
        .map_err(|_| Fault::params("param2.apres", "expected the suite of a previous answer"))?;
    let to = if to == 0 { i64::MAX } else { to };
    // One line more than given says whether a `suite` is owed.
    let mut lines = xr.orders.statement_page(caller, which, (from, to), after, STATEMENT_LINES as i64 + 1).await?;
    let more = lines.len() > STATEMENT_LINES;
    lines.truncate(STATEMENT_LINES);
    let suite = lines.last().filter(|_| more).map(|l| ("suite".to_string(), s(l.place().to_string())));
    if a.csv == Some(true) {
        return Ok(Value::Struct([("csv".to_string(), s(statement_csv(&lines)))].into_iter().chain(suite).collect()));
    }
    let money = which != Ledger::Tokens;
    let fmt = |v: i64| if money { s(format_money(v)) } else { Value::Int(v) };
    let mut answer = vec![(
        "lignes".into(),
        Value::Array(
            lines
                .iter()
                .map(|l| {
                    Value::Struct(vec![
                        ("date".into(), s(iso(l.at))),
                        ("reference".into(), s(l.reference.clone().unwrap_or_default())),
                        ("cn".into(), s(l.cn.clone().unwrap_or_default())),
                        ("motif".into(), s(l.reason.as_str())),
                        ("article".into(), s(l.item.clone())),
                        ("montant".into(), fmt(l.amount)),
                        ("solde".into(), fmt(l.balance)),
                    ])
                })
                .collect(),
        ),
    )];
    answer.extend(suite);
    Ok(Value::Struct(answer))
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

/// The arguments of `acme.url.create`.
#[derive(Deserialize)]
struct AcmeCreate {
    nom: Option<String>,
    produit: String,
    organisation: i64,
}

/// The arguments of `acme.url.revoke`.
#[derive(Deserialize)]
struct AcmeRevoke {
    id: i64,
}

async fn acme_create(xr: &XmlRpc, caller: &Caller, call: &MethodCall, peer: &Peer) -> Result<Value, Fault> {
    let a: AcmeCreate = args(call)?;
    let c = xr.orders.create_acme_url(caller, &a.nom.unwrap_or_default(), &a.produit, a.organisation).await?;
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
                    ("etat".into(), s(p.state.as_str())),
                    ("expiration".into(), s(iso(p.expires_at))),
                ])
            })
            .collect(),
    ))
}

/// The arguments of `cert.autoRenew.set`: the orders, and on or off.
#[derive(Deserialize)]
struct AutoRenewSet {
    references: Vec<String>,
    actif: bool,
}

/// The arguments of `account.autoRenewDefault.set`.
#[derive(Deserialize)]
struct Switch {
    actif: bool,
}

/// Certificates as the automatic renewal list shows them (seed 5.7): the
/// renewal date, or `manual`.
fn auto_renewals(list: &[orders::AutoRenewal]) -> Value {
    Value::Array(
        list.iter()
            .map(|a| {
                Value::Struct(vec![
                    ("reference".into(), s(a.order.reference.clone().unwrap_or_default())),
                    ("refTBS".into(), Value::Int(a.order.id)),
                    ("produit".into(), s(a.order.product_code.clone())),
                    ("domainePrincipal".into(), s(a.order.cn.clone())),
                    ("statut".into(), s(a.order.status.as_str())),
                    ("dateFin".into(), s(iso(a.not_after))),
                    ("renouvellement".into(), s(a.renews_at.map_or_else(|| "manual".to_string(), iso))),
                    ("renouvele".into(), Value::Bool(a.renewed)),
                ])
            })
            .collect(),
    )
}

/// The arguments of `account.renewalForecast`.
#[derive(Deserialize)]
struct ForecastArgs {
    depuis: DateParam,
    jusqua: DateParam,
    csv: Option<bool>,
}

async fn forecast(xr: &XmlRpc, caller: &Caller, call: &MethodCall) -> Result<Value, Fault> {
    let a: ForecastArgs = args(call)?;
    let (from, to) = period(Some(&a.depuis), Some(&a.jusqua))?;
    let f = xr.orders.renewal_forecast(caller, from, to).await?;
    if a.csv == Some(true) {
        return Ok(Value::Struct(vec![("csv".into(), s(orders::forecast_csv(&f)))]));
    }
    let needs = f.needs.iter().map(|n| {
        Value::Struct(vec![
            ("article".into(), s(n.item.clone())),
            ("necessaire".into(), Value::Int(n.needed)),
            ("detenu".into(), Value::Int(n.held)),
            ("manque".into(), Value::Int(n.shortfall)),
        ])
    });
    let list = f.orders.iter().map(|o| {
        let items = o.items.iter().map(|(item, n)| {
            Value::Struct(vec![("article".into(), s(item.clone())), ("nombre".into(), Value::Int(*n))])
        });
        Value::Struct(vec![
            ("reference".into(), s(o.order.reference.clone().unwrap_or_default())),
            ("refTBS".into(), Value::Int(o.order.id)),
            ("produit".into(), s(o.order.product_code.clone())),
            ("domainePrincipal".into(), s(o.order.cn.clone())),
            ("dateFin".into(), s(iso(o.not_after))),
            ("dateRenouvellement".into(), s(iso(o.renews_at))),
            ("articles".into(), Value::Array(items.collect())),
        ])
    });
    Ok(Value::Struct(vec![
        ("depuis".into(), s(iso(f.from))),
        ("jusqua".into(), s(iso(f.to))),
        ("besoins".into(), Value::Array(needs.collect())),
        ("commandes".into(), Value::Array(list.collect())),
    ]))
}

/// The arguments of `account.contacts.set`; an empty `email` removes the role's contact.
#[derive(Deserialize)]
struct ContactSet {
    role: String,
    email: String,
    langue: Option<String>,
}

fn contacts(list: &[orders::Contact]) -> Value {
    Value::Array(
        list.iter()
            .map(|c| {
                Value::Struct(vec![
                    ("role".into(), s(c.role.clone())),
                    ("email".into(), s(c.email.clone())),
                    ("langue".into(), s(c.language.clone())),
                ])
            })
            .collect(),
    )
}

/// The arguments of `account.webhooks.create`.
#[derive(Deserialize)]
struct WebhookCreate {
    url: String,
}

fn webhooks(list: &[orders::Webhook]) -> Value {
    Value::Array(
        list.iter()
            .map(|w| {
                Value::Struct(vec![
                    ("id".into(), Value::Int(w.id)),
                    ("url".into(), s(w.url.clone())),
                    ("creation".into(), s(iso(w.created_at))),
                ])
            })
            .collect(),
    )
}

/// The arguments of `account.webhooks.deliveries`.
#[derive(Deserialize)]
struct DeliveriesArgs {
    id: Option<i64>,
    limite: Option<i64>,
}

async fn deliveries(xr: &XmlRpc, caller: &Caller, call: &MethodCall) -> Result<Value, Fault> {
    let a: DeliveriesArgs = args(call)?;
    let list = xr.orders.deliveries(caller, a.id, a.limite.unwrap_or(100)).await?;
    let text = |v: &Option<String>| v.clone().map_or(Value::Nil, s);
    Ok(Value::Array(
        list.iter()
            .map(|d| {
                Value::Struct(vec![
                    ("evenement".into(), s(format!("evt_{}", d.event_id))),
                    ("canal".into(), s(d.channel.clone())),
                    ("destinataire".into(), s(d.target.clone())),
                    ("etat".into(), s(d.state.clone())),
                    ("tentatives".into(), Value::Int(d.attempts)),
                    ("dernierStatut".into(), text(&d.last_status)),
                    ("derniereErreur".into(), text(&d.last_error)),
                    ("date".into(), s(iso(d.updated_at))),
                ])
            })
            .collect(),
    ))
}

/// The arguments of `account.warningLevel.set`: `type` deposit or tokens,
/// the token `article`, and `niveau` as an amount ("150.00") or a count ("5").
#[derive(Deserialize)]
struct WarningLevel {
    #[serde(rename = "type")]
    kind: String,
    article: Option<String>,
    niveau: String,
}

/// The arguments of `order.provideCsr`.
#[derive(Deserialize)]
struct ProvideCsr {
    reference: String,
    #[serde(rename = "CSR")]
    csr: String,
}
