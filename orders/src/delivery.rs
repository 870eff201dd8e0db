//! Delivering an order: what an upstream is asked to sign, and how its
//! certificate is stored. Shared by the job worker and by orders whose
//! upstream signs at once inside the order's own transaction.

use storage::audit::{self, Actor};
use storage::{certificates, jobs, orders};
use upstream::{IssueRequest, Issued, UpstreamError};

use crate::csr::Csr;
use crate::names::order_names;
use crate::{Order, OrderError, Orders, Result};

/// The revocation reason given to certificates superseded by a reissue.
pub(crate) const SUPERSEDED: i64 = 4;
/// The revocation reason given to a certificate that came for an order
/// nobody pays for any more (cancelled or failed).
const CESSATION_OF_OPERATION: i64 = 5;

/// What the upstream is asked to sign for `order`, whose CSR is `csr`.
pub(crate) fn issue_request(order: &Order, csr: Csr, validity_days: i64) -> IssueRequest {
    request_for(order.reference.clone().unwrap_or_default(), order_names(order), csr, validity_days)
}

/// What the upstream is asked to sign for the order `reference` of `names`
/// (the common name first), whose CSR is `csr`.
pub(crate) fn request_for(reference: String, names: Vec<String>, csr: Csr, validity_days: i64) -> IssueRequest {
    IssueRequest {
        order_reference: reference,
        csr_der: csr.der,
        public_key_der: csr.public_key_der,
        names,
        validity_days,
    }
}

impl Orders {
    /// Stores the certificate `issued` by job `job_id` and delivers the order,
    /// in the caller's transaction. Storing is once per job, so a retried job
    /// changes nothing. With `may_supersede` (a reissue may have replaced an
    /// earlier certificate), the order's older certificates are revoked: at
    /// once when the common name changed, else after the reissue delay.
    /// Returns the certificate's id and the order as delivered, or `None` when
    /// this job had stored its certificate already (then nothing is audited).
    pub(crate) async fn deliver(
        &self,
        tx: &mut storage::Conn,
        order: &Order,
        job_id: i64,
        issued: &Issued,
        audit: &Audit<'_>,
        may_supersede: bool,
    ) -> Result<Option<(i64, Order)>> {
        let now = self.now();
        let Some(cert_id) =
            certificates::insert(tx, &new_certificate(order.id, &order.cn, issued), job_id, self.now()).await?
        else {
            return Ok(None);
        };
        if may_supersede {
            for old in certificates::for_order(tx, order.id).await? {
                if old.id == cert_id || old.revoked_at.is_some() || old.revoke_after.is_some() {
                    continue;
                }
                if old.cn != order.cn {
                    certificates::mark_revoked(tx, old.id, SUPERSEDED, now).await?;
                    jobs::enqueue(tx, crate::JobKind::Revoke.as_str(), order.id, Some(old.id), now).await?;
                } else {
                    let delay = self.settings().reissue_revoke_delay_days * 86_400;
                    certificates::schedule_revocation(tx, old.id, now + delay).await?;
                }
            }
        }
        // An upstream that recorded no handle of its own is referred to by the serial.
        let delivered = match orders::deliver(tx, order.id, &issued.serial, self.now()).await? {
            Some(delivered) => Order::try_from(delivered)?,
            None => {
                let now_is = crate::order::get(tx, order.id)
                    .await?
                    .ok_or_else(|| OrderError::UnknownOrder(order.id.to_string()))?;
                if !crate::status::serves_certificates(now_is.status) {
                    // Nobody paid for it: revoked upstream, never served.
                    certificates::mark_revoked(tx, cert_id, CESSATION_OF_OPERATION, now).await?;
                    jobs::enqueue(tx, crate::JobKind::Revoke.as_str(), order.id, Some(cert_id), now).await?;
                    let detail = format!("{} serial {}: the order is {}", order.id, issued.serial, now_is.status);
                    audit::record(tx, audit.actor, "certificate.revoke_unsold", &detail, self.now()).await?;
                    metrics::counter!("certgate_unsold_certificates_revoked_total").increment(1);
                    tracing::warn!(order = order.id, status = %now_is.status, "a certificate came for an order nobody pays for; revoking it");
                    return Ok(None);
                }
                // A cancelled reissue: the new certificate is the order's newest
                // version, and the order takes its names and CSR again.
                orders::set_upstream_ref(tx, order.id, &issued.serial, false, self.now()).await?;
                crate::lifecycle::swap_to_certificate(tx, order.id, &order.cn, &issued.leaf_pem, self.now()).await?;
                crate::order::get(tx, order.id).await?.ok_or_else(|| OrderError::UnknownOrder(order.id.to_string()))?
            }
        };
        audit_delivery(tx, order.id, &issued.serial, audit, self.now()).await?;
        delivered_event(tx, &delivered, issued, self.now()).await?;
        Ok(Some((cert_id, delivered)))
    }
}

/// Tells the account that order `o` was delivered `issued`, in `tx`.
pub(crate) async fn delivered_event(tx: &mut storage::Conn, o: &Order, issued: &Issued, now: i64) -> Result<()> {
    let data = serde_json::json!({"serial": issued.serial, "not_after": crate::iso(issued.not_after)});
    crate::events::emit(tx, crate::EventKind::OrderDelivered, o.account_id, Some(o), data, None, now).await?;
    crate::monitoring::on_delivered(tx, o, now).await
}

/// The certificate `issued` for order `order_id` of common name `cn`.
pub(crate) fn new_certificate<'a>(order_id: i64, cn: &'a str, issued: &'a Issued) -> certificates::NewCertificate<'a> {
    certificates::NewCertificate {
        order_id,
        serial: &issued.serial,
        cn,
        leaf_pem: &issued.leaf_pem,
        chain_pem: &issued.chain_pem,
        not_before: issued.not_before,
        not_after: issued.not_after,
    }
}

/// Audits the delivery of order `order_id` with the certificate `serial`,
/// after the entries `audit` brings along, in one statement.
pub(crate) async fn audit_delivery(
    tx: &mut storage::Conn,
    order_id: i64,
    serial: &str,
    audit: &Audit<'_>,
    now: i64,
) -> Result<()> {
    let detail = delivered_detail(order_id, serial);
    audit::record_all(tx, audit.actor, &audit.with_delivery(&detail), now).await?;
    Ok(())
}

/// The detail of the audit entry of order `order_id`'s delivery with the certificate `serial`.
pub(crate) fn delivered_detail(order_id: i64, serial: &str) -> String {
    format!("{order_id} serial {serial}")
}

/// Who a delivery is audited as, and the entries of the same transaction
/// written with its own in one statement.
pub(crate) struct Audit<'a> {
    /// Who delivers: the worker, or the caller whose order was signed at once.
    pub actor: &'a Actor,
    /// Entries to write before the delivery's own, as (action, detail).
    pub earlier: &'a [(&'a str, &'a str)],
}

impl<'a> Audit<'a> {
    /// The entries to write: the earlier ones, then the delivery's, of `detail`.
    pub(crate) fn with_delivery(&self, detail: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut entries = self.earlier.to_vec();
        entries.push(("order.deliver", detail));
        entries
    }
}

/// Records an upstream call's latency, and its error by class.
pub(crate) fn observe_upstream(
    upstream: &str,
    op: &'static str,
    started: std::time::Instant,
    err: Option<&UpstreamError>,
) {
    let name = upstream.to_string();
    metrics::histogram!("certgate_upstream_request_duration_seconds", "upstream" => name.clone(), "op" => op)
        .record(started.elapsed().as_secs_f64());
    if let Some(e) = err {
        let class = if e.is_final() { "permanent" } else { "transient" };
        metrics::counter!("certgate_upstream_errors_total", "upstream" => name, "class" => class).increment(1);
    }
}
