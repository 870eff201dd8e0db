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
