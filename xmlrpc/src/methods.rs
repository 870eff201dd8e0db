//! The API methods: the introspection methods of `system.*`, and the legacy
//! methods of seed 14 (bulk `demande` structs keyed by the client's own
//! references). The English-named methods are in `modern`, the DCV ones in
//! `dcv`.

use orders::{Caller, Ledger, Order, PlaceOrder, Right, Status, format_money};

use crate::fault::Fault;
use crate::server::{Logins, Peer, XmlRpc};
use crate::values::{TypeDate, bulk_request, order_ref, order_value, s, unix_time};
use crate::{DateParam, Keyed, MethodCall, Value, fault_value, from_value};
use serde::Deserialize;

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
    ("reference", "struct struct struct", "The orders named by each client reference (refClient) of demande."),
    ("enSommeil", "array struct", "The orders waiting on the customer: for an approver, or for domain validation."),
    (
        "dcvAdresses",
        "struct struct struct",
        "Per name of each order of demande, the HTTP file and the DNS TXT record that prove domain control.",
    ),
    (
        "dcvEmailRenvoyer",
        "struct struct struct",
        "Checks domain control of each order of demande again; when every name passes, the order is issued.",
    ),
    (
        "dcvCodeValidation",
        "struct struct struct",
        "E-mail validation codes, which are not offered: a fault says to use dcvAdresses instead.",
    ),
    ("order.cancel", "struct struct struct", "Cancels an order before issuance; what was paid is refunded."),
    ("order.approve", "struct struct struct", "Approves an order waiting for approval (approval right)."),
    (
        "order.provideCsr",
        "struct struct struct",
        "Gives an automatic renewal waiting for a new CSR (waiting_csr) its CSR: same names, a new key.",
    ),
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
    (
        "cert.autoRenew.list",
        "array struct",
        "The certificates that can renew, with their renewal date (65 days before expiry) or manual.",
    ),
    (
        "cert.autoRenew.set",
        "array struct struct",
        "Switches automatic renewal on or off (actif) for the orders named in references, all or none.",
    ),
    ("account.autoRenewDefault.set", "struct struct struct", "Whether the account's new orders renew automatically."),
    ("account.contacts.list", "array struct", "The account's contact points: role, email, langue."),
    (
        "domain.list",
        "struct struct struct",
        "The account's domains (page from 0): state, DCV to publish, pre-validations, orders, last CAA check.",
    ),
    (
        "domain.add",
        "struct struct struct",
        "Adds domaine to an organisation; it waits for its DCV TXT record until domain.validate sees it.",
    ),
    (
        "domain.validate",
        "struct struct struct",
        "Looks for a pending domain's TXT record; when found, its orders need no DCV of their own.",
    ),
    ("domain.remove", "struct struct struct", "Removes a domain: the orders below it need DCV again."),
    (
        "monitor.defaults.get",
        "struct struct",
        "The account's monitoring defaults: actifParDefaut, frequence, responsable, langue, texteBrut.",
    ),
    (
        "monitor.defaults.set",
        "struct struct struct",
        "Sets the monitoring defaults of new certificates and who receives the results (administrative right).",
    ),
    (
        "monitor.set",
        "struct struct struct",
        "Monitors an order's certificate: actif, frequence (0, 7, 30, 90 days), hotes, port, starttls.",
    ),
    (
        "monitor.list",
        "array struct struct",
        "The account's monitored certificates with their last results (page from 0).",
    ),
    ("monitor.results", "array struct struct", "The scan history of an order's certificate, newest first (limite)."),
    (
        "domain.checkCaa",
        "array struct struct",
        "What the CAA records of domaines say of the CA of produit: allowed, forbidden, lookup_failed, not_checked.",
    ),
    (
        "account.contacts.set",
        "array struct struct",
        "Sets the contact of a role (generic, delivery, accounting, emergency) with its langue; an empty email removes it.",
    ),
    (
        "account.webhooks.create",
        "struct struct struct",
        "Registers an HTTPS webhook; its signing secret is shown this once.",
    ),
    ("account.webhooks.list", "array struct", "The account's webhooks."),
    ("account.webhooks.delete", "struct struct struct", "Deletes a webhook: it receives nothing more."),
    (
        "account.webhooks.deliveries",
        "array struct struct",
        "The latest deliveries of the account's events (of one webhook with id): state, attempts, last answer.",
    ),
    (
        "account.warningLevel.set",
        "struct struct struct",
        "The deposit amount or token count below which the accounting contact is warned (seed 7.2.3).",
    ),
    (
        "account.renewalForecast",
        "struct struct struct",
        "The tokens needed to renew the certificates expiring between depuis and jusqua, as lines or CSV.",
    ),
    ("system.listMethods", "array", "The names of every method."),
    ("system.methodHelp", "string string", "What a method does."),
    ("system.methodSignature", "array string", "The types a method takes and returns."),
    ("system.getCapabilities", "struct", "The specifications this server follows."),
    ("system.multicall", "array array", "Runs several calls in one; each answers or faults on its own."),
];

/// The method's name as a static string, or `None` for a method that does
/// not exist (a bounded label for the metrics).
pub(crate) fn known(name: &str) -> Option<&'static str> {
    METHODS.iter().find(|m| m.0 == name).map(|m| m.0)
}

fn method_name(call: &MethodCall) -> Result<String, Fault> {
    match call.params.first() {
        Some(Value::String(n)) => Ok(n.clone()),
        _ => Err(Fault::params("param1", "expected the method's name")),
    }
}

/// The `system.*` methods (no authentication), or `None` for other methods.
pub(crate) async fn system(
    xr: &XmlRpc,
    call: &MethodCall,
    peer: &Peer,
    nested: bool,
    logins: &mut Logins,
) -> Option<Result<Value, Fault>> {
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
        "system.multicall" => multicall(xr, call, peer, logins).await,
        _ => return None,
    })
}

/// Boxed with an explicit `Send`: it calls `dispatch`, which calls it.
fn multicall<'a>(
    xr: &'a XmlRpc,
    call: &'a MethodCall,
    peer: &'a Peer,
    logins: &'a mut Logins,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, Fault>> + Send + 'a>> {
    Box::pin(multicall_inner(xr, call, peer, logins))
}

/// One call of `system.multicall`.
#[derive(Deserialize)]
struct CallSpec {
    #[serde(rename = "methodName")]
    method: String,
    params: Vec<Value>,
}

async fn multicall_inner(xr: &XmlRpc, call: &MethodCall, peer: &Peer, logins: &mut Logins) -> Result<Value, Fault> {
    let Some(Value::Array(calls)) = call.params.first() else {
        return Err(Fault::params("param1", "expected an array of calls"));
    };
    let max = xr.limits.max_multicall;
    if calls.len() > max {
        return Err(Fault::new(
            -32600,
            format!("system.multicall carries {} calls; at most {max} are run", calls.len()),
        ));
    }
    let mut out = Vec::new();
    // Each call is read on its own, so that a malformed one faults alone.
    for (i, c) in calls.iter().enumerate() {
        let one = async {
            let CallSpec { method, params } = from_value(c, &format!("param1[{i}]"))?;
            xr.dispatch(&MethodCall { method, params }, peer, true, logins).await
        };
        out.push(match one.await {
            Ok(v) => Value::Array(vec![v]),
            Err(f) => fault_value(f.code, &f.message),
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
/// answer is a struct keyed by the same references, in the same order, with
/// a fault struct for each request that failed.
async fn each_request(xr: &XmlRpc, caller: &Caller, call: &MethodCall, method: Legacy) -> Result<Value, Fault> {
    let Some(demande) = call.params.get(1) else {
        return single_request(xr, caller, call, method).await;
    };
    // Each request is read into its method's struct on its own, below, so
    // that a malformed request faults alone and the others go on.
    let Keyed(requests) = from_value::<Keyed<Value>>(demande, "demande")?;
    let mut out = Vec::with_capacity(requests.len());
    for (reference, req) in requests {
        let path = format!("demande.{reference}");
        let outcome = match method {
            Legacy::Achat => achat(xr, caller, &req, &path).await,
            Legacy::Statut => statut(xr, caller, &req, &path).await,
            Legacy::Revocation => revocation(xr, caller, &req, &path).await,
            Legacy::Refabrication => refabrication(xr, caller, &req, &path).await,
            Legacy::Renouvellement => renouvellement(xr, caller, &req, &path).await,
            Legacy::Reference => by_client_ref(xr, caller, &req, &path).await,
            Legacy::DcvAddresses => crate::dcv::addresses(xr, caller, &req, &path).await,
            Legacy::DcvRetest => crate::dcv::retest(xr, caller, &req, &path).await,
        };
        let answer = match outcome {
            Ok(v) => v,
            Err(fault) => {
                // A refused request of a bulk call is recorded like a refused
                // call: the call itself goes on, so `dispatch` sees no fault.
                let refusal = format!("{path}: fault {}: {}", fault.code, fault.message);
                xr.record_refusal(caller, &refusal).await;
                fault_value(fault.code, &fault.message)
            }
        };
        out.push((reference, answer));
    }
    Ok(Value::Struct(out))
}

/// The older form of the information methods: one request beside
/// `identification` in the first parameter (`{identification, refTBS}` or
/// `{identification, refClient}`), answered with its entry alone.
async fn single_request(xr: &XmlRpc, caller: &Caller, call: &MethodCall, method: Legacy) -> Result<Value, Fault> {
    let asked = |key: &str| matches!(call.params.first(), Some(Value::Struct(m)) if m.iter().any(|(k, _)| k == key));
    let single = match method {
        Legacy::Statut | Legacy::DcvAddresses | Legacy::DcvRetest => asked("refTBS"),
        Legacy::Reference => asked("refClient"),
        _ => false,
    };
    let Some(Value::Struct(members)) = call.params.first().filter(|_| single) else {
        return Err(Fault::params("demande", "missing"));
    };
    let req = Value::Struct(members.iter().filter(|(k, _)| k != "identification").cloned().collect());
    let path = "param1";
    match method {
        Legacy::Statut => statut(xr, caller, &req, path).await,
        Legacy::Reference => by_client_ref(xr, caller, &req, path).await,
        Legacy::DcvAddresses => crate::dcv::addresses(xr, caller, &req, path).await,
        _ => crate::dcv::retest(xr, caller, &req, path).await,
    }
}

async fn solde(xr: &XmlRpc, caller: &Caller) -> Result<Value, Fault> {
    caller.require(Right::Billing)?;
    let account = xr.orders.account(caller.account_id).await?;
    let tokens = xr.orders.token_balances(caller).await?;
    let deposit = xr.orders.balance(caller, Ledger::Deposit, None).await?;
    let invoice = xr.orders.balance(caller, Ledger::Invoice, None).await?;
    Ok(Value::Struct(vec![
        ("formule".into(), s(account.formula.as_str())),
        ("devise".into(), s(account.currency)),
        ("jetons".into(), Value::Struct(tokens.into_iter().map(|t| (t.item, Value::Int(t.balance))).collect())),
        ("depot".into(), s(format_money(deposit))),
        ("enCours".into(), s(format_money(invoice))),
    ]))
}

/// A legacy `produit {code, dureeVie}`.
#[derive(Deserialize)]
struct Produit {
    code: String,
    #[serde(rename = "dureeVie")]
    years: Option<i64>,
}

/// A legacy `requete {CSR, domainePrincipal, domaines}`; what else clients
/// send there (`logiciel`, `hashage`, `adresseDVC`) is not needed.
#[derive(Deserialize)]
struct Requete {
    #[serde(rename = "CSR")]
    csr: String,
    #[serde(rename = "domainePrincipal")]
    main_name: Option<String>,
    /// More names, one per line (or separated by commas or spaces).
    #[serde(rename = "domaines")]
    more_names: Option<String>,
}

impl Requete {
    fn names(&self) -> Vec<String> {
        let more = self.more_names.iter().flat_map(|m| m.split(['\n', '\r', ',', ' '])).filter(|n| !n.is_empty());
        self.main_name.iter().map(String::as_str).chain(more).map(str::to_string).collect()
    }
}

/// The organisation a legacy request names (`siren` or `nom`); the other
/// members real clients send (address, phone...) are not needed.
#[derive(Default, Deserialize)]
struct Organisation {
    siren: Option<String>,
    nom: Option<String>,
}

/// A legacy `divers {refClient}`, and certgate's `attenteFonds`: when true,
/// an order the account cannot pay yet waits for a credit instead of being
/// refused.
#[derive(Deserialize)]
struct Divers {
    #[serde(rename = "refClient")]
    client_ref: Option<String>,
    #[serde(rename = "attenteFonds")]
    wait_for_funds: Option<bool>,
}

/// An `achat` request; `contactAdm` and `paiement` are read by nobody: the
/// account's formula decides the payment.
#[derive(Deserialize)]
struct Achat {
    produit: Produit,
    requete: Requete,
    organisation: Option<Organisation>,
    divers: Option<Divers>,
}

/// The product code of a legacy `produit`: `ssl` for one year is `ssl1` when
/// such a product exists, else the code as given, whose validity must then
/// be the `dureeVie` asked for (`ssl1` with 5 years is refused, not sold as 1).
async fn product_code(xr: &XmlRpc, produit: Produit, path: &str) -> Result<String, Fault> {
    let Some(years) = produit.years else { return Ok(produit.code) };
    let with_years = format!("{}{years}", produit.code);
    if xr.orders.product(&with_years).await.is_ok() {
        return Ok(with_years);
    }
    if let Ok(p) = xr.orders.product(&produit.code).await {
        // Imported validities are whole years of 365 days; round, for those set by hand.
        let lasts = (p.validity_days + 182) / 365;
        if lasts != years {
            return Err(Fault::new(
                crate::fault::code::UNKNOWN_PRODUCT,
                format!("{path}.produit: product {} lasts {lasts} year(s), not dureeVie {years}", p.code),
            ));
        }
    }
    Ok(produit.code)
}

async fn achat(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let a: Achat = from_value(req, path)?;
    let names = a.requete.names();
    let organisation = match &a.organisation {
        Some(o) => organisation(xr, caller, o, &format!("{path}.organisation")).await?,
        None => organisation(xr, caller, &Organisation::default(), path).await?,
    };
    let placed = xr
        .orders
        .place(
            caller,
            &PlaceOrder {
                organisation_id: organisation,
                product_code: product_code(xr, a.produit, path).await?,
                csr: a.requete.csr.into_bytes(),
                names,
                wait_for_funds: a.divers.as_ref().and_then(|d| d.wait_for_funds).unwrap_or(false),
                client_ref: a.divers.and_then(|d| d.client_ref),
                ..Default::default()
            },
        )
        .await?;
    let o = placed.order;
    Ok(Value::Struct(vec![
        ("messageReponse".into(), s("OK")),
        ("refTBS".into(), Value::Int(o.id)),
        ("statut".into(), s(o.status.as_str())),
        ("prix".into(), s(format_money(o.price))),
        ("devise".into(), s(o.currency)),
    ]))
}

/// The organisation of the caller's account a legacy request names, by its
/// identification number (`siren`) or name; with a single organisation,
/// that one.
async fn organisation(xr: &XmlRpc, caller: &Caller, org: &Organisation, path: &str) -> Result<i64, Fault> {
    let orgs = xr.orders.organisations(caller).await?;
    let (siren, nom) = (org.siren.as_deref().filter(|s| !s.is_empty()), org.nom.as_deref().filter(|n| !n.is_empty()));
    let found = match (siren, nom) {
        // Only a request that names no organisation gets the account's only one:
        // a named one that is not the account's is refused.
        (None, None) => {
            if orgs.len() == 1 {
                orgs.first()
            } else {
                None
            }
        }
        _ => orgs
            .iter()
            .find(|o| siren.is_some_and(|s| o.ident == s))
            .or_else(|| orgs.iter().find(|o| nom.is_some_and(|n| o.name.eq_ignore_ascii_case(n)))),
    };
    found.map(|o| o.id).ok_or_else(|| {
        Fault::new(crate::fault::code::UNKNOWN_ORGANISATION, format!("{path}: no organisation of this account matches"))
    })
}

fn done(o: &Order) -> Value {
    Value::Struct(vec![
        ("messageReponse".into(), s("OK")),
        ("refTBS".into(), Value::Int(o.id)),
        ("statut".into(), s(o.status.as_str())),
    ])
}

/// A `revocation` request; `motif` is an RFC 5280 reason code.
#[derive(Deserialize)]
struct Revocation {
    #[serde(rename = "refTBS")]
    reference: String,
    motif: Option<i64>,
}

async fn revocation(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let r: Revocation = bulk_request(req, path, "refTBS")?;
    Ok(done(&xr.orders.revoke(caller, &r.reference, None, r.motif.unwrap_or(0)).await?))
}

/// A `refabrication` request: the order and its new CSR.
#[derive(Deserialize)]
struct Refabrication {
    #[serde(rename = "refTBS")]
    reference: String,
    requete: Requete,
}

async fn refabrication(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let r: Refabrication = bulk_request(req, path, "refTBS")?;
    let reissue = orders::Reissue { names: r.requete.names(), csr: r.requete.csr.into_bytes() };
    Ok(done(&xr.orders.reissue(caller, &r.reference, &reissue).await?))
}

/// A `renouvellement` request: the order, and optionally a new CSR and client reference.
#[derive(Deserialize)]
struct Renouvellement {
    #[serde(rename = "refTBS")]
    reference: String,
    requete: Option<Requete>,
    divers: Option<Divers>,
}

async fn renouvellement(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let r: Renouvellement = bulk_request(req, path, "refTBS")?;
    let csr = r.requete.map(|q| q.csr);
    let client_ref = r.divers.and_then(|d| d.client_ref);
    let placed =
        xr.orders.renew(caller, &r.reference, csr.as_deref().map(str::as_bytes), client_ref.as_deref(), None).await?;
    Ok(done(&placed.order))
}

/// A `reference` request: `{refClient}`, or the client reference itself.
#[derive(Deserialize)]
struct ClientRef {
    #[serde(rename = "refClient")]
    client_ref: String,
}

/// `reference`: the orders placed with a client reference.
async fn by_client_ref(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let ClientRef { client_ref } = bulk_request(req, path, "refClient")?;
    let filter = orders::OrderFilter { client_ref, limit: 1000, ..Default::default() };
    let found = xr.orders.list_orders(caller, &filter).await?;
    if found.is_empty() {
        return Err(Fault::new(crate::fault::code::UNKNOWN_ORDER, "no order has this client reference"));
    }
    Ok(Value::Array(found.iter().map(|o| order_value(o, &[])).collect()))
}

/// `enSommeil`: the orders asleep, waiting on the customer rather than on
/// certgate: for an approver, for domain control validation, for funds, or
/// for a new CSR.
async fn asleep(xr: &XmlRpc, caller: &Caller) -> Result<Value, Fault> {
    let mut out = Vec::new();
    let asleep = [Status::PendingApproval, Status::WaitingDcv, Status::WaitingFunds, Status::WaitingCsr];
    for status in asleep {
        let filter = orders::OrderFilter { status: Some(status), limit: 1000, ..Default::default() };
        out.extend(xr.orders.list_orders(caller, &filter).await?.iter().map(|o| order_value(o, &[])));
    }
    Ok(Value::Array(out))
}

/// The options of `changementCommandes`, beside `identification` in the first parameter.
#[derive(Deserialize)]
struct Changes {
    #[serde(rename = "typeDate")]
    read: Option<TypeDate>,
    #[serde(rename = "timestampChangementDepuis")]
    from: Option<DateParam>,
    #[serde(rename = "timestampChangementJusqua")]
    to: Option<DateParam>,
}

/// `changementCommandes`: the orders changed within a date range.
async fn changes(xr: &XmlRpc, caller: &Caller, call: &MethodCall) -> Result<Value, Fault> {
    let options = call.params.first().ok_or_else(|| Fault::params("param1", "missing"))?;
    let c: Changes = from_value(options, "param1")?;
    let read = Some(c.read.unwrap_or(TypeDate::Timestamp));
    let from = unix_time(c.from.as_ref(), "param1.timestampChangementDepuis", read)?;
    let to = unix_time(c.to.as_ref(), "param1.timestampChangementJusqua", read)?;
    let filter = orders::OrderFilter { updated_from: from, updated_to: to, limit: 10_000, ..Default::default() };
    let list = xr.orders.list_orders(caller, &filter).await?;
    Ok(Value::Array(list.iter().map(|o| order_value(o, &[])).collect()))
}

async fn statut(xr: &XmlRpc, caller: &Caller, req: &Value, path: &str) -> Result<Value, Fault> {
    let reference = order_ref(req, path)?;
    let o = xr.orders.order(caller, &reference).await?;
    let certs = xr.orders.certificates(caller, &reference).await?;
    Ok(order_value(&o, &certs))
}
