//! The legacy DCV methods for orders whose names are not pre-validated:
//! `dcvAdresses` says what to publish (an HTTP file or a DNS TXT record per
//! name), `dcvEmailRenvoyer` has certgate's validation authority check again
//! and, when every name passes, queues the issuance. Email validation is not
//! offered: `dcvCodeValidation` says so with a clear fault.

use orders::{Caller, Dcv};

use crate::Value;
use crate::fault::{Fault, code};
use crate::server::XmlRpc;
use crate::values::{order_ref, s};

/// The file path of the HTTP method for an order.
fn http_path(reference: &str) -> String {
    format!("/.well-known/pki-validation/certgate-{reference}.txt")
}

/// The TXT record of the DNS method for a name (a wildcard's base name).
fn txt_record(name: &str) -> String {
    format!("_certgate-dcv.{}.", name.trim_start_matches("*."))
}

/// `dcvAdresses`: per name, the HTTP file and the DNS record that prove control.
pub(crate) async fn addresses(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let dcv = xr.orders.dcv(caller, &order_ref(req, path)?).await?;
    let names = dcv
        .names
        .iter()
        .map(|n| {
            let host = n.trim_start_matches("*.");
            Value::Struct(vec![
                ("domaine".into(), s(n.clone())),
                (
                    "http".into(),
                    Value::Struct(vec![
                        ("url".into(), s(format!("http://{host}{}", http_path(&dcv.reference)))),
                        ("contenu".into(), s(dcv.token.clone())),
                    ]),
                ),
                (
                    "dns".into(),
                    Value::Struct(vec![
                        ("nom".into(), s(txt_record(n))),
                        ("type".into(), s("TXT")),
                        ("valeur".into(), s(dcv.token.clone())),
                    ]),
                ),
                ("email".into(), s("not offered")),
            ])
        })
        .collect();
    Ok(Value::Struct(vec![("refTBS".into(), s(dcv.reference)), ("domaines".into(), Value::Array(names))]))
}

/// Checks one name by either method.
async fn check(xr: &XmlRpc, dcv: &Dcv, name: &str) -> Result<(), String> {
    let host = name.trim_start_matches("*.");
    let by_dns = xr.va.dns_txt(&txt_record(name), &dcv.token).await;
    if by_dns.is_ok() || name.starts_with("*.") {
        return by_dns;
    }
    match xr.va.http_file(host, &http_path(&dcv.reference), &dcv.token).await {
        Ok(()) => Ok(()),
        Err(http) => Err(format!("{} and {http}", by_dns.err().unwrap_or_default())),
    }
}

/// `dcvEmailRenvoyer`: checks again; when every name passes, the order goes on.
pub(crate) async fn retest(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let dcv = xr.orders.dcv(caller, &order_ref(req, path)?).await?;
    let mut failures = Vec::new();
    for name in &dcv.names {
        if let Err(e) = check(xr, &dcv, name).await {
            failures.push(format!("{name}: {e}"));
        }
    }
    if !failures.is_empty() {
        return Err(Fault::new(code::DCV_PENDING, format!("domain control not proven yet: {}", failures.join("; "))));
    }
    let o = xr.orders.complete_dcv(caller, &dcv.reference).await?;
    Ok(Value::Struct(vec![
        ("messageReponse".into(), s("OK")),
        ("refTBS".into(), Value::Int(o.id)),
        ("statut".into(), s(o.status)),
    ]))
}

/// `dcvCodeValidation`: email codes are not offered.
pub(crate) fn code_validation() -> Result<Value, Fault> {
    Err(Fault::new(
        code::INVALID,
        "email DCV codes are not offered: publish the file or TXT record that dcvAdresses gives, then call dcvEmailRenvoyer",
    ))
}
