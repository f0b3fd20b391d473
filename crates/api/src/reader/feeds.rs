//! `/feeds` and `/api/feeds`: every feed with its status, errors and next poll (the table of
//! `khabar feeds`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use khabar_fetcher::FeedStatus;

use super::page::{attr, page as frame, text};
use super::Failure;
use crate::ApiState;

async fn load(state: &ApiState) -> Result<Vec<FeedStatus>, Failure> {
    let Some(provider) = state.reader.feeds.clone() else {
        return Err(Failure {
            status: StatusCode::NOT_FOUND,
            message: "this pipeline has no feed or sitemap source".into(),
        });
    };
    provider.feeds().await.map_err(|message| Failure {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message,
    })
}

pub(crate) async fn json(State(state): State<ApiState>) -> Response {
    match load(&state).await {
        Ok(feeds) => Json(feeds).into_response(),
        Err(failure) => failure.json(),
    }
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

pub(crate) async fn page(State(state): State<ApiState>) -> Response {
    let feeds = match load(&state).await {
        Ok(feeds) => feeds,
        Err(failure) => return failure.page("Feeds"),
    };
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in &feeds {
        *counts.entry(f.status.as_str()).or_default() += 1;
    }
    let summary = counts
        .iter()
        .map(|(status, n)| format!("<span class=\"status status-{status}\">{n} {status}</span>"))
        .collect::<Vec<_>>()
        .join(" · ");
    let mut body = format!(
        "<h1>Feeds</h1><p>{} feeds: {summary}</p><table class=\"feeds\"><thead><tr><th>Status</th><th>Feed</th><th>Source</th><th>Last success</th><th>Next poll</th><th>Errors</th><th>Items</th></tr></thead><tbody>",
        feeds.len()
    );
    for f in &feeds {
        let status = f.status.as_str();
        let mut notes = Vec::new();
        if let Some(polling) = &f.polling_url {
            notes.push(format!("now polled at {}", text(polling)));
        }
        if let Some(reason) = f
            .crashed
            .as_ref()
            .or(f.disabled.as_ref())
            .or(f.last_error.as_ref())
        {
            notes.push(format!("<span class=\"problem\">{}</span>", text(reason)));
        }
        body.push_str(&format!(
            "<tr class=\"feed\" data-status=\"{status}\"><td class=\"status status-{status}\">{status}</td>\
             <td dir=\"auto\">{title}<div class=\"meta\" dir=\"ltr\">{url}</div>{notes}</td><td>{source}</td>\
             <td>{last}</td><td>{next}</td><td>{errors}</td><td>{items}</td></tr>",
            title = text(f.title.as_deref().unwrap_or("")),
            url = text(&f.url),
            notes = if notes.is_empty() {
                String::new()
            } else {
                format!("<div class=\"meta\">{}</div>", notes.join("<br>"))
            },
            source = attr(&f.source),
            last = when(f.last_success),
            next = when(f.next_poll),
            errors = f.errors,
            items = f.items_seen,
        ));
    }
    body.push_str("</tbody></table>");
    frame("Feeds", "/feeds", &body).into_response()
}
