//! Domain control validation of orders whose names are not pre-validated
//! (docs/xmlrpc.md, "Domain control"; seed 5.1.1): the order waits, paid,
//! holding a random token the customer publishes, as a file over HTTP or a
//! DNS TXT record (a wildcard only by DNS). The rules of where to publish it
//! live here, so every front tells the same; `check_dcv` has certgate's VA
//! look for it and, once it is seen for every name, queues the issuance.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use storage::orders;

use crate::names::order_names;
use crate::{Caller, Order, OrderError, Orders, Result, Right, Status};

/// What the customer must publish for an order waiting for DCV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dcv {
    /// The order's reference.
    pub reference: String,
    /// The value to publish.
    pub token: String,
    /// The names that need it (those not under a pre-validated domain).
    pub names: Vec<String>,
}

/// Where a name's token is published, by each method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcvPlaces {
    /// The name as ordered (`*.example.com` for a wildcard).
    pub name: String,
    /// The URL of the file that holds the token; none for a wildcard,
    /// whose control is proven by DNS only.
    pub http_url: Option<String>,
    /// The name of the TXT record that holds the token.
    pub txt_name: String,
}

/// The path of the HTTP file for an order.
fn http_path(reference: &str) -> String {
    format!("/.well-known/pki-validation/certgate-{reference}.txt")
}

/// The TXT record of the DNS method for a name (a wildcard's base name).
pub(crate) fn txt_name(name: &str) -> String {
    format!("_certgate-dcv.{}.", name.trim_start_matches("*."))
}

impl Dcv {
    /// Where each name's token may be published.
    pub fn places(&self) -> Vec<DcvPlaces> {
        self.names
            .iter()
            .map(|n| DcvPlaces {
                name: n.clone(),
                http_url: (!n.starts_with("*.")).then(|| format!("http://{n}{}", http_path(&self.reference))),
                txt_name: txt_name(n),
            })
            .collect()
    }
}

/// A fresh DCV token: 24 random bytes, base64url.
pub(crate) fn new_token() -> String {
    let mut b = [0u8; 24];
    aws_lc_rs::rand::fill(&mut b).expect("system random source");
    URL_SAFE_NO_PAD.encode(b)
}

impl Orders {
    /// The DCV an order of the caller's account is waiting for.
    pub async fn dcv(&self, caller: &Caller, reference: &str) -> Result<Dcv> {
        caller.require(Right::Technical)?;
        let o = self.order(caller, reference).await?;
        self.dcv_of(&o, reference).await
    }

    /// The DCV of order `o` (known as `reference`), already read.
    pub(crate) async fn dcv_of(&self, o: &Order, reference: &str) -> Result<Dcv> {
        let token = match (&o.dcv_token, o.status == Status::WaitingDcv) {
            (Some(t), true) => t.clone(),
            _ => {
                return Err(OrderError::WrongState {
                    reference: reference.to_string(),
                    status: o.status.to_string(),
                    expected: Status::WaitingDcv.as_str().into(),
                });
            }
        };
        let names = self.names_needing_dcv(o.organisation_id, &order_names(o)).await?;
        Ok(Dcv { reference: reference.to_string(), token, names })
    }

    /// Has certgate's VA look for the order's token at each name, by DNS
    /// first, then (not for a wildcard) over HTTP; when every name shows it,
    /// the order goes on to issuance. Else nothing changes, and the error
    /// says what was found for each name that failed.
    pub async fn check_dcv(&self, caller: &Caller, reference: &str) -> Result<Order> {
        let dcv = self.dcv(caller, reference).await?;
        let mut failures = Vec::new();
        for place in dcv.places() {
            let by_dns = self.va().dns_txt(&place.txt_name, &dcv.token).await;
            let outcome = match (by_dns, &place.http_url) {
                (Ok(()), _) => Ok(()),
                (Err(dns), None) => Err(dns),
                (Err(dns), Some(_)) => {
                    let host = place.name.as_str();
                    match self.va().http_file(host, &http_path(&dcv.reference), &dcv.token).await {
                        Ok(()) => Ok(()),
                        Err(http) => Err(format!("{dns} and {http}")),
                    }
                }
            };
            if let Err(e) = outcome {
                failures.push(format!("{}: {e}", place.name));
            }
        }
        if !failures.is_empty() {
            return Err(OrderError::DcvNotProven(failures.join("; ")));
        }
        self.dcv_proven(caller, &dcv.reference).await
    }

    /// Gives an order that starts waiting for DCV its token.
    /// The account is told what to publish where.
    pub(crate) async fn start_dcv(&self, tx: &mut storage::Conn, order_id: i64) -> Result<()> {
        let token = new_token();
        orders::set_dcv_token(tx, order_id, &token).await?;
        let Some(o) = crate::order::get(tx, order_id).await? else { return Ok(()) };
        let domains = storage::domains::covering(tx, o.organisation_id, self.now()).await?;
        let names = crate::prevalidations::uncovered(&order_names(&o), &domains);
        let reference = o.public_reference();
        let dcv = Dcv { reference, token: token.clone(), names };
        let lines: Vec<String> = dcv
            .places()
            .iter()
            .map(|p| {
                let file =
                    p.http_url.as_ref().map(|u| format!("\n  or the file {u} holding {token}")).unwrap_or_default();
                format!("{}: the TXT record {} holding {token}{file}", p.name, p.txt_name)
            })
            .collect();
        let data = serde_json::json!({"dcv": lines.join("\n"), "token": token});
        crate::events::emit(tx, crate::EventKind::WaitingDcv, o.account_id, Some(&o), data, None, self.now()).await?;
        Ok(())
    }
}
