//! An order signed before it is recorded (the embedded CA signs inside the
//! placing transaction): inserted delivered, with its certificate, the done
//! job the certificate belongs to, and the audit entries of its placing and
//! delivery. On PostgreSQL the four writes are one statement, one round trip.

use crate::audit::{self, Actor};
use crate::certificates::{self, NewCertificate, certificate_columns};
use crate::jobs::insert_done_issuance;
use crate::orders::{self, NewOrder, OrderRow, bind_order, insert_order};
use crate::sql::{FromRow, Row, query_built};
use crate::{Backend, Conn, Error, Result};

/// What is recorded of an order signed at once.
#[derive(Clone, Debug)]
pub struct SignedOrder<'a> {
    /// The order, inserted delivered, with its id drawn beforehand
    /// ([`orders::begin_with_next_id`]).
    pub order: &'a NewOrder<'a>,
    /// Its certificate, of the same order id and common name; the done
    /// issuance job it belongs to is recorded with it.
    pub certificate: &'a NewCertificate<'a>,
    /// Who placed it, for the audit entries.
    pub actor: &'a Actor,
    /// The audit entries, as (action, detail), in the order they happened.
    pub audit: &'a [(&'a str, &'a str)],
}

/// The order as stored and its certificate's id.
struct Inserted(OrderRow, i64);

impl FromRow for Inserted {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(Inserted(OrderRow::from_row(row)?, row.get("certificate_id")?))
    }
}

/// Records a signed order; returns it as stored with its certificate's id,
/// or `None` when the account already placed an order with the same
/// idempotency key (nothing is written).
pub async fn insert(c: &mut Conn, s: &SignedOrder<'_>, now: i64) -> Result<Option<(OrderRow, i64)>> {
    // PostgreSQL's statement takes the certificate's order, name and job from the order it inserts.
    debug_assert!(s.order.id == Some(s.certificate.order_id), "a signed order's id is drawn beforehand");
    debug_assert!(s.certificate.cn == s.order.cn);
    match c.backend() {
        Backend::Postgres => insert_in_one_statement(c, s, now).await,
        Backend::Sqlite => {
            // Each statement is a call into the same process: one at a time costs nothing more.
            let Some(order) = orders::insert(c, s.order, now).await? else {
                return Ok(None);
            };
            // Signed at once: its issuance job is recorded done, for the
            // certificate to belong to a job like every other.
            let job = crate::jobs::record_done(c, order.id, now).await?;
            let certificate = certificates::insert(c, s.certificate, job, now).await?.ok_or(Error::RowNotFound)?;
            audit::record_all(c, s.actor, s.audit, now).await?;
            Ok(Some((order, certificate)))
        }
    }
}

/// The writes of [`insert`] as one PostgreSQL statement. Each one after the
/// order's selects from the order inserted (`o`), so that an order the
/// idempotency key refused writes nothing else either. The job and
/// certificate are written as `certificates::insert` writes a certificate
/// without a job, here from `o`.
async fn insert_in_one_statement(c: &mut Conn, s: &SignedOrder<'_>, now: i64) -> Result<Option<(OrderRow, i64)>> {
    // As `audit::record_all` writes them: the call that made them last.
    let entries = audit::with_call(s.actor, s.audit);
    let audited = if entries.is_empty() {
        String::new()
    } else {
        format!(", a AS ({})", audit::insert_entries("$18", 27, entries.len(), "o,"))
    };
    let sql = format!(
        concat!(
            "WITH o AS (",
            insert_order!(postgres),
            "),
             j AS (",
            insert_done_issuance!("o.id", "$18", "FROM o"),
            "),
             c AS (INSERT INTO certificates (",
            certificate_columns!(),
            ")
                   SELECT o.id, j.id, $22, o.cn, $23, $24, $25, $26, $18, o.account_id FROM o, j RETURNING id)
             {audited}
             SELECT o.*, c.id AS certificate_id FROM o, c"
        ),
        audited = audited,
    );
    let n = s.certificate;
    let q = bind_order(query_built(sql), s.order, now)
        .bind(n.serial)
        .bind(n.leaf_pem)
        .bind(n.chain_pem)
        .bind(n.not_before)
        .bind(n.not_after);
    let inserted: Option<Inserted> = audit::bind_entries(q, s.actor, &entries).read_as().fetch_optional(c).await?;
    Ok(inserted.map(|Inserted(order, certificate)| (order, certificate)))
}
