//! The ACME front driven in-process by a real ACME client (instant-acme):
//! an EAB account, orders for pre-validated names, finalize, download and
//! revocation, on SQLite and PostgreSQL; the certificate chain verifies and
//! exactly one token per certificate is spent.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use certgate_acme::{Acme, Settings};
use certgate_tests::{Connections, Fixture, TestDb, acme_http, embedded_root, footprint, openssl_verify, serve_router};
use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, Error, ExternalAccountKey, Identifier, NewAccount, NewOrder,
    OrderStatus, RetryPolicy, RevocationReason, RevocationRequest,
};
use orders::{Formula, Ledger, NewAcmeUrlCredentials, Worker};
use rustls::pki_types::CertificateDer;
use tokio::sync::watch;

/// A running gateway: the ACME routes on a loopback port and a job worker.
struct Server {
    base: String,
    _stop: watch::Sender<bool>,
}

async fn serve(f: &Fixture) -> Server {
    let base = serve_router(Acme::new(f.orders.clone(), Settings::default()).router()).await;
    let (stop, rx) = watch::channel(false);
    tokio::spawn(Worker::new(f.orders.clone(), "acme-test").run(rx));
    Server { base, _stop: stop }
}

fn directory(s: &Server, c: &NewAcmeUrlCredentials) -> String {
    format!("{}/acme/{}/directory", s.base, c.path)
}

fn eab(c: &NewAcmeUrlCredentials) -> ExternalAccountKey {
    ExternalAccountKey::new(c.kid.clone(), &URL_SAFE_NO_PAD.decode(&c.hmac_key).unwrap())
}

async fn account(s: &Server, c: &NewAcmeUrlCredentials) -> Result<Account, Error> {
    let new = NewAccount {
        contact: &["mailto:ops@example.test"],
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    Account::builder_with_http(acme_http(Connections::Reused))
        .create(&new, directory(s, c), Some(&eab(c)))
        .await
        .map(|(a, _)| a)
}

fn problem_type(e: &Error) -> String {
    match e {
        Error::Api(p) => p.r#type.clone().unwrap_or_default(),
        other => format!("not a problem: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_acme_gets_and_revokes_certificates() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 2, "").await.unwrap();
        let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
        let server = serve(&f).await;
        let acct = account(&server, &creds).await.unwrap();

        let names = [Identifier::Dns("www.example.test".into()), Identifier::Dns("api.example.test".into())];
        let mut order = acct.new_order(&NewOrder::new(&names)).await.unwrap();
        assert_eq!(order.state().status, OrderStatus::Ready, "pre-validated names need no challenge");
        assert_eq!(
            f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(),
            3,
            "new-order checks funds but charges nothing"
        );
        let _key = order.finalize().await.unwrap();
        // The embedded CA signs inside finalize's transaction: no job to wait for.
        assert_eq!(order.state().status, OrderStatus::Valid, "finalize answers with the order valid");
        assert!(order.state().certificate.is_some(), "and its certificate URL");
        let mut c = f.db.acquire().await.unwrap();
        let jobs: Vec<(String, String)> =
            storage::sql::query_as("SELECT kind, state FROM jobs WHERE order_id IS NOT NULL")
                .fetch_all(&mut c)
                .await
                .unwrap();
        assert_eq!(jobs, [("issue".to_string(), "done".to_string())], "the certificate still has its job");
        drop(c);
        let chain = order.poll_certificate(&RetryPolicy::default()).await.unwrap();
        let pems: Vec<&str> = chain.split_inclusive("-----END CERTIFICATE-----\n").collect();
        assert_eq!(pems.len(), 2, "leaf and issuing CA");
        let root = embedded_root(&f.db).await;
        openssl_verify(&root, pems[1], pems[0]).unwrap();
        assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 2, "{}", tdb.backend);
        assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("sanssl1")).await.unwrap(), 1);
        let listed = f.orders.list_orders(&f.op, &Default::default()).await.unwrap();
        assert_eq!(listed.len(), 1);
        let expected = format!("DCACME-{}", listed[0].id);
        assert_eq!(listed[0].reference.as_deref(), Some(expected.as_str()), "the prefix and the order's id");
        assert_eq!(listed[0].source, "acme");

        // A second order for the same names: another certificate, another token.
        let mut again = acct.new_order(&NewOrder::new(&names[..1])).await.unwrap();
        again.finalize().await.unwrap();
        let second = again.poll_certificate(&RetryPolicy::default()).await.unwrap();
        assert_ne!(second, chain);
        assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 1);

        // Revocation by the account.
        let (_, leaf) = x509_parser::pem::parse_x509_pem(pems[0].as_bytes()).unwrap();
        let der = CertificateDer::from(leaf.contents.clone());
        acct.revoke(&RevocationRequest { certificate: &der, reason: Some(RevocationReason::KeyCompromise) })
            .await
            .unwrap();
        let certs = f.orders.certificates(&f.op, listed[0].reference.as_deref().unwrap()).await.unwrap();
        assert_eq!(certs[0].revocation_reason, Some(1));
        let err =
            acct.revoke(&RevocationRequest { certificate: &der, reason: None }).await.expect_err("revoking twice");
        assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:alreadyRevoked");
        assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 1, "no refund");
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_problem_documents_and_change_nothing() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
    let other = f.orders.create_acme_url(&f.op, "other", "dv1", f.org).await.unwrap();
    let server = serve(&f).await;
    let dir = directory(&server, &creds);
    let new = NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false };
    let before = footprint(&f.db).await;

    // A wrong MAC, a KID of another ACME URL, and no EAB at all.
    let wrong_mac = ExternalAccountKey::new(creds.kid.clone(), &[7u8; 32]);
    let err = Account::builder_with_http(acme_http(Connections::Reused))
        .create(&new, dir.clone(), Some(&wrong_mac))
        .await
        .err()
        .unwrap();
    assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:unauthorized");
    let err = Account::builder_with_http(acme_http(Connections::Reused))
        .create(&new, dir.clone(), Some(&eab(&other)))
        .await
        .err()
        .unwrap();
    assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:unauthorized");
    assert!(
        format!("{err}").contains("another ACME URL")
            || matches!(&err, Error::Api(p) if p.detail.as_deref().unwrap_or("").contains("another ACME URL"))
    );
    let err =
        Account::builder_with_http(acme_http(Connections::Reused)).create(&new, dir.clone(), None).await.err().unwrap();
    assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:externalAccountRequired");

    let acct = account(&server, &creds).await.unwrap();
    // A name that is not pre-validated waits for a challenge; too many names are refused.
    let mut pending = acct.new_order(&NewOrder::new(&[Identifier::Dns("www.other.test".into())])).await.unwrap();
    assert_eq!(pending.state().status, OrderStatus::Pending);
    let err = pending.finalize().await.err().unwrap();
    assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:orderNotReady");
    // Deactivating its authorization makes the order invalid.
    let mut authzs = pending.authorizations();
    let mut authz = authzs.next().await.unwrap().unwrap();
    assert_eq!(authz.deactivate().await.unwrap().status, AuthorizationStatus::Deactivated);
    assert_eq!(pending.refresh().await.unwrap().status, OrderStatus::Invalid);
    let many: Vec<Identifier> = (0..5).map(|i| Identifier::Dns(format!("n{i}.example.test"))).collect();
    let err = acct.new_order(&NewOrder::new(&many)).await.err().unwrap();
    assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:rejectedIdentifier");
    // Two names need a SAN token, which the account lacks.
    let two = [Identifier::Dns("a.example.test".into()), Identifier::Dns("b.example.test".into())];
    let err = acct.new_order(&NewOrder::new(&two)).await.err().unwrap();
    assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:unauthorized");
    assert!(
        matches!(&err, Error::Api(p) if p.detail.as_deref().unwrap_or("").contains("no token left for product sanssl1"))
    );
    let after = footprint(&f.db).await;
    assert_eq!((after.orders, after.ledger, after.jobs), (before.orders, before.ledger, before.jobs));

    // A revoked ACME URL stops its accounts at once.
    f.orders.revoke_acme_url(&f.op, creds.id).await.unwrap();
    let err = acct.new_order(&NewOrder::new(&two[..1])).await.err().unwrap();
    assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:unauthorized");
    assert_eq!(footprint(&f.db).await.orders, before.orders);
    // And no new account can be made with its EAB credentials.
    let err = account(&server, &creds).await.err().expect("a new account on a revoked ACME URL");
    assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ari_window_replaces_as_a_renewal_and_key_change() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        let creds = f.orders.create_acme_url(&f.op, "web", "ssl1", f.org).await.unwrap();
        let server = serve(&f).await;
        let mut acct = account(&server, &creds).await.unwrap();
        let www = [Identifier::Dns("www.example.test".into())];
        let mut first = acct.new_order(&NewOrder::new(&www)).await.unwrap();
        first.finalize().await.unwrap();
        let chain = first.poll_certificate(&RetryPolicy::default()).await.unwrap();
        let (_, leaf) = x509_parser::pem::parse_x509_pem(chain.as_bytes()).unwrap();
        let der = CertificateDer::from(leaf.contents.clone());
        let cert_id = CertificateIdentifier::try_from(&der).unwrap();

        // A fresh one-year certificate: renew 65 days before it expires.
        let (info, retry) = acct.renewal_info(&cert_id).await.unwrap();
        let not_after = leaf.parse_x509().unwrap().validity().not_after.timestamp();
        let start = info.suggested_window.start.unix_timestamp();
        assert!((start - (not_after - 65 * 86_400)).abs() < 5, "window starts 65 days before expiry");
        assert!(info.suggested_window.end.unix_timestamp() > start);
        assert!(retry.as_secs() > 0);

        // Inside the renewal window, an order replacing it is a renewal paid with the renewal token.
        let now = f.orders.now();
        f.orders.set_clock_offset(not_after - 80 * 86_400 - now);
        let mut renewal = acct.new_order(&NewOrder::new(&www).replaces(cert_id.clone())).await.unwrap();
        renewal.finalize().await.unwrap();
        renewal.poll_certificate(&RetryPolicy::default()).await.unwrap();
        let placed = f.orders.list_orders(&f.op, &Default::default()).await.unwrap();
        assert_eq!(placed.len(), 2);
        assert_eq!((placed[0].kind.as_str(), placed[0].renewal_of), ("renewal", Some(placed[1].id)), "{}", tdb.backend);
        assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("renssl1")).await.unwrap(), 0);
        assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 0);
        let err = acct.new_order(&NewOrder::new(&www).replaces(cert_id.clone())).await.err().unwrap();
        assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:alreadyReplaced");

        // A revoked certificate should be replaced at once.
        acct.revoke(&RevocationRequest { certificate: &der, reason: None }).await.unwrap();
        let (info, _) = acct.renewal_info(&cert_id).await.unwrap();
        assert!(info.suggested_window.end.unix_timestamp() < f.orders.now());

        // Key change: the old key stops working, the new one works.
        let old = acct.clone();
        let _credentials = acct.update_key().await.unwrap();
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        acct.new_order(&NewOrder::new(&www)).await.unwrap();
        let err = old.new_order(&NewOrder::new(&www)).await.err().unwrap();
        assert_eq!(problem_type(&err), "urn:ietf:params:acme:error:malformed", "the old key's signature fails");
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_refusal_makes_the_acme_order_invalid_with_its_reason_and_refunds() {
    let Some(pebble) = certgate_tests::Pebble::start(Default::default()) else { return };
    let tdb = TestDb::sqlite().await;
    // Pebble's authorizations start pending: with "fail", it stands for a CA
    // where the domain was never pre-validated.
    let acme = upstream::AcmeSettings {
        pending_authorizations: upstream::PendingAuthorizations::Fail,
        ..pebble.upstream_settings()
    };
    let f = Fixture::with_pebble(&tdb, acme, 1).await;
    let creds = f.orders.create_acme_url(&f.op, "web", "pb1", f.org).await.unwrap();
    let server = serve(&f).await;
    let acct = account(&server, &creds).await.unwrap();
    let mut order = acct.new_order(&NewOrder::new(&[Identifier::Dns("www.example.test".into())])).await.unwrap();
    order.finalize().await.unwrap();
    let err =
        order.poll_certificate(&RetryPolicy::new().timeout(std::time::Duration::from_secs(30))).await.unwrap_err();
    let Error::Api(problem) = err else { panic!("expected the order's problem, got {err}") };
    let detail = problem.detail.unwrap_or_default();
    assert!(detail.contains("upstream pebble") && detail.contains("www.example.test"), "{detail}");
    assert_eq!(order.refresh().await.unwrap().status, OrderStatus::Invalid);
    assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("pb1")).await.unwrap(), 1, "refunded");
    tdb.cleanup().await;
}
