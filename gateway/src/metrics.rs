//! Prometheus metrics: the recorder every crate's `metrics::counter!` and
//! `histogram!` calls land in, the per-request counter and latency
//! histogram, and the `/metrics` endpoint, which also reads the
//! database-wide gauges (orders by status, the job queue) when scraped.
//! The metric names are the contract of docs/operations.md ("Metrics").

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::prometheus::Registry;

const HTTP_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const WRITE_TURN_BUCKETS: &[f64] = &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
const UPSTREAM_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Why the recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("a metrics recorder is already installed")]
pub struct AlreadyInstalled;

/// Installs the process-wide recorder; returns the registry that renders it.
pub fn install() -> Result<Registry, AlreadyInstalled> {
    let registry = Registry::new(&[
        ("certgate_http_request_duration_seconds", HTTP_BUCKETS),
        ("certgate_upstream_request_duration_seconds", UPSTREAM_BUCKETS),
        (storage::WRITE_TURN_WAIT, WRITE_TURN_BUCKETS),
        (storage::WRITE_TURN_HELD, WRITE_TURN_BUCKETS),
    ]);
    metrics::set_global_recorder(registry.clone()).map_err(|_| AlreadyInstalled)?;
    Ok(registry)
}

/// Which front a path belongs to.
fn front(path: &str) -> &'static str {
    match path {
        p if p.starts_with("/acme/") => "acme",
        "/xmlrpc" | "/api-operations.php" | "/api-infos.php" => "xmlrpc",
        "/healthz" | "/readyz" => "health",
        "/metrics" => "metrics",
        _ => "other",
    }
}

/// Counts each request by front, route and status, and times it. The route
/// is the matched template, never the raw path: an ACME directory's path is
/// a credential of sorts, and raw paths would make the label unbounded.
pub async fn track(req: Request, next: Next) -> Response {
    let front = front(req.uri().path());
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let started = Instant::now();
    let response = next.run(req).await;
    // An XML-RPC call is labelled with its method: every call shares the endpoint.
    let route = match response.extensions().get::<xmlrpc::CalledMethod>() {
        Some(xmlrpc::CalledMethod(method)) => (*method).to_string(),
        None => matched.unwrap_or_else(|| "unmatched".into()),
    };
    let status = response.status().as_u16().to_string();
    metrics::counter!("certgate_http_requests_total", "front" => front, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("certgate_http_request_duration_seconds", "front" => front, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// What `/metrics` needs: the recorder's handle and the order core for the gauges.
#[derive(Clone)]
pub struct Exporter {
    /// Renders the recorder.
    pub registry: Registry,
    /// Reads the database-wide gauges.
    pub orders: orders::Orders,
}

/// The Prometheus text exposition.
pub async fn render(State(exporter): State<Exporter>) -> Response {
    match exporter.orders.gauges().await {
        Ok(g) => {
            for (status, n) in g.orders_by_status {
                metrics::gauge!("certgate_orders", "state" => status).set(n as f64);
            }
            metrics::gauge!("certgate_jobs_queued").set(g.jobs_queued as f64);
            metrics::gauge!("certgate_jobs_oldest_age_seconds").set(g.oldest_job_age_secs as f64);
        }
        // The counters are still worth serving without the gauges.
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the gauges"),
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], exporter.registry.render()).into_response()
}
