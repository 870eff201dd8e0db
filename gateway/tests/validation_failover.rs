//! A challenge's validation is a job: when the instance that took the
//! challenge dies mid-validation (SIGKILL), another instance on the same
//! PostgreSQL database takes the job over once its lease ends, and the
//! challenge ends valid instead of staying `processing` for ever.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use certgate_tests::{ChallTestSrv, Connections, TestDb, acme_account, free_port, scalar};
use instant_acme::{AuthorizationStatus, ChallengeType, Identifier, NewOrder, OrderStatus, RetryPolicy};

mod common;

use common::{Certgate, load_balancer, terminate, wait_healthy};

const SECRET: &str = "validation-failover-test-secret-key-0123";

/// `certgate serve` on `port`, its VA pointed at the challenge server.
fn serve(g: &Certgate, srv: &ChallTestSrv, port: u16, failpoint: &str) -> Child {
    let mut child = g
        .cmd(&["serve"])
        .env("CERTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CERTGATE_ACME__VA__HTTP_PORT", srv.http_port.to_string())
        .env("CERTGATE_ACME__VA__TLS_PORT", srv.tls_port.to_string())
        .env("CERTGATE_ACME__VA__DNS_SERVER", srv.dns.to_string())
        .env("CERTGATE_ACME__VA__ALLOW_PRIVATE_ADDRESSES", "true")
        .env("CERTGATE_ACME__VA__TIMEOUT_SECS", "2")
        .env("CERTGATE_FAILPOINT", failpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child);
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_cut_short_by_sigkill_is_finished_by_the_other_instance() {
    let Some(tdb) = TestDb::postgres_or_skip().await else {
        return;
    };
    let Some(srv) = ChallTestSrv::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let g = Certgate::with_database(common::BIN, dir.path(), SECRET, &tdb.url);
    let setup_g = g.clone();
    let created = tokio::task::spawn_blocking(move || {
        // The pre-validated domain is *.example.test: the name ordered below needs a challenge.
        let a = setup_g.bulk_account(1);
        setup_g.ok(&["acme-url", "create", "--account", &a.account, "--product", "ssl1", "--org", &a.org])
    })
    .await
    .unwrap();
    let field = |name: &str| common::field(&created, name).unwrap();
    let (directory, kid, hmac) = (field("directory:"), field("EAB KID:"), field("EAB HMAC key:"));
    let path = &directory[directory.find("/acme/").unwrap()..];

    // The first instance stops inside every validation it starts. The
    // second is not running yet, so the balancer sends everything to the first.
    let ports = [free_port(), free_port()];
    let mut victim = serve(&g, &srv, ports[0], "validation-started");
    let lb = load_balancer(ports.to_vec()).await;
    let directory = format!("http://127.0.0.1:{lb}{path}");
    let account = acme_account(&directory, &kid, &hmac, Connections::PerRequest).await.unwrap();
    let name = "failover.other.test";
    let mut order = account.new_order(&NewOrder::new(&[Identifier::Dns(name.into())])).await.unwrap();
    assert_eq!(order.state().status, OrderStatus::Pending);
    {
        let mut authzs = order.authorizations();
        let mut authz = authzs.next().await.unwrap().unwrap();
        assert_eq!(authz.status, AuthorizationStatus::Pending);
        let mut challenge = authz.challenge(ChallengeType::Http01).unwrap();
        srv.add_http01(&challenge.token, challenge.key_authorization().as_str());
        challenge.set_ready().await.unwrap();
    }

    // The first instance holds the validation's lease, stopped inside it.
    let owner = format!("va-{}-%", victim.id());
    let held = async || {
        let q = storage::sql::query_scalar::<i64>(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'validate' AND state = 'queued' AND lease_owner LIKE $1",
        );
        q.bind(owner.as_str()).fetch_one(&mut tdb.db.acquire().await.unwrap()).await.unwrap()
    };
    let start = Instant::now();
    while held().await == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "the first instance never held the validation");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let processing = "SELECT COUNT(*) FROM acme_authzs WHERE challenge_status = 'processing'";
    assert_eq!(scalar(&tdb.db, processing).await, 1, "the challenge is being validated");

    // The second instance starts, and the first dies holding the lease.
    let survivor = serve(&g, &srv, ports[1], "");
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();

    // The survivor takes the job over once the lease (the VA's 2 s timeout
    // and a margin) has ended: the order becomes ready, then is issued.
    let policy = RetryPolicy::new().initial_delay(Duration::from_millis(250)).timeout(Duration::from_secs(60));
    let status = order.poll_ready(&policy).await.unwrap();
    assert_eq!(status, OrderStatus::Ready, "the survivor validated the challenge");
    let job: (String, i64, Option<String>) = storage::sql::query_as(
        "SELECT state, attempts, lease_owner FROM jobs WHERE kind = 'validate' ORDER BY id LIMIT 1",
    )
    .fetch_one(&mut tdb.db.acquire().await.unwrap())
    .await
    .unwrap();
    assert_eq!(job, ("done".to_string(), 2, None), "one job, taken over once");
    assert_eq!(scalar(&tdb.db, processing).await, 0, "no challenge is left processing");
    order.finalize().await.unwrap();
    let chain = order.poll_certificate(&policy).await.unwrap();
    assert!(chain.contains("BEGIN CERTIFICATE"), "{chain}");
    assert_eq!(scalar(&tdb.db, "SELECT COUNT(*) FROM orders").await, 1, "one order");
    certgate_tests::assert_ledger_matches_orders(&tdb.db).await;

    terminate(survivor);
    tdb.cleanup().await;
}
