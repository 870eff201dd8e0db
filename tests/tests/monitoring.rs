//! Certificate monitoring against real TLS servers on loopback, with
//! pebble-challtestsrv as the DNS server (every name is 127.0.0.1 there):
//! `openssl s_server` serving the delivered certificate with its chain,
//! another certificate, the certificate without its chain, and the delivered
//! one with TLS 1.0 and 1.1 allowed; aiosmtpd behind SMTP STARTTLS; a port
//! that never answers; a port nobody listens on; a name whose DNS fails;
//! and the delivered certificate once expired. Each result is checked, a
//! repeated result tells nobody, each change tells the monitoring manager
//! once, and no scan runs sooner than the frequency.

use certgate_tests::notify_peers::{LocalhostTls, SmtpCatcher};
use certgate_tests::tls_servers::{OpensslServer, Versions, self_signed, silent_port};
use certgate_tests::{ChallTestSrv, Fixture, TestDb, csr_and_key, embedded_root, free_port, scalar};
use orders::{Formula, Monitor, MonitorChange, MonitorDefaults, Worker};

const DAY: i64 = 86_400;

async fn scan(worker: &Worker) {
    worker.schedule_sweep().await.unwrap();
    worker.drain().await.unwrap();
}

async fn told(f: &Fixture) -> i64 {
    scalar(&f.db, "SELECT COUNT(*) FROM events WHERE kind = 'monitor.result'").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_judge_what_is_served_and_tell_each_change_once() {
    let Some(srv) = ChallTestSrv::start() else { return };
    srv.manage("/set-servfail", r#"{"host":"broken.example.test."}"#);
    for tdb in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let (right_name, smtp_name) = ("right.example.test", "smtp.example.test");
        let (csr, key) = csr_and_key(&[right_name, smtp_name, "broken.example.test"]);
        let settings = orders::Settings { va: srv.va(2), ..Default::default() };
        let f = Fixture::with_settings(&tdb, Formula::Bulk, settings.clone()).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 2, "").await.unwrap();
        let placed = f.orders.place(&f.op, &f.ssl1_order(csr)).await.unwrap().order;
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let reference = placed.reference.clone().unwrap();
        let cert = f.orders.certificates(&f.op, &reference).await.unwrap().remove(0);
        let root = embedded_root(&f.db).await;
        let Some(s) = Started::serve(dir.path(), &cert.leaf_pem, &cert.chain_pem, &key, &root) else { return };

        // The operator allows the servers' ports and restarts.
        let settings = orders::Settings { monitor_ports: s.ports(), ..settings };
        let orders = certgate_tests::order_core(&f.db, settings).await;
        let f = Fixture { orders, ..f };
        let log = dir.path().join("notifications.log");
        let notify_settings = notify::Settings { log_file: Some(log.clone()), ..Default::default() };
        f.orders.set_notifier(notify::Notifier::new(&notify_settings).unwrap());
        let worker = Worker::new(f.orders.clone(), "t");

        let defaults = MonitorDefaults {
            default_on: false,
            frequency_days: 7,
            manager_email: Some("monitor@example.test".into()),
            manager_language: "fr".into(),
            plain_text: true,
        };
        f.orders.set_monitor_defaults(&f.op, &defaults).await.unwrap();
        let mut day = 0;
        let mut step = |hosts: &[&str], port: u16, starttls: &str| {
            day += 7;
            let change = MonitorChange {
                enabled: Some(true),
                hosts: Some(hosts.iter().map(|h| h.to_string()).collect()),
                port: Some(port),
                starttls: Some(starttls.into()),
                ..Default::default()
            };
            (day, change)
        };
        let run = |offset: i64, change: MonitorChange| {
            let (f, worker, reference) = (&f, &worker, reference.clone());
            async move {
                f.orders.set_clock_offset(offset * DAY);
                f.orders.set_monitor(&f.op, &reference, &change).await.unwrap();
                scan(worker).await;
                f.orders.monitor(&f.op, &reference).await.unwrap()
            }
        };
        let only = |m: &Monitor| {
            assert_eq!(m.last.len(), 1, "{m:?}");
            m.last[0].clone()
        };

        // The delivered certificate with its chain: all is well.
        let (d, c) = step(&[right_name], s.right.port, "none");
        let m = run(d, c).await;
        let r = only(&m);
        assert_eq!((r.outcome.as_str(), r.served.as_deref()), ("ok", Some("current")), "{r:?}");
        assert_eq!((r.chain_valid, r.name_matches), (Some(true), Some(true)));
        assert_eq!(r.tls_versions, ["1.2", "1.3"], "OpenSSL's defaults");
        assert!(r.days_left.unwrap() > 300, "{r:?}");
        assert_eq!(told(&f).await, 1, "a first result is news");

        // No scan sooner than the frequency, whatever is changed.
        let again = MonitorChange { port: Some(s.right.port), ..Default::default() };
        f.orders.set_monitor(&f.op, &reference, &again).await.unwrap();
        scan(&worker).await;
        let history = f.orders.monitor_results(&f.op, &reference, 50).await.unwrap();
        assert_eq!(history.len(), 1, "not scanned again within 7 days");

        // The same result a week later tells nobody.
        let (d, c) = step(&[right_name], s.right.port, "none");
        assert_eq!(only(&run(d, c).await).outcome, "ok");
        assert_eq!(told(&f).await, 1, "an unchanged result is not news");
        assert_eq!(f.orders.monitor_results(&f.op, &reference, 50).await.unwrap().len(), 2, "history kept");

        // Another certificate, for another name, self-signed.
        let (d, c) = step(&[right_name], s.other.port, "none");
        let r = only(&run(d, c).await);
        assert_eq!(r.served.as_deref(), Some("other"));
        assert_eq!((r.chain_valid, r.name_matches), (Some(false), Some(false)));
        assert_eq!(r.problems, ["chain", "name_mismatch", "not_delivered"], "{r:?}");

        // The delivered certificate without its intermediate.
        let (d, c) = step(&[right_name], s.incomplete.port, "none");
        let r = only(&run(d, c).await);
        assert_eq!((r.served.as_deref(), r.chain_valid), (Some("current"), Some(false)), "{r:?}");
        assert!(r.detail.as_deref().unwrap_or("").contains("incomplete chain"), "{r:?}");

        // TLS 1.0 and 1.1 accepted.
        let (d, c) = step(&[right_name], s.legacy.port, "none");
        let r = only(&run(d, c).await);
        assert!(r.tls_versions.starts_with(&["1.0".to_string(), "1.1".to_string()]), "{r:?}");
        assert_eq!(r.problems, ["legacy_tls"], "{r:?}");

        // TLS 1.0 and 1.1 alone: no chain to judge, the versions tell.
        let (d, c) = step(&[right_name], s.legacy_only.port, "none");
        let r = only(&run(d, c).await);
        assert_eq!(r.tls_versions, ["1.0", "1.1"], "{r:?}");
        assert_eq!(r.problems, ["legacy_tls", "no_modern_tls"], "{r:?}");

        // SMTP with STARTTLS, serving the delivered certificate.
        let (d, c) = step(&[smtp_name], s.smtp.port, "smtp");
        let r = only(&run(d, c).await);
        assert_eq!((r.outcome.as_str(), r.served.as_deref()), ("ok", Some("current")), "{r:?}");

        // A port that never answers, one nobody listens on, a failing DNS.
        let (d, c) = step(&[right_name], s.silent, "none");
        let r = only(&run(d, c).await);
        assert_eq!((r.outcome.as_str(), r.error_class.as_deref()), ("error", Some("timeout")), "{r:?}");
        let (d, c) = step(&[right_name], s.refused, "none");
        let r = only(&run(d, c).await);
        assert_eq!(r.error_class.as_deref(), Some("connect"), "{r:?}");
        let (d, c) = step(&["broken.example.test"], s.right.port, "none");
        let r = only(&run(d, c).await);
        assert_eq!(r.error_class.as_deref(), Some("dns"), "{r:?}");
        assert_eq!(told(&f).await, 9, "one message per change");

        // The delivered certificate, once expired, still served.
        let change = MonitorChange { hosts: Some(vec![right_name.into()]), ..Default::default() };
        let r = only(&run(400, change).await);
        assert!(r.problems.contains(&"expired".to_string()), "{r:?}");
        assert!(r.days_left.unwrap() < 0);
        assert_eq!(told(&f).await, 10);

        // The manager was told, in French and plain text.
        let sent = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(sent.contains("To: monitor@example.test"), "{sent}");
        assert!(!sent.contains("text/html"), "plain text only");
        assert!(sent.contains("Surveillance"), "French: {sent}");
        tdb.cleanup().await;
    }
}

/// The servers of the test.
struct Started {
    right: OpensslServer,
    other: OpensslServer,
    incomplete: OpensslServer,
    legacy: OpensslServer,
    legacy_only: OpensslServer,
    smtp: SmtpCatcher,
    silent: u16,
    refused: u16,
}

impl Started {
    /// Starts them with the delivered certificate (`leaf`, `chain`, `key`),
    /// or `None` when a peer is missing (after saying why).
    fn serve(dir: &std::path::Path, leaf: &str, chain: &str, key: &str, root: &str) -> Option<Started> {
        let (other_cert, other_key) = self_signed(dir, "other.example.test");
        let tls = LocalhostTls {
            ca: write(dir, "root.pem", root),
            cert: write(dir, "smtp-cert.pem", &format!("{leaf}{chain}")),
            key: write(dir, "smtp.key", key),
        };
        Some(Started {
            right: OpensslServer::start(dir, "right", leaf, key, Some(chain), Versions::Default)?,
            other: OpensslServer::start(dir, "other", &other_cert, &other_key, None, Versions::Default)?,
            incomplete: OpensslServer::start(dir, "incomplete", leaf, key, None, Versions::Default)?,
            legacy: OpensslServer::start(dir, "legacy", leaf, key, Some(chain), Versions::WithLegacy)?,
            legacy_only: OpensslServer::start(dir, "legacy-only", leaf, key, Some(chain), Versions::LegacyOnly)?,
            smtp: SmtpCatcher::start(&tls, &dir.join("mail"))?,
            silent: silent_port(),
            refused: free_port(),
        })
    }

    fn ports(&self) -> Vec<u16> {
        let servers = [&self.right, &self.other, &self.incomplete, &self.legacy, &self.legacy_only];
        let mut ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
        ports.extend([self.smtp.port, self.silent, self.refused]);
        ports
    }
}

fn write(dir: &std::path::Path, name: &str, pem: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_takes_over_the_monitor_of_the_order_it_renews() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        let worker = Worker::new(f.orders.clone(), "t");
        let first = f.orders.place(&f.op, &f.ssl1_for(&["www.example.test"])).await.unwrap().order;
        worker.drain().await.unwrap();
        let first = first.reference.unwrap();
        let change = MonitorChange { port: Some(993), starttls: Some("imap".into()), ..Default::default() };
        f.orders.set_monitor(&f.op, &first, &change).await.unwrap();
        f.orders.set_clock_offset(300 * DAY);
        let renewal = f.orders.renew(&f.op, &first, None, None, None).await.unwrap().order;
        worker.drain().await.unwrap();
        let renewal = renewal.reference.unwrap();
        let m = f.orders.monitor(&f.op, &renewal).await.unwrap();
        assert_eq!((m.port, m.starttls.as_str()), (993, "imap"), "the same settings");
        assert!(m.next_scan_at.is_some_and(|n| n <= f.orders.now()), "due at once for the new certificate");
        assert!(f.orders.monitor(&f.op, &first).await.is_err(), "the renewed order is not scanned any more");
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM monitors").await, 1);
        tdb.cleanup().await;
    }
}
