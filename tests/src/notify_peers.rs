//! The real receivers of notifications that tests start on loopback: an
//! SMTP server (Debian's `python3-aiosmtpd`) that requires STARTTLS and
//! authentication and keeps every message it gets, and an HTTPS webhook
//! receiver (Python's standard library) that checks each signature and
//! answers 500 a chosen number of times before 200. Both use a certificate
//! for `localhost` from a test CA, and stop when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::{free_port, skipping};

/// A test CA and a certificate for `localhost` and 127.0.0.1 that it signed,
/// written as PEM files in a directory.
pub struct LocalhostTls {
    /// The CA's certificate (what clients trust).
    pub ca: PathBuf,
    /// The server's certificate.
    pub cert: PathBuf,
    /// The server's key.
    pub key: PathBuf,
}

impl LocalhostTls {
    /// Makes them in `dir`.
    pub fn new(dir: &Path) -> LocalhostTls {
        let (ca, cert, key) = crate::pebble::tls_material();
        let tls = LocalhostTls { ca: dir.join("peers-ca.pem"), cert: dir.join("peer.pem"), key: dir.join("peer.key") };
        for (path, pem) in [(&tls.ca, ca), (&tls.cert, cert), (&tls.key, key)] {
            std::fs::write(path, pem).expect("write TLS material");
        }
        tls
    }
}

/// A Python interpreter that can import `module`: Debian's (where its
/// `python3-*` packages go) or the one on the PATH. `None`, after saying
/// why, when neither can.
pub fn python_with(module: &str) -> Option<String> {
    for python in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(python).args(["-c", &format!("import {module}")]).output();
        if ok.is_ok_and(|o| o.status.success()) {
            return Some(python.to_string());
        }
    }
    skipping(&format!("no python3 can import {module} (.ci/run installs python3-{module})"));
    None
}

/// A peer process that prints `ready` once it listens, and stops when its
/// standard input closes or it is dropped.
struct Peer {
    child: Child,
    _out: BufReader<ChildStdout>,
}

impl Peer {
    fn start(python: &str, script: &str, env: &[(&str, String)]) -> Peer {
        let mut child = Command::new(python)
            .args(["-c", script])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a Python peer");
        let mut out = BufReader::new(child.stdout.take().expect("its output"));
        let mut line = String::new();
        out.read_line(&mut line).expect("its first line");
        assert_eq!(line.trim(), "ready", "the peer did not start");
        Peer { child, _out: out }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SMTP: &str = r#"
import os, ssl, sys, time, warnings
warnings.simplefilter("ignore")
import logging
logging.disable(logging.CRITICAL)
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
out = os.environ["OUT"]
class Keep:
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(out, "%d-%s.eml" % (time.time_ns(), envelope.rcpt_tos[0]))
        with open(name, "wb") as f:
            f.write(b"X-Authenticated: %s\r\n" % (session.authenticated and b"yes" or b"no"))
            f.write(b"X-Tls: %s\r\n" % (session.ssl is not None and b"yes" or b"no"))
            f.write(envelope.original_content)
        return "250 kept"
def check(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"certgate" and data.password == os.environ["PASSWORD"].encode()
    return AuthResult(success=ok)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(os.environ["CERT"], os.environ["KEY"])
c = Controller(Keep(), hostname="127.0.0.1", port=int(os.environ["PORT"]), tls_context=ctx,
               require_starttls=True, authenticator=check, auth_required=True, auth_require_tls=True)
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"#;

/// An SMTP server on loopback that requires STARTTLS and the login
/// `certgate` with [`SmtpCatcher::PASSWORD`], and writes each message it
/// accepts to a file (with whether the session was authenticated and
/// encrypted).
pub struct SmtpCatcher {
    _peer: Peer,
    /// Its port.
    pub port: u16,
    dir: PathBuf,
}

impl SmtpCatcher {
    /// The password it accepts.
    pub const PASSWORD: &'static str = "smtp password 1";

    /// Starts one keeping messages in `dir`, or `None` (after saying why)
    /// without aiosmtpd.
    pub fn start(tls: &LocalhostTls, dir: &Path) -> Option<SmtpCatcher> {
        let python = python_with("aiosmtpd")?;
        let port = free_port();
        std::fs::create_dir_all(dir).expect("mail dir");
        let env = [
            ("OUT", dir.display().to_string()),
            ("PORT", port.to_string()),
            ("CERT", tls.cert.display().to_string()),
            ("KEY", tls.key.display().to_string()),
            ("PASSWORD", SmtpCatcher::PASSWORD.to_string()),
        ];
        Some(SmtpCatcher { _peer: Peer::start(&python, SMTP, &env), port, dir: dir.to_path_buf() })
    }

    /// The URL certgate sends through.
    pub fn url(&self) -> String {
        format!("smtp://certgate:{}@localhost:{}", SmtpCatcher::PASSWORD.replace(' ', "%20"), self.port)
    }

    /// The messages received so far, oldest first, as text.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(&self.dir).expect("mail dir").filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        names.iter().map(|n| std::fs::read_to_string(n).expect("a message")).collect()
    }
}

const RECEIVER: &str = r#"
import hashlib, hmac, http.server, json, os, ssl, sys, threading
failures = int(os.environ["FAILURES"])
log = os.environ["LOG"]
seen = [0]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ts = self.headers.get("certgate-timestamp", "")
        want = "v1=" + hmac.new(os.environ["SECRET"].encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(want, self.headers.get("certgate-signature", ""))
        seen[0] += 1
        status = 500 if seen[0] <= failures else (200 if valid else 401)
        with open(log, "a") as f:
            f.write(json.dumps({"id": self.headers.get("certgate-event-id"), "valid": valid, "status": status,
                                "body": json.loads(body)}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Hook)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(os.environ["CERT"], os.environ["KEY"])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"#;

/// An HTTPS webhook receiver on loopback that checks each request's
/// signature with the secret it is given, answers 500 to the first
/// `failures` requests, then 200 to those signed right (401 otherwise),
/// and logs every request.
pub struct WebhookReceiver {
    _peer: Peer,
    /// Its port.
    pub port: u16,
    log: PathBuf,
}

/// One request a [`WebhookReceiver`] got.
#[derive(Clone, Debug)]
pub struct Received {
    /// The `certgate-event-id` header.
    pub id: String,
    /// Whether its signature was right.
    pub valid: bool,
    /// What the receiver answered.
    pub status: u16,
    /// The JSON it carried.
    pub body: serde_json::Value,
}

impl WebhookReceiver {
    /// Starts one on `port` (see [`WebhookReceiver::url_on`]), or `None`
    /// (after saying why) without python3.
    pub fn start(tls: &LocalhostTls, dir: &Path, secret: &str, failures: u32, port: u16) -> Option<WebhookReceiver> {
        if !crate::have_tool("python3") {
            return None;
        }
        let log = dir.join(format!("webhook-{port}.log"));
        let env = [
            ("PORT", port.to_string()),
            ("CERT", tls.cert.display().to_string()),
            ("KEY", tls.key.display().to_string()),
            ("SECRET", secret.to_string()),
            ("FAILURES", failures.to_string()),
            ("LOG", log.display().to_string()),
        ];
        Some(WebhookReceiver { _peer: Peer::start("python3", RECEIVER, &env), port, log })
    }

    /// The URL of a receiver on `port`, to register before it starts (its
    /// secret comes with the registration).
    pub fn url_on(port: u16) -> String {
        format!("https://localhost:{port}/hook")
    }

    /// The requests received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a logged request");
                Received {
                    id: v["id"].as_str().unwrap_or_default().to_string(),
                    valid: v["valid"].as_bool().unwrap_or(false),
                    status: v["status"].as_u64().unwrap_or(0) as u16,
                    body: v["body"].clone(),
                }
            })
            .collect()
    }
}
