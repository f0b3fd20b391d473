//! Khabar's HTTP API, served by `khabar run` (`[api]` in the config):
//!
//! - `GET /health`: alive (200 while the process answers);
//! - `GET /ready`: 200 when every stage is built, every sink's last write went through and
//!   the state store takes a write, else 503; the JSON body says what is wrong;
//! - `GET /metrics`: every metric in the Prometheus text format;
//! - `GET /api/stats`: stages, counters and queue depths as JSON (what `khabar top` draws);
//! - `GET /api/tap/{stage}?limit=N&fields=a,b`: the records leaving a stage, as JSON lines,
//!   for as long as the client reads (what `khabar tap` prints);
//! - the reader's pages: `/` (search), `/article/{id}`, `/map`, `/feeds`, and their JSON
//!   twins `/api/search`, `/api/article/{id}`, `/api/places`, `/api/feeds`.

mod operator;
mod prometheus;
mod reader;
mod tap;

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use khabar_runtime::Monitor;
use tokio::sync::watch;

pub use prometheus::{recorder, RecorderError};
pub use reader::{FeedsProvider, Reader};
pub use tap::{select_fields, TAP_NOTICE};

/// What the handlers read: the pipeline's monitor and the metrics recorder.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) monitor: Monitor,
    pub(crate) prometheus: metrics_exporter_prometheus::PrometheusHandle,
    /// Turns true when the daemon stops: open taps end so that the server can stop.
    pub(crate) stopping: watch::Receiver<bool>,
    pub(crate) reader: Reader,
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("api.address {address}: cannot listen: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Recorder(#[from] RecorderError),
}

/// A running API server. Dropping it leaves the server running; [`Server::stop`] ends it.
pub struct Server {
    address: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Listens on `address` (port 0 takes any free port) and serves `monitor`'s pipeline, and
    /// the pages of what `reader` reads.
    pub async fn start(
        address: SocketAddr,
        monitor: Monitor,
        reader: Reader,
    ) -> Result<Server, ApiError> {
        let prometheus = recorder()?;
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ApiError::Bind { address, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ApiError::Bind { address, source })?;
        if !bound.ip().is_loopback() {
            tracing::warn!(address = %bound, "the API listens beyond this machine and has no authentication; put it behind a proxy that has");
        }
        let (stop, stopping) = watch::channel(false);
        let state = ApiState {
            monitor,
            prometheus,
            stopping: stopping.clone(),
            reader,
        };
        let app = router(state);
        let mut shutdown = stopping;
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the API server stopped");
            }
        });
        tracing::info!(address = %bound, "API listening (/metrics, /health, /ready, /api/…)");
        Ok(Server {
            address: bound,
            stop,
            task,
        })
    }

    /// The address it listens on (the port taken, when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Ends open taps and waits (a few seconds at most) for requests in flight.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Every route of the API.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/health", get(operator::health))
        .route("/ready", get(operator::ready))
        .route("/metrics", get(operator::metrics))
        .route("/api/stats", get(operator::stats))
        .route("/api/tap/{stage}", get(tap::tap))
        .merge(reader::routes())
        .with_state(state)
}
