//! The API methods: the introspection methods of `system.*`, and the legacy
//! methods of seed 14 (bulk `demande` structs keyed by the client's own
//! references). The English-named methods are in `modern`, the DCV ones in
//! `dcv`.

use orders::{Caller, Ledger, Order, PlaceOrder, Right, format_money};

use crate::args::{Arg, int, opt_string, string};
use crate::fault::Fault;
use crate::server::{Peer, XmlRpc};
use crate::{MethodCall, Value};

/// Every method: name, signature and help.
const METHODS: &[(&str, &str, &str)] = &[
    (
        "achat",
        "struct struct struct",
        "Orders certificates: one order per member of demande, each succeeding or failing on its own.",
    ),
    (
        "statut",
        "struct struct struct",
        "The status, names, dates and, once delivered, the certificate of each order of demande.",
    ),
    ("solde", "struct struct", "The account's token balances per product and its deposit balance."),
    (
        "revocation",
        "struct struct struct",
        "Revokes the certificate of each order of demande ({refTBS, motif}); final, not refunded.",
    ),
    (
        "refabrication",
        "struct struct struct",
        "Reissues each order of demande with a new CSR; not paid; the old certificate is revoked later.",
    ),
    (
        "renouvellement",
        "struct struct struct",
        "Renews each order of demande, from 90 days before expiry to 30 days after.",
    ),
    (
        "changementCommandes",
        "array struct",
        "The orders changed between timestampChangementDepuis and timestampChangementJusqua.",
    ),
    ("order.cancel", "struct struct struct", "Cancels an order before issuance; what was paid is refunded."),
    ("order.approve", "struct struct struct", "Approves an order waiting for approval (approval right)."),
    ("order.reject", "struct struct struct", "Rejects an order waiting for approval (approval right)."),
    (
        "order.list",
        "array struct struct",
        "Lists orders, newest first: statut, produit, depuis, jusqua, limite, decalage.",
    ),
    ("cert.download", "struct struct struct", "An order's certificate: format pem, pem_chain, der or pkcs7."),
    (
        "account.statement",
        "struct struct struct",
        "The tokens, deposit or invoice ledger between two dates, as lines or CSV.",
    ),
    ("catalog.products", "array struct", "The products with their prices for the caller's account."),
    ("acme.url.create", "struct struct struct", "Creates an ACME URL; its KID and HMAC key are shown this once."),
    ("acme.url.list", "array struct", "The account's ACME URLs, credentials masked."),
    ("acme.url.revoke", "struct struct struct", "Revokes an ACME URL for good."),
    ("prevalidation.list", "array struct", "The account's pre-validations."),
    ("system.listMethods", "array", "The names of every method."),
    ("system.methodHelp", "string string", "What a method does."),
    ("system.methodSignature", "array string", "The types a method takes and returns."),
    ("system.getCapabilities", "struct", "The specifications this server follows."),
    ("system.multicall", "array array", "Runs several calls in one; each answers or faults on its own."),
];

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn method_name(call: &MethodCall) -> Result<String, Fault> {
    match call.params.first() {
        Some(Value::String(n)) => Ok(n.clone()),
        _ => Err(Fault::params("param1", "expected the method's name")),
    }
}

/// The `system.*` methods (no authentication), or `None` for other methods.
pub(crate) async fn system(xr: &XmlRpc, call: &MethodCall, peer: &Peer, nested: bool) -> Option<Result<Value, Fault>> {
    let find = |n: &str| METHODS.iter().find(|m| m.0 == n).ok_or_else(|| Fault::unknown_method(n));
    Some(match call.method.as_str() {
        "system.listMethods" => Ok(Value::Array(METHODS.iter().map(|m| s(m.0)).collect())),
        "system.methodHelp" => method_name(call).and_then(|n| find(&n).map(|m| s(m.2))),
        "system.methodSignature" => method_name(call)
            .and_then(|n| find(&n).map(|m| Value::Array(vec![Value::Array(m.1.split(' ').map(s).collect())]))),
        "system.getCapabilities" => Ok(Value::Struct(vec![
            (
                "xmlrpc".into(),
                Value::Struct(vec![
                    ("specUrl".into(), s("http://www.xmlrpc.com/spec")),
                    ("specVersion".into(), Value::Int(1)),
                ]),
            ),
            (
                "faults_interop".into(),
                Value::Struct(vec![
                    ("specUrl".into(), s("http://xmlrpc-epi.sourceforge.net/specs/rfc.fault_codes.php")),
                    ("specVersion".into(), Value::Int(20010516)),
                ]),
            ),
            (
                "system.multicall".into(),
                Value::Struct(vec![
                    ("specUrl".into(), s("https://mirrors.talideon.com/articles/multicall.html")),
                    ("specVersion".into(), Value::Int(1)),
                ]),
            ),
        ])),
        "system.multicall" if nested => Err(Fault::new(-32600, "system.multicall cannot be nested")),
        "system.multicall" => multicall(xr, call, peer).await,
        _ => return None,
    })
}

/// Boxed with an explicit `Send`: it calls `dispatch`, which calls it.
fn multicall<'a>(
    xr: &'a XmlRpc,
    call: &'a MethodCall,
    peer: &'a Peer,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, Fault>> + Send + 'a>> {
    Box::pin(multicall_inner(xr, call, peer))
}

async fn multicall_inner(xr: &XmlRpc, call: &MethodCall, peer: &Peer) -> Result<Value, Fault> {
    let Some(Value::Array(calls)) = call.params.first() else {
        return Err(Fault::params("param1", "expected an array of calls"));
    };
    let mut out = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        let path = format!("param1[{i}]");
        let arg = Arg { v: c, path: &path };
        let one = async {
            let method = string(arg, "methodName")?;
            let params = match arg.member("params")?.0 {
                Value::Array(p) => p,
                _ => return Err(Fault::params(&format!("{path}.params"), "expected an array")),
            };
            xr.dispatch(&MethodCall { method, params }, peer, true).await
        };
        out.push(match one.await {
            Ok(v) => Value::Array(vec![v]),
            Err(f) => crate::encode::fault_value(f.code, &f.message),
        });
    }
    Ok(Value::Array(out))
}

/// The authenticated methods.
pub(crate) async fn call(xr: &XmlRpc, caller: &Caller, call: &MethodCall, peer: &Peer) -> Result<Value, Fault> {
    match call.method.as_str() {
        "solde" => solde(xr, caller).await,
        "achat" => each_request(xr, caller, call, Legacy::Achat).await,
        "statut" => each_request(xr, caller, call, Legacy::Statut).await,
        "revocation" => each_request(xr, caller, call, Legacy::Revocation).await,
        "refabrication" => each_request(xr, caller, call, Legacy::Refabrication).await,
        "renouvellement" => each_request(xr, caller, call, Legacy::Renouvellement).await,
        "changementCommandes" => changes(xr, caller, call).await,
        "reference" => each_request(xr, caller, call, Legacy::Reference).await,
        "enSommeil" => asleep(xr, caller).await,
        "dcvAdresses" => each_request(xr, caller, call, Legacy::DcvAddresses).await,
        "dcvEmailRenvoyer" => each_request(xr, caller, call, Legacy::DcvRetest).await,
        "dcvCodeValidation" => crate::dcv::code_validation(),
        other => crate::modern::call(xr, caller, call, peer).await.unwrap_or_else(|| Err(Fault::unknown_method(other))),
    }
}

/// The legacy methods that take a bulk `demande`.
#[derive(Clone, Copy)]
enum Legacy {
    Achat,
    Statut,
    Revocation,
    Refabrication,
    Renouvellement,
    Reference,
    DcvAddresses,
    DcvRetest,
}

/// Runs the method on each member of `demande` (the second parameter); the
/// answer is a struct keyed by the same references, with a fault struct for
/// each request that failed.
async fn each_request(xr: &XmlRpc, caller: &Caller, call: &MethodCall, method: Legacy) -> Result<Value, Fault> {
    let demande = call.params.get(1).ok_or_else(|| Fault::params("demande", "missing"))?;
    let members = Arg { v: demande, path: "demande" }.members()?;
    let mut out = Vec::new();
    for (reference, req) in members {
        let path = format!("demande.{reference}");
        let arg = Arg { v: req, path: &path };
        let outcome = match method {
            Legacy::Achat => achat(xr, caller, &path, arg).await,
            Legacy::Statut => statut(xr, caller, &path, arg).await,
            Legacy::Revocation => revocation(xr, caller, arg).await,
            Legacy::Refabrication => refabrication(xr, caller, arg).await,
            Legacy::Renouvellement => renouvellement(xr, caller, arg).await,
            Legacy::Reference => by_client_ref(xr, caller, arg).await,
            Legacy::DcvAddresses => crate::dcv::addresses(xr, caller, arg).await,
            Legacy::DcvRetest => crate::dcv::retest(xr, caller, arg).await,
        };
        let answer = match outcome {
            Ok(v) => v,
            Err(fault) => crate::encode::fault_value(fault.code, &fault.message),
        };
        out.push((reference.clone(), answer));
    }
    Ok(Value::Struct(out))
}

async fn solde(xr: &XmlRpc, caller: &Caller) -> Result<Value, Fault> {
    caller.require(Right::Billing)?;
    let account = xr.orders.account(caller.account_id).await?;
    let tokens = xr.orders.token_balances(caller).await?;
    let deposit = xr.orders.balance(caller, Ledger::Deposit, None).await?;
    let invoice = xr.orders.balance(caller, Ledger::Invoice, None).await?;
    Ok(Value::Struct(vec![
        ("formule".into(), s(account.formula)),
        ("devise".into(), s(account.currency)),
        ("jetons".into(), Value::Struct(tokens.into_iter().map(|t| (t.item, Value::Int(t.balance))).collect())),
        ("depot".into(), s(format_money(deposit))),
        ("enCours".into(), s(format_money(invoice))),
    ]))
}

/// The product code of a legacy `produit {code, dureeVie}`: `ssl` for one
/// year is `ssl1` when such a product exists, else the code as given.
async fn product_code(xr: &XmlRpc, produit: Arg<'_>) -> Result<String, Fault> {
    let code = string(produit, "code")?;
    if let Some(years) = produit.opt("dureeVie").and(int(produit, "dureeVie").ok()) {
        let with_years = format!("{code}{years}");
        if xr.orders.product(&with_years).await.is_ok() {
            return Ok(with_years);
        }
    }
    Ok(code)
}

async fn achat(xr: &XmlRpc, caller: &Caller, path: &str, req: Arg<'_>) -> Result<Value, Fault> {
    let (produit, produit_path) = req.member("produit")?;
    let product = product_code(xr, Arg { v: &produit, path: &produit_path }).await?;
    let (csr, names) = requete(req)?;
    let organisation = match req.opt("organisation") {
        Some(o) => organisation(xr, caller, Arg { v: o, path: &format!("{path}.organisation") }).await?,
        None => organisation(xr, caller, Arg { v: &Value::Struct(vec![]), path }).await?,
    };
    let client_ref = req.opt("divers").and_then(|d| opt_string(Arg { v: d, path }, "refClient"));
    let placed = xr
        .orders
        .place(
            caller,
            &PlaceOrder {
                organisation_id: organisation,
                product_code: product,
                csr: csr.into_bytes(),
                names,
                client_ref,
                ..Default::default()
            },
        )
        .await?;
    let o = placed.order;
    Ok(Value::Struct(vec![
        ("messageReponse".into(), s("OK")),
        ("refTBS".into(), Value::Int(o.id)),
        ("statut".into(), s(o.status)),
        ("prix".into(), s(format_money(o.price))),
        ("devise".into(), s(o.currency)),
    ]))
}

/// The organisation of the caller's account a legacy request names, by its
/// identification number (`siren`) or name; with a single organisation,
/// that one.
async fn organisation(xr: &XmlRpc, caller: &Caller, org: Arg<'_>) -> Result<i64, Fault> {
    let orgs = xr.orders.organisations(caller).await?;
    let siren = opt_string(org, "siren");
    let name = opt_string(org, "nom");
    let found = orgs
        .iter()
        .find(|o| siren.as_deref().is_some_and(|s| !s.is_empty() && o.ident == s))
        .or_else(|| orgs.iter().find(|o| name.as_deref().is_some_and(|n| o.name.eq_ignore_ascii_case(n))))
        .or(if orgs.len() == 1 { orgs.first() } else { None });
    found.map(|o| o.id).ok_or_else(|| {
        Fault::new(
            crate::fault::code::UNKNOWN_ORGANISATION,
            format!("{}: no organisation of this account matches", org.path),
        )
    })
}

/// An order as the API shows it, with its current certificate once delivered.
pub(crate) fn order_value(o: &Order, certs: &[orders::Certificate]) -> Value {
    let mut v = vec![
        ("refTBS".into(), Value::Int(o.id)),
        ("reference".into(), s(o.reference.clone().unwrap_or_default())),
        ("statut".into(), s(o.status.clone())),
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

/// The order reference of a bulk request: `{refTBS}`, or the reference itself.
pub(crate) fn ref_tbs(req: Arg<'_>) -> Result<String, Fault> {
    match req.v {
        Value::Struct(_) => string(req, "refTBS"),
        Value::Int(i) => Ok(i.to_string()),
        Value::String(s) => Ok(s.clone()),
        other => Err(Fault::params(req.path, &format!("expected refTBS, found {}", other.type_name()))),
    }
}

fn done(o: &Order) -> Value {
    Value::Struct(vec![
        ("messageReponse".into(), s("OK")),
        ("refTBS".into(), Value::Int(o.id)),
        ("statut".into(), s(o.status.clone())),
    ])
}

async fn revocation(xr: &XmlRpc, caller: &Caller, req: Arg<'_>) -> Result<Value, Fault> {
    let reference = ref_tbs(req)?;
    let reason = if req.opt("motif").is_some() { int(req, "motif")? } else { 0 };
    Ok(done(&xr.orders.revoke(caller, &reference, None, reason).await?))
}

/// The names and CSR of a `requete {CSR, domainePrincipal, domaines}`.
fn requete(req: Arg<'_>) -> Result<(String, Vec<String>), Fault> {
    let (r, path) = req.member("requete")?;
    let r = Arg { v: &r, path: &path };
    let mut names: Vec<String> = opt_string(r, "domainePrincipal").into_iter().collect();
    if let Some(more) = opt_string(r, "domaines") {
        names.extend(more.split(['\n', '\r', ',', ' ']).filter(|n| !n.is_empty()).map(str::to_string));
    }
    Ok((string(r, "CSR")?, names))
}

async fn refabrication(xr: &XmlRpc, caller: &Caller, req: Arg<'_>) -> Result<Value, Fault> {
    let reference = ref_tbs(req)?;
    let (csr, names) = requete(req)?;
    let o = xr.orders.reissue(caller, &reference, &orders::Reissue { csr: csr.into_bytes(), names }).await?;
    Ok(done(&o))
}

async fn renouvellement(xr: &XmlRpc, caller: &Caller, req: Arg<'_>) -> Result<Value, Fault> {
    let reference = ref_tbs(req)?;
    let csr = match req.opt("requete") {
        Some(_) => Some(requete(req)?.0),
        None => None,
    };
    let client_ref = req.opt("divers").and_then(|d| opt_string(Arg { v: d, path: req.path }, "refClient"));
    let placed = xr.orders.renew(caller, &reference, csr.as_deref().map(str::as_bytes), client_ref.as_deref()).await?;
    Ok(done(&placed.order))
}

/// `reference`: the orders placed with a client reference (`{refClient}`).
async fn by_client_ref(xr: &XmlRpc, caller: &Caller, req: Arg<'_>) -> Result<Value, Fault> {
    let client_ref = match req.v {
        Value::Struct(_) => string(req, "refClient")?,
        Value::String(s) => s.clone(),
        other => return Err(Fault::params(req.path, &format!("expected refClient, found {}", other.type_name()))),
    };
    let filter = orders::OrderFilter { client_ref, limit: 1000, ..Default::default() };
    let found = xr.orders.list_orders(caller, &filter).await?;
    if found.is_empty() {
        return Err(Fault::new(crate::fault::code::UNKNOWN_ORDER, "no order has this client reference"));
    }
    Ok(Value::Array(found.iter().map(|o| order_value(o, &[])).collect()))
}

/// `enSommeil`: the orders asleep, waiting on the customer rather than on
/// certgate: for an approver, or for domain control validation.
async fn asleep(xr: &XmlRpc, caller: &Caller) -> Result<Value, Fault> {
    let mut out = Vec::new();
    for status in ["pending_approval", "waiting_dcv"] {
        let filter = orders::OrderFilter { status: status.into(), limit: 1000, ..Default::default() };
        out.extend(xr.orders.list_orders(caller, &filter).await?.iter().map(|o| order_value(o, &[])));
    }
    Ok(Value::Array(out))
}

/// A date option: Unix seconds for `typeDate = "timestamp"`, ISO 8601 otherwise.
fn date_option(opts: Arg<'_>, name: &str, iso: bool) -> Result<Option<i64>, Fault> {
    let path = format!("{}.{name}", opts.path);
    match opts.opt(name) {
        None => Ok(None),
        Some(Value::DateTime(t)) => Ok(Some(t.unix_timestamp())),
        Some(Value::Int(i)) if !iso => Ok(Some(*i)),
        Some(Value::String(v)) if !iso => {
            v.trim().parse().map(Some).map_err(|_| Fault::params(&path, &format!("{v:?} is not a Unix timestamp")))
        }
        Some(Value::String(v)) => crate::parse_datetime(v)
            .map(|t| Some(t.unix_timestamp()))
            .ok_or_else(|| Fault::params(&path, &format!("{v:?} is not an ISO 8601 date"))),
        Some(other) => Err(Fault::params(&path, &format!("expected a date, found {}", other.type_name()))),
    }
}

/// `changementCommandes`: the orders changed within a date range, given in
/// the first parameter beside `identification`.
async fn changes(xr: &XmlRpc, caller: &Caller, call: &MethodCall) -> Result<Value, Fault> {
    let opts = Arg { v: &call.params[0], path: "param1" };
    let iso = match opt_string(opts, "typeDate").as_deref() {
        None | Some("timestamp") => false,
        Some("iso") => true,
        Some(other) => {
            return Err(Fault::params("param1.typeDate", &format!("{other:?} is neither timestamp nor iso")));
        }
    };
    let from = date_option(opts, "timestampChangementDepuis", iso)?.unwrap_or(0);
    let to = date_option(opts, "timestampChangementJusqua", iso)?.unwrap_or(0);
    let filter = orders::OrderFilter { updated_from: from, updated_to: to, limit: 10_000, ..Default::default() };
    let list = xr.orders.list_orders(caller, &filter).await?;
    Ok(Value::Array(list.iter().map(|o| order_value(o, &[])).collect()))
}

async fn statut(xr: &XmlRpc, caller: &Caller, _path: &str, req: Arg<'_>) -> Result<Value, Fault> {
    let reference = ref_tbs(req)?;
    let o = xr.orders.order(caller, &reference).await?;
    let certs = xr.orders.certificates(caller, &reference).await?;
    Ok(order_value(&o, &certs))
}
