//! `/` and `/api/search`: ranked full-text search over the store, with filters; without
//! words, the newest articles that pass the filters.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use khabar_sqlite::{Marks, SearchFilter, SearchHit};
use serde::{Deserialize, Serialize};

use super::page::{attr, direction, page as frame, query_value, short_date, text};
use super::{date_bound, field, with_store, Failure};
use crate::ApiState;

/// Results on one page when the request does not say.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 200;

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    place: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Serialize)]
struct Results {
    query: String,
    hits: Vec<SearchHit>,
}

async fn run(state: &ApiState, query: &SearchQuery, marks: Marks) -> Result<Results, Failure> {
    let filter = SearchFilter {
        since: date_bound("since", query.since.as_deref())?,
        until: date_bound("until", query.until.as_deref())?,
        source: field(&query.source),
        language: field(&query.language),
        entity: field(&query.entity),
        place: field(&query.place),
        limit: query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
    };
    let words = field(&query.q).unwrap_or_default();
    let normalized = khabar_text::normalize_for_search(&words);
    let has_words = normalized.split_whitespace().any(|w| !w.is_empty())
        && normalized.chars().any(char::is_alphanumeric);
    let hits = with_store(state, move |db| {
        if has_words {
            khabar_sqlite::search_marked(db, &normalized, &filter, marks)
        } else {
            khabar_sqlite::reader::browse(db, &filter)
        }
    })
    .await?;
    Ok(Results { query: words, hits })
}

pub(crate) async fn json(
    State(state): State<ApiState>,
    Query(query): Query<SearchQuery>,
) -> Response {
    match run(&state, &query, Marks::BRACKETS).await {
        Ok(results) => Json(results).into_response(),
        Err(failure) => failure.json(),
    }
}

pub(crate) async fn page(
    State(state): State<ApiState>,
    Query(query): Query<SearchQuery>,
) -> Response {
    let form = form(&query);
    match run(&state, &query, Marks::NONCHARACTERS).await {
        Ok(results) => {
            let heading = if results.query.is_empty() {
                "Newest articles".to_string()
            } else {
                let n = results.hits.len();
                let plural = if n == 1 { "" } else { "s" };
                format!("{n} result{plural} for “{}”", results.query)
            };
            let mut body = format!("{form}<h1 dir=\"auto\">{}</h1>", text(&heading));
            if results.hits.is_empty() {
                body.push_str("<p>Nothing matches. Fewer words or filters find more.</p>");
            }
            body.push_str("<ol class=\"hits\">");
            for hit in &results.hits {
                body.push_str(&hit_item(hit));
            }
            body.push_str("</ol>");
            frame("Search", "/", &body).into_response()
        }
        Err(failure) => {
            // The form stays, so that a wrong date can be put right.
            let body = format!("{form}<p class=\"problem\">{}</p>", text(&failure.message));
            (failure.status, frame("Search", "/", &body)).into_response()
        }
    }
}

fn hit_item(hit: &SearchHit) -> String {
    let lang = hit.language.as_deref();
    let title = hit.title.as_deref().unwrap_or("(untitled)");
    // Escaped first, then the match marks become tags: nothing from the text is markup.
    let snippet = text(&hit.snippet)
        .replace(Marks::NONCHARACTERS.open, "<b>")
        .replace(Marks::NONCHARACTERS.close, "</b>");
    format!(
        "<li lang=\"{lang}\" dir=\"{dir}\"><a class=\"hit-title\" href=\"/article/{id}\">{title}</a>\
         <div class=\"meta\" dir=\"ltr\"><span>{date}</span><span>{source}</span><span>{language}</span>\
         <span><a href=\"{url}\" rel=\"noreferrer noopener\">original</a></span></div>\
         <p class=\"snippet\">{snippet}</p></li>",
        lang = attr(lang.unwrap_or("")),
        dir = direction(lang),
        id = attr(&query_value(&hit.id)),
        title = text(title),
        date = text(&short_date(hit.published_at.as_deref())),
        source = text(&hit.source),
        language = text(lang.unwrap_or("?")),
        url = attr(&safe_link(&hit.url)),
    )
}

/// A link to an article's original page: http(s) only; anything else (a `javascript:` URL
/// from a hostile feed, a local file) is not linked.
pub(crate) fn safe_link(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u.to_string(),
        _ => "#".to_string(),
    }
}

fn form(query: &SearchQuery) -> String {
    let value = |v: &Option<String>| attr(v.as_deref().unwrap_or(""));
    format!(
        "<form class=\"search\" method=\"get\" action=\"/\" role=\"search\">\
         <label class=\"q\">Words<input type=\"search\" name=\"q\" dir=\"auto\" value=\"{q}\" placeholder=\"الباغوز, air strike…\" autofocus></label>\
         <label>Since<input name=\"since\" value=\"{since}\" placeholder=\"2019-03-01, 3 days ago\"></label>\
         <label>Until<input name=\"until\" value=\"{until}\" placeholder=\"today\"></label>\
         <label>Source<input name=\"source\" value=\"{source}\"></label>\
         <label>Language<input name=\"language\" value=\"{language}\" placeholder=\"ar, en\"></label>\
         <label>Entity<input name=\"entity\" dir=\"auto\" value=\"{entity}\"></label>\
         <label>Place<input name=\"place\" dir=\"auto\" value=\"{place}\"></label>\
         <button type=\"submit\">Search</button></form>",
        q = value(&query.q),
        since = value(&query.since),
        until = value(&query.until),
        source = value(&query.source),
        language = value(&query.language),
        entity = value(&query.entity),
        place = value(&query.place),
    )
}
