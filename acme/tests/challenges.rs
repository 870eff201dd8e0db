//! certgate's own VA against a real challenge server (pebble-challtestsrv):
//! http-01, dns-01 and tls-alpn-01 for names that are not pre-validated, and
//! a wrong answer that leaves the order invalid and uncharged.

use certgate_acme::{Acme, Settings, VaSettings};
use certgate_tests::{
    ChallTestSrv, Connections, Fixture, TestDb, acme_account, embedded_root, openssl_verify, serve_router,
};
use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, Order, OrderStatus, RetryPolicy,
};
use orders::{Formula, Ledger, Worker};
use tokio::sync::watch;

async fn setup(srv: &ChallTestSrv, tdb: &TestDb) -> (Fixture, Account, watch::Sender<bool>) {
    setup_va(srv, tdb, true).await
}

/// A fixture whose order core's VA checks at the challenge server, and an
/// ACME account; `private` lets the VA connect to loopback (every name
/// resolves to 127.0.0.1 at the challenge server).
async fn setup_va(srv: &ChallTestSrv, tdb: &TestDb, private: bool) -> (Fixture, Account, watch::Sender<bool>) {
    let va = VaSettings { allow_private_addresses: private, ..srv.va(10) };
    let f = Fixture::with_settings(tdb, Formula::Bulk, orders::Settings { va, ..Default::default() }).await;
    let base = serve_router(Acme::new(f.orders.clone(), Settings::default()).router()).await;
    let (stop, rx) = watch::channel(false);
    tokio::spawn(Worker::new(f.orders.clone(), "va-test").run(rx));
    let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
    let dir = format!("{base}/acme/{}/directory", creds.path);
    let account = acme_account(&dir, &creds.kid, &creds.hmac_key, Connections::Reused).await.unwrap();
    (f, account, stop)
}

/// Orders `name`, answers its challenge of `kind` through the challenge
/// server (or wrongly, when `honest` is false), and returns the order once
/// it is ready or invalid.
async fn order_with(srv: &ChallTestSrv, account: &Account, name: &str, kind: ChallengeType, honest: bool) -> Order {
    let ids = [Identifier::Dns(name.to_string())];
    let mut order = account.new_order(&NewOrder::new(&ids)).await.unwrap();
    assert_eq!(order.state().status, OrderStatus::Pending, "{name} is not pre-validated");
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz.unwrap();
        assert_eq!(authz.status, AuthorizationStatus::Pending);
        let mut challenge = authz.challenge(kind.clone()).expect("challenge offered");
        let key_authz = challenge.key_authorization();
        let answer = if honest { key_authz.as_str().to_string() } else { format!("{}x", key_authz.as_str()) };
        match kind {
            ChallengeType::Http01 => srv.add_http01(&challenge.token, &answer),
            ChallengeType::Dns01 => {
                let value = if honest { key_authz.dns_value() } else { "wrong".into() };
                srv.set_dns01(name, &value)
            }
            ChallengeType::TlsAlpn01 => srv.add_tlsalpn01(name, &answer),
            _ => unreachable!(),
        }
        // A wrong answer may already be judged in the reply to set_ready.
        let ready = challenge.set_ready().await;
        if honest {
            ready.unwrap();
        }
    }
    // An invalid order comes back as the error of its last validation.
    let polled = order.poll_ready(&RetryPolicy::default()).await;
    if honest {
        polled.unwrap();
    }
    order.refresh().await.unwrap();
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_challenge_type_is_validated_by_certgates_va() {
    let Some(srv) = ChallTestSrv::start() else { return };
    let tdb = TestDb::sqlite().await;
    let (f, account, _stop) = setup(&srv, &tdb).await;
    f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
    let root = embedded_root(&f.db).await;
    for (name, kind) in [
        ("web.other.test", ChallengeType::Http01),
        ("dns.other.test", ChallengeType::Dns01),
        ("alpn.other.test", ChallengeType::TlsAlpn01),
    ] {
        let mut order = order_with(&srv, &account, name, kind.clone(), true).await;
        assert_eq!(order.state().status, OrderStatus::Ready, "{kind:?}");
        order.finalize().await.unwrap();
        let chain = order.poll_certificate(&RetryPolicy::default()).await.unwrap();
        let pems: Vec<&str> = chain.split_inclusive("-----END CERTIFICATE-----\n").collect();
        openssl_verify(&root, pems[1], pems[0]).unwrap();
    }
    assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 0, "one token per certificate");
    tdb.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_answer_makes_the_order_invalid_and_charges_nothing() {
    let Some(srv) = ChallTestSrv::start() else { return };
    let tdb = TestDb::sqlite().await;
    let (f, account, _stop) = setup(&srv, &tdb).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    for kind in [ChallengeType::Http01, ChallengeType::Dns01, ChallengeType::TlsAlpn01] {
        let mut order = order_with(&srv, &account, "bad.other.test", kind.clone(), false).await;
        assert_eq!(order.state().status, OrderStatus::Invalid, "{kind:?}");
    }
    assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 1);
    assert!(f.orders.list_orders(&f.op, &Default::default()).await.unwrap().is_empty());
    tdb.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_va_does_not_connect_to_private_addresses() {
    let Some(srv) = ChallTestSrv::start() else { return };
    let tdb = TestDb::sqlite().await;
    let (f, account, _stop) = setup_va(&srv, &tdb, false).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    // Whatever the answer, the name resolves to 127.0.0.1: the VA refuses to connect.
    for kind in [ChallengeType::Http01, ChallengeType::TlsAlpn01] {
        let mut order = order_with(&srv, &account, "inside.other.test", kind.clone(), false).await;
        assert_eq!(order.state().status, OrderStatus::Invalid, "{kind:?}");
        let mut authzs = order.authorizations();
        let authz = authzs.next().await.unwrap().unwrap();
        let error = authz.challenges.iter().find_map(|c| c.error.clone()).expect("the challenge's error");
        let detail = error.detail.unwrap_or_default();
        assert!(detail.contains("127.0.0.1") && detail.contains("private"), "{detail}");
    }
    assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 1, "nothing charged");
    tdb.cleanup().await;
}
