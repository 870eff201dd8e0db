//! ACME authorizations and their challenges. An identifier covered by a
//! pre-validated domain (seed 6.9) is valid from the start; any other is
//! validated by certgate's own VA once the client answers a challenge.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use orders::acme::{AcmeAuthz, AcmeNames as Names, AuthzStatus};
use serde_json::{Value, json};

use crate::Acme;
use crate::problem::Problem;
use crate::reply::{Reply, rfc3339};
use crate::request::{AcmeRequest, Ctx, KeyMode, no_such_authz};

/// The challenge types an authorization offers.
const CHALLENGES: [&str; 3] = ["http-01", "dns-01", "tls-alpn-01"];

/// The challenge types an authorization offers: a wildcard only dns-01.
fn offered(a: &AcmeAuthz) -> &'static [&'static str] {
    if a.wildcard { &CHALLENGES[1..2] } else { &CHALLENGES }
}

fn challenge_json(ctx: &Ctx, a: &AcmeAuthz, kind: &str) -> Value {
    let chosen = a.challenge_type.as_deref() == Some(kind);
    let status = match (chosen, a.challenge_type.is_some()) {
        (true, _) => a.challenge_status.as_str(),
        // A pre-validated authorization is valid without any challenge answered.
        (false, false) if a.status == AuthzStatus::Valid => "valid",
        _ => "pending",
    };
    let mut c = json!({
        "type": kind,
        "url": ctx.url(&format!("chall/{}/{kind}", a.id)),
        "token": a.token,
        "status": status,
    });
    if status == "valid"
        && let Some(t) = a.validated_at
    {
        c["validated"] = json!(rfc3339(t));
    }
    if chosen && let Some(e) = &a.error {
        c["error"] = Problem::new("incorrectResponse", StatusCode::FORBIDDEN, e.clone()).body();
    }
    c
}

fn authz_json(ctx: &Ctx, a: &AcmeAuthz) -> Value {
    // A pre-validated authorization shows one valid challenge standing for
    // its pre-validation; others offer every type they may use.
    let pre_validated = a.status == AuthzStatus::Valid && a.challenge_type.is_none();
    let kinds: &[&str] = if pre_validated { &offered(a)[..1] } else { offered(a) };
    let mut v = json!({
        "status": a.status.as_str(),
        "expires": rfc3339(a.expires_at),
        "identifier": { "type": "dns", "value": a.identifier },
        "challenges": kinds.iter().map(|k| challenge_json(ctx, a, k)).collect::<Vec<_>>(),
    });
    if a.wildcard {
        v["wildcard"] = json!(true);
    }
    v
}

impl Acme {
    async fn own_authz(&self, account_id: i64, id: i64) -> Result<AcmeAuthz, Problem> {
        self.orders.acme_authz(account_id, id).await?.ok_or_else(no_such_authz)
    }
}

/// `POST authz/<id>`: read it (POST-as-GET) or deactivate it.
pub(crate) async fn authz(State(acme): State<Acme>, Path((_, id)): Path<(String, i64)>, req: AcmeRequest) -> Response {
    acme.clone()
        .signed_naming(req, KeyMode::Kid, Names::Authz(id), async |ctx, mut signed| {
            let mut a = signed.take_authz()?;
            let payload = signed.jws.json()?;
            match payload.get("status").and_then(Value::as_str) {
                Some("deactivated") if matches!(a.status, AuthzStatus::Valid | AuthzStatus::Pending) => {
                    let caller = ctx.caller(signed.account()?.id, &ctx.ip);
                    if acme.orders.deactivate_acme_authz(&caller, &a).await? {
                        a.status = AuthzStatus::Deactivated;
                    } else {
                        a = acme.own_authz(signed.account()?.id, id).await?;
                    }
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

/// `POST chall/<authz>/<type>`: the client says it is ready. A pending
/// authorization is then validated by the order core's VA, as a job; the
/// client polls the authorization. A valid one has nothing left to check.
pub(crate) async fn challenge(
    State(acme): State<Acme>,
    Path((_, id, kind)): Path<(String, i64, String)>,
    req: AcmeRequest,
) -> Response {
    acme.clone()
        .signed_naming(req, KeyMode::Kid, Names::Authz(id), async |ctx, mut signed| {
            let mut a = signed.take_authz()?;
            if !offered(&a).contains(&kind.as_str()) {
                return Err(Problem::not_found(format!("this authorization offers no {kind} challenge")));
            }
            if a.status == AuthzStatus::Pending {
                acme.limit_validation(signed.account()?.id).await?;
                // Validated by a job that this instance starts at once.
                if acme.orders.start_acme_challenge(&a, &kind).await? {
                    a = acme.own_authz(signed.account()?.id, id).await?;
                }
            }
            let mut reply = Reply::json(StatusCode::OK, &challenge_json(&ctx, &a, &kind));
            reply.links.push(format!("<{}>;rel=\"up\"", ctx.url(&format!("authz/{}", a.id))));
            Ok(reply)
        })
        .await
}
