//! An event is written in the transaction of the change that causes it and
//! delivered by a job: when the process is killed (SIGKILL) after the event
//! was committed and before it was delivered, the restarted process
//! delivers it, once.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use certgate_tests::notify_peers::{LocalhostTls, WebhookReceiver};
use certgate_tests::{Key, csr, free_port};

mod common;

use common::{BIN, Certgate, field, terminate, wait_healthy};

const SECRET: &str = "notification-crash-test-secret-key-012345";

fn serve(env: &Certgate, tls: &LocalhostTls, port: u16, failpoint: &str) -> Child {
    let mut child = env
        .cmd(&["serve"])
        .env("CERTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CERTGATE_NOTIFICATIONS__WEBHOOK_CA_FILE", &tls.ca)
        .env("CERTGATE_NOTIFICATIONS__ALLOW_PRIVATE_WEBHOOKS", "true")
        .env("CERTGATE_ORDERS__JOB_LEASE_SECS", "2")
        .env("CERTGATE_FAILPOINT", failpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child);
    child
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_event_committed_before_a_sigkill_is_delivered_once_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let env = Certgate::with_database(BIN, dir.path(), SECRET, &url);
    let tls = LocalhostTls::new(dir.path());
    let a = env.bulk_account(1);
    let hook_port = free_port();
    let created = env.ok(&["webhook", "create", "--account", &a.account, "--url", &WebhookReceiver::url_on(hook_port)]);
    let secret = field(&created, "signing secret:").unwrap();
    let Some(receiver) = WebhookReceiver::start(&tls, dir.path(), &secret, 0, hook_port) else { return };
    let csr_path = dir.path().join("www.csr");
    std::fs::write(&csr_path, csr(&["www.example.test"], Key::P256)).unwrap();
    let csr_path = csr_path.to_str().unwrap();
    env.ok(&["order", "place", "--account", &a.account, "--org", &a.org, "--product", "ssl1", "--csr", csr_path]);

    // The first process issues the order, then stops inside the delivery
    // of its event, holding the job's lease: killed there.
    let port = free_port();
    let mut victim = serve(&env, &tls, port, "notify-before-send");
    let jobs = || env.ok(&["jobs"]);
    wait_for("the delivery started", Duration::from_secs(30), || {
        jobs().lines().any(|l| l.contains("\tnotify\t") && l.contains("\tqueued\t1\t"))
    });
    victim.kill().unwrap();
    victim.wait().unwrap();
    assert!(receiver.received().is_empty(), "nothing was sent before the kill");
    assert!(env.ok(&["order", "list", "--account", &a.account]).contains("delivered"));

    // The restarted process takes the job over when its lease ends, and delivers once.
    let port = free_port();
    let child = serve(&env, &tls, port, "");
    wait_for("the event delivered", Duration::from_secs(30), || !receiver.received().is_empty());
    std::thread::sleep(Duration::from_secs(3));
    let metrics = common::http_get(port, "/metrics").unwrap();
    assert!(metrics.contains("certgate_notifications_total{channel=\"webhook\",outcome=\"delivered\"} 1"), "{metrics}");
    assert!(terminate(child).success());
    let got = receiver.received();
    assert_eq!(got.len(), 1, "delivered once: {got:?}");
    assert!(got[0].valid && got[0].status == 200, "{got:?}");
    assert_eq!(got[0].body["type"], "order.delivered");
    let deliveries = env.ok(&["webhook", "deliveries", "--account", &a.account]);
    assert!(
        deliveries.lines().any(|l| l.contains("\twebhook\t") && l.contains("\tdone\t1\tHTTP 200\t")),
        "{deliveries}"
    );
    let jobs = jobs();
    assert!(jobs.lines().any(|l| l.contains("\tnotify\t") && l.contains("\tdone\t2\t")), "taken over: {jobs}");
}
