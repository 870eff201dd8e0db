//! The ACME front of certgate (RFC 8555, with External Account Binding per
//! ACME URL). Each ACME URL of the order core has its own directory at
//! `/acme/<path>/directory` with every resource below it. This crate parses
//! and authenticates ACME requests (JWS, nonces, EAB) and answers in ACME's
//! JSON; every read and write of state, the protocol's own records included
//! (accounts, orders, authorizations, challenge validation), goes through
//! `orders` (`orders::acme`). It depends on `orders` only, and on
//! `validation` for the settings of the VA the order core runs.

mod account;
mod ari;
mod authz;
mod bindings;
mod certificate;
mod directory;
mod eab;
pub mod jws;
mod nonce;
mod nonce_window;
mod order;
pub mod problem;
mod rate_limit;
mod reply;
mod request;
mod settings;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::routing::{get, post};
use orders::Orders;

pub use proxy::{Https, IpBlock};
pub use rate_limit::RateLimits;
pub use settings::Settings;
pub use validation::VaSettings;

/// The ACME front's shared state: the order core and the settings.
#[derive(Clone)]
pub struct Acme {
    orders: Orders,
    settings: Arc<Settings>,
    nonces: Arc<nonce::Nonces>,
    bindings: Arc<bindings::Bindings>,
    nonces_redeemed: Arc<AtomicU64>,
}

impl Acme {
    /// The ACME front over an order core.
    pub fn new(orders: Orders, settings: Settings) -> Acme {
        let nonces = Arc::new(nonce::Nonces::for_database(&orders, settings.nonce_ttl_secs));
        Acme {
            orders,
            settings: Arc::new(settings),
            nonces,
            bindings: Arc::new(bindings::bindings()),
            nonces_redeemed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The routes of every ACME directory, to merge into the gateway's router.
    pub fn router(self) -> Router {
        Router::new()
            .route("/acme/{dir}/directory", get(directory::directory))
            .route("/acme/{dir}/new-nonce", get(directory::new_nonce).head(directory::new_nonce))
            .route("/acme/{dir}/new-account", post(account::new_account))
            .route("/acme/{dir}/acct/{id}", post(account::account))
            .route("/acme/{dir}/acct/{id}/orders", post(account::orders))
            .route("/acme/{dir}/new-order", post(order::new_order))
            .route("/acme/{dir}/order/{id}", post(order::order))
            .route("/acme/{dir}/order/{id}/finalize", post(order::finalize))
            .route("/acme/{dir}/authz/{id}", post(authz::authz))
            .route("/acme/{dir}/chall/{id}/{kind}", post(authz::challenge))
            .route("/acme/{dir}/cert/{id}", post(certificate::download))
            .route("/acme/{dir}/revoke-cert", post(certificate::revoke))
            .route("/acme/{dir}/key-change", post(account::key_change))
            .route("/acme/{dir}/renewal-info/{cert_id}", get(ari::renewal_info))
            .with_state(self)
    }
}
