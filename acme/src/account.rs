//! ACME accounts: creation with External Account Binding, lookup, contact
//! update, deactivation, and the list of an account's orders.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use storage::acme_accounts::{self, AcmeAccountRow};
use storage::{acme_orders, audit, commit};

use crate::Acme;
use crate::context::{Ctx, KeyMode, Reply};
use crate::problem::Problem;

fn account_json(ctx: &Ctx, a: &AcmeAccountRow) -> Value {
    let contact: Vec<&str> = a.contact.lines().filter(|l| !l.is_empty()).collect();
    json!({
        "status": a.status,
        "contact": contact,
        "orders": ctx.url(&format!("acct/{}/orders", a.id)),
        "createdAt": crate::context::rfc3339(a.created_at),
    })
}

/// Checks contacts: `mailto:` URLs with one plausible address each.
fn contacts(payload: &Value) -> Result<Option<String>, Problem> {
    let Some(list) = payload.get("contact") else {
        return Ok(None);
    };
    let list = list.as_array().ok_or_else(|| Problem::malformed("contact must be an array"))?;
    let mut out = Vec::new();
    for c in list {
        let c = c.as_str().ok_or_else(|| Problem::malformed("contact entries must be strings"))?;
        let Some(addr) = c.strip_prefix("mailto:") else {
            return Err(Problem::new(
                "unsupportedContact",
                StatusCode::BAD_REQUEST,
                format!("{c:?}: only mailto: contacts are supported"),
            ));
        };
        let valid = match addr.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !addr.contains([',', ' ', '?', '<', '>'])
                    && orders::names::normalize(domain).is_ok()
            }
            None => false,
        };
        if !valid {
            return Err(Problem::new(
                "invalidContact",
                StatusCode::BAD_REQUEST,
                format!("{c:?} is not an email address"),
            ));
        }
        out.push(c.to_string());
    }
    Ok(Some(out.join("\n")))
}

/// `POST new-account`: find the account of this key, or create one bound
/// by EAB to this directory's ACME URL.
pub(crate) async fn new_account(
    State(acme): State<Acme>,
    Path(dir): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    acme.clone()
        .handle(&dir, &headers, async |ctx| {
            let path = format!("/acme/{dir}/new-account");
            let signed = acme.verify(&ctx, &path, &headers, body, KeyMode::Jwk).await?;
            let payload = signed.jws.json()?;
            let thumbprint = signed.jwk.thumbprint();
            let db = acme.orders.db();
            let existing = acme_accounts::by_thumbprint(&mut *db.acquire().await?, ctx.dir.id, &thumbprint).await?;
            if let Some(a) = existing {
                let url = ctx.url(&format!("acct/{}", a.id));
                return Ok(Reply::json(StatusCode::OK, &account_json(&ctx, &a)).location(url));
            }
            if payload.get("onlyReturnExisting").and_then(Value::as_bool) == Some(true) {
                return Err(Problem::new(
                    "accountDoesNotExist",
                    StatusCode::BAD_REQUEST,
                    "no account exists with this key",
                ));
            }
            let contact = contacts(&payload)?.unwrap_or_default();
            let Some(eab) = payload.get("externalAccountBinding") else {
                return Err(Problem::new(
                    "externalAccountRequired",
                    StatusCode::BAD_REQUEST,
                    "this directory requires External Account Binding: use the EAB KID and HMAC key of its ACME URL",
                ));
            };
            let outer = signed.jws.protected.jwk.clone().unwrap_or(Value::Null);
            acme.check_eab(&ctx, eab, &outer).await?;
            let mut tx = db.begin().await?;
            let (a, created) =
                acme_accounts::insert_or_get(&mut tx, ctx.dir.id, &thumbprint, &signed.jwk.canonical(), &contact)
                    .await?;
            if created {
                let actor = ctx.caller(a.id, &peer.ip().to_string());
                audit::record(&mut tx, &actor.actor(), "acme.account.create", &format!("ACME URL {}", ctx.dir.id))
                    .await?;
            }
            commit(tx).await?;
            let url = ctx.url(&format!("acct/{}", a.id));
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok(Reply::json(status, &account_json(&ctx, &a)).location(url))
        })
        .await
}

/// `POST acct/<id>`: read (POST-as-GET), update contacts, or deactivate.
pub(crate) async fn account(
    State(acme): State<Acme>,
    Path((dir, id)): Path<(String, i64)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    acme.clone()
        .handle(&dir, &headers, async |ctx| {
            let path = format!("/acme/{dir}/acct/{id}");
            let signed = acme.verify(&ctx, &path, &headers, body, KeyMode::Kid).await?;
            let a = signed.account()?.clone();
            if a.id != id {
                return Err(Problem::unauthorized("an account may only read or change itself"));
            }
            let payload = signed.jws.json()?;
            let db = acme.orders.db();
            let actor = ctx.caller(a.id, &peer.ip().to_string()).actor();
            if payload.get("status").and_then(Value::as_str) == Some("deactivated") {
                let mut tx = db.begin().await?;
                acme_accounts::deactivate(&mut tx, a.id).await?;
                audit::record(&mut tx, &actor, "acme.account.deactivate", "").await?;
                commit(tx).await?;
            } else if let Some(status) = payload.get("status") {
                return Err(Problem::malformed(format!(
                    "an account's status can only become deactivated, not {status}"
                )));
            } else if let Some(contact) = contacts(&payload)? {
                let mut tx = db.begin().await?;
                acme_accounts::set_contact(&mut tx, a.id, &contact).await?;
                audit::record(&mut tx, &actor, "acme.account.contact", "").await?;
                commit(tx).await?;
            }
            let a =
                acme_accounts::get(&mut *db.acquire().await?, a.id).await?.ok_or_else(|| Problem::not_found("gone"))?;
            Ok(Reply::json(StatusCode::OK, &account_json(&ctx, &a)))
        })
        .await
}

/// `POST acct/<id>/orders`: the URLs of the account's orders.
pub(crate) async fn orders(
    State(acme): State<Acme>,
    Path((dir, id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    acme.clone()
        .handle(&dir, &headers, async |ctx| {
            let path = format!("/acme/{dir}/acct/{id}/orders");
            let signed = acme.verify(&ctx, &path, &headers, body, KeyMode::Kid).await?;
            if signed.account()?.id != id {
                return Err(Problem::unauthorized("an account may only list its own orders"));
            }
            let list = acme_orders::for_account(&mut *acme.orders.db().acquire().await?, id).await?;
            let urls: Vec<String> = list.iter().map(|o| ctx.url(&format!("order/{}", o.id))).collect();
            Ok(Reply::json(StatusCode::OK, &json!({ "orders": urls })))
        })
        .await
}
