//! The domain methods (docs/xmlrpc.md, "Domains"; docs/domains.md): the
//! account's domain inventory, adding a domain and proving its control by a
//! DNS TXT record, removing it, and checking what CAA records say of a
//! product's CA before ordering.

use orders::{CaaVerdict, Caller, Domain, iso};
use serde::Deserialize;

use crate::Value;
use crate::fault::Fault;
use crate::modern::args;
use crate::server::XmlRpc;
use crate::values::s;

/// Runs a `domain.*` method, or `None` when `call` names none.
pub(crate) async fn call(xr: &XmlRpc, caller: &Caller, call: &crate::MethodCall) -> Option<Result<Value, Fault>> {
    let o = &xr.orders;
    Some(match call.method.as_str() {
        "domain.list" => {
            async {
                let Page { page } = args(call)?;
                let (list, total) = o.domains(caller, page.unwrap_or(0)).await?;
                Ok(Value::Struct(vec![
                    ("total".into(), Value::Int(total)),
                    ("parPage".into(), Value::Int(orders::DOMAIN_PAGE)),
                    ("domaines".into(), Value::Array(list.iter().map(domain).collect())),
                ]))
            }
            .await
        }
        "domain.add" => {
            async {
                let Add { organisation, domaine } = args(call)?;
                Ok(domain(&o.add_domain(caller, organisation, &domaine, false).await?))
            }
            .await
        }
        "domain.validate" => async { Ok(domain(&o.validate_domain(caller, args::<ById>(call)?.id).await?)) }.await,
        "domain.remove" => {
            async {
                o.remove_domain(caller, args::<ById>(call)?.id).await?;
                Ok(Value::Struct(vec![("messageReponse".into(), s("OK"))]))
            }
            .await
        }
        "domain.checkCaa" => {
            async {
                let CaaCheck { produit, domaines } = args(call)?;
                let verdicts = o.caa_verdicts(caller, &produit, &domaines).await?;
                Ok(Value::Array(verdicts.into_iter().map(|(name, v)| verdict(name, &v)).collect()))
            }
            .await
        }
        _ => return None,
    })
}

/// One domain of the inventory as a struct.
fn domain(d: &Domain) -> Value {
    let time = |t: Option<i64>| t.map_or(Value::Nil, |t| s(iso(t)));
    let dcv = d.dcv.as_ref().map_or(Value::Nil, |(record, token)| {
        Value::Struct(vec![("enregistrementTXT".into(), s(record.as_str())), ("valeur".into(), s(token.as_str()))])
    });
    let prevalidations = d
        .prevalidations
        .iter()
        .map(|p| {
            Value::Struct(vec![
                ("marque".into(), s(p.brand.as_str())),
                ("validation".into(), s(p.validation.as_str())),
                ("etat".into(), s(p.state.as_str())),
                ("expiration".into(), s(iso(p.expires_at))),
            ])
        })
        .collect();
    let caa = d.caa.as_ref().map_or(Value::Nil, |c| {
        Value::Struct(vec![
            ("date".into(), s(iso(c.checked_at))),
            ("produit".into(), s(c.product.as_str())),
            ("resultat".into(), s(c.verdict.as_str())),
            ("detail".into(), c.detail.as_ref().map_or(Value::Nil, |d| s(d.as_str()))),
        ])
    });
    Value::Struct(vec![
        ("id".into(), Value::Int(d.id)),
        ("organisation".into(), Value::Int(d.organisation_id)),
        ("domaine".into(), s(d.domain.as_str())),
        ("etat".into(), s(d.state.as_str())),
        ("dcv".into(), dcv),
        ("valideLe".into(), time(d.validated_at)),
        ("expiration".into(), time(d.expires_at)),
        ("ajoutePar".into(), s(d.added_by.as_str())),
        ("preValidations".into(), Value::Array(prevalidations)),
        ("commandes".into(), Value::Array(d.orders.iter().map(|r| s(r.as_str())).collect())),
        ("nombreCommandes".into(), Value::Int(d.orders_count)),
        ("caa".into(), caa),
    ])
}

/// One name's CAA verdict as a struct.
fn verdict(name: String, v: &CaaVerdict) -> Value {
    let detail = v.detail().map_or(Value::Nil, s);
    Value::Struct(vec![("domaine".into(), s(name)), ("resultat".into(), s(v.as_str())), ("detail".into(), detail)])
}

/// The arguments of `domain.list`: the page, from 0.
#[derive(Deserialize)]
struct Page {
    page: Option<i64>,
}

/// The arguments of `domain.add`: the organisation and the domain.
#[derive(Deserialize)]
struct Add {
    organisation: i64,
    domaine: String,
}

/// The arguments of the methods on one domain.
#[derive(Deserialize)]
struct ById {
    id: i64,
}

/// The arguments of `domain.checkCaa`: a product and the names to check.
#[derive(Deserialize)]
struct CaaCheck {
    produit: String,
    domaines: Vec<String>,
}
