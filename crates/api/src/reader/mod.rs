//! The reader's pages, read-only and without script: search (`/`), an article
//! (`/article/{id}`), the map (`/map`), feed health (`/feeds`); and their JSON twins under
//! `/api/` for other tools.

mod article;
mod feeds;
mod map;
mod page;
mod search;

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use khabar_fetcher::FeedStatus;

use crate::ApiState;

/// Where the feeds page gets the state of every feed.
///
/// How it is driven: the API calls [`FeedsProvider::feeds`] once per request of `/feeds` or
/// `/api/feeds`, from a request's task; an implementation reads the state store (cheap) and
/// never polls a feed.
#[async_trait::async_trait]
pub trait FeedsProvider: Send + Sync {
    /// Every feed of every feed or sitemap source, configured and imported.
    async fn feeds(&self) -> Result<Vec<FeedStatus>, String>;
}

/// What the reader's pages read: the SQLite article store and the feeds' state.
#[derive(Clone, Default)]
pub struct Reader {
    /// The store of the pipeline's `sqlite` sink; `None` when it has none.
    pub db: Option<PathBuf>,
    pub feeds: Option<Arc<dyn FeedsProvider>>,
}

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(search::page))
        .route("/api/search", get(search::json))
        .route("/article/{id}", get(article::page))
        .route("/api/article/{id}", get(article::json))
        .route("/map", get(map::page))
        .route("/api/places", get(map::json))
        .route("/feeds", get(feeds::page))
        .route("/api/feeds", get(feeds::json))
}

/// Why a reader request could not be answered, with the status it gets.
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn bad_request(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub(crate) fn page(&self, title: &str) -> Response {
        page::problem(self.status, title, &self.message)
    }

    pub(crate) fn json(&self) -> Response {
        use axum::response::IntoResponse;
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<khabar_sqlite::StoreError> for Failure {
    fn from(e: khabar_sqlite::StoreError) -> Self {
        let status = match e {
            khabar_sqlite::StoreError::Missing { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure {
            status,
            message: e.to_string(),
        }
    }
}

/// Runs a store query on a blocking thread (SQLite calls block).
pub(crate) async fn with_store<T: Send + 'static>(
    state: &ApiState,
    query: impl FnOnce(&std::path::Path) -> Result<T, khabar_sqlite::StoreError> + Send + 'static,
) -> Result<T, Failure> {
    let Some(db) = state.reader.db.clone() else {
        return Err(Failure {
            status: StatusCode::NOT_FOUND,
            message: "this pipeline has no sqlite sink: there is no article store to read".into(),
        });
    };
    tokio::task::spawn_blocking(move || query(&db))
        .await
        .map_err(|e| Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the store query failed: {e}"),
        })?
        .map_err(Failure::from)
}

/// A date field of a request as the store compares it (RFC 3339), or a 400 naming the field.
pub(crate) fn date_bound(field: &str, value: Option<&str>) -> Result<Option<String>, Failure> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => khabar_text::search_bound(v, chrono::Utc::now())
            .map(Some)
            .map_err(|e| Failure::bad_request(format!("{field}: {e}"))),
    }
}

/// A text field of a request: trimmed, `None` when empty.
pub(crate) fn field(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}
