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

/// `certgate serve` on `port`, trusting `tls`'s CA for webhooks, with `env` set.
fn serve(env: &Certgate, tls: &LocalhostTls, port: u16, extra: &[(&str, &str)]) -> Child {
    let mut child = env
        .cmd(&["serve"])
        .env("CERTGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CERTGATE_NOTIFICATIONS__WEBHOOK_CA_FILE", &tls.ca)
        .env("CERTGATE_NOTIFICATIONS__ALLOW_PRIVATE_WEBHOOKS", "true")
        .envs(extra.iter().copied())
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
    let lease = ("CERTGATE_ORDERS__JOB_LEASE_SECS", "2");
    let mut victim = serve(&env, &tls, port, &[lease, ("CERTGATE_FAILPOINT", "notify-before-send")]);
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
    let child = serve(&env, &tls, port, &[lease]);
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

/// A webhook receiver that accepts connections and never answers holds
/// back its own deliveries only: `serve` issues orders meanwhile, since
/// notifications have a worker of their own.
#[test]
fn a_silent_webhook_receiver_does_not_hold_issuance_back() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("silent.db").display());
    let env = Certgate::with_database(BIN, dir.path(), SECRET, &url);
    let tls = LocalhostTls::new(dir.path());
    let a = env.bulk_account(3);
    // Accepts, reads nothing, answers nothing: each post waits its whole timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming() {
            held.push(conn);
        }
    });
    env.ok(&["webhook", "create", "--account", &a.account, "--url", &WebhookReceiver::url_on(hook_port)]);
    let port = free_port();
    let child = serve(&env, &tls, port, &[("CERTGATE_NOTIFICATIONS__TIMEOUT_SECS", "60")]);
    for (i, name) in ["one.example.test", "two.example.test", "three.example.test"].iter().enumerate() {
        let csr_path = dir.path().join(format!("{i}.csr"));
        std::fs::write(&csr_path, csr(&[name], Key::P256)).unwrap();
        let place = ["order", "place", "--account", &a.account, "--org", &a.org, "--product", "ssl1", "--csr"];
        env.ok(&[&place[..], &[csr_path.to_str().unwrap()]].concat());
        // Each is issued well within the receiver's 60-second timeout.
        wait_for(&format!("{name} delivered"), Duration::from_secs(20), || {
            env.ok(&["order", "list", "--account", &a.account, "--status", "delivered"]).lines().count() == i + 1
        });
    }
    let jobs = env.ok(&["jobs", "--state", "queued"]);
    assert!(jobs.lines().any(|l| l.contains("\tnotify\t")), "the deliveries still wait on the receiver: {jobs}");
    assert!(terminate(child).success(), "stops, a delivery in flight");
}
