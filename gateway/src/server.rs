//! The HTTP server and the job worker of `serve` and `demo`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::get;
use tokio::sync::watch;

use crate::app::App;
use crate::connections;
use crate::listeners::Listeners;

/// Serves on `listeners` and runs the job worker until Ctrl-C or SIGTERM;
/// then stops taking requests and jobs, drains both listeners, closes the
/// database and returns.
pub async fn run(app: &App, listeners: Listeners) -> std::io::Result<()> {
    listeners.announce();
    let (stop_tx, stop_rx) = watch::channel(false);
    let owner = format!("{}-{}", hostname(), std::process::id());
    let notifier = orders::Worker::for_notifications(app.orders.clone(), format!("{owner}-notify"));
    let scanner = orders::Worker::for_scans(app.orders.clone(), format!("{owner}-scan"));
    let worker = orders::Worker::for_orders(app.orders.clone(), owner);
    let worker_task = tokio::spawn(worker.run(stop_rx.clone()));
    let notifier_task = tokio::spawn(notifier.run(stop_rx.clone()));
    let scanner_task = tokio::spawn(scanner.run(stop_rx.clone()));
    let metrics = crate::metrics::install().map_err(std::io::Error::other)?;
    let router = router(app, metrics);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.changed().await;
    };
    let limits = &app.config.http;
    if let Some(files) = connections::raise_file_limit()
        && (limits.max_connections as u64).saturating_add(FILES_KEPT_BACK) > files
    {
        tracing::warn!(
            max_connections = limits.max_connections,
            open_files = files,
            "http.max_connections is above what the open-file limit leaves for connections; raise the limit (LimitNOFILE) or lower it"
        );
    }
    let http = async {
        let Some(listener) = listeners.http else { return };
        connections::serve(listener, router.clone(), limits.clone(), false, stopped(stop_rx.clone())).await
    };
    let https = async {
        let Some(listener) = listeners.tls else { return };
        connections::serve(listener, router.clone(), limits.clone(), true, stopped(stop_rx.clone())).await
    };
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    tokio::join!(http, https);
    signals.abort();
    let _ = worker_task.await;
    let _ = notifier_task.await;
    let _ = scanner_task.await;
    // On SQLite the last connection to close copies the WAL back and removes
    // it, leaving one file to back up.
    app.orders.close().await;
    Ok(())
}

/// Open files kept for the database, logs and upstream connections, beside
/// the client connections.
const FILES_KEPT_BACK: u64 = 256;

/// The routes of the gateway: the ACME directories, the XML-RPC endpoints,
/// the health endpoints and `/metrics`, each request counted, timed and
/// given a request ID.
pub fn router(app: &App, metrics: crate::prometheus::Registry) -> Router {
    let health = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(app.orders.clone());
    let exporter = crate::metrics::Exporter { registry: metrics, orders: app.orders.clone() };
    let metrics = Router::new().route("/metrics", get(crate::metrics::render)).with_state(exporter);
    let acme_settings = app.config.acme_settings();
    let xmlrpc = xmlrpc::XmlRpc::new(app.orders.clone(), app.config.xmlrpc, app.config.public_url.clone())
        .with_trusted_proxies(acme_settings.trusted_proxies.clone())
        .router();
    let portal = portal::Portal::new(app.orders.clone(), app.config.public_url.clone())
        .with_trusted_proxies(acme_settings.trusted_proxies.clone())
        .router();
    acme::Acme::new(app.orders.clone(), acme_settings)
        .router()
        .merge(xmlrpc)
        .merge(portal)
        .merge(health)
        .merge(metrics)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(axum::middleware::from_fn(crate::request_id::assign))
        .layer(axum::middleware::map_request(host_from_authority))
}

/// HTTP/2 carries the host in `:authority`, which hyper puts in the URI, not
/// in a `Host` header; both fronts build their URLs from `Host`, so it is
/// filled in as RFC 9113 asks of a server that speaks HTTP/1.1 inside.
async fn host_from_authority(mut req: axum::extract::Request) -> axum::extract::Request {
    if !req.headers().contains_key(header::HOST)
        && let Some(host) = req.uri().authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        req.headers_mut().insert(header::HOST, host);
    }
    req
}

/// 200 when the instance may take traffic, else 503; the body says why, one
/// check per line, for the operator reading a failed probe.
async fn readyz(State(orders): State<orders::Orders>) -> (StatusCode, String) {
    let r = orders.readiness().await;
    let yes_no = |b: bool| if b { "ok" } else { "FAILED" };
    let mut body = format!(
        "{}\ndatabase: {}\nmigrations current: {}\nupstreams: {}\n",
        if r.ready() { "ready" } else { "not ready" },
        yes_no(r.database),
        yes_no(r.migrations_current),
        r.upstreams.join(", ")
    );
    for (product, upstream) in &r.unconfigured {
        body.push_str(&format!("warning: product {product} names upstream {upstream}, which is not configured\n"));
    }
    (if r.ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, body)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "certgate".into())
}
