//! The audit log: who did what, when, from which IP and through which front.

use crate::sql::{query, query_as};
use crate::{Conn, Result, now};

crate::row_struct! {
    /// One row of `audit_log`.
    #[derive(Clone, Debug)]
    pub struct AuditRow {
        /// The entry's database identifier.
        pub id: i64,
        /// When the action happened, in UTC Unix seconds.
        pub at: i64,
        /// The account the action concerns, when there is one.
        pub account_id: Option<i64>,
        /// Who acted: a login, an ACME account, `operator` for the CLI, or a worker.
        pub actor: String,
        /// The IP address the action came from, or `local`.
        pub ip: String,
        /// The front the action came through: `acme`, `xmlrpc`, `cli` or `worker`.
        pub source: String,
        /// What was done, as a dotted name such as `order.place`.
        pub action: String,
        /// Free-text details of the action.
        pub detail: String,
    }
}

/// Who acts, from where and through which front; attached to every audited write.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The account the actor acts on, when there is one.
    pub account_id: Option<i64>,
    /// A login, an ACME account, or `operator` for the CLI.
    pub name: String,
    /// The IP address the request came from.
    pub ip: String,
    /// `acme`, `xmlrpc`, `cli` or `worker`.
    pub source: String,
}

/// Appends one entry.
pub async fn record(c: &mut Conn, actor: &Actor, action: &str, detail: &str) -> Result<()> {
    query(
        "INSERT INTO audit_log (at, account_id, actor, ip, source, action, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now())
    .bind(actor.account_id)
    .bind(&actor.name)
    .bind(&actor.ip)
    .bind(&actor.source)
    .bind(action)
    .bind(detail)
    .execute(c)
    .await?;
    Ok(())
}

/// The latest entries, newest first, optionally of one account.
pub async fn list(c: &mut Conn, account_id: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
    query_as("SELECT * FROM audit_log WHERE ($1 = 0 OR account_id = $1) ORDER BY id DESC LIMIT $2")
        .bind(account_id.unwrap_or(0))
        .bind(limit)
        .fetch_all(c)
        .await
}
