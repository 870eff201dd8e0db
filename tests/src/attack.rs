//! The denial-of-service attacks of the hardening tests and of `bench
//! hostile`, against a running `certgate serve` on a loopback port: a burst
//! of logins each on its own connection, slow and idle connections, and a
//! `/healthz` probe that times the gateway's answers meanwhile.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Probes `/healthz` on a new connection every 100 ms until stopped.
pub struct HealthProbe {
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Option<Duration>>>,
}

impl HealthProbe {
    /// Starts probing `port`.
    pub fn start(port: u16) -> HealthProbe {
        let done = Arc::new(AtomicBool::new(false));
        let stop = done.clone();
        let thread = std::thread::spawn(move || {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let ok = crate::binary::http_get(port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200"));
                answers.push(ok.then(|| start.elapsed()));
                std::thread::sleep(Duration::from_millis(100));
            }
            answers
        });
        HealthProbe { done, thread }
    }

    /// Stops probing; each probe's answer time, `None` for a failed one.
    pub fn stop(self) -> Vec<Option<Duration>> {
        self.done.store(true, Ordering::Relaxed);
        self.thread.join().expect("the health probe")
    }
}

/// Sends each request on its own connection, all at once, and reads each
/// answer until the server closes; `None` for one not answered within `within`.
pub fn all_at_once(port: u16, requests: &[String], within: Duration) -> Vec<Option<String>> {
    let mut conns: Vec<(Option<TcpStream>, Vec<u8>, bool)> = requests
        .iter()
        .map(|r| {
            let s = TcpStream::connect(("127.0.0.1", port))
                .ok()
                .filter(|mut s| s.write_all(r.as_bytes()).is_ok() && s.set_nonblocking(true).is_ok());
            let failed = s.is_none();
            (s, Vec::new(), failed)
        })
        .collect();
    let start = Instant::now();
    let mut buf = [0u8; 8192];
    while conns.iter().any(|c| !c.2) && start.elapsed() < within {
        for (s, got, done) in conns.iter_mut().filter(|c| !c.2) {
            let Some(s) = s else { continue };
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break *done = true,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => break *done = true,
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    conns
        .into_iter()
        .map(|(s, got, done)| (s.is_some() && done).then(|| String::from_utf8_lossy(&got).into_owned()))
        .collect()
}

/// An XML-RPC POST of `body`, on a connection the server closes after it.
pub fn xmlrpc_request(body: &str) -> String {
    format!(
        "POST /xmlrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The `identification` struct of `login` with a wrong password.
fn wrong_identification(login: &str) -> String {
    format!(
        "<value><struct><member><name>identification</name><value><struct>\
         <member><name>utilisateur</name><value><string>{login}</string></value></member>\
         <member><name>motDePasse</name><value><string>wrong password</string></value></member>\
         </struct></value></member></struct></value>"
    )
}

/// A `solde` call of `login` with a wrong password.
pub fn solde(login: &str) -> String {
    format!(
        "<methodCall><methodName>solde</methodName><params><param>{}</param></params></methodCall>",
        wrong_identification(login)
    )
}

/// A `system.multicall` of one `solde` per login, each with a wrong password.
pub fn multicall_solde<'a>(logins: impl IntoIterator<Item = &'a str>) -> String {
    let calls: String = logins
        .into_iter()
        .map(|login| {
            format!(
                "<value><struct><member><name>methodName</name><value><string>solde</string></value></member>\
                 <member><name>params</name><value><array><data>{}</data></array></value></member></struct></value>",
                wrong_identification(login)
            )
        })
        .collect();
    format!(
        "<methodCall><methodName>system.multicall</methodName><params><param><value><array><data>{calls}\
         </data></array></value></param></params></methodCall>"
    )
}

/// The fault codes in an XML-RPC answer, in order.
pub fn fault_codes(answer: &str) -> Vec<i64> {
    answer
        .match_indices("<name>faultCode</name><value><int>")
        .filter_map(|(i, m)| answer[i + m.len()..].split('<').next()?.parse().ok())
        .collect()
}

/// A counter's value in the gateway's `/metrics` (0 when never counted).
pub fn metric(port: u16, name: &str) -> u64 {
    let page = crate::binary::http_get(port, "/metrics").unwrap_or_default();
    page.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0)
}

/// What a slow connection does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slow {
    /// Sends half a request head, then nothing.
    UnfinishedHead,
    /// Sends an XML-RPC head, then its body one byte a second.
    XmlRpcBody,
    /// Sends an ACME head, then its body one byte a second.
    AcmeBody,
    /// Makes one request, keeps the connection alive, and sends nothing more.
    IdleKeepAlive,
    /// Connects and sends nothing at all.
    Silent,
}

impl Slow {
    /// Every kind, in the order connections are opened.
    pub const ALL: [Slow; 5] =
        [Slow::UnfinishedHead, Slow::XmlRpcBody, Slow::AcmeBody, Slow::IdleKeepAlive, Slow::Silent];

    fn opening(self, port: u16, acme_post: &str) -> String {
        match self {
            Slow::UnfinishedHead => "POST /xmlrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty".to_string(),
            Slow::XmlRpcBody => {
                "POST /xmlrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 500\r\n\r\n<"
                    .into()
            }
            Slow::AcmeBody => format!(
                "POST {acme_post} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/jose+json\r\n\
                 Content-Length: 500\r\n\r\n{{"
            ),
            Slow::IdleKeepAlive => "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".into(),
            Slow::Silent => String::new(),
        }
    }
}

/// One slow connection's fate.
pub struct Held {
    /// What it did.
    pub kind: Slow,
    /// How long after it opened the server closed it; `None` if still open.
    pub closed_after: Option<Duration>,
}

/// Opens `count` connections, the kinds of [`Slow::ALL`] in turn, feeds the
/// slow bodies a byte a second, and waits until the server has closed them
/// all or `within` has passed. `acme_post` is the path of an ACME resource
/// that reads a signed body (such as a directory's `new-account`).
pub fn hold_slow_connections(port: u16, acme_post: &str, count: usize, within: Duration) -> Vec<Held> {
    let mut conns: Vec<(Slow, Option<TcpStream>, Instant, Option<Duration>)> = (0..count)
        .map(|i| {
            let kind = Slow::ALL[i % Slow::ALL.len()];
            let opened = Instant::now();
            let stream = TcpStream::connect(("127.0.0.1", port)).ok().filter(|mut s| {
                s.write_all(kind.opening(port, acme_post).as_bytes()).is_ok() && s.set_nonblocking(true).is_ok()
            });
            // One the server refused outright counts as closed at once.
            let closed = stream.is_none().then(|| opened.elapsed());
            (kind, stream, opened, closed)
        })
        .collect();
    let start = Instant::now();
    let mut last_feed = Instant::now();
    let mut buf = [0u8; 4096];
    while conns.iter().any(|c| c.3.is_none()) && start.elapsed() < within {
        let feed = last_feed.elapsed() >= Duration::from_secs(1);
        if feed {
            last_feed = Instant::now();
        }
        for (kind, stream, opened, closed) in conns.iter_mut().filter(|c| c.3.is_none()) {
            let Some(s) = stream else { continue };
            // Read what came (an answer), until the server closes.
            let ended = loop {
                match s.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(_) => continue,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                    Err(_) => break true,
                }
            };
            let slow_body = matches!(kind, Slow::XmlRpcBody | Slow::AcmeBody);
            if ended || (feed && slow_body && s.write_all(b" ").is_err()) {
                *closed = Some(opened.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    conns.into_iter().map(|(kind, _, _, closed_after)| Held { kind, closed_after }).collect()
}
