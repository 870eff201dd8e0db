//! What a server spends on one issuance besides its cryptography, at the
//! least: HTTP/1.1 exchanges over loopback with hyper that do nothing but
//! answer, and SQLite write transactions that persist an order and then its
//! certificate. With the crypto floor, this is the floor of certgate's flow:
//! what any design of it would still spend, and so how much of certgate's CPU
//! is its own logic.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use crate::floor::Floor;
use crate::procstat::thread_cpu_seconds;
use crate::stats::{ms, us};

/// HTTP exchanges of one issuance against certgate, as the bench's clients
/// make them (its names are pre-validated, so no challenge and no poll):
/// new-nonce, new-order, authz, finalize, certificate.
pub const EXCHANGES_PER_ISSUANCE: u32 = 5;

/// JWS verifications in those exchanges (all but new-nonce).
pub const JWS_IN_FLOW: u32 = 4;

/// Write transactions of one issuance: the order at new-order, its
/// certificate at finalize.
pub const WRITES_PER_ISSUANCE: u32 = 2;

/// A JWS-sized request body and an order-sized response body.
const REQUEST_BODY: [u8; 1000] = [b'e'; 1000];
const RESPONSE_BODY: [u8; 450] = [b'o'; 450];

/// The parts, each the CPU of one, measured on its own thread.
pub struct ExchangeFloor {
    /// The server's side of one keep-alive HTTP/1.1 exchange on loopback.
    pub http_exchange: Duration,
    /// One SQLite write transaction (WAL, `synchronous = NORMAL`).
    pub sqlite_write: Duration,
}

impl ExchangeFloor {
    /// The transport and storage part of one issuance.
    pub fn total(&self) -> Duration {
        self.http_exchange * EXCHANGES_PER_ISSUANCE + self.sqlite_write * WRITES_PER_ISSUANCE
    }

    /// The floor of certgate's flow: this, and the cryptography of its
    /// exchanges (fewer JWS than the crypto floor counts).
    pub fn flow_total(&self, crypto: &Floor) -> Duration {
        self.total() + crypto.es256_verify * JWS_IN_FLOW + crypto.csr_check + crypto.cert_sign
    }

    /// Prints the parts and the floor of certgate's flow.
    pub fn print(&self, crypto: &Floor) {
        println!("transport and storage floor of one issuance (server side, one client):");
        println!("  HTTP/1.1 exchange (hyper, loopback) {:>9} x {EXCHANGES_PER_ISSUANCE}", us(self.http_exchange));
        println!("  SQLite write transaction (WAL)      {:>9} x {WRITES_PER_ISSUANCE}", us(self.sqlite_write));
        println!("  total                               {:>9}", ms(self.total()));
        println!(
            "floor of certgate's flow ({JWS_IN_FLOW} JWS, the CSR, the signing, the exchanges, the writes): {}",
            ms(self.flow_total(crypto))
        );
    }
}

/// Measures both parts: `n` HTTP exchanges and `n` SQLite transactions.
pub fn measure(n: usize) -> Result<ExchangeFloor, String> {
    Ok(ExchangeFloor { http_exchange: http_exchange(n)?, sqlite_write: sqlite_write(n)? })
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// A server thread answers one keep-alive connection, a client thread makes
/// `n` exchanges on it one after the other; the server thread's CPU is the
/// figure.
fn http_exchange(n: usize) -> Result<Duration, String> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    std_listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
    let server = std::thread::spawn(move || -> Result<f64, String> {
        let start = thread_cpu_seconds();
        runtime()?.block_on(answer_one_connection(std_listener))?;
        Ok(thread_cpu_seconds() - start)
    });
    let client = std::thread::spawn(move || runtime()?.block_on(exchange(addr, n)));
    let sent = client.join().map_err(|_| "the client thread panicked")??;
    let cpu = server.join().map_err(|_| "the server thread panicked")??;
    Ok(Duration::from_secs_f64(cpu / sent.max(1) as f64))
}

async fn answer_one_connection(listener: std::net::TcpListener) -> Result<(), String> {
    let listener = TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
        let body = req.into_body().collect().await?.to_bytes();
        std::hint::black_box(body);
        let mut resp = Response::new(Full::new(Bytes::from_static(&RESPONSE_BODY)));
        *resp.status_mut() = StatusCode::CREATED;
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("replay-nonce", HeaderValue::from_static("AAAAAGsJB_gAAAAAAAd7qS5h0JkoKMTg3pwcjDAhMwI"));
        h.insert("location", HeaderValue::from_static("http://127.0.0.1/acme/floor/order/1"));
        h.insert("link", HeaderValue::from_static("<http://127.0.0.1/acme/floor/directory>;rel=\"index\""));
        Ok::<_, hyper::Error>(resp)
    });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
        .map_err(|e| e.to_string())
}

/// Makes `n` POSTs on one connection and closes it; returns how many were answered.
async fn exchange(addr: SocketAddr, n: usize) -> Result<usize, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    let conn = tokio::spawn(conn);
    for _ in 0..n {
        let req = Request::post("/acme/floor/new-order")
            .header("host", "127.0.0.1")
            .header("content-type", "application/jose+json")
            .body(Full::new(Bytes::from_static(&REQUEST_BODY)))
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        resp.into_body().collect().await.map_err(|e| e.to_string())?;
    }
    drop(sender);
    conn.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    Ok(n)
}

/// `n` write transactions on a fresh SQLite file, as certgate opens it: half
/// insert an order, half mark one valid and insert its certificate.
fn sqlite_write(n: usize) -> Result<Duration, String> {
    let err = |e: rusqlite::Error| e.to_string();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let conn = rusqlite::Connection::open(dir.path().join("floor.db")).map_err(err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE orders (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, status TEXT NOT NULL,
             names TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
         CREATE TABLE certificates (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id),
             der BLOB NOT NULL);",
    )
    .map_err(err)?;
    let der = vec![0x30u8; 700];
    let issuances = n.div_ceil(2);
    let start = thread_cpu_seconds();
    for i in 0..issuances as i64 {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        conn.prepare_cached(
            "INSERT INTO orders (account_id, status, names, created_at, expires_at) VALUES (?1, 'ready', ?2, ?3, ?3)",
        )
        .map_err(err)?
        .execute(rusqlite::params![i % 16, format!("www{i}.bench.test"), "2026-11-27T00:00:00Z"])
        .map_err(err)?;
        let id = conn.last_insert_rowid();
        conn.execute_batch("COMMIT").map_err(err)?;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        conn.prepare_cached("UPDATE orders SET status = 'valid' WHERE id = ?1")
            .map_err(err)?
            .execute([id])
            .map_err(err)?;
        conn.prepare_cached("INSERT INTO certificates (order_id, der) VALUES (?1, ?2)")
            .map_err(err)?
            .execute(rusqlite::params![id, der])
            .map_err(err)?;
        conn.execute_batch("COMMIT").map_err(err)?;
    }
    let cpu = thread_cpu_seconds() - start;
    Ok(Duration::from_secs_f64(cpu / (2 * issuances).max(1) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_cost_some_cpu_and_add_up_to_the_flow_floor() {
        // Enough work for the thread's CPU clock (10 ms steps) to move.
        let f = measure(3000).expect("loopback and a temporary directory are available");
        assert!(f.http_exchange > Duration::ZERO, "3000 exchanges cost the server thread some CPU");
        assert!(f.sqlite_write > Duration::ZERO, "3000 commits cost some CPU");
        assert_eq!(f.total(), f.http_exchange * 5 + f.sqlite_write * 2);
        let crypto = Floor {
            es256_verify: Duration::from_micros(50),
            csr_check: Duration::from_micros(40),
            cert_sign: Duration::from_micros(20),
        };
        assert_eq!(f.flow_total(&crypto), f.total() + Duration::from_micros(4 * 50 + 40 + 20));
    }
}
