//! How the API's answers show certgate's things, and how its requests name
//! them: shared by the legacy methods, the modern ones and the DCV ones.

use orders::Order;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::fault::Fault;
use crate::{DateParam, Value, from_value, parse_datetime};

/// A string value.
pub(crate) fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// Reads one bulk request into its method's struct. A bare reference (an int
/// or a string) stands for `{key: reference}`, as clients that only name an
/// order send it.
pub(crate) fn bulk_request<T: DeserializeOwned>(req: &Value, path: &str, key: &str) -> Result<T, Fault> {
    Ok(match req {
        Value::Int(_) | Value::String(_) => from_value(&Value::Struct(vec![(key.into(), req.clone())]), path)?,
        _ => from_value(req, path)?,
    })
}

/// An order as the API shows it, with its current certificate once delivered.
pub(crate) fn order_value(o: &Order, certs: &[orders::Certificate]) -> Value {
    let mut v = vec![
        ("refTBS".into(), Value::Int(o.id)),
        ("reference".into(), s(o.reference.clone().unwrap_or_default())),
        ("statut".into(), s(o.status.as_str())),
        ("produit".into(), s(o.product_code.clone())),
        ("domainePrincipal".into(), s(o.cn.clone())),
        ("domaines".into(), s(o.sans.clone())),
        ("refClient".into(), s(o.client_ref.clone().unwrap_or_default())),
        ("dateCommande".into(), s(orders::iso(o.created_at))),
        ("dateMiseAJour".into(), s(orders::iso(o.updated_at))),
    ];
    if let Some(c) = certs.iter().rev().find(|c| c.revoked_at.is_none()).or(certs.last()) {
        v.push(("certificat".into(), s(c.leaf_pem.clone())));
        v.push(("chaine".into(), s(c.chain_pem.clone())));
        v.push(("numeroSerie".into(), s(c.serial.clone())));
        v.push(("dateDebut".into(), s(orders::iso(c.not_before))));
        v.push(("dateFin".into(), s(orders::iso(c.not_after))));
    }
    Value::Struct(v)
}

/// A bulk request that names an order: `{refTBS}`, or the reference itself.
#[derive(Deserialize)]
struct OrderRef {
    #[serde(rename = "refTBS")]
    reference: String,
}

/// The order a bulk request names.
pub(crate) fn order_ref(req: &Value, path: &str) -> Result<String, Fault> {
    bulk_request::<OrderRef>(req, path, "refTBS").map(|r| r.reference)
}

/// How `changementCommandes` reads its dates given as text.
#[derive(Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TypeDate {
    /// Unix seconds.
    Timestamp,
    /// ISO 8601, UTC when no zone is given.
    Iso,
}

/// Unix seconds of a date parameter (0 when absent). Text is read as `read`
/// says, or as either form when the method has no such flag.
pub(crate) fn unix_time(date: Option<&DateParam>, path: &str, read: Option<TypeDate>) -> Result<i64, Fault> {
    let as_seconds = |v: &str| v.trim().parse::<i64>().ok();
    let as_iso = |v: &str| parse_datetime(v).map(|t| t.unix_timestamp());
    Ok(match (date, read) {
        (None, _) => 0,
        (Some(DateParam::DateTime(t)), _) => t.unix_timestamp(),
        (Some(DateParam::Int(_)), Some(TypeDate::Iso)) => {
            return Err(Fault::params(path, "expected an ISO 8601 date, found int"));
        }
        (Some(DateParam::Int(i)), _) => *i,
        (Some(DateParam::Text(v)), Some(TypeDate::Timestamp)) => {
            as_seconds(v).ok_or_else(|| Fault::params(path, &format!("{v:?} is not a Unix timestamp")))?
        }
        (Some(DateParam::Text(v)), Some(TypeDate::Iso)) => {
            as_iso(v).ok_or_else(|| Fault::params(path, &format!("{v:?} is not an ISO 8601 date")))?
        }
        (Some(DateParam::Text(v)), None) => {
            as_iso(v).or_else(|| as_seconds(v)).ok_or_else(|| Fault::params(path, &format!("{v:?} is not a date")))?
        }
    })
}
