//! The HTTP server and the job worker of `serve` and `demo`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;

/// Serves HTTP on `listener` and runs the job worker until Ctrl-C or SIGTERM;
/// then stops taking requests and jobs and returns.
pub async fn run(app: &App, listener: TcpListener) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let owner = format!("{}-{}", hostname(), std::process::id());
    let worker = orders::Worker::new(app.orders.clone(), owner);
    let worker_task = tokio::spawn(worker.run(stop_rx.clone()));
    let metrics = crate::metrics::install().map_err(std::io::Error::other)?;
    let router = router(app, metrics).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let mut stop_rx2 = stop_rx.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = stop_rx2.changed().await;
    });
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    server.await?;
    signals.abort();
    let _ = worker_task.await;
    Ok(())
}

/// The routes of the gateway: the ACME directories, the XML-RPC endpoints,
/// the health endpoints and `/metrics`, each request counted, timed and
/// given a request ID.
pub fn router(app: &App, metrics: metrics_exporter_prometheus::PrometheusHandle) -> Router {
    let health = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(app.orders.clone());
    let exporter = crate::metrics::Exporter { handle: metrics, orders: app.orders.clone() };
    let metrics = Router::new().route("/metrics", get(crate::metrics::render)).with_state(exporter);
    let xmlrpc = xmlrpc::XmlRpc::new(
        app.orders.clone(),
        app.config.xmlrpc,
        app.config.public_url.clone(),
        app.config.acme_settings().va,
    )
    .router();
    acme::Acme::new(app.orders.clone(), app.config.acme_settings())
        .router()
        .merge(xmlrpc)
        .merge(health)
        .merge(metrics)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(axum::middleware::from_fn(crate::request_id::assign))
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
