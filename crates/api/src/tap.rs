//! `GET /api/tap/{stage}`: the records leaving a stage, as JSON lines, while the client reads.
//! A client that reads slower than the stage sends loses the oldest records, and is told how
//! many in a notice line: the pipeline never waits for it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use khabar_core_model::Article;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

use crate::ApiState;

/// The key of the notice line a tap sends among the records: `{"khabar_tap": {"dropped": n}}`
/// (n records were dropped because the reader was slow). No record has this key.
pub const TAP_NOTICE: &str = "khabar_tap";

#[derive(Debug, Deserialize)]
pub(crate) struct TapQuery {
    /// Stop after this many records.
    limit: Option<u64>,
    /// Comma-separated fields to keep (`title,url,entities`); dotted paths reach into
    /// objects (`feed.source`).
    fields: Option<String>,
}

pub(crate) async fn tap(
    State(state): State<ApiState>,
    Path(stage): Path<String>,
    Query(query): Query<TapQuery>,
) -> Response {
    // A tap opened while the stages are still being built waits for them.
    while state.monitor.phase() == khabar_runtime::Phase::Building
        && state.monitor.tap(&stage).is_none()
        && !*state.stopping.borrow()
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let Some(tap) = state.monitor.tap(&stage) else {
        let stages = state.monitor.stage_ids();
        return (
            StatusCode::NOT_FOUND,
            Json(json!({
                "error": format!("no stage {stage:?} in the running pipeline"),
                "stages": stages,
            })),
        )
            .into_response();
    };
    let fields: Vec<String> = query
        .fields
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    let watching = Watching {
        records: tap.watch(),
        stopping: state.stopping.clone(),
        left: query.limit,
        fields,
    };
    let lines = futures_util::stream::unfold(watching, next_line);
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response()
}

struct Watching {
    records: broadcast::Receiver<Arc<Article>>,
    stopping: watch::Receiver<bool>,
    /// Records still to send, when a limit was asked for.
    left: Option<u64>,
    fields: Vec<String>,
}

/// The next line of the stream, or its end: the limit reached, the daemon stopping.
async fn next_line(
    mut w: Watching,
) -> Option<(Result<String, std::convert::Infallible>, Watching)> {
    if w.left == Some(0) || *w.stopping.borrow() {
        return None;
    }
    let received = tokio::select! {
        received = w.records.recv() => received,
        _ = w.stopping.wait_for(|stop| *stop) => return None,
    };
    let line = match received {
        Ok(article) => {
            w.left = w.left.map(|n| n.saturating_sub(1));
            let record = article.to_json_without_html();
            let shown = if w.fields.is_empty() {
                record
            } else {
                select_fields(&record, &w.fields)
            };
            shown.to_string()
        }
        Err(RecvError::Lagged(dropped)) => {
            json!({ TAP_NOTICE: { "dropped": dropped } }).to_string()
        }
        Err(RecvError::Closed) => return None,
    };
    Some((Ok(line + "\n"), w))
}

/// The fields of `record` that `paths` name, under those names; a dotted path reaches into
/// objects (`feed.source`). A field the record does not have is left out.
pub fn select_fields(record: &Value, paths: &[String]) -> Value {
    let mut out = Map::new();
    for path in paths {
        let mut at = Some(record);
        for part in path.split('.') {
            at = at.and_then(|v| v.get(part));
        }
        if let Some(value) = at {
            out.insert(path.clone(), value.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use khabar_core_model::{FeedRef, RecordId, Tap};

    fn article(n: usize) -> Article {
        let url = format!("https://example.org/{n}");
        Article::new(
            RecordId::from_url(&url),
            FeedRef::default(),
            url,
            chrono::Utc::now(),
        )
    }

    async fn line(w: Watching) -> (String, Watching) {
        let (line, w) = next_line(w).await.expect("a line");
        (line.unwrap_or_default(), w)
    }

    #[tokio::test]
    async fn a_reader_that_fell_behind_is_told_how_many_it_lost_and_the_limit_ends_the_stream() {
        let tap = Tap::new(2);
        let (_stop, stopping) = watch::channel(false);
        let watching = Watching {
            records: tap.watch(),
            stopping,
            left: Some(3),
            fields: vec!["url".into()],
        };
        for n in 0..5 {
            tap.offer(&article(n));
        }
        let (notice, w) = line(watching).await;
        assert_eq!(notice, "{\"khabar_tap\":{\"dropped\":3}}\n");
        let (first, w) = line(w).await;
        assert_eq!(first, "{\"url\":\"https://example.org/3\"}\n");
        let (second, w) = line(w).await;
        assert_eq!(second, "{\"url\":\"https://example.org/4\"}\n");
        tap.offer(&article(5));
        let (third, w) = line(w).await;
        assert_eq!(third, "{\"url\":\"https://example.org/5\"}\n");
        assert!(next_line(w).await.is_none(), "three records were asked for");
    }

    #[tokio::test]
    async fn the_stream_ends_when_the_daemon_stops() {
        let tap = Tap::new(2);
        let (stop, stopping) = watch::channel(false);
        let watching = Watching {
            records: tap.watch(),
            stopping,
            left: None,
            fields: Vec::new(),
        };
        stop.send_replace(true);
        assert!(next_line(watching).await.is_none());
    }

    #[test]
    fn fields_are_picked_by_name_and_dotted_path_and_missing_ones_are_left_out() {
        let record = json!({"title": "t", "feed": {"source": "news", "url": "u"}, "text": "x"});
        let paths: Vec<String> = ["title", "feed.source", "nothing", "feed.nothing.deeper"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            select_fields(&record, &paths),
            json!({"title": "t", "feed.source": "news"})
        );
    }
}
