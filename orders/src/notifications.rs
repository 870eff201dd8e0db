//! Who is told, and how (docs/notifications.md): an account's contact
//! points per role with their language (seed 7.2.2), its webhook endpoints
//! with a signing secret shown once, its prepaid warning levels (seed
//! 7.2.3), and the list of delivery attempts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use storage::{audit, commit, contacts, events, warning_levels, webhooks};

use crate::{CONTACT_ROLES, Caller, Ledger, OrderError, Orders, Result, Right};

/// A contact point of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// `generic` (in copy of every message), `delivery`, `accounting` or `emergency`.
    pub role: String,
    /// The e-mail address.
    pub email: String,
    /// `fr` or `en`.
    pub language: String,
}

/// A webhook endpoint of an account.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Its number.
    pub id: i64,
    /// The HTTPS URL events are POSTed to.
    pub url: String,
    /// When it was registered (UTC Unix seconds).
    pub created_at: i64,
}

/// A webhook endpoint just registered, with its signing secret: shown this
/// once, stored sealed.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    /// The endpoint.
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of its signatures, base64url.
    pub secret: String,
}

/// One delivery of an event to one recipient, and how it stands.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The event delivered (receivers see `evt_<id>`).
    pub event_id: i64,
    /// `email` or `webhook`.
    pub channel: String,
    /// The e-mail address, or the webhook's number.
    pub target: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// How many times it was tried.
    pub attempts: i64,
    /// The receiver's last answer (an HTTP status, an SMTP reply).
    pub last_status: Option<String>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// When it last changed (UTC Unix seconds).
    pub updated_at: i64,
}

/// The most webhook endpoints an account may have.
const MAX_WEBHOOKS: i64 = 10;

impl Orders {
    /// Sets the caller's account's contact for `role`, in `language`.
    pub async fn set_contact(&self, caller: &Caller, role: &str, email: &str, language: &str) -> Result<()> {
        caller.require(Right::Administrative)?;
        if !CONTACT_ROLES.contains(&role) {
            return Err(OrderError::Invalid(format!("contact role {role:?}: one of {}", CONTACT_ROLES.join(", "))));
        }
        if !notify::LANGUAGES.contains(&language) {
            return Err(OrderError::Invalid(format!("language {language:?}: one of {}", notify::LANGUAGES.join(", "))));
        }
        check_email(email)?;
        let mut tx = self.db().begin().await?;
        contacts::set(&mut tx, caller.account_id, role, email, language, self.now()).await?;
        storage::accounts::refresh_flags(&mut tx, caller.account_id).await?;
        audit::record(&mut tx, &caller.actor(), "contact.set", &format!("{role} {email} {language}"), self.now())
            .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Removes the caller's account's contact for `role`.
    pub async fn remove_contact(&self, caller: &Caller, role: &str) -> Result<()> {
        caller.require(Right::Administrative)?;
        let mut tx = self.db().begin().await?;
        if !contacts::remove(&mut tx, caller.account_id, role).await? {
            return Err(OrderError::Invalid(format!("no {role:?} contact to remove")));
        }
        storage::accounts::refresh_flags(&mut tx, caller.account_id).await?;
        audit::record(&mut tx, &caller.actor(), "contact.remove", role, self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The caller's account's contacts.
    pub async fn contacts(&self, caller: &Caller) -> Result<Vec<Contact>> {
        caller.require(Right::Administrative)?;
        let rows = contacts::of_account(&mut *self.db().acquire().await?, caller.account_id).await?;
        Ok(rows.into_iter().map(|r| Contact { role: r.role, email: r.email, language: r.language }).collect())
    }

    /// Registers an HTTPS endpoint that every event of the caller's account
    /// is POSTed to; returns it with its signing secret, shown this once.
    pub async fn create_webhook(&self, caller: &Caller, url: &str) -> Result<NewWebhook> {
        caller.require(Right::Administrative)?;
        if url.len() > 2000 {
            return Err(OrderError::Invalid("a webhook URL is at most 2000 characters".into()));
        }
        self.notifier()?.webhooks.check_url(url).map_err(|e| OrderError::Invalid(e.to_string()))?;
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).map_err(|_| OrderError::Invalid("no system random source".into()))?;
        let secret = URL_SAFE_NO_PAD.encode(key);
        let sealed = self.secret().seal(&crate::events::webhook_label(caller.account_id, url), secret.as_bytes());
        let mut tx = self.db().begin().await?;
        if webhooks::count_live(&mut tx, caller.account_id).await? >= MAX_WEBHOOKS {
            return Err(OrderError::Invalid(format!("an account has at most {MAX_WEBHOOKS} webhooks")));
        }
        let id = webhooks::insert(&mut tx, caller.account_id, url, &sealed, self.now()).await?;
        storage::accounts::refresh_flags(&mut tx, caller.account_id).await?;
        audit::record(&mut tx, &caller.actor(), "webhook.create", &format!("{id} {url}"), self.now()).await?;
        commit(tx).await?;
        Ok(NewWebhook { webhook: Webhook { id, url: url.to_string(), created_at: self.now() }, secret })
    }

    /// The caller's account's live webhook endpoints.
    pub async fn webhooks(&self, caller: &Caller) -> Result<Vec<Webhook>> {
        caller.require(Right::Administrative)?;
        let rows = webhooks::live(&mut *self.db().acquire().await?, caller.account_id).await?;
        Ok(rows.into_iter().map(|r| Webhook { id: r.id, url: r.url, created_at: r.created_at }).collect())
    }

    /// Deletes webhook endpoint `id` of the caller's account: it receives nothing more.
    pub async fn delete_webhook(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(Right::Administrative)?;
        let mut tx = self.db().begin().await?;
        if !webhooks::delete(&mut tx, caller.account_id, id, self.now()).await? {
            return Err(OrderError::Invalid(format!("no live webhook {id} in this account")));
        }
        storage::accounts::refresh_flags(&mut tx, caller.account_id).await?;
        audit::record(&mut tx, &caller.actor(), "webhook.delete", &id.to_string(), self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The latest deliveries of the caller's account's events, newest
    /// first; only those to webhook `webhook` when given.
    pub async fn deliveries(&self, caller: &Caller, webhook: Option<i64>, limit: i64) -> Result<Vec<Delivery>> {
        caller.require(Right::Administrative)?;
        let mut c = self.db().acquire().await?;
        let rows = events::deliveries(&mut c, caller.account_id, webhook, limit.clamp(1, 1000)).await?;
        Ok(rows
            .into_iter()
            .map(|r| Delivery {
                event_id: r.event_id,
                channel: r.channel,
                target: r.target,
                state: r.state,
                attempts: r.attempts,
                last_status: r.last_status,
                last_error: r.last_error,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// The caller's account's warning levels: the ledger, the item (a token
    /// item, or the currency for the deposit) and the level.
    pub async fn warning_levels(&self, caller: &Caller) -> Result<Vec<(Ledger, String, i64)>> {
        caller.require(Right::Billing)?;
        let rows = warning_levels::list(&mut *self.db().acquire().await?, caller.account_id).await?;
        Ok(rows.into_iter().filter_map(|(asset, item, level)| Some((Ledger::of_asset(&asset)?, item, level))).collect())
    }

    /// Sets the warning level of the caller's account's deposit (minor
    /// units) or tokens of `item` (seed 7.2.3): a debit that takes the
    /// balance below it tells the accounting contact. 0 removes it.
    pub async fn set_warning_level(
        &self,
        caller: &Caller,
        which: Ledger,
        item: Option<&str>,
        level: i64,
    ) -> Result<()> {
        caller.require(Right::Billing)?;
        if level < 0 {
            return Err(OrderError::Invalid("a warning level cannot be negative".into()));
        }
        let account = self.account(caller.account_id).await?;
        let (asset, item) = match (which, item) {
            (Ledger::Deposit, _) => ("deposit", account.currency.clone()),
            (Ledger::Tokens, Some(item)) => {
                self.product_item(item).await?;
                ("token", item.to_string())
            }
            (Ledger::Tokens, None) => return Err(OrderError::Invalid("a token warning level names its item".into())),
            (Ledger::Invoice, _) => return Err(OrderError::Invalid("the invoice has no warning level".into())),
        };
        let mut tx = self.db().begin().await?;
        warning_levels::set(&mut tx, caller.account_id, asset, &item, level).await?;
        storage::accounts::refresh_flags(&mut tx, caller.account_id).await?;
        audit::record(
            &mut tx,
            &caller.actor(),
            "account.warning_level",
            &format!("{asset} {item} {level}"),
            self.now(),
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }
}

/// Refuses what cannot be an e-mail address, or could smuggle headers.
pub(crate) fn check_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'));
    if ok { Ok(()) } else { Err(OrderError::Invalid(format!("{email:?} is not an e-mail address"))) }
}
