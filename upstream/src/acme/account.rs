//! certgate's own account at an upstream ACME CA: created once with the
//! reseller's EAB credentials, stored sealed in the database, and reused by
//! every instance and after every restart.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use instant_acme::{Account, AccountCredentials, ExternalAccountKey, NewAccount};
use storage::upstream_accounts;

use super::AcmeUpstream;
use super::classify::classify;
use crate::UpstreamError;

impl AcmeUpstream {
    fn storage_error(&self, e: impl std::fmt::Display) -> UpstreamError {
        self.transient(format!("account storage: {e}"))
    }

    fn seal_label(&self) -> String {
        format!("upstream-account:{}:{}", self.name, self.settings.directory_url)
    }

    /// The account to use: the one cached in this process, else the one
    /// stored in the database, else a new one, created and stored.
    pub(super) async fn account(&self) -> Result<(Account, String), UpstreamError> {
        let mut cached = self.account.lock().await;
        if let Some(a) = cached.as_ref() {
            return Ok(a.clone());
        }
        let dir = &self.settings.directory_url;
        let stored = {
            let mut c = self.db.acquire().await.map_err(|e| self.storage_error(e))?;
            upstream_accounts::get(&mut c, &self.name, dir).await.map_err(|e| self.storage_error(e))?
        };
        let account = match stored {
            Some(row) => (self.restore(&row.credentials_sealed).await?, row.account_url),
            None => self.create().await?,
        };
        *cached = Some(account.clone());
        Ok(account)
    }

    async fn restore(&self, sealed: &str) -> Result<Account, UpstreamError> {
        let plain = self.secret.open(&self.seal_label(), sealed).map_err(|e| self.storage_error(e))?;
        let credentials: AccountCredentials = serde_json::from_slice(&plain).map_err(|e| self.storage_error(e))?;
        Account::builder_with_http(Box::new(self.http.clone()))
            .from_credentials(credentials)
            .await
            .map_err(|e| classify(&self.name, "directory", e))
    }

    async fn create(&self) -> Result<(Account, String), UpstreamError> {
        let eab = self.eab_key()?;
        let contact: Vec<String> = self.settings.contact.iter().map(|c| format!("mailto:{c}")).collect();
        let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
        let new = NewAccount { contact: &contact, terms_of_service_agreed: true, only_return_existing: false };
        let (account, credentials) = Account::builder_with_http(Box::new(self.http.clone()))
            .create(&new, self.settings.directory_url.clone(), eab.as_ref())
            .await
            .map_err(|e| classify(&self.name, "account creation", e))?;
        let account_url = account.id().to_string();
        let json = serde_json::to_vec(&credentials).map_err(|e| self.storage_error(e))?;
        let sealed = self.secret.seal(&self.seal_label(), &json);
        let dir = &self.settings.directory_url;
        let mut c = self.db.acquire_writer().await.map_err(|e| self.storage_error(e))?;
        if upstream_accounts::insert(&mut c, &self.name, dir, &account_url, &sealed, crate::unix_now())
            .await
            .map_err(|e| self.storage_error(e))?
        {
            tracing::info!(upstream = %self.name, account = %account_url, "created the upstream ACME account");
            return Ok((account, account_url));
        }
        // Another instance created one at the same time: everyone uses the stored one.
        let row = upstream_accounts::get(&mut c, &self.name, dir)
            .await
            .map_err(|e| self.storage_error(e))?
            .ok_or_else(|| self.storage_error("the stored account vanished"))?;
        Ok((self.restore(&row.credentials_sealed).await?, row.account_url))
    }

    fn eab_key(&self) -> Result<Option<ExternalAccountKey>, UpstreamError> {
        match (&self.settings.eab_kid, &self.settings.eab_hmac) {
            (Some(kid), Some(hmac)) => {
                let trimmed = hmac.trim();
                let key = URL_SAFE_NO_PAD
                    .decode(trimmed.trim_end_matches('='))
                    .or_else(|_| URL_SAFE.decode(trimmed))
                    .map_err(|_| self.refused("eab_hmac is not base64url".into()))?;
                Ok(Some(ExternalAccountKey::new(kid.clone(), &key)))
            }
            (None, None) => Ok(None),
            _ => Err(self.refused("eab_kid and eab_hmac must be configured together".into())),
        }
    }

    /// Drops the account the upstream no longer knows (a reset test CA, a
    /// deactivated account), so that the next attempt creates a new one.
    pub(super) async fn forget_account(&self, account_url: &str) {
        *self.account.lock().await = None;
        let dir = &self.settings.directory_url;
        match self.db.acquire_writer().await {
            Ok(mut c) => {
                if let Err(e) = upstream_accounts::forget(&mut c, &self.name, dir, account_url).await {
                    tracing::warn!(upstream = %self.name, error = %e, "could not forget the upstream account");
                }
            }
            Err(e) => tracing::warn!(upstream = %self.name, error = %e, "could not forget the upstream account"),
        }
        tracing::warn!(upstream = %self.name, account = %account_url, "the upstream no longer knows our account");
    }
}
