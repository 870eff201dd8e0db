//! External Account Binding (RFC 8555 §7.3.4): the inner JWS of a
//! new-account request, MAC'd with the ACME URL's HMAC key.

use aws_lc_rs::hmac;
use serde::Deserialize;
use serde_json::Value;

use crate::Acme;
use crate::jws::Jws;
use crate::problem::Problem;
use crate::request::Ctx;

#[derive(Deserialize)]
struct EabHeader {
    alg: String,
    kid: Option<String>,
    url: Option<String>,
    nonce: Option<String>,
}

impl Acme {
    /// Checks the binding `eab` of a new-account request signed by `outer_jwk`:
    /// an HMAC over the outer key by the EAB key of *this* directory's ACME
    /// URL, for the new-account URL. Each way to fail has its own detail.
    pub(crate) async fn check_eab(&self, ctx: &Ctx, eab: &Value, outer_jwk: &Value) -> Result<(), Problem> {
        let raw = serde_json::to_vec(eab).map_err(Problem::internal)?;
        let inner = Jws::parse_mac(&raw)?;
        let header: EabHeader = serde_json::from_slice(&inner.protected_raw)
            .map_err(|e| Problem::malformed(format!("bad externalAccountBinding header: {e}")))?;
        let alg = match header.alg.as_str() {
            "HS256" => hmac::HMAC_SHA256,
            "HS384" => hmac::HMAC_SHA384,
            "HS512" => hmac::HMAC_SHA512,
            other => {
                return Err(Problem::malformed(format!(
                    "externalAccountBinding must use HS256, HS384 or HS512, not {other:?}"
                )));
            }
        };
        if header.nonce.is_some() {
            return Err(Problem::malformed("externalAccountBinding must not carry a nonce"));
        }
        if header.url.as_deref() != Some(ctx.url("new-account").as_str()) {
            return Err(Problem::malformed("externalAccountBinding url must be the newAccount URL"));
        }
        let kid = header.kid.ok_or_else(|| Problem::malformed("externalAccountBinding has no kid"))?;
        if kid != ctx.dir.kid {
            let other = self.orders.acme_binding_by_kid(&kid).await?;
            return Err(Problem::unauthorized(match other {
                Some(_) => "the EAB key identifier belongs to another ACME URL, not to this directory".to_string(),
                None => "unknown EAB key identifier".to_string(),
            }));
        }
        let key = self.orders.acme_url_hmac_key(ctx.dir.id).await?;
        let input = format!("{}.{}", inner.protected_b64, inner.payload_b64);
        // Constant-time comparison inside aws-lc-rs.
        hmac::verify(&hmac::Key::new(alg, &key), input.as_bytes(), &inner.signature)
            .map_err(|_| Problem::unauthorized("the EAB MAC does not verify with this ACME URL's HMAC key"))?;
        let bound: Value = serde_json::from_slice(&inner.payload)
            .map_err(|_| Problem::malformed("externalAccountBinding payload is not a JWK"))?;
        if &bound != outer_jwk {
            return Err(Problem::malformed("externalAccountBinding payload is not the account key"));
        }
        Ok(())
    }
}
