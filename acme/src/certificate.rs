//! Certificate download and revocation (RFC 8555 §7.4.2, §7.6).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Acme;
use crate::problem::Problem;
use crate::reply::Reply;
use crate::request::{AcmeRequest, KeyMode};

/// `POST cert/<id>` (POST-as-GET): the leaf and its chain, PEM.
pub(crate) async fn download(
    State(acme): State<Acme>,
    Path((_, id)): Path<(String, i64)>,
    req: AcmeRequest,
) -> Response {
    acme.clone()
        .signed(req, KeyMode::Kid, async |ctx, signed| {
            signed.jws.post_as_get()?;
            let caller = ctx.caller(signed.account()?.id, &ctx.ip);
            let cert = acme.orders.certificate(&caller, id).await?;
            let mut reply = Reply::json(StatusCode::OK, &Value::Null);
            reply.body = Body::from(format!("{}{}", cert.leaf_pem, cert.chain_pem));
            reply.content_type = "application/pem-certificate-chain";
            Ok(reply)
        })
        .await
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok().map(|(_, p)| p.contents)
}

/// `POST revoke-cert`: by the account that ordered the certificate (`kid`)
/// or by the certificate's own key (`jwk`). Final, and never refunded.
pub(crate) async fn revoke(State(acme): State<Acme>, req: AcmeRequest) -> Response {
    acme.clone()
        .signed(req, KeyMode::Either, async |ctx, signed| {
            let payload = signed.jws.json()?;
            let der = payload
                .get("certificate")
                .and_then(Value::as_str)
                .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
                .ok_or_else(|| Problem::malformed("certificate must be base64url DER"))?;
            let reason = payload.get("reason").and_then(Value::as_i64).unwrap_or(0);
            orders::check_revocation_reason(reason)?;
            let (_, x509) =
                X509Certificate::from_der(&der).map_err(|_| Problem::malformed("certificate is not DER X.509"))?;
            let serial: String =
                x509.raw_serial().iter().skip_while(|b| **b == 0).map(|b| format!("{b:02x}")).collect();
            let acct = signed.account.as_ref().map_or(0, |a| a.id);
            let caller = ctx.caller(acct, &ctx.ip);
            let unknown = || Problem::not_found("this directory issued no such certificate");
            let cert = acme.orders.certificate_by_serial(&caller, &serial).await.map_err(|_| unknown())?;
            if pem_der(&cert.leaf_pem).as_deref() != Some(der.as_slice()) {
                return Err(unknown());
            }
            match &signed.account {
                Some(a) => {
                    let by = acme.orders.acme_order_of(cert.order_id).await?;
                    if by.map(|o| o.account_id) != Some(a.id) {
                        return Err(Problem::unauthorized("an account may only revoke the certificates it ordered"));
                    }
                }
                None => {
                    if !signed.jwk.matches_spki(x509.public_key().raw) {
                        return Err(Problem::unauthorized(
                            "the request is signed neither by the account nor by the certificate's key",
                        ));
                    }
                }
            }
            let order = acme.orders.order_by_id(&caller, cert.order_id).await?;
            let reference = order.reference.unwrap_or_default();
            acme.orders.revoke(&caller, &reference, Some(&cert.serial), reason).await?;
            let mut reply = Reply::json(StatusCode::OK, &Value::Null);
            reply.body = Body::empty();
            Ok(reply)
        })
        .await
}
