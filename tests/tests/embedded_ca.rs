//! The embedded CA: keys sealed at rest and shared by instances, chains that
//! openssl accepts, and nothing copied from the CSR but its key and names.

use certgate_tests::{Fixture, Key, TEST_SECRET, TestDb, csr, csr_with, embedded_root, openssl_verify};
use orders::{Formula, Worker};
use rcgen::{BasicConstraints, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
use storage::sealed::SecretKey;
use upstream::EmbeddedCa;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

async fn issue(f: &Fixture, csr_pem: String) -> orders::Certificate {
    let req = f.ssl1_order(csr_pem);
    let o = f.orders.place(&f.op, &req).await.unwrap().order;
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    f.orders.certificates(&f.op, &o.reference.unwrap()).await.unwrap().remove(0)
}

#[tokio::test]
async fn a_csr_asking_for_ca_or_code_signing_gets_a_plain_tls_server_certificate() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let evil = csr_with(&["www.example.test"], Key::P256, |p| {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    });
    // The request really asks for them.
    let text = std::process::Command::new("openssl")
        .args(["req", "-noout", "-text"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(evil.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("CA:TRUE") && text.contains("Code Signing"), "{text}");

    let cert = issue(&f, evil).await;
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert.leaf_pem.as_bytes()).unwrap();
    let (_, x) = X509Certificate::from_der(&pem.contents).unwrap();
    let mut seen_eku = false;
    for ext in x.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => assert!(!bc.ca, "CA:TRUE was copied"),
            ParsedExtension::KeyUsage(ku) => assert!(!ku.key_cert_sign() && !ku.crl_sign()),
            ParsedExtension::ExtendedKeyUsage(eku) => {
                seen_eku = true;
                assert!(eku.server_auth && !eku.code_signing, "{eku:?}");
            }
            _ => {}
        }
    }
    assert!(seen_eku);
    let root = embedded_root(&f.db).await;
    openssl_verify(&root, &cert.chain_pem, &cert.leaf_pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-purpose", "sslserver", "-CAfile"])
        .arg(write_tmp(&root))
        .arg("-untrusted")
        .arg(write_tmp(&cert.chain_pem))
        .arg(write_tmp(&cert.leaf_pem))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn write_tmp(s: &str) -> std::path::PathBuf {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), s).unwrap();
    f.into_temp_path().keep().unwrap()
}

#[tokio::test]
async fn rsa_and_p384_keys_are_certified_with_the_products_validity() {
    let tdb = TestDb::sqlite().await;
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
    let root = embedded_root(&f.db).await;
    for key in [Key::Rsa2048, Key::P384] {
        let cert = issue(&f, csr(&["www.example.test"], key)).await;
        openssl_verify(&root, &cert.chain_pem, &cert.leaf_pem).unwrap();
        let days = (cert.not_after - cert.not_before) / 86_400;
        assert!((364..=366).contains(&days), "{days} days for a 1-year product");
    }
}

#[tokio::test]
async fn ca_keys_are_sealed_at_rest_and_shared_by_every_instance() {
    for tdb in TestDb::all().await {
        let key = SecretKey::from_secret(TEST_SECRET);
        let a = EmbeddedCa::load_or_create(&tdb.db, &key, "embedded").await.unwrap();
        let b = EmbeddedCa::load_or_create(&tdb.db, &key, "embedded").await.unwrap();
        assert_eq!(a.root_pem(), b.root_pem(), "a second instance loads the same CA");
        let row = storage::ca_keys::get(&mut tdb.db.acquire().await.unwrap(), "embedded:issuing").await.unwrap();
        let sealed = row.unwrap().key_sealed;
        assert!(!sealed.contains("PRIVATE KEY"), "the key is stored sealed");
        let err = EmbeddedCa::load_or_create(&tdb.db, &SecretKey::from_secret("another secret key!"), "embedded").await;
        assert!(err.is_err(), "a wrong secret key cannot open it");
        tdb.cleanup().await;
    }
}

/// A ready ACME order for `www.example.test` of a new ACME account of `f`.
async fn ready_acme_order(f: &Fixture) -> orders::acme::AcmeOrder {
    let account = f.acme_account("thumbprint").await;
    let names = ["www.example.test".to_string()];
    let new = orders::acme::NewAcmeOrderRequest {
        account_id: account.id,
        names: &names,
        needing_dcv: &[],
        replaces: None,
        ttl_secs: 3600,
    };
    f.orders.create_acme_order(&new).await.unwrap().0
}

#[tokio::test]
async fn an_acme_orders_link_commits_with_its_order_or_not_at_all() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let acme_order = ready_acme_order(&f).await;
        let req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        // The ACME orders' table is away: the link fails, and the order with it.
        certgate_tests::execute(&f.db, "ALTER TABLE acme_orders RENAME TO acme_orders_away").await;
        let before = certgate_tests::footprint(&f.db).await;
        assert!(f.orders.finalize_acme_order(&f.op, acme_order.id, &req).await.is_err(), "{}", tdb.backend);
        assert_eq!(certgate_tests::footprint(&f.db).await, before, "{}: nothing placed or charged", tdb.backend);
        certgate_tests::execute(&f.db, "ALTER TABLE acme_orders_away RENAME TO acme_orders").await;

        let placed = f.orders.finalize_acme_order(&f.op, acme_order.id, &req).await.unwrap();
        assert_eq!(placed.order.status, "delivered", "{}: signed at once, and the link says so", tdb.backend);
        let linked = f.orders.acme_order(acme_order.id).await.unwrap().unwrap().0;
        assert_eq!((linked.order_id, linked.status.as_str()), (Some(placed.order.id), "valid"), "{}", tdb.backend);
        let mut c = f.db.acquire().await.unwrap();
        // Placed and delivered in one transaction: both entries, in that order.
        let audit = storage::audit::list(&mut c, Some(f.account), 2).await.unwrap();
        let actions: Vec<(&str, bool)> = audit
            .iter()
            .rev()
            .map(|a| (a.action.as_str(), a.detail.starts_with(&placed.order.id.to_string())))
            .collect();
        assert_eq!(actions, [("order.place", true), ("order.deliver", true)], "{}", tdb.backend);
        drop(c);

        // The one token is spent: the debit, made last, refuses, and the
        // certificate signed before it is rolled back with everything else.
        let before = certgate_tests::footprint(&f.db).await;
        let next = orders::PlaceOrder { client_ref: Some("next".into()), ..req.clone() };
        let refused = f.orders.place_and_issue(&f.op, &next).await;
        assert!(matches!(refused, Err(orders::OrderError::InsufficientTokens { .. })), "{}: {refused:?}", tdb.backend);
        assert_eq!(certgate_tests::footprint(&f.db).await, before, "{}: no certificate kept", tdb.backend);
        tdb.cleanup().await;
    }
}

/// A bulk account's fixture with `tokens` `ssl1` tokens.
async fn recording_fixture(tdb: &TestDb, tokens: i64) -> Fixture {
    let f = Fixture::new(tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", tokens, "").await.unwrap();
    f
}

#[tokio::test]
async fn an_order_signed_at_once_is_inserted_delivered_with_the_id_it_was_signed_for() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = recording_fixture(&tdb, 2).await;
        let req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        let first = f.orders.place_and_issue(&f.op, &req).await.unwrap();
        let certificate = first.certificate_id.expect("signed at once");
        let mut c = f.db.acquire().await.unwrap();
        let stored = storage::orders::get(&mut c, first.order.id).await.unwrap().unwrap();
        let serial: String = storage::sql::query_scalar("SELECT serial FROM certificates WHERE id = $1")
            .bind(certificate)
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(stored.status, "delivered", "{b}");
        assert_eq!(stored.upstream_ref.as_deref(), Some(serial.as_str()), "{b}: the serial is its reference upstream");
        assert_eq!(stored.reference, Some(stored.id.to_string()), "{b}: the reference names the id drawn for it");
        assert_eq!((stored.status.as_str(), stored.updated_at), (first.order.status.as_str(), first.order.updated_at));
        // The certificate is recorded under a job of its own, done (on
        // PostgreSQL both rows are written by one statement).
        // Both backends write the same job: done at its first attempt, never
        // leased, due, created and updated at the same moment.
        let jobs: Vec<(i64, String, String)> = storage::sql::query_as(
            "SELECT j.id, j.kind, j.state FROM jobs j WHERE j.order_id = $1
               AND j.id = (SELECT c.job_id FROM certificates c WHERE c.id = $2)
               AND j.attempts = 1 AND j.lease_owner IS NULL AND j.lease_until IS NULL
               AND j.run_after = j.created_at AND j.updated_at = j.created_at",
        )
        .bind(stored.id)
        .bind(certificate)
        .fetch_all(&mut c)
        .await
        .unwrap();
        let all: i64 = storage::sql::query_scalar("SELECT COUNT(*) FROM jobs WHERE order_id = $1")
            .bind(stored.id)
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!((jobs.len(), all), (1, 1), "{b}: {jobs:?}");
        assert_eq!((jobs[0].1.as_str(), jobs[0].2.as_str()), ("issue", "done"), "{b}");
        if b == "postgres" {
            // One version of the row: it was inserted delivered, not updated.
            let ctid: String = storage::sql::query_scalar("SELECT ctid::text FROM orders WHERE id = $1")
                .bind(stored.id)
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(ctid, "(0,1)", "{b}");
        }
        drop(c);
        // The id drawn before the insert is the only one drawn: the next order gets the next.
        let next = orders::PlaceOrder { client_ref: Some("next".into()), ..req.clone() };
        let second = f.orders.place_and_issue(&f.op, &next).await.unwrap();
        assert_eq!(second.order.id, first.order.id + 1, "{b}");
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn a_retried_order_signed_at_once_is_recorded_and_charged_once() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = recording_fixture(&tdb, 5).await;
        let mut req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        req.idempotency_key = Some("signed-retry".into());
        let first = f.orders.place_and_issue(&f.op, &req).await.unwrap();
        let audited = async || certgate_tests::scalar(&f.db, "SELECT COUNT(*) FROM audit_log").await;
        let before = (certgate_tests::footprint(&f.db).await, audited().await);
        // A retry signs again in memory, but its insert finds the first order:
        // no certificate, job, audit entry or charge of its own is written.
        let again = f.orders.place_and_issue(&f.op, &req).await.unwrap();
        assert!(again.replayed, "{b}");
        assert_eq!((again.order.id, again.certificate_id), (first.order.id, first.certificate_id), "{b}");
        let after = (certgate_tests::footprint(&f.db).await, audited().await);
        assert_eq!(after, before, "{b}: the retry wrote nothing");

        // Retries racing each other: one order, its certificate, job and two
        // audit entries, and one charge.
        req.idempotency_key = Some("signed-race".into());
        let placed = certgate_tests::race(4, || {
            let (orders, op, req) = (f.orders.clone(), f.op.clone(), req.clone());
            async move { orders.place_and_issue(&op, &req).await.unwrap() }
        })
        .await;
        assert_eq!(placed.iter().filter(|p| !p.replayed).count(), 1, "{b}");
        assert!(placed.iter().all(|p| p.order.id == placed[0].order.id), "{b}");
        assert!(placed.iter().all(|p| p.certificate_id == placed[0].certificate_id), "{b}");
        let after = (certgate_tests::footprint(&f.db).await, audited().await);
        let (was, now) = (&before.0, &after.0);
        assert_eq!(
            (now.orders, now.ledger, now.jobs, now.certificates),
            (was.orders + 1, was.ledger + 1, was.jobs + 1, was.certificates + 1),
            "{b}"
        );
        assert_eq!(after.1, before.1 + 2, "{b}: two audit entries");
        assert_eq!(now.balances_sum, was.balances_sum - 1, "{b}: one token spent");
        tdb.cleanup().await;
    }
}

/// An upstream that would sign at once, but refuses every time.
struct RefusingAtOnce;

impl upstream::Upstream for RefusingAtOnce {
    fn name(&self) -> &str {
        "embedded"
    }

    fn issue<'a>(
        &'a self,
        req: &'a upstream::IssueRequest,
        _resume: Option<&'a str>,
        _checkpoint: &'a dyn upstream::Checkpoint,
    ) -> upstream::BoxFuture<'a, Result<upstream::Issued, upstream::UpstreamError>> {
        Box::pin(async move {
            Err(upstream::UpstreamError::Transient {
                upstream: "embedded".into(),
                detail: format!("refused {}", req.order_reference),
            })
        })
    }

    fn issues_at_once(&self) -> bool {
        true
    }

    fn revoke<'a>(
        &'a self,
        _req: &'a upstream::RevokeRequest,
    ) -> upstream::BoxFuture<'a, Result<(), upstream::UpstreamError>> {
        Box::pin(async { Ok(()) })
    }
}

/// An order core over `f`'s database whose only upstream refuses to sign at once.
fn refusing_core(f: &Fixture) -> orders::Orders {
    orders::Orders::new(
        f.db.clone(),
        SecretKey::from_secret(TEST_SECRET),
        vec![std::sync::Arc::new(RefusingAtOnce)],
        orders::Settings::default(),
    )
}

#[tokio::test]
async fn an_order_the_upstream_refuses_to_sign_at_once_is_paid_and_queued() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = recording_fixture(&tdb, 1).await;
        let refusing = refusing_core(&f);
        let before = certgate_tests::footprint(&f.db).await;
        let req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        let placed = refusing.place_and_issue(&f.op, &req).await.unwrap();
        assert_eq!((placed.order.status.as_str(), placed.certificate_id), ("processing", None), "{b}");
        assert_eq!(placed.order.upstream_ref, None, "{b}");
        let after = certgate_tests::footprint(&f.db).await;
        assert_eq!(
            (after.orders, after.ledger, after.jobs),
            (before.orders + 1, before.ledger + 1, before.jobs + 1),
            "{b}"
        );
        assert_eq!(after.balances_sum, before.balances_sum - 1, "{b}: one token spent");
        let job: (String, String) = storage::sql::query_as("SELECT kind, state FROM jobs WHERE order_id = $1")
            .bind(placed.order.id)
            .fetch_one(&mut f.db.acquire().await.unwrap())
            .await
            .unwrap();
        assert_eq!((job.0.as_str(), job.1.as_str()), ("issue", "queued"), "{b}: left to the worker's retries");
        // The worker, with the embedded CA that signs, delivers it.
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let delivered =
            storage::orders::get(&mut f.db.acquire().await.unwrap(), placed.order.id).await.unwrap().unwrap();
        assert_eq!(delivered.status, "delivered", "{b}");
        tdb.cleanup().await;
    }
}

/// An ACME order's state follows its certgate order when it is read, and
/// reading it writes nothing (a POST-as-GET never writes): the stored row
/// keeps what finalize left, and the derived state says `valid`.
#[tokio::test]
async fn reading_an_acme_orders_state_writes_nothing() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = recording_fixture(&tdb, 1).await;
        let refusing = refusing_core(&f);
        let acme_order = ready_acme_order(&f).await;
        let req = f.ssl1_order(csr(&["www.example.test"], Key::P256));
        let placed = refusing.finalize_acme_order(&f.op, acme_order.id, &req).await.unwrap();
        assert_eq!(placed.certificate_id, None, "{b}: queued, not signed at once");
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();

        let stored = async || {
            let q = storage::sql::query_as::<(String, Option<i64>, Option<String>)>(
                "SELECT status, order_id, error FROM acme_orders WHERE id = $1",
            );
            q.bind(acme_order.id).fetch_one(&mut f.db.acquire().await.unwrap()).await.unwrap()
        };
        let (before_row, before) = (stored().await, certgate_tests::footprint(&f.db).await);
        assert_eq!(before_row, ("processing".to_string(), Some(placed.order.id), None), "{b}: as finalize left it");
        let (o, authzs) = f.orders.acme_order(acme_order.id).await.unwrap().unwrap();
        for _ in 0..3 {
            let state = f.orders.acme_order_state(&f.op, &o, &authzs).await.unwrap();
            assert_eq!(state.status, orders::acme::AcmeOrderStatus::Valid, "{b}: the delivered order shows valid");
            assert!(state.certificate.is_some(), "{b}: with its certificate");
        }
        assert_eq!(stored().await, before_row, "{b}: reading wrote nothing to the ACME order");
        assert_eq!(certgate_tests::footprint(&f.db).await, before, "{b}: nor anywhere else");
        tdb.cleanup().await;
    }
}
