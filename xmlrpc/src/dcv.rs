//! The legacy DCV methods for orders whose names are not pre-validated:
//! `dcvAdresses` says what to publish (an HTTP file or a DNS TXT record per
//! name), `dcvEmailRenvoyer` has the order core check again and, when every
//! name passes, queue the issuance. The rules are the order core's (`orders::dcv`). Email validation is not
//! offered: `dcvCodeValidation` says so with a clear fault.

use orders::Caller;

use crate::Value;
use crate::fault::{Fault, code};
use crate::server::XmlRpc;
use crate::values::{order_ref, s};

/// `dcvAdresses`: per name, the HTTP file (not for a wildcard) and the DNS
/// record that prove control, as the order core places them.
pub(crate) async fn addresses(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let dcv = xr.orders.dcv(caller, &order_ref(req, path)?).await?;
    let names = dcv
        .places()
        .into_iter()
        .map(|p| {
            let mut fields = vec![("domaine".into(), s(p.name))];
            if let Some(url) = p.http_url {
                fields.push((
                    "http".into(),
                    Value::Struct(vec![("url".into(), s(url)), ("contenu".into(), s(dcv.token.clone()))]),
                ));
            }
            fields.push((
                "dns".into(),
                Value::Struct(vec![
                    ("nom".into(), s(p.txt_name)),
                    ("type".into(), s("TXT")),
                    ("valeur".into(), s(dcv.token.clone())),
                ]),
            ));
            fields.push(("email".into(), s("not offered")));
            Value::Struct(fields)
        })
        .collect();
    Ok(Value::Struct(vec![("refTBS".into(), s(dcv.reference)), ("domaines".into(), Value::Array(names))]))
}

/// `dcvEmailRenvoyer`: the order core checks again; when every name passes,
/// the order goes on.
pub(crate) async fn retest(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let o = xr.orders.check_dcv(caller, &order_ref(req, path)?).await?;
    Ok(Value::Struct(vec![
        ("messageReponse".into(), s("OK")),
        ("refTBS".into(), Value::Int(o.id)),
        ("statut".into(), s(o.status.as_str())),
    ]))
}

/// `dcvCodeValidation`: email codes are not offered.
pub(crate) fn code_validation() -> Result<Value, Fault> {
    Err(Fault::new(
        code::INVALID,
        "email DCV codes are not offered: publish the file or TXT record that dcvAdresses gives, then call dcvEmailRenvoyer",
    ))
}
