//! Two `certgate serve` processes on one PostgreSQL database are one gateway.
//! A round-robin load balancer in the test sends every request to the other
//! instance (one connection per request), so a nonce from one instance is
//! redeemed at the other, an ACME account made at one is used at the other,
//! and each instance's worker takes jobs queued by either. Mid-run one
//! instance is killed with SIGKILL; the other finishes its jobs once their
//! leases expire. Every order is issued once and charged once, none is lost.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use certgate_tests::{Connections, Key, TestDb, acme_account, csr, free_port, scalar};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{Identifier, NewOrder, RetryPolicy};

mod common;

use common::{Certgate, load_balancer, wait_healthy};

const SECRET: &str = "instances-test-secret-key-0123456789";
const ACME_CLIENTS: usize = 4;
const ORDERS_PER_CLIENT: usize = 3;
const XMLRPC_ORDERS: usize = 4;

/// One ACME client: an EAB account, then `ORDERS_PER_CLIENT` certificates;
/// an issuance cut short by the killed instance is started again.
async fn acme_client(directory: String, kid: String, hmac: String, n: usize) -> usize {
    // Every request goes through the load balancer to the other instance.
    let account = loop {
        match acme_account(&directory, &kid, &hmac, Connections::PerRequest).await {
            Ok(a) => break a,
            Err(e) => {
                eprintln!("client {n}: account: {e}; again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let mut issued = 0;
    for i in 0..ORDERS_PER_CLIENT {
        let ids = [Identifier::Dns(format!("c{n}-o{i}.example.test"))];
        for attempt in 0.. {
            assert!(attempt < 5, "client {n} order {i}: too many attempts");
            let mut order = match account.new_order(&NewOrder::new(&ids)).await {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("client {n} order {i}: new-order: {e}; again");
                    continue;
                }
            };
            if let Err(e) = order.finalize().await {
                eprintln!("client {n} order {i}: finalize: {e}; again");
                continue;
            }
            let policy = RetryPolicy::new().initial_delay(Duration::from_millis(200)).timeout(Duration::from_secs(60));
            match order.poll_certificate(&policy).await {
                Ok(chain) if chain.contains("BEGIN CERTIFICATE") => {
                    issued += 1;
                    break;
                }
                other => eprintln!("client {n} order {i}: poll: {:?}; again", other.err()),
            }
        }
    }
    issued
}

/// Places legacy order `n`, first at `first`, then (a real integration
/// retries) through the balancer at `base`.
async fn achat(first: String, base: String, n: usize) -> bool {
    let pem = csr(&[&format!("x{n}.example.test")], Key::P256);
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>achat</methodName><params>\
         <param><value><struct><member><name>identification</name><value><struct>\
         <member><name>utilisateur</name><value>hoster</value></member>\
         <member><name>motDePasse</name><value>a long password</value></member>\
         </struct></value></member></struct></value></param>\
         <param><value><struct><member><name>ref{n}</name><value><struct>\
         <member><name>produit</name><value><struct><member><name>code</name><value>ssl</value></member>\
         <member><name>dureeVie</name><value><int>1</int></value></member></struct></value></member>\
         <member><name>requete</name><value><struct><member><name>CSR</name><value>{pem}</value></member>\
         <member><name>domainePrincipal</name><value>x{n}.example.test</value></member></struct></value></member>\
         <member><name>organisation</name><value><struct><member><name>nom</name><value>Example Org</value></member>\
         </struct></value></member>\
         <member><name>paiement</name><value><struct><member><name>modePaiement</name><value>pre</value></member>\
         </struct></value></member></struct></value></member></struct></value></param></params></methodCall>"
    );
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    for attempt in 0..5 {
        let to = if attempt == 0 { &first } else { &base };
        let req = hyper::Request::post(format!("{to}/api-operations.php"))
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        if let Ok(resp) = client.request(req).await
            && let Ok(bytes) = resp.into_body().collect().await
        {
            let text = String::from_utf8_lossy(&bytes.to_bytes()).into_owned();
            assert!(text.contains("<name>messageReponse</name><value><string>OK</string>"), "{text}");
            return true;
        }
        // The instance died under the request (the first call may go to the
        // one that is killed): a real integration retries.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_nonces_accounts_jobs_and_the_ledger_and_survive_a_sigkill() {
    let Some(tdb) = TestDb::postgres_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let g = Certgate::with_database(common::BIN, dir.path(), SECRET, &tdb.url);
    let setup_g = g.clone();
    let total = ACME_CLIENTS * ORDERS_PER_CLIENT + XMLRPC_ORDERS;
    // Room for the legacy calls that make the second instance take a job first.
    let start_tokens = total as i64 + 20;
    let setup = tokio::task::spawn_blocking(move || {
        let a = setup_g.bulk_account(start_tokens as u32);
        setup_g.ok(&["acme-url", "create", "--account", &a.account, "--product", "ssl1", "--org", &a.org])
    });
    let created = setup.await.unwrap();
    let field = |name: &str| common::field(&created, name);
    let (directory, kid, hmac) =
        (field("directory:").unwrap(), field("EAB KID:").unwrap(), field("EAB HMAC key:").unwrap());
    let path = &directory[directory.find("/acme/").unwrap()..];

    // Both instances start together on the same database: migrations run once.
    let ports = [free_port(), free_port()];
    // The second one's worker stops after taking its first job, lease held,
    // while its HTTP side goes on serving: when it is killed, that job must
    // be finished by the first one once the lease expires.
    let mut instances: Vec<Child> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            g.cmd(&["serve"])
                .env("CERTGATE_LISTEN", format!("127.0.0.1:{port}"))
                .env("CERTGATE_ORDERS__JOB_LEASE_SECS", "3")
                .env("CERTGATE_FAILPOINT", if i == 1 { "worker-after-claim" } else { "" })
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for (port, child) in ports.iter().zip(instances.iter_mut()) {
        wait_healthy(*port, child);
    }
    let lb = load_balancer(ports.to_vec()).await;
    let base = format!("http://127.0.0.1:{lb}");
    let directory = format!("{base}{path}");

    // First the second instance's worker takes a job, and pauses with its
    // lease held: legacy calls go to that instance itself (a call wakes its
    // own instance's worker at once; the other one's only polls) until it
    // does. Every such call places an order.
    let mut victim = instances.pop().unwrap();
    let victim_owner = format!("%-{}", victim.id());
    let victim_base = format!("http://127.0.0.1:{}", ports[1]);
    let leased = async |owner: &str| {
        let q =
            storage::sql::query_scalar::<i64>("SELECT COUNT(*) FROM jobs WHERE kind = 'issue' AND lease_owner LIKE $1");
        q.bind(owner).fetch_one(&mut tdb.db.acquire().await.unwrap()).await.unwrap()
    };
    'leased: for first_call in 0..10 {
        let placed = achat(victim_base.clone(), base.clone(), 100 + first_call).await;
        assert!(placed, "a legacy call to the second instance");
        for _ in 0..40 {
            if leased(&victim_owner).await > 0 {
                break 'leased;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(leased(&victim_owner).await > 0, "the second instance's worker never held a job's lease");

    // Kill the second instance once a third of the orders exist.
    let killed = Arc::new(AtomicBool::new(false));
    let (db, flag) = (tdb.db.clone(), killed.clone());
    let killer = tokio::spawn(async move {
        let start = Instant::now();
        while scalar(&db, "SELECT COUNT(*) FROM orders").await < (total / 3) as i64 {
            // Fail with a reason rather than hang.
            assert!(start.elapsed() < Duration::from_secs(60), "the orders never reached a third");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        victim.kill().unwrap(); // SIGKILL
        victim.wait().unwrap();
        flag.store(true, Ordering::SeqCst);
    });

    let mut acme = Vec::new();
    for n in 0..ACME_CLIENTS {
        acme.push(tokio::spawn(acme_client(directory.clone(), kid.clone(), hmac.clone(), n)));
    }
    let mut legacy = Vec::new();
    for n in 0..XMLRPC_ORDERS {
        // Through the balancer, alternating between the instances.
        legacy.push(tokio::spawn(achat(base.clone(), base.clone(), n)));
    }
    let mut issued = 0;
    for t in acme {
        issued += t.await.unwrap();
    }
    let mut achats = 0;
    for t in legacy {
        achats += usize::from(t.await.unwrap());
    }
    killer.await.unwrap();
    assert!(killed.load(Ordering::SeqCst), "the second instance was killed mid-run");
    assert_eq!(issued, ACME_CLIENTS * ORDERS_PER_CLIENT, "every ACME client got every certificate");
    assert_eq!(achats, XMLRPC_ORDERS);

    // The survivor finishes every job, including those the dead one leased.
    let db = &tdb.db;
    let start = Instant::now();
    while scalar(db, "SELECT COUNT(*) FROM orders WHERE status = 'processing'").await > 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "orders left processing");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered = scalar(db, "SELECT COUNT(*) FROM orders WHERE status = 'delivered'").await;
    assert!(delivered >= total as i64, "none lost: {delivered} of at least {total}");
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM orders WHERE status NOT IN ('delivered')").await, 0);
    let twice = "SELECT COUNT(*) FROM (SELECT order_id FROM certificates GROUP BY order_id HAVING COUNT(*) > 1) t";
    assert_eq!(scalar(db, twice).await, 0, "no order issued twice");
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM certificates").await, delivered, "one certificate per order");
    let debits = "SELECT COUNT(*) FROM ledger WHERE reason = 'order'";
    assert_eq!(scalar(db, debits).await, delivered, "one debit per order");
    let balance = "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM balances WHERE item = 'ssl1'";
    assert_eq!(scalar(db, balance).await, start_tokens - delivered, "charged once each");
    // The job the dead instance held was taken over by the survivor.
    let retaken = "SELECT COUNT(*) FROM jobs WHERE kind = 'issue' AND state = 'done' AND attempts > 1";
    assert!(scalar(db, retaken).await >= 1, "the leased job was finished by the survivor");
    // ACME orders are signed inside finalize (the embedded CA signs at once);
    // every queued job (the XML-RPC orders') was delivered by the survivor's worker.
    let workers = "SELECT COUNT(DISTINCT actor) FROM audit_log WHERE action = 'order.deliver' AND source = 'worker'";
    assert_eq!(scalar(db, workers).await, 1, "the paused worker delivered nothing; the survivor all");
    let at_finalize =
        scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'order.deliver' AND source = 'acme'").await;
    let by_worker =
        scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'order.deliver' AND source = 'worker'").await;
    // A request cut short by the kill is made again, so there may be more orders than asked for.
    assert!(at_finalize >= (ACME_CLIENTS * ORDERS_PER_CLIENT) as i64, "each ACME order delivered at its finalize");
    assert!(by_worker >= XMLRPC_ORDERS as i64, "each XML-RPC order delivered by a worker");
    assert_eq!(at_finalize + by_worker, delivered, "every delivery is one of those");
    let migrations = "SELECT COUNT(*) FROM _sqlx_migrations";
    assert_eq!(scalar(db, migrations).await, scalar(db, "SELECT COUNT(DISTINCT version) FROM _sqlx_migrations").await);

    for mut c in instances {
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        assert!(c.wait().unwrap().success(), "the survivor stops cleanly on SIGTERM");
    }
    tdb.cleanup().await;
}
