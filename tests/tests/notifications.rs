//! Notifications reach real receivers: an SMTP server that requires
//! STARTTLS and authentication (aiosmtpd), in each contact's language with
//! the certificate attached, and an HTTPS webhook receiver that checks the
//! signature and fails twice before it accepts, so that the event is
//! retried and accepted once. Expiry notices go out once each; a balance
//! below its warning level is told once per crossing.

use certgate_tests::notify_peers::{LocalhostTls, SmtpCatcher, WebhookReceiver};
use certgate_tests::{Fixture, TestDb, free_port, scalar};
use orders::{Formula, Ledger, Settings, Worker};

const DAY: i64 = 86_400;

/// Moves the order core's clock to `at`.
fn set_now(f: &Fixture, at: i64) {
    f.orders.set_clock_offset(at - time::OffsetDateTime::now_utc().unix_timestamp());
}

async fn delivered(f: &Fixture, names: &[&str]) -> (String, i64) {
    let o = f.orders.place(&f.op, &f.ssl1_for(names)).await.unwrap().order;
    Worker::new(f.orders.clone(), "t").drain().await.unwrap();
    let reference = o.reference.unwrap();
    let cert = f.orders.certificates(&f.op, &reference).await.unwrap().remove(0);
    (reference, cert.not_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_reaches_smtp_in_each_language_and_a_failing_webhook_once() {
    for tdb in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let tls = LocalhostTls::new(dir.path());
        let Some(smtp) = SmtpCatcher::start(&tls, &dir.path().join("mail")) else { return };
        let f =
            Fixture::with_settings(&tdb, Formula::Bulk, Settings { notify_retry_secs: 10, ..Default::default() }).await;
        let settings = notify::Settings {
            smtp_url: Some(smtp.url()),
            smtp_ca_file: Some(tls.ca.clone()),
            webhook_ca_file: Some(tls.ca.clone()),
            allow_private_webhooks: true,
            from: "certgate <noreply@example.test>".into(),
            ..Default::default()
        };
        f.orders.set_notifier(notify::Notifier::new(&settings).unwrap());
        f.orders.set_contact(&f.op, "generic", "ops@example.test", "en").await.unwrap();
        f.orders.set_contact(&f.op, "delivery", "tech@example.test", "fr").await.unwrap();
        f.orders.set_contact(&f.op, "accounting", "billing@example.test", "fr").await.unwrap();
        let port = free_port();
        let hook = f.orders.create_webhook(&f.op, &WebhookReceiver::url_on(port)).await.unwrap();
        let Some(receiver) = WebhookReceiver::start(&tls, dir.path(), &hook.secret, 2, port) else { return };
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();

        let (reference, _) = delivered(&f, &["www.example.test"]).await;
        // The webhook failed twice; each retry comes after its back-off.
        let worker = Worker::new(f.orders.clone(), "t");
        for hour in 1..=5 {
            if receiver.received().iter().any(|r| r.status == 200) {
                break;
            }
            set_now(&f, time::OffsetDateTime::now_utc().unix_timestamp() + hour * 3600);
            worker.drain().await.unwrap();
        }
        let got = receiver.received();
        assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 500, 200], "{}: {got:?}", tdb.backend);
        assert!(got.iter().all(|r| r.valid && r.id == got[0].id), "one event, signed right: {got:?}");
        assert_eq!(got[0].body["type"], "order.delivered");
        assert_eq!(got[0].body["id"], got[0].id.as_str());
        assert_eq!(got[0].body["data"]["reference"], reference.as_str());

        let mail = smtp.messages();
        assert_eq!(mail.len(), 2, "the generic and delivery contacts, not accounting: {mail:?}");
        let to = |who: &str| mail.iter().find(|m| m.contains(&format!("To: {who}"))).unwrap_or_else(|| panic!("{who}"));
        let (ops, tech) = (to("ops@example.test"), to("tech@example.test"));
        for m in [ops, tech] {
            assert!(m.starts_with("X-Authenticated: yes\r\nX-Tls: yes\r\n"), "over STARTTLS, logged in: {m}");
            assert!(m.contains("multipart/alternative") && m.contains("text/html"), "text and HTML parts");
            assert!(m.contains("Content-Disposition: attachment; filename=\"www.example.test.pem\""), "{m}");
        }
        assert!(ops.contains("Subject: Certificate delivered: www.example.test") && ops.contains("Hello,"));
        assert!(tech.contains("Bonjour,") && !tech.contains("Hello,"), "in French: {tech}");

        // Nothing is delivered twice.
        set_now(&f, time::OffsetDateTime::now_utc().unix_timestamp() + 6 * 3600);
        worker.drain().await.unwrap();
        assert_eq!((receiver.received().len(), smtp.messages().len()), (3, 2));
        let listed = f.orders.deliveries(&f.op, None, 10).await.unwrap();
        let state: Vec<_> = listed.iter().map(|d| (d.channel.as_str(), d.state.as_str(), d.attempts)).collect();
        assert!(state.contains(&("webhook", "done", 3)), "{state:?}");
        assert_eq!(state.iter().filter(|s| **s == ("email", "done", 1)).count(), 2, "{state:?}");
        let hook_only = f.orders.deliveries(&f.op, Some(hook.webhook.id), 10).await.unwrap();
        assert_eq!(hook_only.len(), 1);
        assert_eq!(hook_only[0].last_status.as_deref(), Some("HTTP 200"));
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn expiry_notices_go_out_once_each_and_low_balances_are_told_once_per_crossing() {
    for tdb in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mail.log");
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let settings = notify::Settings { log_file: Some(log.clone()), ..Default::default() };
        f.orders.set_notifier(notify::Notifier::new(&settings).unwrap());
        f.orders.set_contact(&f.op, "generic", "ops@example.test", "en").await.unwrap();
        f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
        f.orders.set_warning_level(&f.op, Ledger::Tokens, Some("ssl1"), 2).await.unwrap();

        let (manual, not_after) = delivered(&f, &["www.example.test"]).await;
        let (auto, _) = delivered(&f, &["api.example.test"]).await;
        f.orders.set_auto_renew(&f.op, std::slice::from_ref(&auto), true).await.unwrap();
        let low = "SELECT COUNT(*) FROM events WHERE kind = 'balance.low'";
        assert_eq!(scalar(&f.db, low).await, 1, "3 -> 2 is not below 2; 2 -> 1 is, once");

        let worker = Worker::new(f.orders.clone(), "sweeper");
        let expiring = "SELECT COUNT(*) FROM events WHERE kind = 'certificate.expiring'";
        for (days_left, notices) in [(31, 0), (29, 1), (28, 1), (14, 2), (13, 2), (6, 3), (1, 3)] {
            set_now(&f, not_after - days_left * DAY);
            worker.schedule_sweep().await.unwrap();
            worker.drain().await.unwrap();
            assert_eq!(scalar(&f.db, expiring).await, notices, "{days_left} days left ({})", tdb.backend);
        }
        let sent = std::fs::read_to_string(&log).unwrap();
        let subjects: Vec<&str> = sent.lines().filter(|l| l.starts_with("Subject: Certificate for")).collect();
        assert_eq!(subjects.len(), 3, "{subjects:?}");
        assert!(subjects.iter().all(|s| s.contains("www.example.test")), "not the one renewing automatically");
        assert!(sent.contains("Subject: Your prepaid balance is running out: ssl1"));
        let _ = manual;
        tdb.cleanup().await;
    }
}
