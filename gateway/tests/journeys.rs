//! The customer area's main journeys in a real browser (Debian's chromium,
//! headless, through chromedriver) against a running `certgate demo`: sign
//! in with what the demo printed; create an ACME URL and have certbot order
//! with the KID and HMAC key read off the page, then find its order in the
//! list; place orders with a pasted CSR, download the chain and check it
//! with `openssl verify`; switch automatic renewal on for two certificates;
//! read the statement and the consumption chart; add a user with the
//! billing right only, sign in as it, and see ordering refused.
//! Each page is also shot at 1280 px and at 390 px (a phone) into
//! `$CERTGATE_SCREENSHOTS` (default: the target's tmp directory), which
//! `docs/screenshots.sh` copies into `docs/`. Without chromium, chromedriver
//! or certbot the test says so and skips; under `CI=true` it fails.

use std::path::PathBuf;
use std::process::Command;

use certgate_tests::binary::Demo;
use certgate_tests::browser::{Browser, Screen};
use certgate_tests::{Key, csr, free_port, have_tool};

const BIN: &str = env!("CARGO_BIN_EXE_certgate");

/// Where the screenshots go.
fn shots() -> PathBuf {
    std::env::var_os("CERTGATE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"))
}

/// The portal user and password the demo printed.
fn demo_user(demo: &Demo) -> (String, String) {
    let line = demo.output.lines().find(|l| l.starts_with("XML-RPC API user:")).expect("a user line");
    let rest = line.trim_start_matches("XML-RPC API user:").trim();
    let (login, password) = rest.split_once("password:").expect("a password");
    (login.trim().to_string(), password.trim().to_string())
}

async fn sign_in(b: &Browser, base: &str, login: &str, password: &str) {
    b.goto(&format!("{base}/portal/sign-in")).await;
    b.fill("#login", login).await;
    b.fill("#password", password).await;
    b.click("form.sign-in button[type=submit]").await;
    b.wait_for_url(|u| u.ends_with("/portal/")).await;
    assert_eq!(b.text("h1").await, "Home", "signed in");
}

/// Waits until the order page at `path` shows `status`.
async fn wait_for_status(b: &Browser, url: &str, status: &str) {
    for _ in 0..50 {
        b.goto(url).await;
        if b.text("#status").await == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("{url} never showed {status}: {}", b.source().await)
}

/// Places an order through the new-order page with a pasted CSR; its page's URL.
async fn order_with_pasted_csr(b: &Browser, base: &str, name: &str) -> String {
    b.goto(&format!("{base}/portal/orders/new")).await;
    b.click("#product option[value=ssl1]").await;
    b.fill("#csr", &csr(&[name], Key::P256)).await;
    b.fill("#client_ref", &format!("journey {name}")).await;
    b.click("form.stacked button[type=submit]").await;
    assert_eq!(b.text("#payment").await, "Tokens", "the review shows the payment");
    assert!(b.text("#price").await.contains("ssl1"), "and the priced line");
    b.click("form[action='/portal/orders/new/confirm'] button").await;
    // The order's own page, once the confirmation's answer has been followed.
    let orders = format!("{base}/portal/orders/");
    let url = b.wait_for_url(|u| u.starts_with(&orders) && !u.ends_with("/new") && !u.ends_with("/confirm")).await;
    wait_for_status(b, &url, "delivered").await;
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_journeys_in_a_real_browser() {
    if !have_tool("certbot") || !have_tool("openssl") {
        return;
    }
    let Some(b) = Browser::start(Screen::Desktop).await else { return };
    let demo = Demo::start(BIN, &[], &[]);
    let base = format!("http://127.0.0.1:{}", demo.port);
    let (login, password) = demo_user(&demo);
    let dir = shots();

    // Sign in with what the demo printed.
    Box::pin(async {
        b.goto(&format!("{base}/portal/")).await;
        assert!(b.url().await.ends_with("/portal/sign-in"), "signed out, sent to sign in");
        b.screenshot(&dir.join("sign-in-1280.png")).await;
        sign_in(&b, &base, &login, &password).await;
        b.screenshot(&dir.join("home-1280.png")).await;
    })
    .await;

    // An ACME URL, and certbot ordering with the credentials read off the page.
    Box::pin(async {
        b.goto(&format!("{base}/portal/acme-urls")).await;
        b.fill("#name", "journey").await;
        b.click("#product option[value=ssl1]").await;
        b.click("form.stacked button[type=submit]").await;
        let (kid, hmac) = (b.text("#kid").await, b.text("#hmac").await);
        // The command shown, for another name, with its own directories and port.
        let shown = b.text("#certbot").await;
        assert!(shown.contains(&kid) && shown.contains(&hmac), "{shown}");
        let args: Vec<String> = shown.split_whitespace().skip(1).map(str::to_string).collect();
        let args: Vec<String> =
            args.into_iter().map(|a| a.replace("www.example.com", "acme-journey.example.test")).collect();
        let certbot_dir = demo.dir.path().join("journey-certbot");
        let out = Command::new("certbot")
            .args(&args)
            .args(["--http-01-port", &free_port().to_string()])
            .arg("--config-dir")
            .arg(&certbot_dir)
            .arg("--work-dir")
            .arg(&certbot_dir)
            .arg("--logs-dir")
            .arg(&certbot_dir)
            .output()
            .expect("certbot runs");
        assert!(out.status.success(), "certbot: {}", String::from_utf8_lossy(&out.stderr));
        b.goto(&format!("{base}/portal/acme-urls")).await;
        assert!(!b.source().await.contains(&hmac), "the HMAC key is never shown again");
        b.screenshot(&dir.join("acme-urls-1280.png")).await;
        // The URL's own page lists the order certbot made through it.
        b.click("tbody tr:last-child td:first-child a").await;
        b.wait_for_url(|u| u.contains("/portal/acme-urls/")).await;
        let row = b.wait_for_text("tbody tr", "acme-journey.example.test").await;
        assert!(row.contains("valid") && row.contains("delivered") && row.contains("DCACME-"), "{row}");
        b.screenshot(&dir.join("acme-url-1280.png")).await;
        b.goto(&format!("{base}/portal/orders?cn=acme-journey")).await;
        let row = b.text("tbody tr").await;
        assert!(row.contains("acme-journey.example.test") && row.contains("delivered"), "{row}");
        b.screenshot(&dir.join("orders-1280.png")).await;
    })
    .await;

    // Two orders with a pasted CSR; the first one's chain, downloaded, verifies.
    let (first, second) = Box::pin(async {
        b.goto(&format!("{base}/portal/orders/new")).await;
        b.screenshot(&dir.join("new-order-1280.png")).await;
        let first = order_with_pasted_csr(&b, &base, "shop.example.test").await;
        b.screenshot(&dir.join("order-1280.png")).await;
        b.click("a.download[href$='/pem_chain']").await;
        let chain = std::fs::read_to_string(b.downloaded(".chain.pem").await).unwrap();
        let root = std::fs::read_to_string(demo.root()).unwrap();
        let (leaf, rest) = chain.split_at(chain.find("-----END CERTIFICATE-----").unwrap() + 26);
        certgate_tests::openssl_verify(&root, rest, leaf).expect("the downloaded chain verifies with openssl");
        let second = order_with_pasted_csr(&b, &base, "blog.example.test").await;
        (first, second)
    })
    .await;

    // Automatic renewal on for both, in one change.
    Box::pin(async {
        b.goto(&format!("{base}/portal/auto-renewal")).await;
        for url in [&first, &second] {
            let reference = url.rsplit('/').next().unwrap();
            b.click(&format!("input[name='order:{reference}']")).await;
        }
        b.click("button[name=switch][value=on]").await;
        // The page comes back with a renewal date in place of "manual".
        for _ in 0..50 {
            if !b.text("tbody").await.contains("manual") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let on = b.count("td.renews").await;
        assert_eq!(on, 2, "both listed");
        for url in [&first, &second] {
            b.goto(url).await;
            assert!(b.source().await.contains("value=\"auto_renew_off\""), "{url} renews itself");
        }
        b.goto(&format!("{base}/portal/auto-renewal")).await;
        assert!(!b.text("tbody").await.contains("manual"), "no certificate left manual");
        b.screenshot(&dir.join("auto-renewal-1280.png")).await;
    })
    .await;

    // The statement and the consumption chart: the demo's credit and three orders.
    Box::pin(async {
        b.goto(&format!("{base}/portal/account")).await;
        let statement = b.text("#statement-lines tbody").await;
        assert!(statement.contains("topup") && statement.matches("order").count() >= 3, "{statement}");
        b.screenshot(&dir.join("account-1280.png")).await;
        b.click("nav.tabs a[href='/portal/account/consumption']").await;
        b.find("svg.chart").await;
        assert_eq!(b.count("svg.chart").await, 1, "the chart is drawn");
        let month = b.text("#consumption-table tbody tr").await;
        assert!(month.contains("ssl1 3"), "three ssl1 orders this month: {month}");
        b.screenshot(&dir.join("consumption-1280.png")).await;
    })
    .await;

    // A user with the billing right only, added on the users page: it reads
    // the account, and ordering is refused.
    Box::pin(async {
        b.goto(&format!("{base}/portal/users")).await;
        b.fill("#new-login", "clerk").await;
        b.click("#new-kind option[value=web]").await;
        b.click("#new-billing").await;
        b.fill("#new-password", "clerk password 1").await;
        b.click("form[action='/portal/users'] button[type=submit]").await;
        b.wait_for_text("#users-table", "clerk").await;
        b.screenshot(&dir.join("users-1280.png")).await;
        b.click("form[action='/portal/sign-out'] button").await;
        sign_in(&b, &base, "clerk", "clerk password 1").await;
        b.goto(&format!("{base}/portal/account")).await;
        assert_eq!(b.count("#statement-lines").await, 1, "the billing right reads the statement");
        b.goto(&format!("{base}/portal/orders/new")).await;
        assert!(b.text("main").await.contains("lacks the right"), "ordering is refused");
        assert_eq!(b.count("#csr").await, 0, "no order form");
    })
    .await;

    // The same pages on a phone, 390 px wide: readable, and shot.
    Box::pin(async {
        let Some(phone) = Browser::start(Screen::Phone).await else { return };
        sign_in(&phone, &base, &login, &password).await;
        for (page, path) in [
            ("home", "/portal/".to_string()),
            ("orders", "/portal/orders".into()),
            ("order", first.trim_start_matches(&base).to_string()),
            ("new-order", "/portal/orders/new".into()),
            ("auto-renewal", "/portal/auto-renewal".into()),
            ("acme-urls", "/portal/acme-urls".into()),
            ("account", "/portal/account".into()),
            ("consumption", "/portal/account/consumption".into()),
            ("renewals", "/portal/account/renewals".into()),
            ("contacts", "/portal/account/contacts".into()),
            ("users", "/portal/users".into()),
            ("logs", "/portal/logs".into()),
            ("domains", "/portal/domains".into()),
        ] {
            phone.goto(&format!("{base}{path}")).await;
            assert_eq!(phone.count("main h1").await, 1, "{page} renders");
            phone.screenshot(&dir.join(format!("{page}-390.png"))).await;
        }
    })
    .await;
}
