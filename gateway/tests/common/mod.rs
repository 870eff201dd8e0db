//! What the gateway's tests share: the binary under test, and the test crate's
//! way of running it (`certgate_tests::binary`) with failures as panics.
#![allow(dead_code, unused_imports)]

use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub use certgate_tests::binary::{Certgate, field, http, http_get, http_post};
pub use certgate_tests::peak_rss_kib;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_certgate");

/// Waits until `serve` on `port` answers `/healthz` with 200.
pub fn wait_healthy(port: u16, child: &mut Child) {
    certgate_tests::binary::wait_healthy(port, child).unwrap_or_else(|e| panic!("{e}"));
}

/// Sends SIGTERM and waits for the exit; fails the test after 20 s.
pub fn terminate(mut child: Child) -> ExitStatus {
    certgate_tests::binary::stop(&mut child, Duration::from_secs(20)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("certgate did not stop on SIGTERM")
    })
}

/// Forwards each accepted connection to the next backend in turn, skipping
/// a backend that refuses connections (a killed instance).
pub async fn load_balancer(backends: Vec<u16>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let backends = backends.clone();
            let first = next.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                for i in 0..backends.len() {
                    let port = backends[(first + i) % backends.len()];
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    port
}
