//! The outbox of notifications: events, written in the transaction of the
//! change that causes them, and their deliveries, one per recipient.

use crate::sql::{query, query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `events`.
    #[derive(Clone, Debug)]
    pub struct EventRow {
        /// The event's database identifier, which receivers de-duplicate on.
        pub id: i64,
        /// The account it concerns.
        pub account_id: i64,
        /// What happened, such as `order.delivered`.
        pub kind: String,
        /// The order it concerns, if any.
        pub order_id: Option<i64>,
        /// What is said about it, as JSON.
        pub payload: String,
        /// A key no other event has, for an event that must happen once.
        pub dedup_key: Option<String>,
        /// When it happened, in UTC Unix seconds.
        pub created_at: i64,
    }
}

/// Records an event, if the account has someone to tell (a contact or a
/// live webhook) and no event with `dedup_key` was ever recorded; returns
/// its id, or `None` when nothing was recorded.
pub async fn insert(
    c: &mut Conn,
    account_id: i64,
    kind: &str,
    order_id: Option<i64>,
    payload: &str,
    dedup_key: Option<&str>,
    now: i64,
) -> Result<Option<i64>> {
    query_scalar(
        "INSERT INTO events (account_id, kind, order_id, payload, dedup_key, created_at)
         SELECT $1, $2, $3, $4, $5, $6
         WHERE EXISTS (SELECT 1 FROM contacts WHERE account_id = $1)
            OR EXISTS (SELECT 1 FROM webhooks WHERE account_id = $1 AND deleted_at IS NULL)
            OR ($2 = 'monitor.result' AND EXISTS (SELECT 1 FROM monitor_settings WHERE account_id = $1
                                                 AND manager_email IS NOT NULL))
         ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(kind)
    .bind(order_id)
    .bind(payload)
    .bind(dedup_key)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// One event.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<EventRow>> {
    query_as("SELECT * FROM events WHERE id = $1").bind(id).fetch_optional(c).await
}

crate::row_struct! {
    /// One row of `deliveries`.
    #[derive(Clone, Debug)]
    pub struct DeliveryRow {
        /// The delivery's database identifier.
        pub id: i64,
        /// The event delivered.
        pub event_id: i64,
        /// `email` or `webhook`.
        pub channel: String,
        /// The e-mail address, or the webhook's id.
        pub target: String,
        /// `pending`, `done` or `failed`.
        pub state: String,
        /// How many times it was tried.
        pub attempts: i64,
        /// The receiver's last answer (an HTTP status, an SMTP reply).
        pub last_status: Option<String>,
        /// Why the last attempt failed.
        pub last_error: Option<String>,
        /// When it last changed, in UTC Unix seconds.
        pub updated_at: i64,
    }
}

/// The delivery of event `event_id` to `target` by `channel`, created
/// pending the first time it is asked for.
pub async fn delivery(c: &mut Conn, event_id: i64, channel: &str, target: &str, now: i64) -> Result<DeliveryRow> {
    query(
        "INSERT INTO deliveries (event_id, channel, target, state, updated_at) VALUES ($1, $2, $3, 'pending', $4)
         ON CONFLICT (event_id, channel, target) DO NOTHING",
    )
    .bind(event_id)
    .bind(channel)
    .bind(target)
    .bind(now)
    .execute(c)
    .await?;
    query_as("SELECT * FROM deliveries WHERE event_id = $1 AND channel = $2 AND target = $3")
        .bind(event_id)
        .bind(channel)
        .bind(target)
        .fetch_one(c)
        .await
}

/// Records an attempt of delivery `id`, still pending: `state` becomes
/// `done` or `failed`, or stays `pending` to be tried again; a delivery that
/// is no longer pending is left alone. Returns whether it was recorded.
pub async fn record_attempt(
    c: &mut Conn,
    id: i64,
    state: &str,
    status: Option<&str>,
    error: Option<&str>,
    now: i64,
) -> Result<bool> {
    let r = query(
        "UPDATE deliveries SET state = $2, attempts = attempts + 1, last_status = $3, last_error = $4,
             updated_at = $5 WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(state)
    .bind(status)
    .bind(error)
    .bind(now)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The deliveries of the account's events, newest first; only those to
/// webhook `webhook` when given.
pub async fn deliveries(c: &mut Conn, account_id: i64, webhook: Option<i64>, limit: i64) -> Result<Vec<DeliveryRow>> {
    query_as(
        "SELECT d.* FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE e.account_id = $1 AND ($2 = 0 OR (d.channel = 'webhook' AND d.target = CAST($2 AS TEXT)))
         ORDER BY d.id DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(webhook.unwrap_or(0))
    .bind(limit)
    .fetch_all(c)
    .await
}
