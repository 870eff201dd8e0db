//! ACME authorizations and their challenges. Every identifier this gateway
//! accepts today is covered by a pre-validated domain (seed 6.9), so its
//! authorization is valid from the start.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use storage::acme_orders::{self, AcmeAuthzRow};

use crate::Acme;
use crate::context::{Ctx, KeyMode, Reply, rfc3339};
use crate::problem::Problem;

/// The challenge types an authorization offers.
const CHALLENGES: [&str; 3] = ["http-01", "dns-01", "tls-alpn-01"];

fn challenge_json(ctx: &Ctx, a: &AcmeAuthzRow, kind: &str) -> Value {
    let mut c = json!({
        "type": kind,
        "url": ctx.url(&format!("chall/{}/{kind}", a.id)),
        "token": a.token,
        "status": if a.status == "valid" { "valid" } else { "pending" },
    });
    if let Some(t) = a.validated_at {
        c["validated"] = json!(rfc3339(t));
    }
    c
}

fn authz_json(ctx: &Ctx, a: &AcmeAuthzRow) -> Value {
    // A valid authorization shows the one challenge that stands for its
    // pre-validation; a pending one offers every type.
    let kinds: &[&str] = if a.status == "valid" { &CHALLENGES[..1] } else { &CHALLENGES };
    let mut v = json!({
        "status": a.status,
        "expires": rfc3339(a.expires_at),
        "identifier": { "type": "dns", "value": a.identifier },
        "challenges": kinds.iter().map(|k| challenge_json(ctx, a, k)).collect::<Vec<_>>(),
    });
    if a.wildcard == 1 {
        v["wildcard"] = json!(true);
    }
    v
}

impl Acme {
    async fn own_authz(&self, account_id: i64, id: i64) -> Result<AcmeAuthzRow, Problem> {
        let mut c = self.orders.db().acquire().await?;
        let a = acme_orders::authz(&mut c, id).await?.ok_or_else(|| Problem::not_found("no such authorization"))?;
        match acme_orders::get(&mut c, a.acme_order_id).await? {
            Some(o) if o.account_id == account_id => Ok(a),
            _ => Err(Problem::not_found("no such authorization for this account")),
        }
    }
}

/// `POST authz/<id>`: read it (POST-as-GET) or deactivate it.
pub(crate) async fn authz(
    State(acme): State<Acme>,
    Path((dir, id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    acme.clone()
        .handle(&dir, &headers, async |ctx| {
            let signed = acme.verify(&ctx, &format!("/acme/{dir}/authz/{id}"), &headers, body, KeyMode::Kid).await?;
            let mut a = acme.own_authz(signed.account()?.id, id).await?;
            let payload = signed.jws.json()?;
            match payload.get("status").and_then(Value::as_str) {
                Some("deactivated") if a.status == "valid" || a.status == "pending" => {
                    let mut c = acme.orders.db().acquire().await?;
                    acme_orders::set_authz_status(&mut c, a.id, "deactivated").await?;
                    a.status = "deactivated".into();
                }
                Some(other) => {
                    return Err(Problem::malformed(format!(
                        "an authorization cannot become {other} from {}",
                        a.status
                    )));
                }
                None => {}
            }
            Ok(Reply::json(StatusCode::OK, &authz_json(&ctx, &a)))
        })
        .await
}

/// `POST chall/<authz>/<type>`: the client says it is ready. For a
/// pre-validated (valid) authorization there is nothing to check.
pub(crate) async fn challenge(
    State(acme): State<Acme>,
    Path((dir, id, kind)): Path<(String, i64, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    acme.clone()
        .handle(&dir, &headers, async |ctx| {
            let path = format!("/acme/{dir}/chall/{id}/{kind}");
            let signed = acme.verify(&ctx, &path, &headers, body, KeyMode::Kid).await?;
            let a = acme.own_authz(signed.account()?.id, id).await?;
            if !CHALLENGES.contains(&kind.as_str()) {
                return Err(Problem::not_found(format!("no {kind} challenge")));
            }
            let mut reply = Reply::json(StatusCode::OK, &challenge_json(&ctx, &a, &kind));
            reply.links.push(format!("<{}>;rel=\"up\"", ctx.url(&format!("authz/{}", a.id))));
            Ok(reply)
        })
        .await
}
