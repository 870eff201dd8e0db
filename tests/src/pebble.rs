//! Pebble (Debian's `pebble` package), Let's Encrypt's ACME test CA, as a
//! real upstream CA on loopback: External Account Binding required and
//! `PEBBLE_VA_ALWAYS_VALID`, so its authorizations pass as if the domains
//! were pre-validated at the CA. It keeps everything in memory and stops
//! when dropped. Its TLS certificate comes from a root minted here, since
//! the Debian package ships without pebble's test certificates.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use std::sync::Arc;

use orders::{Caller, Formula, Settings};
use upstream::{AcmeSettings, AcmeUpstream, PendingAuthorizations, Upstream};

use crate::{Fixture, TEST_SECRET, TestDb, free_port, have_tool, new_org, order_core_with};

/// A price list whose product `pb1` (and its SAN item `sanpb1`) is sold by
/// the upstream called `pebble`.
pub const PEBBLE_PRICES: &str = "\
Range,Code,Product,Validity (year),New order and renewal,Additional SAN,additional SAN Wildcard,Validation,Wildcard,Max SANs,SAN code,Wildcard SAN code,Renewal code,Renewal price,Upstream
Brand,pb1,Pebble OV 1 year,1,10.00,5.00,-,OV,no,3,sanpb1,,,,pebble
";

/// The connector called `pebble` over the test database.
pub fn pebble_connector(tdb: &TestDb, settings: AcmeSettings) -> Arc<dyn Upstream> {
    let key = storage::sealed::SecretKey::from_secret(TEST_SECRET);
    Arc::new(AcmeUpstream::new("pebble", settings, tdb.db.clone(), key).expect("connector"))
}

impl Fixture {
    /// An order core whose product `pb1` is bought through `settings` (at
    /// pebble), and a Bulk account holding `tokens` of it and one SAN token.
    pub async fn with_pebble(tdb: &TestDb, settings: AcmeSettings, tokens: i64) -> Fixture {
        let orders = order_core_with(&tdb.db, Settings::default(), vec![pebble_connector(tdb, settings)]).await;
        let account = orders.create_account("Pebble customer", Formula::Bulk, "EUR", false, 0).await.expect("account");
        let op = Caller::operator(account);
        orders.import_prices(&op, PEBBLE_PRICES, None).await.expect("import");
        let org = new_org(&orders, &op).await;
        orders.credit_tokens(&op, "pb1", tokens, "").await.expect("tokens");
        orders.credit_tokens(&op, "sanpb1", 1, "").await.expect("SAN token");
        Fixture { orders, op, account, org, db: tdb.db.clone() }
    }
}

/// The EAB key ID pebble accepts.
pub const PEBBLE_EAB_KID: &str = "certgate-test-kid";
/// The EAB HMAC key pebble accepts (32 bytes, base64url).
pub const PEBBLE_EAB_HMAC: &str = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wI";

/// A running pebble.
pub struct Pebble {
    child: Child,
    opts: PebbleOptions,
    dir: tempfile::TempDir,
    /// Its ACME directory URL.
    pub directory_url: String,
    /// Its management interface (roots, certificate status).
    pub management_url: String,
    /// The root its TLS certificate chains to.
    pub ca_bundle: PathBuf,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        // A frozen process ignores SIGTERM until thawed; SIGKILL does not wait.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Options for starting pebble.
#[derive(Clone, Copy, Default)]
pub struct PebbleOptions {
    /// Percentage of good nonces pebble rejects as bad (`PEBBLE_WFE_NONCEREJECT`).
    pub nonce_reject: u8,
}

impl Pebble {
    /// Starts pebble, or returns `None` (after saying why) when it is not installed.
    pub fn start(opts: PebbleOptions) -> Option<Pebble> {
        if !have_tool("pebble") || !have_tool("curl") {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (root_pem, cert_pem, key_pem) = tls_material();
        let path = |f: &str| dir.path().join(f);
        std::fs::write(path("root.pem"), &root_pem).expect("write root");
        std::fs::write(path("cert.pem"), &cert_pem).expect("write cert");
        std::fs::write(path("key.pem"), &key_pem).expect("write key");
        let (port, mgmt) = (free_port(), free_port());
        let config = format!(
            r#"{{"pebble": {{"listenAddress": "127.0.0.1:{port}", "managementListenAddress": "127.0.0.1:{mgmt}",
            "certificate": "{cert}", "privateKey": "{key}", "httpPort": {hp}, "tlsPort": {tp},
            "ocspResponderURL": "", "externalAccountBindingRequired": true,
            "externalAccountMACKeys": {{"{PEBBLE_EAB_KID}": "{PEBBLE_EAB_HMAC}"}}}}}}"#,
            cert = path("cert.pem").display(),
            key = path("key.pem").display(),
            hp = free_port(),
            tp = free_port(),
        );
        std::fs::write(path("pebble.json"), config).expect("write config");
        let child = spawn(dir.path(), opts);
        let mut pebble = Pebble {
            child,
            opts,
            directory_url: format!("https://127.0.0.1:{port}/dir"),
            management_url: format!("https://127.0.0.1:{mgmt}"),
            ca_bundle: path("root.pem"),
            dir,
        };
        pebble.wait_ready();
        Some(pebble)
    }

    fn wait_ready(&mut self) {
        for _ in 0..100 {
            if self.curl(&self.directory_url).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("pebble did not start: {}", self.log());
    }

    /// Restarts pebble on the same ports: it forgets every account, order and
    /// certificate, and issues from a new CA, as a reset test CA does.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.dir.path(), self.opts);
        self.wait_ready();
    }

    /// Connector settings for this pebble: its EAB key and TLS root, pending
    /// authorizations triggered (pebble validates them all), short timeouts.
    pub fn upstream_settings(&self) -> AcmeSettings {
        AcmeSettings {
            eab_kid: Some(PEBBLE_EAB_KID.into()),
            eab_hmac: Some(PEBBLE_EAB_HMAC.into()),
            ca_bundle: Some(self.ca_bundle.clone()),
            request_timeout_secs: 2,
            attempt_secs: 10,
            step_retries: 6,
            deadline_secs: 120,
            pending_authorizations: PendingAuthorizations::Trigger,
            ..AcmeSettings::new(&self.directory_url)
        }
    }

    /// Pebble's process id (for CPU accounting and signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What pebble logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// Freezes pebble (SIGSTOP): connections are accepted by the kernel and never answered.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Thaws a frozen pebble (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -{sig} pebble");
    }

    /// The root that pebble's issued chains lead to, from its management interface.
    pub fn issuer_root(&self) -> String {
        self.curl(&format!("{}/roots/0", self.management_url)).expect("pebble root")
    }

    /// "Valid" or "Revoked", as pebble's management interface says of the serial (hex).
    pub fn cert_status(&self, serial_hex: &str) -> String {
        let serial = serial_hex.trim_start_matches('0');
        let body = self.curl(&format!("{}/cert-status-by-serial/{serial}", self.management_url)).expect("cert status");
        let v: serde_json::Value = serde_json::from_str(&body).expect("status JSON");
        v["Status"].as_str().unwrap_or_default().to_string()
    }

    /// The URLs of the (not invalid) orders of the account whose instant-acme
    /// credentials JSON is `credentials`, from the account's orders list.
    pub fn account_orders(&self, credentials: &str) -> Vec<String> {
        let creds: serde_json::Value = serde_json::from_str(credentials).expect("credentials JSON");
        let kid = creds["id"].as_str().expect("account URL").to_string();
        let pkcs8 = URL_SAFE_NO_PAD.decode(creds["key_pkcs8"].as_str().expect("key")).expect("key base64");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).expect("account key");
        let dir: serde_json::Value = serde_json::from_str(&self.curl(&self.directory_url).expect("directory")).unwrap();
        let head = self.curl_args(&["-I", dir["newNonce"].as_str().expect("newNonce")]).expect("nonce");
        let mut nonce = header(&head, "replay-nonce").expect("Replay-Nonce");
        let account = self.post_as_get(&key, &kid, &kid, &mut nonce);
        let mut next = account.0["orders"].as_str().map(String::from);
        let mut urls = Vec::new();
        // Pebble pages the list (3 orders a page), linking the next page.
        while let Some(url) = next {
            let (page, link) = self.post_as_get(&key, &kid, &url, &mut nonce);
            urls.extend(page["orders"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(String::from)));
            next = link;
        }
        urls
    }

    /// A signed POST-as-GET with `nonce`, which it replaces with the answer's
    /// fresh one; returns the JSON body and the `rel="next"` link.
    fn post_as_get(
        &self,
        key: &EcdsaKeyPair,
        kid: &str,
        url: &str,
        nonce: &mut String,
    ) -> (serde_json::Value, Option<String>) {
        let protected = serde_json::json!({"alg": "ES256", "kid": kid, "nonce": nonce, "url": url}).to_string();
        let protected = URL_SAFE_NO_PAD.encode(protected);
        let sig = key.sign(&SystemRandom::new(), format!("{protected}.").as_bytes()).expect("sign");
        let jws = serde_json::json!({"protected": protected, "payload": "", "signature": URL_SAFE_NO_PAD.encode(sig)});
        let out = self
            .curl_args(&["-i", "-H", "Content-Type: application/jose+json", "--data-binary", &jws.to_string(), url])
            .expect("POST-as-GET");
        let (head, body) = out.split_once("\r\n\r\n").expect("an HTTP answer");
        *nonce = header(head, "replay-nonce").expect("a fresh Replay-Nonce");
        let next = head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("link:") && l.contains("rel=\"next\""))
            .find_map(|l| Some(l.split_once('<')?.1.split_once('>')?.0.to_string()));
        (serde_json::from_str(body).unwrap_or_else(|e| panic!("{url}: {e}: {out}")), next)
    }

    fn curl(&self, url: &str) -> Result<String, String> {
        self.curl_args(&["-f", url])
    }

    fn curl_args(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "10", "--cacert"])
            .arg(&self.ca_bundle)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("curl {args:?}: {}", out.status))
        }
    }
}

/// Starts pebble with the configuration written in `dir`, logging to `dir/pebble.log`.
fn spawn(dir: &std::path::Path, opts: PebbleOptions) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("pebble.log")).expect("log file");
    Command::new("pebble")
        .arg("-config")
        .arg(dir.join("pebble.json"))
        .args(["-dnsserver", "127.0.0.1:1"])
        .env("PEBBLE_VA_ALWAYS_VALID", "1")
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_WFE_NONCEREJECT", opts.nonce_reject.to_string())
        .env("PEBBLE_AUTHZREUSE", "0")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("start pebble")
}

/// The value of header `name` (lower case) in an HTTP head.
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().to_string())
    })
}

/// A TLS root, and a certificate for localhost and 127.0.0.1 that it signed,
/// with the certificate's key, all PEM.
pub(crate) fn tls_material() -> (String, String, String) {
    let root_key = KeyPair::generate().expect("root key");
    let mut root = CertificateParams::new(Vec::<String>::new()).expect("root params");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.distinguished_name.push(rcgen::DnType::CommonName, "certgate test pebble TLS root");
    let root_cert = root.self_signed(&root_key).expect("root");
    let issuer = Issuer::new(root, root_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("leaf params");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    (root_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}
