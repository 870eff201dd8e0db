//! The customer area in the browser (docs/portal.md): pages rendered on the
//! server over the order core, under `/portal/`. It signs users in with the
//! same checks as the XML-RPC front, keeps sessions in the database, and
//! guards every change with a CSRF token; its answers carry a strict
//! Content-Security-Policy. Like the other fronts it parses and
//! authenticates, and every rule lives in `orders`.

mod account;
mod acme_urls;
mod auto_renewal;
mod chart;
mod consumption;
mod contacts;
mod domains;
mod forms;
mod home;
mod layout;
mod logs;
mod new_order;
mod order;
mod order_list;
mod renewals;
mod second_factor;
mod security;
mod session;
mod sign_in;
mod users;
mod words;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use orders::Orders;

/// The largest form body the portal reads.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The portal: the order core and how to see the client.
#[derive(Clone)]
pub struct Portal {
    orders: Orders,
    trusted_proxies: Vec<proxy::IpBlock>,
    public_url: Option<String>,
}

impl Portal {
    /// A portal over `orders`; `public_url` is where clients reach the
    /// gateway (its scheme says whether cookies are `Secure`).
    pub fn new(orders: Orders, public_url: Option<String>) -> Portal {
        Portal { orders, trusted_proxies: Vec::new(), public_url }
    }

    /// Trusts these proxies' `Forwarded` headers for the client's address and scheme.
    pub fn with_trusted_proxies(mut self, trusted: Vec<proxy::IpBlock>) -> Portal {
        self.trusted_proxies = trusted;
        self
    }

    /// The routes under `/portal/`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/portal", get(|| async { axum::response::Redirect::to("/portal/") }))
            .route("/portal/", get(home::page))
            .route("/portal/sign-in", get(sign_in::form).post(sign_in::submit))
            .route("/portal/sign-out", post(sign_in::sign_out))
            .route("/portal/language", post(sign_in::language))
            .route("/portal/acme-urls", get(acme_urls::list).post(acme_urls::create))
            .route("/portal/acme-urls/revoke", post(acme_urls::revoke))
            .route("/portal/acme-urls/{id}", get(acme_urls::show))
            .route("/portal/orders", get(order_list::list))
            .route("/portal/orders/new", get(new_order::form).post(new_order::review))
            .route("/portal/orders/new/confirm", post(new_order::confirm))
            .route("/portal/orders/{reference}", get(order::show))
            .route("/portal/orders/{reference}/action", post(order::act))
            .route("/portal/orders/{reference}/certificates/{id}/{format}", get(order::download))
            .route("/portal/auto-renewal", get(auto_renewal::list).post(auto_renewal::switch))
            .route("/portal/account", get(account::page_or_csv))
            .route("/portal/account/consumption", get(consumption::page_of))
            .route("/portal/account/renewals", get(renewals::page_of))
            .route("/portal/account/contacts", get(contacts::page_of).post(contacts::set_contact))
            .route("/portal/account/warning-level", post(contacts::set_level))
            .route("/portal/users", get(users::list).post(users::create))
            .route("/portal/users/action", post(users::act))
            .route("/portal/logs", get(logs::page_of))
            .route(SECOND_FACTOR, get(second_factor::page_of).post(second_factor::change))
            .route("/portal/domains", get(domains::page_of))
            .route("/portal/style.css", get(layout::style))
            .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
            .layer(axum::middleware::from_fn(security::headers))
            .with_state(self)
    }

    /// The client's address and the portal's origin as the client sees it.
    fn client(&self, addr: SocketAddr, headers: &HeaderMap, https: bool) -> proxy::ClientView {
        let scheme = if https { "https" } else { "http" };
        proxy::client_view(addr, headers, &self.trusted_proxies, self.public_url.as_deref(), scheme)
    }
}

/// What each handler knows of its request: the client's address, the
/// portal's origin as the client sees it, HTTPS or not, and the headers.
pub(crate) struct Request {
    ip: String,
    origin: String,
    https: bool,
    headers: HeaderMap,
}

impl axum::extract::FromRequestParts<Portal> for Request {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        portal: &Portal,
    ) -> Result<Request, Self::Rejection> {
        Ok(Request::of(parts, portal))
    }
}

impl Request {
    fn of(parts: &axum::http::request::Parts, portal: &Portal) -> Request {
        // Served without connection info (never by certgate): an unspecified address.
        let addr =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let https = parts.extensions.get::<proxy::Https>().is_some();
        let view = portal.client(addr, &parts.headers, https);
        let https = view.base.starts_with("https://");
        Request { ip: view.ip.to_string(), origin: view.base, https, headers: parts.headers.clone() }
    }
}

/// The second-factor page: the one page of a user who owes an enrolment.
const SECOND_FACTOR: &str = "/portal/second-factor";

/// The live session of a page's request, with its language; without one,
/// the answer is the sign-in page.
pub(crate) struct SignedIn(pub(crate) orders::Session, pub(crate) words::Lang);

impl axum::extract::FromRequestParts<Portal> for SignedIn {
    type Rejection = axum::response::Redirect;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        portal: &Portal,
    ) -> Result<SignedIn, Self::Rejection> {
        match portal.session(&Request::of(parts, portal)).await {
            // A user who owes the second factor its account requires sees
            // the enrolment page, and no other (the order core refuses it
            // everything else too).
            Some((_, s)) if s.must_enrol && parts.uri.path() != SECOND_FACTOR => {
                Err(axum::response::Redirect::to(SECOND_FACTOR))
            }
            Some((_, s)) => {
                let lang = words::Lang::parse(&s.language);
                Ok(SignedIn(s, lang))
            }
            None => Err(axum::response::Redirect::to("/portal/sign-in")),
        }
    }
}

impl Request {
    /// Whether a form was posted from the portal's own pages, as far as
    /// the browser says: its `Origin` is the portal's, and `Sec-Fetch-Site`
    /// is not another site. A client that sends neither is judged by the
    /// form's token alone; a cookie planted by a sibling site is not enough.
    fn same_origin(&self) -> bool {
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok());
        let origin_ok = header("origin").is_none_or(|o| o == self.origin);
        let site_ok = header("sec-fetch-site").is_none_or(|s| matches!(s, "same-origin" | "none"));
        origin_ok && site_ok
    }
}
