//! ACME orders: new-order (checked against the order core, nothing charged
//! yet), reading an order (its status follows the certgate order once
//! finalized), and finalize (the order core places and pays the order).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orders::acme::{AcmeAuthz, AcmeNames as Names, AcmeOrder, AcmeOrderState, AcmeOrderStatus, NewAcmeOrderRequest};
use orders::csr::Csr;
use orders::{Caller, PlaceOrder};
use serde_json::{Value, json};

use crate::Acme;
use crate::problem::Problem;
use crate::reply::{Reply, rfc3339};
use crate::request::{AcmeRequest, Ctx, KeyMode, no_such_order};

/// Seconds a client should wait before polling a processing order again.
const RETRY_AFTER: u64 = 1;

/// An ACME order's state as shown to the client, with its authorizations.
pub(crate) struct OrderView {
    state: AcmeOrderState,
    authzs: Vec<AcmeAuthz>,
}

impl Acme {
    /// The order as JSON, in its current state.
    pub(crate) async fn order_json(
        &self,
        ctx: &Ctx,
        caller: &Caller,
        (o, authzs): (AcmeOrder, Vec<AcmeAuthz>),
    ) -> Result<Value, Problem> {
        let state = self.orders.acme_order_state(caller, &o, &authzs).await?;
        self.render_order(ctx, caller, &o, OrderView { state, authzs }).await
    }

    /// The order object of RFC 8555 §7.1.3 for a view of it.
    async fn render_order(&self, ctx: &Ctx, caller: &Caller, o: &AcmeOrder, view: OrderView) -> Result<Value, Problem> {
        let OrderView { state, authzs } = view;
        let identifiers: Vec<Value> = o.identifiers.lines().map(|n| json!({ "type": "dns", "value": n })).collect();
        let mut v = json!({
            "status": state.status.as_str(),
            "expires": rfc3339(o.expires_at),
            "identifiers": identifiers,
            "authorizations": authzs.iter().map(|a| ctx.url(&format!("authz/{}", a.id))).collect::<Vec<_>>(),
            "finalize": ctx.url(&format!("order/{}/finalize", o.id)),
        });
        if let Some(c) = state.certificate {
            v["certificate"] = json!(ctx.url(&format!("cert/{c}")));
        }
        if let Some(replaced) = o.replaces {
            let cert = self.orders.certificate(caller, replaced).await?;
            v["replaces"] = json!(crate::ari::cert_id_of(&cert));
        }
        if let Some(e) = state.error {
            // Before finalize only a validation can fail; after, only issuance.
            let p = match o.order_id {
                None => Problem::unauthorized(e),
                Some(_) => Problem::new("serverInternal", StatusCode::INTERNAL_SERVER_ERROR, e),
            };
            v["error"] = p.body();
        }
        Ok(v)
    }

    /// An order of the account, with its authorizations.
    async fn own_order(&self, account_id: i64, id: i64) -> Result<(AcmeOrder, Vec<AcmeAuthz>), Problem> {
        match self.orders.acme_order(id).await? {
            Some((o, authzs)) if o.account_id == account_id => Ok((o, authzs)),
            _ => Err(no_such_order()),
        }
    }
}

/// `POST new-order`.
pub(crate) async fn new_order(State(acme): State<Acme>, req: AcmeRequest) -> Response {
    acme.clone()
        .signed(req, KeyMode::Kid, async |ctx, signed| {
            let account = signed.account()?.clone();
            acme.limit_new_order(&ctx, account.id).await?;
            let payload = signed.jws.json()?;
            for field in ["notBefore", "notAfter"] {
                if payload.get(field).is_some_and(|v| !v.is_null()) {
                    return Err(Problem::malformed(format!("{field} is not supported: the validity is the product's")));
                }
            }
            let ids = payload
                .get("identifiers")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| Problem::malformed("identifiers must be a non-empty array"))?;
            let mut names = Vec::new();
            for id in ids {
                if id.get("type").and_then(Value::as_str) != Some("dns") {
                    return Err(Problem::new(
                        "unsupportedIdentifier",
                        StatusCode::BAD_REQUEST,
                        "only dns identifiers are supported",
                    ));
                }
                let value = id
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Problem::malformed("identifier without value"))?;
                names.push(value.to_string());
            }
            let caller = ctx.caller(account.id, &ctx.ip);
            let replaces = match payload.get("replaces").and_then(Value::as_str) {
                Some(cert_id) => {
                    let cert = acme.certificate_by_id(&caller, cert_id).await?;
                    if acme.orders.acme_order_replacing(cert.id).await?.is_some() {
                        return Err(Problem::new(
                            "alreadyReplaced",
                            StatusCode::CONFLICT,
                            "another order already replaces this certificate",
                        ));
                    }
                    Some(cert)
                }
                None => None,
            };
            let orders::CheckedNames { names, needing_dcv: uncovered } = acme
                .orders
                .check_order(
                    &caller,
                    ctx.dir.organisation_id,
                    &ctx.dir.product_code,
                    &names,
                    replaces.as_ref().map(|c| c.order_id),
                )
                .await?;
            let new = NewAcmeOrderRequest {
                account_id: account.id,
                names: &names,
                needing_dcv: &uncovered,
                replaces: replaces.map(|c| c.id),
                ttl_secs: acme.settings.order_ttl_secs,
            };
            let (o, authzs) = acme.orders.create_acme_order(&new).await?;
            let state = AcmeOrderState { status: o.status, certificate: None, error: None };
            let view = OrderView { state, authzs };
            let body = acme.render_order(&ctx, &caller, &o, view).await?;
            Ok(Reply::json(StatusCode::CREATED, &body).location(ctx.url(&format!("order/{}", o.id))))
        })
        .await
}

/// `POST order/<id>` (POST-as-GET).
pub(crate) async fn order(State(acme): State<Acme>, Path((_, id)): Path<(String, i64)>, req: AcmeRequest) -> Response {
    acme.clone()
        .signed_naming(req, KeyMode::Kid, Names::Order(id), async |ctx, mut signed| {
            signed.jws.post_as_get()?;
            let o = signed.take_order()?;
            let account = signed.account()?;
            let caller = ctx.caller(account.id, &ctx.ip);
            let v = acme.order_json(&ctx, &caller, o).await?;
            let mut reply = Reply::json(StatusCode::OK, &v);
            if v["status"] == "processing" {
                reply.retry_after = Some(RETRY_AFTER);
            }
            Ok(reply)
        })
        .await
}

/// `POST order/<id>/finalize`: the CSR must name exactly the order's
/// identifiers with a key other than the account's; the order core then
/// places and pays the order (`DCACME-` reference) and has it issued: at
/// once when its upstream signs at once (the order is valid in the answer),
/// else by a job (the order is processing and the client polls).
pub(crate) async fn finalize(
    State(acme): State<Acme>,
    Path((_, id)): Path<(String, i64)>,
    req: AcmeRequest,
) -> Response {
    acme.clone()
        .signed_naming(req, KeyMode::Kid, Names::Order(id), async |ctx, mut signed| {
            let (mut o, authzs) = signed.take_order()?;
            let account = signed.account()?.clone();
            let caller = ctx.caller(account.id, &ctx.ip);
            let state = acme.orders.acme_order_state(&caller, &o, &authzs).await?;
            if state.status != AcmeOrderStatus::Ready {
                return Err(Problem::new(
                    "orderNotReady",
                    StatusCode::FORBIDDEN,
                    format!("the order is {}, not ready", state.status),
                ));
            }
            let payload = signed.jws.json()?;
            let csr_b64 =
                payload.get("csr").and_then(Value::as_str).ok_or_else(|| Problem::malformed("finalize needs a csr"))?;
            let der = URL_SAFE_NO_PAD
                .decode(csr_b64.trim_end_matches('='))
                .map_err(|_| Problem::new("badCSR", StatusCode::BAD_REQUEST, "the csr is not base64url DER"))?;
            // The order checks the CSR's signature when it is placed.
            let csr = Csr::read(&der)?;
            let mut csr_names: Vec<String> = csr.names();
            let mut wanted: Vec<String> = o.identifiers.lines().map(str::to_string).collect();
            csr_names.sort();
            csr_names.dedup();
            wanted.sort();
            if csr_names != wanted {
                return Err(Problem::new(
                    "badCSR",
                    StatusCode::BAD_REQUEST,
                    format!("the CSR names {csr_names:?}; the order's identifiers are {wanted:?}"),
                ));
            }
            if signed.jwk.matches_spki(&csr.public_key_der) {
                return Err(Problem::new(
                    "badCSR",
                    StatusCode::BAD_REQUEST,
                    "the CSR's key must not be the account key",
                ));
            }
            // The common name first: the CSR's, else the first identifier.
            let cn = csr.common_name.clone().filter(|c| wanted.contains(c)).unwrap_or_else(|| wanted[0].clone());
            let mut names = vec![cn.clone()];
            names.extend(wanted.iter().filter(|n| **n != cn).cloned());
            let req = PlaceOrder {
                organisation_id: ctx.dir.organisation_id,
                product_code: ctx.dir.product_code.clone(),
                csr: der,
                names,
                client_ref: None,
                idempotency_key: Some(format!("acme-order-{}", o.id)),
                dcv_done: true,
                renews: match o.replaces {
                    Some(cert_id) => Some(acme.orders.certificate(&caller, cert_id).await?.order_id),
                    None => None,
                },
                // An ACME client waits for its order, not for a top-up.
                wait_for_funds: false,
                // An ACME client is shown no price.
                quoted: None,
            };
            let placed = acme.orders.finalize_acme_order(&caller, o.id, &req).await?;
            let v = if placed.replayed {
                // A retried finalize: the order's state is whatever the first one left.
                let o = acme.own_order(account.id, id).await?;
                acme.order_json(&ctx, &caller, o).await?
            } else {
                // The order was linked to the ACME order in its own transaction.
                let status = orders::acme::finalized_status(&placed);
                let state = AcmeOrderState { status, certificate: placed.certificate_id, error: None };
                o.order_id = Some(placed.order.id);
                acme.render_order(&ctx, &caller, &o, OrderView { state, authzs }).await?
            };
            let mut reply = Reply::json(StatusCode::OK, &v).location(ctx.url(&format!("order/{id}")));
            if v["status"] == "processing" {
                reply.retry_after = Some(RETRY_AFTER);
            }
            Ok(reply)
        })
        .await
}
