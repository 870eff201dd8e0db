//! ACME Renewal Information (RFC 9773): the suggested renewal window of each
//! certificate, and the certificate identifiers that `replaces` uses.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orders::{Caller, Certificate};
use serde_json::json;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Acme;
use crate::problem::Problem;
use crate::reply::{Reply, rfc3339};
use crate::request::AcmeRequest;

/// Seconds clients should wait before asking again.
const RETRY_AFTER: u64 = 6 * 3600;

fn der_of(pem: &str) -> Option<Vec<u8>> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok().map(|(_, p)| p.contents)
}

fn authority_key_id(x: &X509Certificate<'_>) -> Option<Vec<u8>> {
    x.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|k| k.0.to_vec()),
        _ => None,
    })
}

/// The RFC 9773 identifier of a stored certificate.
pub(crate) fn cert_id_of(cert: &Certificate) -> Option<String> {
    let der = der_of(&cert.leaf_pem)?;
    let (_, x) = X509Certificate::from_der(&der).ok()?;
    let aki = authority_key_id(&x)?;
    Some(format!("{}.{}", URL_SAFE_NO_PAD.encode(aki), URL_SAFE_NO_PAD.encode(x.raw_serial())))
}

impl Acme {
    /// The certificate a certID (`base64url(AKI keyIdentifier).base64url(serial)`)
    /// names, among those of this directory's customer account.
    pub(crate) async fn certificate_by_id(&self, caller: &Caller, cert_id: &str) -> Result<Certificate, Problem> {
        let bad = || Problem::malformed(format!("{cert_id:?} is not an RFC 9773 certificate identifier"));
        let (aki, serial) = cert_id.split_once('.').ok_or_else(bad)?;
        let aki = URL_SAFE_NO_PAD.decode(aki).map_err(|_| bad())?;
        let serial = URL_SAFE_NO_PAD.decode(serial).map_err(|_| bad())?;
        let hex: String = serial.iter().skip_while(|b| **b == 0).map(|b| format!("{b:02x}")).collect();
        let unknown = || Problem::not_found("no such certificate");
        let cert = self.orders.certificate_by_serial(caller, &hex).await.map_err(|_| unknown())?;
        let der = der_of(&cert.leaf_pem).ok_or_else(unknown)?;
        let (_, x) = X509Certificate::from_der(&der).map_err(|_| unknown())?;
        if authority_key_id(&x).as_deref() != Some(aki.as_slice()) {
            return Err(unknown());
        }
        Ok(cert)
    }
}

/// `GET renewal-info/<certID>`: the suggested window, unauthenticated.
pub(crate) async fn renewal_info(
    State(acme): State<Acme>,
    Path((_, cert_id)): Path<(String, String)>,
    req: AcmeRequest,
) -> Response {
    acme.clone()
        .handle(&req.head, async |ctx| {
            let caller = ctx.caller(0, &ctx.ip);
            let cert = acme.certificate_by_id(&caller, &cert_id).await?;
            let (start, end) = orders::renewal::suggested_window(&cert, acme.orders.now());
            let body = json!({ "suggestedWindow": { "start": rfc3339(start), "end": rfc3339(end) } });
            let mut reply = Reply::json(StatusCode::OK, &body);
            reply.retry_after = Some(RETRY_AFTER);
            Ok(reply)
        })
        .await
}
