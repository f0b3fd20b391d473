//! The frame every reader page shares: one HTML document, its style sheet inline, no script.
//! Text from the store is escaped here and nowhere else is raw text written.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for an element's content.
pub(crate) fn text(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

/// Escapes text for a double-quoted attribute.
pub(crate) fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

/// Encodes a query parameter's value.
pub(crate) fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The direction of a language's script: right to left for Arabic and its neighbours.
pub(crate) fn direction(language: Option<&str>) -> &'static str {
    match language {
        Some("ar" | "fa" | "ur" | "he" | "ps" | "ku" | "ckb" | "yi" | "dv") => "rtl",
        Some(_) => "ltr",
        None => "auto",
    }
}

/// A whole page: `title` in the tab, `body` inside `<main>`.
pub(crate) fn page(title: &str, current: &str, body: &str) -> Html<String> {
    let link = |href: &str, label: &str| {
        let here = if href == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{href}\"{here}>{label}</a>")
    };
    Html(format!(
        "<!doctype html>\n<html lang=\"en\" dir=\"ltr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Khabar</title><style>{STYLE}</style></head><body>\
         <header class=\"top\"><span class=\"brand\">Khabar <span lang=\"ar\">خبر</span></span><nav>{}{}{}</nav></header>\
         <main>{body}</main></body></html>",
        text(title),
        link("/", "Search"),
        link("/map", "Map"),
        link("/feeds", "Feeds"),
    ))
}

/// A page that says what went wrong, with its status.
pub(crate) fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        page(
            title,
            "",
            &format!(
                "<h1>{}</h1><p class=\"problem\">{}</p>",
                text(title),
                text(message)
            ),
        ),
    )
        .into_response()
}

/// A date as stored (RFC 3339) shown as its day and minute, UTC.
pub(crate) fn short_date(rfc3339: Option<&str>) -> String {
    rfc3339
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map(|d| {
            d.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_default()
}

/// Logical properties (`margin-inline-start`, `text-align: start`) throughout, so that the
/// same rules lay out right-to-left articles correctly; `unicode-bidi: isolate` keeps a
/// highlighted name from reordering the words around it in mixed Arabic/English lines.
const STYLE: &str = r#"
:root { --ink: #1d232a; --muted: #5b6570; --line: #d9dee3; --accent: #0b5cad; --bg: #fbfbfa;
  --person: #d8e8ff; --organization: #dff3dc; --place: #f6e3c4; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, "Noto Sans", "Noto Naskh Arabic", "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
header.top { display: flex; gap: 2rem; align-items: baseline; padding: .7rem 1.5rem; border-block-end: 1px solid var(--line); background: #fff; }
.brand { font-weight: 700; }
nav a { margin-inline-end: 1.2rem; color: var(--accent); text-decoration: none; }
nav a[aria-current=page] { font-weight: 700; text-decoration: underline; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.3; margin: .4rem 0 .6rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
a { color: var(--accent); }
form.search { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .5rem; align-items: end; margin: .5rem 0 1rem; }
form.search label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); }
form.search input, form.search select { font: inherit; padding: .35rem .45rem; border: 1px solid var(--line); border-radius: 4px; }
form.search .q { grid-column: 1 / -1; }
button { font: inherit; padding: .4rem 1rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
ol.hits { list-style: none; padding: 0; }
ol.hits li { padding: .7rem 0; border-block-end: 1px solid var(--line); }
.hit-title { font-size: 1.1rem; font-weight: 600; }
.meta { color: var(--muted); font-size: .85rem; }
.meta > * + *::before { content: " · "; }
.snippet { margin: .25rem 0 0; }
.snippet b { background: #fff2a8; font-weight: 600; }
.layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(15rem, 1fr); gap: 2rem; }
@media (max-width: 50rem) { .layout { grid-template-columns: 1fr; } }
article.text p { margin: 0 0 .9rem; }
article.text[dir=rtl] { font-size: 1.08rem; line-height: 1.8; }
mark.ent { unicode-bidi: isolate; border-radius: 3px; padding: 0 .12em; }
mark.ent a { color: inherit; text-decoration: none; }
mark.person { background: var(--person); }
mark.organization { background: var(--organization); }
mark.place { background: var(--place); }
.legend mark { margin-inline-end: .5rem; }
aside section { margin-block-end: 1rem; }
aside ul { padding-inline-start: 1.1rem; margin: .2rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: start; padding: .35rem .5rem; border-block-end: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
.status { font-weight: 600; }
.status-ok { color: #1e7b34; } .status-backing_off, .status-new, .status-moved { color: #8a6100; }
.status-failing, .status-crashed, .status-disabled { color: #b3261e; }
.problem { color: #b3261e; }
svg.map { width: 100%; height: auto; background: #e8f1f8; border: 1px solid var(--line); border-radius: 6px; }
svg.map .country { fill: #f4f1ea; stroke: #b9b2a3; stroke-width: .7px; vector-effect: non-scaling-stroke; }
svg.map .dot { fill: #c0392b; fill-opacity: .8; stroke: #fff; stroke-width: 1px; vector-effect: non-scaling-stroke; }
svg.map .label { fill: #1d232a; paint-order: stroke; stroke: #fff; stroke-linejoin: round; }
svg.map a:hover .dot { fill: #0b5cad; }
"#;
