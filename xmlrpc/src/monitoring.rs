//! The monitoring methods (docs/xmlrpc.md, "Monitoring"; docs/monitoring.md):
//! the account's defaults, each certificate's monitor, the monitors with
//! their last result, and a certificate's scan history.

use orders::{Caller, Monitor, MonitorChange, MonitorDefaults, ScanResult, iso};
use serde::Deserialize;

use crate::Value;
use crate::fault::Fault;
use crate::modern::args;
use crate::server::XmlRpc;
use crate::values::s;

/// Runs a `monitor.*` method, or `None` when `call` names none.
pub(crate) async fn call(xr: &XmlRpc, caller: &Caller, call: &crate::MethodCall) -> Option<Result<Value, Fault>> {
    let o = &xr.orders;
    Some(match call.method.as_str() {
        "monitor.defaults.get" => async { Ok(defaults(&o.monitor_defaults(caller).await?)) }.await,
        "monitor.defaults.set" => {
            async {
                let a: DefaultsSet = args(call)?;
                let d = MonitorDefaults {
                    default_on: a.actif_par_defaut,
                    frequency_days: a.frequence,
                    manager_email: a.responsable.filter(|e| !e.is_empty()),
                    manager_language: a.langue.unwrap_or_else(|| "en".into()),
                    plain_text: a.texte_brut.unwrap_or(false),
                };
                o.set_monitor_defaults(caller, &d).await?;
                Ok(defaults(&d))
            }
            .await
        }
        "monitor.set" => {
            async {
                let a: MonitorSet = args(call)?;
                let port = match a.port {
                    None => None,
                    Some(p) => {
                        Some(u16::try_from(p).map_err(|_| Fault::params("param2.port", "a port from 1 to 65535"))?)
                    }
                };
                let change = MonitorChange {
                    enabled: a.actif,
                    frequency_days: a.frequence,
                    hosts: a.hotes,
                    port,
                    starttls: a.starttls,
                };
                Ok(monitor(&o.set_monitor(caller, &a.reference, &change).await?))
            }
            .await
        }
        "monitor.list" => {
            async {
                let Page { page } = args(call)?;
                let list = o.monitors(caller, PAGE, page.unwrap_or(0).max(0).saturating_mul(PAGE)).await?;
                Ok(Value::Array(list.iter().map(monitor).collect()))
            }
            .await
        }
        "monitor.results" => {
            async {
                let a: Results = args(call)?;
                let list = o.monitor_results(caller, &a.reference, a.limite.unwrap_or(50)).await?;
                Ok(Value::Array(list.iter().map(result).collect()))
            }
            .await
        }
        _ => return None,
    })
}

/// Monitors per page of `monitor.list`.
const PAGE: i64 = 100;

fn defaults(d: &MonitorDefaults) -> Value {
    Value::Struct(vec![
        ("actifParDefaut".into(), Value::Bool(d.default_on)),
        ("frequence".into(), Value::Int(d.frequency_days)),
        ("responsable".into(), d.manager_email.as_ref().map_or(Value::Nil, |e| s(e.as_str()))),
        ("langue".into(), s(d.manager_language.as_str())),
        ("texteBrut".into(), Value::Bool(d.plain_text)),
    ])
}

fn monitor(m: &Monitor) -> Value {
    let time = |t: Option<i64>| t.map_or(Value::Nil, |t| s(iso(t)));
    Value::Struct(vec![
        ("reference".into(), s(m.reference.as_str())),
        ("cn".into(), s(m.cn.as_str())),
        ("actif".into(), Value::Bool(m.enabled)),
        ("frequence".into(), Value::Int(m.frequency_days)),
        ("hotes".into(), Value::Array(m.hosts.iter().map(|h| s(h.as_str())).collect())),
        ("port".into(), Value::Int(i64::from(m.port))),
        ("starttls".into(), s(m.starttls.as_str())),
        ("prochainTest".into(), time(m.next_scan_at)),
        ("dernierTest".into(), time(m.last_scan_at)),
        ("resultats".into(), Value::Array(m.last.iter().map(result).collect())),
    ])
}

fn result(r: &ScanResult) -> Value {
    let text = |v: &Option<String>| v.as_ref().map_or(Value::Nil, |t| s(t.as_str()));
    let flag = |v: Option<bool>| v.map_or(Value::Nil, Value::Bool);
    let words = |v: &[String]| Value::Array(v.iter().map(|w| s(w.as_str())).collect());
    Value::Struct(vec![
        ("date".into(), s(iso(r.scanned_at))),
        ("hote".into(), s(r.host.as_str())),
        ("resultat".into(), s(r.outcome.as_str())),
        ("erreur".into(), text(&r.error_class)),
        ("certificatServi".into(), text(&r.served)),
        ("serial".into(), text(&r.serial)),
        ("chaineValide".into(), flag(r.chain_valid)),
        ("nomCorrespond".into(), flag(r.name_matches)),
        ("joursRestants".into(), r.days_left.map_or(Value::Nil, Value::Int)),
        ("versionsTLS".into(), words(&r.tls_versions)),
        ("problemes".into(), words(&r.problems)),
        ("detail".into(), text(&r.detail)),
    ])
}

/// The arguments of `monitor.defaults.set`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DefaultsSet {
    actif_par_defaut: bool,
    frequence: i64,
    responsable: Option<String>,
    langue: Option<String>,
    texte_brut: Option<bool>,
}

/// The arguments of `monitor.set`: the order, and what changes.
#[derive(Deserialize)]
struct MonitorSet {
    reference: String,
    actif: Option<bool>,
    frequence: Option<i64>,
    hotes: Option<Vec<String>>,
    port: Option<i64>,
    starttls: Option<String>,
}

/// The arguments of `monitor.list`: the page, from 0.
#[derive(Deserialize)]
struct Page {
    page: Option<i64>,
}

/// The arguments of `monitor.results`.
#[derive(Deserialize)]
struct Results {
    reference: String,
    limite: Option<i64>,
}
