//! `/article/{id}` and `/api/article/{id}`: one article, its text with the entities marked by
//! kind, and what the pipeline found in it.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use khabar_core_model::{Entity, EntityKind};
use khabar_sqlite::reader::StoredArticle;

use super::page::{attr, direction, page as frame, query_value, short_date, text};
use super::search::safe_link;
use super::{with_store, Failure};
use crate::ApiState;

async fn load(state: &ApiState, id: String) -> Result<StoredArticle, Failure> {
    let wanted = id.clone();
    with_store(state, move |db| khabar_sqlite::reader::article(db, &wanted))
        .await?
        .ok_or_else(|| Failure {
            status: StatusCode::NOT_FOUND,
            message: format!("no article {id} in the store"),
        })
}

pub(crate) async fn json(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    match load(&state, id).await {
        Ok(article) => Json(article).into_response(),
        Err(failure) => failure.json(),
    }
}

pub(crate) async fn page(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    match load(&state, id).await {
        Ok(article) => {
            let title = article.record.title.clone().unwrap_or_default();
            frame(&title, "", &render(&article)).into_response()
        }
        Err(failure) => failure.page("Article"),
    }
}

fn kind_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Person => "person",
        EntityKind::Organization => "organization",
        EntityKind::Place => "place",
    }
}

fn render(stored: &StoredArticle) -> String {
    let a = &stored.record;
    let lang = a.language.as_deref();
    let dir = direction(lang);
    let title = a.title.as_deref().unwrap_or("(untitled)");
    let body_text = a.text.as_deref().unwrap_or("");
    // Each part isolated (`bdi`, inside the span that carries the separator), so that an
    // Arabic name does not carry its neighbours into right-to-left order.
    let mut meta = vec![
        format!(
            "<span><bdi>{}</bdi></span>",
            text(a.site_name.as_deref().unwrap_or(&a.feed.source))
        ),
        format!(
            "<span>published {}</span>",
            text(&short_date(
                a.published_at.map(|d| d.to_rfc3339()).as_deref()
            ))
        ),
        format!(
            "<span>fetched {}</span>",
            text(&short_date(Some(&a.fetched_at.to_rfc3339())))
        ),
        format!("<span>{}</span>", text(lang.unwrap_or("language unknown"))),
        format!(
            "<span><a href=\"{}\" rel=\"noreferrer noopener\">original</a></span>",
            attr(&safe_link(a.canonical_url.as_deref().unwrap_or(&a.url)))
        ),
    ];
    if !a.authors.is_empty() {
        meta.insert(
            1,
            format!("<span><bdi>{}</bdi></span>", text(&a.authors.join(", "))),
        );
    }
    let mut html = format!(
        "<header lang=\"{l}\" dir=\"{dir}\"><h1>{t}</h1></header>\
         <div class=\"meta\">{meta}</div>\
         <p class=\"legend\"><mark class=\"ent person\">person</mark><mark class=\"ent organization\">organization</mark><mark class=\"ent place\">place</mark></p>\
         <div class=\"layout\"><article class=\"text\" lang=\"{l}\" dir=\"{dir}\">{paragraphs}</article><aside>{aside}</aside></div>",
        l = attr(lang.unwrap_or("")),
        t = text(title),
        meta = meta.join(""),
        paragraphs = marked_paragraphs(body_text, &a.entities),
        aside = aside(stored),
    );
    if body_text.is_empty() {
        html.push_str("<p class=\"meta\">No text was extracted from this page.</p>");
    }
    html
}

/// The text as paragraphs (blank-line separated), each mention of an entity marked with its
/// kind and linked to the articles that mention it. Offsets come from the stored record:
/// those that do not fall on character boundaries inside one paragraph, or that overlap an
/// earlier mention, are not marked (the text is shown all the same).
pub(crate) fn marked_paragraphs(body: &str, entities: &[Entity]) -> String {
    let mut mentions: Vec<&Entity> = entities
        .iter()
        .filter(|e| {
            e.start < e.end && body.is_char_boundary(e.start) && body.is_char_boundary(e.end)
        })
        .collect();
    mentions.sort_by_key(|e| (e.start, std::cmp::Reverse(e.end)));
    let mut out = String::new();
    let mut next = mentions.into_iter().peekable();
    for (from, to) in paragraph_ranges(body) {
        out.push_str("<p dir=\"auto\">");
        let mut at = from;
        while let Some(mention) = next.peek().copied() {
            if mention.start >= to {
                break;
            }
            next.next();
            if mention.start < at || mention.end > to {
                continue;
            }
            out.push_str(&text(&body[at..mention.start]));
            let kind = kind_name(mention.kind);
            out.push_str(&format!(
                "<mark class=\"ent {kind}\" data-kind=\"{kind}\" data-canonical=\"{c}\" title=\"{kind}: {c}\"><a href=\"/?entity={q}\">{s}</a></mark>",
                c = attr(&mention.canonical),
                q = attr(&query_value(&mention.canonical)),
                s = text(&body[mention.start..mention.end]),
            ));
            at = mention.end;
        }
        out.push_str(&text(&body[at..to]));
        out.push_str("</p>");
    }
    out
}

/// Byte ranges of the paragraphs of `body`: runs of text between blank lines, trimmed.
fn paragraph_ranges(body: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t' || bytes[j] == b'\r') {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'\n' {
                ranges.push((start, i));
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                start = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    ranges.push((start, body.len()));
    ranges
        .into_iter()
        .map(|(from, to)| trim_range(body, from, to))
        .filter(|(from, to)| from < to)
        .collect()
}

fn trim_range(body: &str, from: usize, to: usize) -> (usize, usize) {
    let slice = &body[from..to];
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    (from + lead, to.saturating_sub(trail).max(from + lead))
}

fn aside(stored: &StoredArticle) -> String {
    let a = &stored.record;
    let mut out = String::new();

    let mut by_kind: BTreeMap<&'static str, BTreeMap<&str, usize>> = BTreeMap::new();
    for e in &a.entities {
        *by_kind
            .entry(kind_name(e.kind))
            .or_default()
            .entry(e.canonical.as_str())
            .or_default() += 1;
    }
    for (kind, heading) in [
        ("person", "People"),
        ("organization", "Organizations"),
        ("place", "Places named"),
    ] {
        let Some(names) = by_kind.get(kind) else {
            continue;
        };
        out.push_str(&format!(
            "<section class=\"entities-{kind}\"><h2>{heading}</h2><ul>"
        ));
        for (name, count) in names {
            out.push_str(&format!(
                "<li><bdi><mark class=\"ent {kind}\"><a href=\"/?entity={q}\">{n}</a></mark></bdi> ×{count}</li>",
                q = attr(&query_value(name)),
                n = text(name),
            ));
        }
        out.push_str("</ul></section>");
    }

    if !a.places.is_empty() {
        out.push_str("<section class=\"places\"><h2>On the map</h2><ul>");
        for p in &a.places {
            out.push_str(&format!(
                "<li><bdi><a href=\"/?place={q}\">{n}</a></bdi> <span class=\"meta\" dir=\"ltr\">{lat:.2}, {lon:.2}{country}</span></li>",
                q = attr(&query_value(&p.id)),
                n = text(&p.canonical),
                lat = p.lat,
                lon = p.lon,
                country = p
                    .country
                    .as_deref()
                    .map(|c| format!(" · {}", text(c)))
                    .unwrap_or_default(),
            ));
        }
        out.push_str("</ul></section>");
    }

    if !a.events.is_empty() {
        out.push_str("<section class=\"events\"><h2>Events</h2><ul>");
        for e in &a.events {
            let mut parts = vec![format!(
                "<b>{}</b>",
                text(e.sub_type.as_deref().unwrap_or(&e.event_type))
            )];
            parts.push(format!("“<bdi>{}</bdi>”", text(&e.trigger)));
            if let Some(place) = &e.place {
                parts.push(format!("at <bdi>{}</bdi>", text(place)));
            }
            if let Some(date) = &e.date {
                parts.push(format!("on {}", text(date)));
            }
            if !e.actors.is_empty() {
                parts.push(format!("by <bdi>{}</bdi>", text(&e.actors.join("، "))));
            }
            out.push_str(&format!("<li>{}</li>", parts.join(" ")));
        }
        out.push_str("</ul></section>");
    }

    if !a.keyphrases.is_empty() {
        out.push_str("<section class=\"keyphrases\"><h2>Keyphrases</h2><ul>");
        for k in a.keyphrases.iter().take(12) {
            out.push_str(&format!(
                "<li><bdi><a href=\"/?q={q}\">{p}</a></bdi></li>",
                q = attr(&query_value(&k.phrase)),
                p = text(&k.phrase)
            ));
        }
        out.push_str("</ul></section>");
    }

    let attributions = a
        .attrs
        .get("attributions")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    if !attributions.is_empty() {
        let body = a.text.as_deref().unwrap_or("");
        out.push_str("<section class=\"attributions\"><h2>Sources quoted</h2><ul>");
        for at in &attributions {
            let speaker = at["speaker"].as_str().unwrap_or("");
            let verb = at["verb"].as_str().unwrap_or("");
            let quoted = match (at["start"].as_u64(), at["end"].as_u64()) {
                (Some(s), Some(e)) => usize::try_from(s)
                    .ok()
                    .zip(usize::try_from(e).ok())
                    .and_then(|(s, e)| body.get(s..e))
                    .unwrap_or(""),
                _ => "",
            };
            out.push_str(&format!(
                "<li><bdi><b>{}</b> ({}){}</bdi></li>",
                text(speaker),
                text(verb),
                if quoted.is_empty() {
                    String::new()
                } else {
                    format!(": “{}”", text(quoted))
                }
            ));
        }
        out.push_str("</ul></section>");
    }

    if a.duplicate_of.is_some() || !stored.cluster.is_empty() {
        out.push_str("<section class=\"cluster\"><h2>The same story</h2>");
        if let Some(first) = &a.duplicate_of {
            out.push_str(&format!(
                "<p class=\"meta\">This record repeats <a href=\"/article/{}\">an earlier one</a>.</p>",
                attr(&query_value(first.as_str()))
            ));
        }
        out.push_str("<ul>");
        for b in &stored.cluster {
            out.push_str(&format!(
                "<li lang=\"{l}\" dir=\"{d}\"><a href=\"/article/{id}\">{t}</a> <span class=\"meta\" dir=\"ltr\">{src} {date}{dup}</span></li>",
                l = attr(b.language.as_deref().unwrap_or("")),
                d = direction(b.language.as_deref()),
                id = attr(&query_value(&b.id)),
                t = text(b.title.as_deref().unwrap_or("(untitled)")),
                src = text(b.site_name.as_deref().unwrap_or(&b.source)),
                date = text(&short_date(b.published_at.as_deref())),
                dup = if b.duplicate_of.is_some() { " · duplicate" } else { "" },
            ));
        }
        out.push_str("</ul></section>");
    }
    if out.is_empty() {
        out.push_str("<p class=\"meta\">Nothing was extracted from this article.</p>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(text: &str, surface: &str, kind: EntityKind) -> Entity {
        let start = text.find(surface).expect("surface in text");
        Entity {
            surface: surface.into(),
            canonical: format!("{surface}!"),
            kind,
            start,
            end: start + surface.len(),
            confidence: 1.0,
            ids: Default::default(),
        }
    }

    #[test]
    fn mentions_are_marked_by_kind_in_their_paragraph_and_bad_offsets_are_left_unmarked() {
        let body = "قصفت قوات التحالف الباغوز <script>\n\nSaid Reuters in Deir ez-Zor.";
        let mut entities = vec![
            entity(body, "الباغوز", EntityKind::Place),
            entity(body, "Reuters", EntityKind::Organization),
            entity(body, "التحالف", EntityKind::Organization),
        ];
        // Inside a character, across the paragraph break, overlapping: never marked.
        entities.push(Entity {
            start: 1,
            end: 5,
            ..entities[0].clone()
        });
        entities.push(Entity {
            start: body.find("<script>").expect("tag"),
            end: body.find("Said").expect("said") + 4,
            ..entities[0].clone()
        });
        entities.push(Entity {
            start: body.find("Reuters").expect("r") + 2,
            end: body.find("Reuters").expect("r") + 9,
            ..entities[0].clone()
        });
        let html = marked_paragraphs(body, &entities);
        assert_eq!(html.matches("<p dir=\"auto\">").count(), 2, "{html}");
        assert!(
            html.contains(
                "<mark class=\"ent place\" data-kind=\"place\" data-canonical=\"الباغوز!\""
            ),
            "{html}"
        );
        assert!(html.contains("data-kind=\"organization\" data-canonical=\"Reuters!\""));
        assert_eq!(html.matches("<mark").count(), 3, "{html}");
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("in Deir ez-Zor."));
    }
}
