//! ACME URLs (seed 6.8.2): one directory and one EAB credential per
//! (product, organisation) of an account. The HMAC key is shown once, at
//! creation; afterwards only masked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use storage::acme_orders::{self, UrlOrderRow};
use storage::acme_urls::{self, AcmeUrlRow, NewAcmeUrl};
use storage::{audit, commit};

use crate::{Caller, OrderError, Orders, Result, Right, Status};

/// The most ACME orders one call of [`Orders::acme_url_orders`] returns.
pub const ACME_URL_ORDERS_MAX: i64 = 500;

/// An ACME URL as listed: credentials masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeUrl {
    /// The ACME URL's identifier.
    pub id: i64,
    /// The label the customer gave it.
    pub name: String,
    /// The product that orders through it buy.
    pub product_code: String,
    /// The organisation that certificates ordered through it are issued to.
    pub organisation_id: i64,
    /// The unique path segment: the directory is `/acme/<path>/directory`.
    pub path: String,
    /// The KID masked but for its last four characters (`*****R0g0`).
    pub kid_masked: String,
    /// The HMAC key masked the same way.
    pub hmac_masked: String,
    /// True once revoked: it no longer accepts orders.
    pub revoked: bool,
    /// When it was created, in UTC Unix seconds.
    pub created_at: i64,
}

/// The credentials of a new ACME URL, returned once.
#[derive(Clone, Debug)]
pub struct NewAcmeUrlCredentials {
    /// The new ACME URL's identifier.
    pub id: i64,
    /// The unique path segment: the directory is `/acme/<path>/directory`.
    pub path: String,
    /// The EAB key identifier to give the ACME client.
    pub kid: String,
    /// 32 random bytes, base64url without padding.
    pub hmac_key: String,
}

/// An ACME order made through one ACME URL, with the certgate order that
/// its finalize placed, as the customer area lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeUrlOrder {
    /// The ACME order's number, the last segment of its URL.
    pub id: i64,
    /// The ACME account (a key registered through the URL) that made it.
    pub acme_account_id: i64,
    /// The names asked for.
    pub names: Vec<String>,
    /// The ACME status: `pending`, `ready`, `processing`, `valid` or `invalid`.
    pub status: String,
    /// Why it became invalid.
    pub error: Option<String>,
    /// When it was created, in UTC Unix seconds.
    pub created_at: i64,
    /// The public reference of the certgate order placed at finalize.
    pub order_reference: Option<String>,
    /// That order's status.
    pub order_status: Option<Status>,
}

impl From<UrlOrderRow> for AcmeUrlOrder {
    fn from(r: UrlOrderRow) -> Self {
        AcmeUrlOrder {
            id: r.id,
            acme_account_id: r.acme_account_id,
            names: r.identifiers.lines().map(str::to_string).collect(),
            status: r.status,
            error: r.error,
            created_at: r.created_at,
            order_reference: r.order_reference,
            order_status: r.order_status.as_deref().and_then(Status::parse),
        }
    }
}

fn mask(tail: &str) -> String {
    format!("*****{tail}")
}

fn tail(s: &str) -> String {
    s.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()
}

/// Random bytes as base64url. Some clients break on keys starting with '-'
/// (certbot reads them as an option), so such draws are made again.
fn random_b64(len: usize) -> String {
    loop {
        let mut bytes = vec![0u8; len];
        aws_lc_rs::rand::fill(&mut bytes).expect("system random source");
        let s = URL_SAFE_NO_PAD.encode(&bytes);
        if !s.starts_with('-') {
            return s;
        }
    }
}

fn listed(r: AcmeUrlRow) -> AcmeUrl {
    AcmeUrl {
        id: r.id,
        name: r.name,
        product_code: r.product_code,
        organisation_id: r.organisation_id,
        path: r.path,
        kid_masked: mask(&tail(&r.kid)),
        hmac_masked: mask(&r.hmac_tail),
        revoked: r.revoked_at.is_some(),
        created_at: r.created_at,
    }
}

impl Orders {
    /// Creates an ACME URL for a product and an organisation of the caller's
    /// account, and returns its credentials: the only time they are shown.
    pub async fn create_acme_url(
        &self,
        caller: &Caller,
        name: &str,
        product_code: &str,
        organisation_id: i64,
    ) -> Result<NewAcmeUrlCredentials> {
        caller.require(Right::Administrative)?;
        self.product(product_code).await?;
        self.organisation(caller.account_id, organisation_id).await?;
        let path = random_b64(16).to_ascii_lowercase().replace(['-', '_'], "x");
        let kid = random_b64(18);
        let hmac_key = random_b64(32);
        let sealed = self.secret().seal(&eab_label(&kid), hmac_key.as_bytes());
        let row = NewAcmeUrl {
            account_id: caller.account_id,
            name: if name.trim().is_empty() { product_code } else { name },
            product_code,
            organisation_id,
            path: &path,
            kid: &kid,
            hmac_sealed: &sealed,
            hmac_tail: &tail(&hmac_key),
        };
        let mut tx = self.db().begin().await?;
        let id = acme_urls::insert(&mut tx, &row, self.now()).await?;
        audit::record(
            &mut tx,
            &caller.actor(),
            "acme_url.create",
            &format!("{id} {product_code} org {organisation_id}"),
            self.now(),
        )
        .await?;
        commit(tx).await?;
        Ok(NewAcmeUrlCredentials { id, path, kid, hmac_key })
    }

    /// The ACME URLs of the caller's account, credentials masked.
    pub async fn acme_urls(&self, caller: &Caller) -> Result<Vec<AcmeUrl>> {
        caller.require(Right::Administrative)?;
        let rows = acme_urls::list(&mut *self.db().acquire().await?, caller.account_id).await?;
        Ok(rows.into_iter().map(listed).collect())
    }

    /// One ACME URL of the caller's account, credentials masked, with the
    /// ACME orders made through it: newest first, numbered below `before`
    /// when given, at most `limit` (capped at [`ACME_URL_ORDERS_MAX`]).
    pub async fn acme_url_orders(
        &self,
        caller: &Caller,
        id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(AcmeUrl, Vec<AcmeUrlOrder>)> {
        caller.require(Right::Administrative)?;
        let mut c = self.db().acquire().await?;
        let url = acme_urls::get(&mut c, id)
            .await?
            .filter(|u| u.account_id == caller.account_id)
            .ok_or(OrderError::UnknownAcmeUrl(id))?;
        let limit = limit.clamp(1, ACME_URL_ORDERS_MAX);
        // The URL was read as the caller account's above: so are its orders.
        let rows = acme_orders::of_url(&mut c, id, before.unwrap_or(i64::MAX), limit).await?;
        Ok((listed(url), rows.into_iter().map(AcmeUrlOrder::from).collect()))
    }

    /// Revokes an ACME URL for good: its directory and accounts stop working.
    pub async fn revoke_acme_url(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(Right::Administrative)?;
        let mut tx = self.db().begin().await?;
        if !acme_urls::revoke(&mut tx, caller.account_id, id, self.now()).await? {
            return Err(OrderError::UnknownAcmeUrl(id));
        }
        audit::record(&mut tx, &caller.actor(), "acme_url.revoke", &id.to_string(), self.now()).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The HMAC key of an ACME URL, unsealed, for the ACME front's EAB check.
    pub async fn acme_url_hmac_key(&self, id: i64) -> Result<Vec<u8>> {
        let row = acme_urls::get(&mut *self.db().acquire().await?, id).await?.ok_or(OrderError::UnknownAcmeUrl(id))?;
        let key = self
            .secret()
            .open(&eab_label(&row.kid), &row.hmac_sealed)
            .map_err(|e| OrderError::Invalid(e.to_string()))?;
        URL_SAFE_NO_PAD.decode(key).map_err(|e| OrderError::Invalid(format!("stored HMAC key: {e}")))
    }
}

fn eab_label(kid: &str) -> String {
    format!("eab:{kid}")
}

/// What the ACME front needs to know of an ACME URL to serve its directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeBinding {
    /// The ACME URL's id.
    pub id: i64,
    /// The customer account its orders belong to.
    pub account_id: i64,
    /// The product every certificate of this URL is ordered as.
    pub product_code: String,
    /// The organisation every certificate is issued to.
    pub organisation_id: i64,
    /// Its unique directory path segment.
    pub path: String,
    /// Its EAB key identifier.
    pub kid: String,
    /// True once revoked: its directory and every account under it stop.
    pub revoked: bool,
}

impl From<AcmeUrlRow> for AcmeBinding {
    fn from(r: AcmeUrlRow) -> AcmeBinding {
        AcmeBinding {
            id: r.id,
            account_id: r.account_id,
            product_code: r.product_code,
            organisation_id: r.organisation_id,
            path: r.path,
            kid: r.kid,
            revoked: r.revoked_at.is_some(),
        }
    }
}

impl Orders {
    /// The ACME URL whose directory lives at `path`, if any.
    pub async fn acme_binding_by_path(&self, path: &str) -> Result<Option<AcmeBinding>> {
        Ok(acme_urls::by_path(&mut *self.db().acquire().await?, path).await?.map(AcmeBinding::from))
    }

    /// The ACME URL an EAB key identifier belongs to, if any.
    pub async fn acme_binding_by_kid(&self, kid: &str) -> Result<Option<AcmeBinding>> {
        Ok(acme_urls::by_kid(&mut *self.db().acquire().await?, kid).await?.map(AcmeBinding::from))
    }
}
