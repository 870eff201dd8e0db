//! A front's routes served in-process on a loopback port, as the tests drive
//! them with real HTTP clients.

use std::net::SocketAddr;

/// Serves `router` on a free loopback port until the test's runtime ends,
/// with the peer address the fronts read; returns its base URL (`http://…`).
pub async fn serve_router(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serving");
    });
    base
}

/// What a server answered to a request head, as text.
pub struct RawAnswer {
    /// The status code (0 when the answer had no status line).
    pub status: u16,
    head: String,
    /// The body, as sent.
    pub body: String,
}

impl RawAnswer {
    /// The value of header `name` (any case), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends only the head of a POST to `url` that declares a `length`-byte
/// body, with `headers`, and reads what the server answers until it closes.
/// A body past a front's limit is refused before it is read and the
/// connection closed: sending the body would race that close (the client's
/// write may fail before it reads the answer).
pub async fn post_head_only(url: &str, headers: &[(&str, &str)], length: usize) -> RawAnswer {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut conn = tokio::net::TcpStream::connect(host).await.expect("connect");
    conn.write_all(head.as_bytes()).await.expect("send the head");
    let mut raw = Vec::new();
    let read = conn.read_to_end(&mut raw);
    tokio::time::timeout(std::time::Duration::from_secs(10), read).await.expect("an answer in time").expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    RawAnswer { status, head: head.to_string(), body: body.to_string() }
}
