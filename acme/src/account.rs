//! ACME accounts: creation with External Account Binding, lookup, contact
//! update, deactivation, and the list of an account's orders.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use orders::acme::AcmeAccount;
use serde_json::{Value, json};

use crate::Acme;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::request::{AcmeRequest, Ctx, KeyMode};

fn account_json(ctx: &Ctx, a: &AcmeAccount) -> Value {
    let contact: Vec<&str> = a.contact.lines().filter(|l| !l.is_empty()).collect();
    json!({
        "status": a.status.as_str(),
        "contact": contact,
        "orders": ctx.url(&format!("acct/{}/orders", a.id)),
        "createdAt": crate::reply::rfc3339(a.created_at),
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
pub(crate) async fn new_account(State(acme): State<Acme>, req: AcmeRequest) -> Response {
    acme.clone()
        .signed(req, KeyMode::Jwk, async |ctx, signed| {
            let payload = signed.jws.json()?;
            let thumbprint = signed.jwk.thumbprint();
            let existing = acme.orders.acme_account_by_key(ctx.dir.id, &thumbprint).await?;
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
            // The account's number is known once it exists: the audit names it then.
            let url_caller = ctx.caller(0, &ctx.ip);
            let (a, created) = acme
                .orders
                .register_acme_account(&url_caller, ctx.dir.id, &thumbprint, &signed.jwk.canonical(), &contact)
                .await?;
            let url = ctx.url(&format!("acct/{}", a.id));
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok(Reply::json(status, &account_json(&ctx, &a)).location(url))
        })
        .await
}

/// `POST acct/<id>`: read (POST-as-GET), update contacts, or deactivate.
pub(crate) async fn account(
    State(acme): State<Acme>,
    Path((_, id)): Path<(String, i64)>,
    req: AcmeRequest,
) -> Response {
    acme.clone()
        .signed(req, KeyMode::Kid, async |ctx, signed| {
            let a = signed.account()?.clone();
            if a.id != id {
                return Err(Problem::unauthorized("an account may only read or change itself"));
            }
            let payload = signed.jws.json()?;
            let caller = ctx.caller(a.id, &ctx.ip);
            if payload.get("status").and_then(Value::as_str) == Some("deactivated") {
                acme.orders.deactivate_acme_account(&caller, a.id).await?;
            } else if let Some(status) = payload.get("status") {
                return Err(Problem::malformed(format!(
                    "an account's status can only become deactivated, not {status}"
                )));
            } else if let Some(contact) = contacts(&payload)? {
                acme.orders.set_acme_account_contact(&caller, a.id, &contact).await?;
            }
            let a = acme.orders.acme_account(a.id).await?.ok_or_else(|| Problem::not_found("gone"))?;
            Ok(Reply::json(StatusCode::OK, &account_json(&ctx, &a)))
        })
        .await
}

/// `POST acct/<id>/orders`: the URLs of the account's orders.
pub(crate) async fn orders(State(acme): State<Acme>, Path((_, id)): Path<(String, i64)>, req: AcmeRequest) -> Response {
    acme.clone()
        .signed(req, KeyMode::Kid, async |ctx, signed| {
            signed.jws.post_as_get()?;
            if signed.account()?.id != id {
                return Err(Problem::unauthorized("an account may only list its own orders"));
            }
            let list = acme.orders.acme_orders_of(id).await?;
            let urls: Vec<String> = list.iter().map(|o| ctx.url(&format!("order/{}", o.id))).collect();
            Ok(Reply::json(StatusCode::OK, &json!({ "orders": urls })))
        })
        .await
}

/// `POST key-change` (RFC 8555 §7.3.5): the account, signing with its
/// current key, sends an inner JWS signed by the new key naming the account
/// and its old key.
pub(crate) async fn key_change(State(acme): State<Acme>, req: AcmeRequest) -> Response {
    acme.clone()
        .signed(req, KeyMode::Kid, async |ctx, signed| {
            let url = ctx.url("key-change");
            let account = signed.account()?.clone();
            let inner = crate::jws::Jws::parse(&signed.jws.payload)?;
            if inner.protected.nonce.is_some() || inner.protected.kid.is_some() {
                return Err(Problem::malformed("the inner JWS of key-change carries a jwk and no nonce"));
            }
            if inner.protected.url.as_deref() != Some(url.as_str()) {
                return Err(Problem::malformed("the inner JWS url must be the key-change URL"));
            }
            let new_jwk = inner.protected.jwk.as_ref().ok_or_else(|| Problem::malformed("the inner JWS has no jwk"))?;
            let new_key = crate::jws::Jwk::from_value(new_jwk)?;
            inner.verify(&new_key)?;
            let payload = inner.json()?;
            if payload.get("account").and_then(Value::as_str) != Some(ctx.url(&format!("acct/{}", account.id)).as_str())
            {
                return Err(Problem::malformed("the inner payload's account is not the signing account"));
            }
            let old = payload.get("oldKey").ok_or_else(|| Problem::malformed("the inner payload has no oldKey"))?;
            if crate::jws::Jwk::from_value(old)?.thumbprint() != signed.jwk.thumbprint() {
                return Err(Problem::malformed("oldKey is not the account's current key"));
            }
            let thumbprint = new_key.thumbprint();
            if let Some(other) = acme.orders.acme_account_by_key(ctx.dir.id, &thumbprint).await? {
                let conflict =
                    Problem::new("malformed", StatusCode::CONFLICT, "the new key already belongs to an account");
                let mut reply = Reply::json(conflict.status, &conflict.body());
                reply.content_type = "application/problem+json";
                return Ok(reply.location(ctx.url(&format!("acct/{}", other.id))));
            }
            let caller = ctx.caller(account.id, &ctx.ip);
            if !acme.orders.rekey_acme_account(&caller, account.id, &thumbprint, &new_key.canonical()).await? {
                return Err(Problem::new(
                    "malformed",
                    StatusCode::CONFLICT,
                    "the new key already belongs to an account",
                ));
            }
            let a = acme.orders.acme_account(account.id).await?.ok_or_else(|| Problem::not_found("gone"))?;
            Ok(Reply::json(StatusCode::OK, &account_json(&ctx, &a)))
        })
        .await
}
