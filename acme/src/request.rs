//! What every ACME request goes through before its handler acts: finding
//! its directory and the base URL the client used, and the JWS checks
//! (content type, size, nonce, `url`, key, signature), with the account and
//! the resource the request names read alongside.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use orders::acme::{AccountStatus, AcmeAccount, AcmeAuthz, AcmeNames as Names, AcmeOrder, AcmeOwned as Owned};
use orders::{AcmeBinding, Caller, Right, Rights, Source};

use crate::Acme;
use crate::jws::{Jwk, Jws};
use crate::nonce::Refused;
use crate::problem::Problem;
use proxy::{Https, client_view};
use serde_json::Value;

/// One request's directory and the URLs of its resources.
pub(crate) struct Ctx {
    pub base: String,
    pub dir: AcmeBinding,
    /// The client's address, for the audit log.
    pub ip: String,
}

impl Ctx {
    /// The URL of a resource of this directory, like `order/12`.
    pub fn url(&self, rest: &str) -> String {
        format!("{}/acme/{}/{rest}", self.base, self.dir.path)
    }

    /// The order core's caller for requests of this directory's ACME account `acct`.
    pub fn caller(&self, acct: i64, ip: &str) -> Caller {
        Caller {
            account_id: self.dir.account_id,
            login: format!("acme:{acct}"),
            rights: Rights::from_iter([Right::Technical, Right::Commercial]),
            ip: ip.to_string(),
            source: Source::Acme,
            call: None,
        }
    }
}

/// Which key a resource must be signed with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyMode {
    /// An embedded `jwk` (new-account).
    Jwk,
    /// A `kid` naming an existing account (everything else).
    Kid,
    /// Either (revoke-cert).
    Either,
}

/// An ACME request as every handler takes it: its head and its body.
pub(crate) struct AcmeRequest {
    pub head: Head,
    pub body: Body,
}

/// What a request says besides its body: the directory path segment, the
/// path (for the JWS `url` check), the peer, the connection's scheme and the headers.
pub(crate) struct Head {
    pub dir: String,
    pub path: String,
    pub peer: SocketAddr,
    pub scheme: &'static str,
    pub headers: HeaderMap,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for AcmeRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: axum::extract::Request, _state: &S) -> Result<AcmeRequest, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let path = parts.uri.path().to_string();
        let dir = path.strip_prefix("/acme/").and_then(|r| r.split('/').next()).unwrap_or_default().to_string();
        let scheme = if parts.extensions.get::<Https>().is_some() { "https" } else { "http" };
        Ok(AcmeRequest { head: Head { dir, path, peer, scheme, headers: parts.headers }, body })
    }
}

/// A request whose JWS verified.
pub(crate) struct Signed {
    pub jws: Jws,
    /// The signing account, when signed by `kid`.
    pub account: Option<AcmeAccount>,
    /// The key that signed.
    pub jwk: Jwk,
    /// The resource the request's URL names, read with the account.
    pub owned: Owned,
}

impl Signed {
    /// The signing account, for `kid` resources.
    pub fn account(&self) -> Result<&AcmeAccount, Problem> {
        self.account.as_ref().ok_or_else(|| Problem::malformed("this resource must be signed with a kid"))
    }

    /// The authorization the request named ([`Names::Authz`]), if the account owns it.
    pub fn take_authz(&mut self) -> Result<AcmeAuthz, Problem> {
        match std::mem::replace(&mut self.owned, Owned::Nothing) {
            Owned::Authz(Some(a)) => Ok(a),
            Owned::Authz(None) => Err(no_such_authz()),
            _ => Err(Problem::internal("the request's authorization was not read")),
        }
    }

    /// The order the request named ([`Names::Order`]) with its
    /// authorizations, if the account owns it.
    pub fn take_order(&mut self) -> Result<(AcmeOrder, Vec<AcmeAuthz>), Problem> {
        match std::mem::replace(&mut self.owned, Owned::Nothing) {
            Owned::Order(Some(o)) => Ok(o),
            Owned::Order(None) => Err(no_such_order()),
            _ => Err(Problem::internal("the request's order was not read")),
        }
    }
}

impl Acme {
    /// Finds the directory of a request and the base URL the client used.
    pub(crate) async fn ctx(&self, head: &Head) -> Result<Ctx, Problem> {
        let binding = match self.bindings.get(&head.dir) {
            Some(b) => b,
            None => {
                let b = self
                    .orders
                    .acme_binding_by_path(&head.dir)
                    .await?
                    .ok_or_else(|| Problem::not_found("no ACME directory at this URL"))?;
                self.bindings.remember(b.path.clone(), b.clone());
                b
            }
        };
        let (trusted, public_url) = (&self.settings.trusted_proxies, self.settings.public_url.as_deref());
        let view = client_view(head.peer, &head.headers, trusted, public_url, head.scheme);
        Ok(Ctx { base: view.base, dir: binding, ip: view.ip.to_string() })
    }

    /// Checks everything about a signed request and returns its content,
    /// with the resource it `names` (a `kid` request only) read with its account.
    pub(crate) async fn verify(
        &self,
        ctx: &Ctx,
        path: &str,
        headers: &HeaderMap,
        body: Body,
        mode: KeyMode,
        names: Names,
    ) -> Result<Signed, Problem> {
        let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if ct.split(';').next().map(str::trim) != Some("application/jose+json") {
            return Err(Problem::new(
                "malformed",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the Content-Type must be application/jose+json",
            ));
        }
        let limit = self.settings.max_body_bytes;
        // A declared length past the limit is refused before a byte of the body is read.
        if proxy::content_length(headers).is_some_and(|n| n > limit as u64) {
            return Err(Problem::new(
                "malformed",
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body exceeds {limit} bytes"),
            ));
        }
        // Past the limit (a chunked body), too slow, or cut off.
        let body = axum::body::to_bytes(body, limit).await.map_err(|e| {
            Problem::new("malformed", StatusCode::BAD_REQUEST, format!("the body could not be read: {e}"))
        })?;
        let jws = Jws::parse(&body)?;
        let nonce = jws.protected.nonce.as_deref().ok_or_else(|| Problem::bad_nonce("the JWS has no nonce"))?;
        let expires_at = self.check_nonce(nonce)?;
        let expected = format!("{}{path}", ctx.base);
        match &jws.protected.url {
            Some(url) if *url == expected => {}
            Some(url) => {
                return Err(Problem::unauthorized(format!(
                    "the JWS url {url:?} does not match the request URL {expected:?}"
                )));
            }
            None => return Err(Problem::malformed("the JWS has no url")),
        }
        // A nonce not redeemed in this process's memory is redeemed in the
        // database: with the signer's account and the resource the request
        // names when it is signed by an account (one round trip for all),
        // else on its own.
        let (account, jwk, owned) = match (&jws.protected.jwk, &jws.protected.kid, mode) {
            (Some(_), Some(_), _) => return Err(Problem::malformed("the JWS has both jwk and kid")),
            (Some(jwk), None, KeyMode::Jwk | KeyMode::Either) => {
                // A resource is owned by an account: only a kid request names one.
                debug_assert_eq!(names, Names::Nothing, "a jwk-signed request names no resource");
                if let Some(expires_at) = expires_at {
                    self.redeem_shared_nonce(nonce, expires_at).await?;
                }
                // The remembered binding's revocation flag may be stale: read it afresh.
                let fresh = self.orders.acme_binding_by_path(&ctx.dir.path).await?;
                if fresh.is_none_or(|b| b.revoked) {
                    return Err(url_revoked());
                }
                (None, Jwk::from_value(jwk)?, Owned::Nothing)
            }
            (None, Some(kid), KeyMode::Kid | KeyMode::Either) => {
                let (account, owned) = self.account_by_kid(ctx, kid, expires_at.map(|e| (nonce, e)), names).await?;
                let jwk: Value = serde_json::from_str(&account.jwk).map_err(Problem::internal)?;
                (Some(account), Jwk::from_value(&jwk)?, owned)
            }
            (_, _, KeyMode::Jwk) => return Err(Problem::malformed("this resource must be signed with a jwk")),
            _ => return Err(Problem::malformed("this resource must be signed with a kid")),
        };
        let redeemed = self.nonces_redeemed.fetch_add(1, Ordering::Relaxed);
        if expires_at.is_some() && redeemed.is_multiple_of(512) {
            self.orders.purge_acme_nonces().await?;
        }
        let nth = self.settings.reject_every_nth_nonce;
        if nth > 1 && redeemed.is_multiple_of(nth) {
            return Err(Problem::bad_nonce("nonce refused on purpose (reject_every_nth_nonce is set)"));
        }
        jws.verify(&jwk)?;
        Ok(Signed { jws, account, jwk, owned })
    }

    /// The account a request signed with `kid` acts as, checked to be valid
    /// and of this directory, and the resource the request `names` if the
    /// account owns it; with `nonce`, marks it used in the same statement
    /// (refused if it was used before).
    async fn account_by_kid(
        &self,
        ctx: &Ctx,
        kid: &str,
        nonce: Option<(&str, i64)>,
        names: Names,
    ) -> Result<(AcmeAccount, Owned), Problem> {
        // The kid is the account URL exactly as certgate gave it: `acct/03` is not `acct/3`.
        let id = kid
            .strip_prefix(&ctx.url("acct/"))
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|id| kid == ctx.url(&format!("acct/{id}")))
            .ok_or_else(|| {
                Problem::new(
                    "accountDoesNotExist",
                    StatusCode::BAD_REQUEST,
                    "the kid is not an account of this directory",
                )
            })?;
        let signer = self.orders.acme_signer(id, nonce, names).await?;
        if signer.as_ref().is_some_and(|s| !s.nonce_fresh) {
            return Err(nonce_used());
        }
        match signer {
            Some(s) if s.account.acme_url_id != ctx.dir.id => Err(no_account()),
            Some(s) if s.url_revoked => Err(url_revoked()),
            Some(s) if s.account.status == AccountStatus::Valid => Ok((s.account, s.owned)),
            Some(_) => Err(Problem::unauthorized("this account is deactivated")),
            None => Err(no_account()),
        }
    }

    /// Makes a nonce that any instance will accept once. Nothing is written:
    /// the nonce is sealed (see `nonce.rs`).
    pub(crate) fn nonce(&self) -> Result<String, Problem> {
        self.nonces.issue(self.orders.now()).map_err(|_| Problem::internal("no randomness"))
    }

    /// Checks a nonce's seal and expiry, and redeems it here when it is one
    /// of this process's own. Returns its expiry when it is shared, to be
    /// redeemed in the database instead.
    fn check_nonce(&self, nonce: &str) -> Result<Option<i64>, Problem> {
        let sealed = self.nonces.check(nonce, self.orders.now()).map_err(|why| {
            Problem::bad_nonce(match why {
                Refused::Unknown => "the nonce is not one this server issued",
                Refused::Expired => "the nonce has expired",
            })
        })?;
        match self.nonces.redeem_here(&sealed) {
            Some(true) => Ok(None),
            Some(false) => Err(nonce_used()),
            None => Ok(Some(sealed.expires_at)),
        }
    }

    /// Accepts a shared nonce once, on any instance, by recording its use in the database.
    async fn redeem_shared_nonce(&self, nonce: &str, expires_at: i64) -> Result<(), Problem> {
        if !self.orders.redeem_acme_nonce(nonce, expires_at).await? {
            return Err(nonce_used());
        }
        Ok(())
    }
}

/// The answer to a request naming an authorization that does not exist or
/// that another account owns: the same, so that it tells nothing of others.
pub(crate) fn no_such_authz() -> Problem {
    Problem::not_found("no such authorization for this account")
}

/// As [`no_such_authz`], for an order.
pub(crate) fn no_such_order() -> Problem {
    Problem::not_found("no such order for this account")
}

fn no_account() -> Problem {
    Problem::new("accountDoesNotExist", StatusCode::BAD_REQUEST, "no such account in this directory")
}

fn nonce_used() -> Problem {
    Problem::bad_nonce("the nonce was already used")
}

fn url_revoked() -> Problem {
    Problem::unauthorized("this ACME URL has been revoked; its accounts no longer work")
}
