//! Notifications (docs/notifications.md): the events the order core writes
//! to the outbox in the transaction of the change that causes them, and the
//! `notify` job that delivers each one to the account's contacts (by
//! e-mail, in their language) and webhooks, once per recipient.

use std::collections::BTreeMap;
use std::sync::Arc;

use notify::{Email, MailError, Notifier, WebhookError};
use storage::{contacts, events, jobs, webhooks};

use crate::states::states;
use crate::{Order, Orders, Result, iso};

states! {
    /// What happened, as receivers see it (`type` of a webhook's JSON).
    EventKind {
        /// An order's certificate was issued.
        OrderDelivered = "order.delivered",
        /// An order waits for an approver.
        WaitingApproval = "order.waiting_approval",
        /// An order waits for domain control validation.
        WaitingDcv = "order.waiting_dcv",
        /// An order failed for good at its CA and was refunded.
        OrderFailed = "order.failed",
        /// An order was cancelled after a charge, which was refunded.
        OrderRefunded = "order.refunded",
        /// A certificate that does not renew automatically expires soon.
        Expiring = "certificate.expiring",
        /// An automatic renewal was placed.
        RenewalPlaced = "renewal.placed",
        /// An order waits, unpaid, for the account to be credited.
        WaitingFunds = "order.waiting_funds",
        /// A prepaid balance fell below the account's warning level.
        BalanceLow = "balance.low",
        /// An automatic renewal could not be placed.
        RenewalFailed = "renewal.failed",
        /// An order that waited too long for funds or a CSR was cancelled, unpaid.
        OrderCancelled = "order.cancelled",
        /// An automatic renewal waits for the customer's new CSR.
        RenewalWaitingCsr = "renewal.waiting_csr",
        /// A monitoring scan's result changed or shows a problem.
        MonitorResult = "monitor.result",
    }
}

/// The roles of contact points (seed 7.2.2).
pub const CONTACT_ROLES: [&str; 4] = ["generic", "delivery", "accounting", "emergency"];

impl EventKind {
    /// The contact roles told of it; the generic contact is in copy of
    /// every message (seed 7.2.2).
    fn roles(self) -> &'static [&'static str] {
        match self {
            EventKind::OrderDelivered
            | EventKind::WaitingDcv
            | EventKind::OrderFailed
            | EventKind::Expiring
            | EventKind::RenewalFailed
            | EventKind::RenewalWaitingCsr
            | EventKind::MonitorResult
            | EventKind::WaitingApproval => &["generic", "delivery"],
            EventKind::OrderRefunded
            | EventKind::RenewalPlaced
            | EventKind::WaitingFunds
            | EventKind::BalanceLow
            | EventKind::OrderCancelled => &["generic", "accounting"],
        }
    }
}

/// How long a delivery is retried before it is given up (the 24 hours).
pub(crate) const GIVE_UP_AFTER_SECS: i64 = 86_400;

/// Records event `kind` of the account in the outbox, in the caller's
/// transaction, and queues its delivery; `order` and `data` say what it is
/// about. An event with a `dedup_key` already used, or of an account with
/// nobody to tell, is not recorded; returns whether it was.
pub(crate) async fn emit(
    tx: &mut storage::Conn,
    kind: EventKind,
    account_id: i64,
    order: Option<&Order>,
    data: serde_json::Value,
    dedup_key: Option<&str>,
    now: i64,
) -> Result<bool> {
    let mut payload = match data {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if let Some(o) = order {
        let fields = [
            ("reference", o.public_reference()),
            ("cn", o.cn.clone()),
            ("product", o.product_code.clone()),
            ("status", o.status.to_string()),
        ];
        for (k, v) in fields {
            payload.entry(k).or_insert(serde_json::Value::String(v));
        }
    }
    let payload = serde_json::Value::Object(payload).to_string();
    let id = events::insert(tx, account_id, kind.as_str(), order.map(|o| o.id), &payload, dedup_key, now).await?;
    if let Some(id) = id {
        jobs::enqueue_notification(tx, id, now).await?;
    }
    Ok(id.is_some())
}

/// What a delivery job found.
pub(crate) enum Delivered {
    /// Every recipient has it, or was given up.
    All,
    /// Some recipients are still to be tried: why the last try failed.
    Pending(String),
}

impl Orders {
    /// The channels notifications go out by: those the gateway set, or
    /// webhooks alone with the system's roots.
    pub(crate) fn notifier(&self) -> Result<Arc<Notifier>> {
        if let Some(n) = self.inner.notifier.get() {
            return Ok(n.clone());
        }
        let n = Notifier::new(&notify::Settings::default())
            .map_err(|e| crate::OrderError::Invalid(format!("notifications: {e}")))?;
        Ok(self.inner.notifier.get_or_init(|| Arc::new(n)).clone())
    }

    /// Sets the channels notifications go out by, once, before any is sent.
    pub fn set_notifier(&self, notifier: Notifier) {
        if self.inner.notifier.set(Arc::new(notifier)).is_err() {
            tracing::warn!("the notification channels were already set");
        }
    }

    /// The `notify` job: delivers event `event_id` to each of its
    /// recipients not served yet. A recipient that refuses for good is
    /// given up; one that fails for now is tried again later, for a day.
    pub(crate) async fn deliver_event(&self, event_id: i64) -> Result<Delivered> {
        let mut c = self.db().acquire().await?;
        let Some(event) = events::get(&mut c, event_id).await? else { return Ok(Delivered::All) };
        let kind = EventKind::parse(&event.kind);
        let roles = kind.map_or(&["generic"][..], EventKind::roles);
        let mut emails: Vec<(String, String)> = Vec::new();
        for contact in contacts::of_account(&mut c, event.account_id).await? {
            if roles.contains(&contact.role.as_str()) && !emails.iter().any(|(to, _)| *to == contact.email) {
                emails.push((contact.email, contact.language));
            }
        }
        // Monitoring results go to the account's monitoring manager when it
        // named one, as plain text if it asked (seed 12.1).
        let mut plain = false;
        if kind == Some(EventKind::MonitorResult)
            && let Some(s) = storage::monitors::settings(&mut c, event.account_id).await?
        {
            plain = s.plain_text == 1;
            if let Some(manager) = s.manager_email {
                emails = vec![(manager, s.manager_language)];
            }
        }
        let hooks = webhooks::live(&mut c, event.account_id).await?;
        let attachment = match (kind, event.order_id) {
            (Some(EventKind::OrderDelivered), Some(order)) => {
                let certs = storage::certificates::for_order(&mut c, order).await?;
                certs.iter().rev().find(|c| c.revoked_at.is_none()).map(|cert| {
                    (
                        format!("{}.pem", cert.cn.replace('*', "wildcard")),
                        format!("{}{}", cert.leaf_pem, cert.chain_pem),
                    )
                })
            }
            _ => None,
        };
        drop(c);
        let notifier = self.notifier()?;
        upstream::pause_at_failpoint("notify-before-send").await;
        let values = values(&event.payload);
        let give_up = self.now() - event.created_at >= GIVE_UP_AFTER_SECS;
        let mut pending = None;
        if let Some(mailer) = &notifier.mailer {
            for (to, language) in &emails {
                let d = self.delivery(event.id, "email", to).await?;
                if d.state != "pending" {
                    continue;
                }
                let Some(mut rendered) = notify::render(&event.kind, language, &values) else { continue };
                if plain {
                    rendered.html.clear();
                }
                let message_id = format!("<certgate-event-{}-{}@certgate>", event.id, d.id);
                let email = Email { to: to.clone(), rendered, message_id, attachment: attachment.clone() };
                let outcome = match mailer.send(&email).await {
                    Ok(answer) => Ok(answer),
                    Err(MailError::Permanent(e)) => Err((e, true)),
                    Err(MailError::Transient(e)) => Err((e, give_up)),
                };
                pending = self.record_delivery(d.id, "email", outcome).await?.or(pending);
            }
        } else if !emails.is_empty() {
            tracing::debug!(event = event.id, "no SMTP server nor log file configured: e-mail skipped");
        }
        let body = Arc::new(
            serde_json::json!({
                "id": format!("evt_{}", event.id),
                "type": event.kind,
                "created": iso(event.created_at),
                "account": event.account_id,
                "data": serde_json::from_str::<serde_json::Value>(&event.payload).unwrap_or_default(),
            })
            .to_string(),
        );
        // Every endpoint at once: a slow one delays the others by nothing,
        // and the job by one timeout at most.
        let mut posts = tokio::task::JoinSet::new();
        for hook in hooks {
            let (orders, notifier, body) = (self.clone(), notifier.clone(), body.clone());
            posts.spawn(async move { orders.post_webhook(&notifier, event.id, &hook, &body, give_up).await });
        }
        // Every post runs to its end and is recorded, even when one fails:
        // a post that was answered but not recorded would be sent again.
        let mut failed = None;
        while let Some(done) = posts.join_next().await {
            match done {
                Ok(Ok(again)) => pending = again.or(pending),
                Ok(Err(e)) => failed = failed.or(Some(e)),
                Err(e) => failed = failed.or(Some(crate::OrderError::Invalid(format!("a webhook post stopped: {e}")))),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(pending.map_or(Delivered::All, Delivered::Pending))
    }

    /// Delivers event `event_id` (its JSON `body`) to one webhook, unless
    /// done already; returns why it failed when it is to be tried again.
    async fn post_webhook(
        &self,
        notifier: &Notifier,
        event_id: i64,
        hook: &webhooks::WebhookRow,
        body: &str,
        give_up: bool,
    ) -> Result<Option<String>> {
        let d = self.delivery(event_id, "webhook", &hook.id.to_string()).await?;
        if d.state != "pending" {
            return Ok(None);
        }
        let outcome = match self.secret().open(&webhook_label(hook.account_id, &hook.url), &hook.secret_sealed) {
            Err(_) => Err(("the webhook's secret cannot be opened with this secret key".to_string(), true)),
            Ok(secret) => {
                let id = format!("evt_{event_id}");
                match notifier.webhooks.post(&hook.url, &secret, &id, self.now(), body).await {
                    Ok(status) => Ok(format!("HTTP {status}")),
                    Err(e @ WebhookError::Refused(_)) => Err((e.to_string(), true)),
                    Err(e) => Err((e.to_string(), give_up)),
                }
            }
        };
        self.record_delivery(d.id, "webhook", outcome).await
    }

    async fn delivery(&self, event: i64, channel: &str, target: &str) -> Result<events::DeliveryRow> {
        let mut c = self.db().acquire_writer().await?;
        Ok(events::delivery(&mut c, event, channel, target, self.now()).await?)
    }

    /// Records an attempt: `Ok(answer)`, or `Err((why, final))`. Returns
    /// why it failed when it is to be tried again.
    async fn record_delivery(
        &self,
        id: i64,
        channel: &'static str,
        outcome: std::result::Result<String, (String, bool)>,
    ) -> Result<Option<String>> {
        let (state, status, error, again) = match &outcome {
            Ok(answer) => ("done", Some(answer.as_str()), None, None),
            Err((why, true)) => ("failed", None, Some(why.as_str()), None),
            Err((why, false)) => ("pending", None, Some(why.as_str()), Some(why.clone())),
        };
        let mut c = self.db().acquire_writer().await?;
        events::record_attempt(&mut c, id, state, status, error, self.now()).await?;
        let label = if state == "done" { "delivered" } else { state };
        metrics::counter!("certgate_notifications_total", "channel" => channel, "outcome" => label).increment(1);
        if let Err((why, _)) = &outcome {
            tracing::info!(delivery = id, channel, state, error = %why, "notification not delivered");
        }
        Ok(again)
    }
}

/// The label a webhook's secret is sealed under: its account and URL, so
/// that a sealed secret moved to another row does not open.
pub(crate) fn webhook_label(account_id: i64, url: &str) -> String {
    format!("webhook:{account_id}:{url}")
}

/// An event's payload as template values: strings as they are, numbers and
/// the rest as JSON text.
fn values(payload: &str) -> BTreeMap<String, String> {
    let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(payload).unwrap_or_default();
    parsed
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect()
}
