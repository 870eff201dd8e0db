//! HTTPS on `serve`, checked with real clients: curl over HTTP/2 and
//! HTTP/1.1, openssl for the certificate served after a reload (SIGHUP, or
//! the files changing), and a raw TLS client for requests in flight at
//! SIGTERM. certbot against `demo --tls` is in `clients.rs`. Without curl or
//! openssl these tests say so and skip, except under `CI=true`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use certgate_tests::{free_port, have_tool};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SerialNumber};

const BIN: &str = env!("CARGO_BIN_EXE_certgate");
const SECRET: &str = "tls-test-secret-key-0123456789";

/// A test CA and the files `[tls]` points at.
struct Pki {
    dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "certgate TLS test root");
        let root = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("root.pem"), root.pem()).unwrap();
        Pki { dir, issuer: Issuer::new(params, key) }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a certificate for localhost and 127.0.0.1 with serial `tag tag`
    /// (openssl prints it as four hex digits) and its key; returns the key PEM.
    fn write_cert(&self, tag: u8) -> String {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.serial_number = Some(SerialNumber::from_slice(&[tag, tag]));
        params.distinguished_name.push(DnType::CommonName, format!("localhost {tag:02x}"));
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        std::fs::write(self.path("cert.pem"), cert.pem()).unwrap();
        std::fs::write(self.path("key.pem"), key.serialize_pem()).unwrap();
        key.serialize_pem()
    }

    /// The serial of the certificate the server presents, as openssl prints it.
    fn served_serial(&self, port: u16) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl s_client -connect 127.0.0.1:{port} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"
            ))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn wait_for_serial(&self, port: u16, tag: u8) {
        let want = format!("serial={tag:02X}{tag:02X}");
        let start = Instant::now();
        while self.served_serial(port) != want {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "still serving {}, not {want}",
                self.served_serial(port)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `certgate` with this PKI's files in `[tls]` and a database of its own.
    fn certgate(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env("CERTGATE_SECRET_KEY", SECRET)
            .env("CERTGATE_DATA_DIR", self.dir.path())
            .env("CERTGATE_TLS__CERT_FILE", self.path("cert.pem"))
            .env("CERTGATE_TLS__KEY_FILE", self.path("key.pem"))
            .env_remove("CERTGATE_CONFIG")
            .env_remove("CERTGATE_LISTEN")
            .env_remove("CERTGATE_DATABASE_URL")
            .args(args);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.certgate(args).env("CERTGATE_TLS__LISTEN", "127.0.0.1:9").output().unwrap();
        assert!(out.status.success(), "certgate {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn curl(&self, args: &[&str], url: &str) -> std::process::Output {
        Command::new("curl")
            .args(["-sS", "--max-time", "10", "--cacert"])
            .arg(self.path("root.pem"))
            .args(args)
            .arg(url)
            .output()
            .unwrap()
    }
}

/// A running `certgate serve`, killed if a test fails before stopping it.
struct Serve(Option<Child>);

impl Serve {
    fn start(pki: &Pki, https_port: u16, env: &[(&str, String)]) -> Serve {
        let child = pki
            .certgate(&["serve"])
            .env("CERTGATE_TLS__LISTEN", format!("127.0.0.1:{https_port}"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut serve = Serve(Some(child));
        let start = Instant::now();
        let url = format!("https://localhost:{https_port}/healthz");
        while !pki.curl(&[], &url).status.success() {
            assert!(start.elapsed() < Duration::from_secs(30), "certgate did not answer over HTTPS");
            if let Some(status) = serve.child().try_wait().unwrap() {
                panic!("certgate exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        serve
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }

    fn signal(&mut self, name: &str) {
        let pid = self.child().id().to_string();
        assert!(Command::new("kill").args([name, &pid]).status().unwrap().success());
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let status = certgate_tests::binary::stop(self.child(), Duration::from_secs(20));
        status.expect("certgate did not stop on SIGTERM")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn have_all(tools: &[&str]) -> bool {
    tools.iter().all(|t| have_tool(t))
}

/// An ACME URL in the test database; returns its directory path.
fn acme_url(pki: &Pki) -> String {
    pki.ok(&["migrate"]);
    let account = pki.ok(&["account", "create", "--name", "Hoster", "--formula", "bulk"]).trim().to_string();
    let org = pki.ok(&["org", "create", "--account", &account, "--name", "Example Org"]).trim().to_string();
    let prices = pki.path("prices.csv");
    std::fs::write(&prices, certgate_tests::TEST_PRICES).unwrap();
    pki.ok(&["product", "import", "--file", prices.to_str().unwrap()]);
    let created = pki.ok(&["acme-url", "create", "--account", &account, "--product", "ssl1", "--org", &org]);
    let directory = certgate_tests::binary::field(&created, "directory:").unwrap();
    let start = directory.find("/acme/").unwrap();
    directory[start..].to_string()
}

const LIST_METHODS: &str = "<methodCall><methodName>system.listMethods</methodName></methodCall>";

/// Sends a request's head and the first half of its body; the rest is sent
/// by [`finish`], so the request is in flight in between.
fn start_request(stream: &mut impl Write) {
    let head = format!(
        "POST /xmlrpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        LIST_METHODS.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&LIST_METHODS.as_bytes()[..20]).unwrap();
    stream.flush().unwrap();
}

fn finish(stream: &mut (impl Read + Write)) -> String {
    stream.write_all(&LIST_METHODS.as_bytes()[20..]).unwrap();
    stream.flush().unwrap();
    let mut answer = Vec::new();
    // The server closes the connection once it has answered: it is draining.
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn tls_client(pki: &Pki, port: u16) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(pki.path("root.pem")).unwrap();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn https_and_http_side_by_side_with_sighup_reload_and_draining_stop() {
    if !have_all(&["curl", "openssl"]) {
        return;
    }
    let pki = Pki::new();
    pki.write_cert(0x11);
    let dir_path = acme_url(&pki);
    let (https_port, http_port) = (free_port(), free_port());
    let mut serve = Serve::start(
        &pki,
        https_port,
        &[("CERTGATE_LISTEN", format!("127.0.0.1:{http_port}")), ("CERTGATE_TLS__RELOAD_SECS", "0".into())],
    );
    let https = format!("https://localhost:{https_port}");

    // ALPN offers h2 and http/1.1: curl gets whichever it asks for.
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out = pki.curl(&[flag, "-w", "\n%{http_version}"], &format!("{https}/healthz"));
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("ok\n{version}"), "{flag}: {out:?}");
    }

    // The ACME front builds https URLs over TLS, whatever a client claims in
    // headers, and http ones on the plain listener. Over HTTP/2 the host
    // (with its port) comes from :authority, as there is no Host header.
    let out = pki.curl(&["--http2", "-H", "X-Forwarded-Proto: http"], &format!("{https}{dir_path}"));
    let directory = String::from_utf8_lossy(&out.stdout);
    assert!(directory.contains(&format!("\"newNonce\":\"https://localhost:{https_port}/acme/")), "{directory}");
    let out = Command::new("curl")
        .args(["-sS", "-H", "X-Forwarded-Proto: https", &format!("http://127.0.0.1:{http_port}{dir_path}")])
        .output()
        .unwrap();
    let directory = String::from_utf8_lossy(&out.stdout);
    assert!(directory.contains(&format!("\"newNonce\":\"http://127.0.0.1:{http_port}/acme/")), "{directory}");

    // XML-RPC takes the client's address from ConnectInfo: it answers over TLS.
    let out =
        pki.curl(&["--http2", "-H", "Content-Type: text/xml", "--data", LIST_METHODS], &format!("{https}/xmlrpc"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("<string>achat</string>"), "{out:?}");

    // New files are not read until SIGHUP (polling is off here).
    pki.wait_for_serial(https_port, 0x11);
    let old_key = pki.write_cert(0x22);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pki.served_serial(https_port), "serial=1111");
    serve.signal("-HUP");
    pki.wait_for_serial(https_port, 0x22);

    // A broken certificate file, then a key that is not the certificate's:
    // each is refused and the last good certificate stays.
    std::fs::write(pki.path("cert.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    serve.signal("-HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pki.served_serial(https_port), "serial=2222");
    pki.write_cert(0x33);
    std::fs::write(pki.path("key.pem"), old_key).unwrap();
    serve.signal("-HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pki.served_serial(https_port), "serial=2222");
    assert!(pki.curl(&[], &format!("{https}/healthz")).status.success(), "still serving after a SIGHUP");

    // SIGTERM lets requests already in flight on both listeners finish. The
    // TLS one finishes last, so the process is alive only if its listener drains.
    let mut over_tls = tls_client(&pki, https_port);
    start_request(&mut over_tls);
    let mut plain = TcpStream::connect(("127.0.0.1", http_port)).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    start_request(&mut plain);
    std::thread::sleep(Duration::from_millis(300));
    serve.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    let plain_answer = finish(&mut plain);
    std::thread::sleep(Duration::from_millis(300));
    for (name, answer) in [("http", plain_answer), ("https", finish(&mut over_tls))] {
        assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("<string>achat</string>"), "{name}: {answer}");
    }
    assert!(serve.terminate().success(), "serve must exit 0 on SIGTERM");
}

#[test]
fn https_alone_follows_its_files_and_keeps_the_last_good_certificate() {
    if !have_all(&["curl", "openssl"]) {
        return;
    }
    let pki = Pki::new();
    pki.write_cert(0x44);
    let https_port = free_port();
    // No `listen`: with `[tls]` set, HTTPS is served alone.
    let serve = Serve::start(&pki, https_port, &[("CERTGATE_TLS__RELOAD_SECS", "1".into())]);
    pki.wait_for_serial(https_port, 0x44);
    pki.write_cert(0x55);
    pki.wait_for_serial(https_port, 0x55);
    std::fs::write(pki.path("key.pem"), "not a key").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(pki.served_serial(https_port), "serial=5555", "a broken key keeps the last good certificate");
    pki.write_cert(0x66);
    pki.wait_for_serial(https_port, 0x66);
    assert!(serve.terminate().success(), "serve must exit 0 on SIGTERM");
}

#[test]
fn check_config_refuses_unusable_tls_files() {
    let pki = Pki::new();
    let key = pki.write_cert(0x77);
    let check =
        |pki: &Pki| pki.certgate(&["check-config"]).env("CERTGATE_TLS__LISTEN", "127.0.0.1:9").output().unwrap();
    assert!(check(&pki).status.success());
    pki.write_cert(0x78);
    std::fs::write(pki.path("key.pem"), key).unwrap();
    let out = check(&pki);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("key.pem"), "{out:?}");
}
