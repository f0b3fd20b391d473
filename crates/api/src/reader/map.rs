//! `/map` and `/api/places`: the places and events of a period, drawn as dots on the world's
//! country outlines, in SVG made on the server: no tile server, no network, no script.

use std::sync::OnceLock;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use khabar_sqlite::reader::PlaceDot;
use serde::Deserialize;

use super::page::{attr, page as frame, query_value, text};
use super::{date_bound, with_store, Failure};
use crate::ApiState;

/// Natural Earth's 1:110m countries as SVG paths in the map's plate carrée projection
/// (`cargo xtask map-data` makes the file; its header says where the data comes from).
const COUNTRIES: &str = include_str!("../../assets/countries-110m.tsv");

/// Articles read for one map, newest first.
const MAX_ARTICLES: usize = 20_000;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MapQuery {
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
    /// `world` shows the whole world instead of fitting the dots.
    #[serde(default)]
    view: Option<String>,
}

async fn dots(state: &ApiState, query: &MapQuery) -> Result<Vec<PlaceDot>, Failure> {
    let since = date_bound("since", query.since.as_deref())?;
    let until = date_bound("until", query.until.as_deref())?;
    with_store(state, move |db| {
        khabar_sqlite::reader::places(db, since.as_deref(), until.as_deref(), MAX_ARTICLES)
    })
    .await
}

pub(crate) async fn json(State(state): State<ApiState>, Query(query): Query<MapQuery>) -> Response {
    match dots(&state, &query).await {
        Ok(dots) => Json(dots).into_response(),
        Err(failure) => failure.json(),
    }
}

pub(crate) async fn page(State(state): State<ApiState>, Query(query): Query<MapQuery>) -> Response {
    let form = format!(
        "<form class=\"search\" method=\"get\" action=\"/map\">\
         <label>Since<input name=\"since\" value=\"{}\" placeholder=\"2019-03-01, 7 days ago\"></label>\
         <label>Until<input name=\"until\" value=\"{}\" placeholder=\"today\"></label>\
         <label>View<select name=\"view\"><option value=\"\">fit the places</option><option value=\"world\"{}>whole world</option></select></label>\
         <button type=\"submit\">Show</button></form>",
        attr(query.since.as_deref().unwrap_or("")),
        attr(query.until.as_deref().unwrap_or("")),
        if query.view.as_deref() == Some("world") { " selected" } else { "" },
    );
    match dots(&state, &query).await {
        Ok(dots) => {
            let whole_world = query.view.as_deref() == Some("world");
            let body = format!(
                "<h1>Places and events</h1>{form}{}{}",
                svg(&dots, whole_world),
                table(&dots)
            );
            frame("Map", "/map", &body).into_response()
        }
        Err(failure) => {
            let body = format!(
                "<h1>Places and events</h1>{form}<p class=\"problem\">{}</p>",
                text(&failure.message)
            );
            (failure.status, frame("Map", "/map", &body)).into_response()
        }
    }
}

/// The outlines, parsed once: (name, SVG path).
fn countries() -> &'static [(String, String)] {
    static PARSED: OnceLock<Vec<(String, String)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        COUNTRIES
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut columns = l.splitn(3, '\t');
                let _id = columns.next()?;
                let name = columns.next()?;
                let path = columns.next()?;
                Some((name.to_string(), path.to_string()))
            })
            .collect()
    })
}

/// Map coordinates of a place: x = longitude + 180, y = 90 - latitude.
fn project(lat: f64, lon: f64) -> (f64, f64) {
    (lon + 180.0, 90.0 - lat)
}

/// The part of the world to show: the whole of it, or the box around the dots with a margin
/// (at least 40° wide, twice as wide as high, like the world).
fn view_box(dots: &[PlaceDot], whole_world: bool) -> (f64, f64, f64, f64) {
    if whole_world || dots.is_empty() {
        return (0.0, 0.0, 360.0, 180.0);
    }
    let points: Vec<(f64, f64)> = dots.iter().map(|d| project(d.lat, d.lon)).collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in points {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let mut width = ((x1 - x0) * 1.3).max(40.0);
    let mut height = ((y1 - y0) * 1.3).max(20.0);
    if width < height * 2.0 {
        width = height * 2.0;
    } else {
        height = width / 2.0;
    }
    width = width.min(360.0);
    height = height.min(180.0);
    let cx = (x0 + x1) / 2.0;
    let cy = (y0 + y1) / 2.0;
    let x = (cx - width / 2.0).clamp(0.0, 360.0 - width);
    let y = (cy - height / 2.0).clamp(0.0, 180.0 - height);
    (x, y, width, height)
}

fn svg(dots: &[PlaceDot], whole_world: bool) -> String {
    let (x, y, w, h) = view_box(dots, whole_world);
    // Dots keep their size on screen whatever the zoom.
    let unit = w / 360.0;
    let mut out = format!(
        "<svg class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{x:.1} {y:.1} {w:.1} {h:.1}\" role=\"img\" aria-label=\"Map of {} places\"><g class=\"countries\">",
        dots.len()
    );
    for (name, path) in countries() {
        out.push_str(&format!(
            "<path class=\"country\" d=\"{}\"><title>{}</title></path>",
            attr(path),
            text(name)
        ));
    }
    out.push_str("</g><g class=\"labels\">");
    // The most spoken-of places are named on the map itself, each where it overlaps no name
    // already placed; the rest on hover and in the table below.
    let size = 5.0 * unit;
    let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
    for dot in dots.iter().take(LABELLED) {
        let (cx, cy) = project(dot.lat, dot.lon);
        // The box a label takes, from its length (a rough average glyph width).
        let width = dot.canonical.chars().count() as f64 * 0.55 * size;
        let (x, y) = (cx + 4.0 * unit, cy + 1.5 * unit);
        let b = (x, y - size, x + width, y + 0.3 * size);
        if placed
            .iter()
            .any(|p| b.0 < p.2 && p.0 < b.2 && b.1 < p.3 && p.1 < b.3)
        {
            continue;
        }
        placed.push(b);
        out.push_str(&format!(
            "<text class=\"label\" x=\"{x:.3}\" y=\"{y:.3}\" font-size=\"{size:.3}\" stroke-width=\"{halo:.3}\">{name}</text>",
            halo = 1.2 * unit,
            name = text(&dot.canonical),
        ));
    }
    out.push_str("</g><g class=\"dots\">");
    // Biggest first, so that small dots stay on top and clickable.
    let mut ordered: Vec<&PlaceDot> = dots.iter().collect();
    ordered.sort_by_key(|d| std::cmp::Reverse(d.articles));
    for dot in ordered {
        let (cx, cy) = project(dot.lat, dot.lon);
        let r = (1.2 + 0.8 * (dot.articles as f64).sqrt()).min(6.0) * unit;
        let events: usize = dot.events.values().sum();
        out.push_str(&format!(
            "<a href=\"/?place={q}\"><circle class=\"dot\" cx=\"{cx:.3}\" cy=\"{cy:.3}\" r=\"{r:.3}\" data-place=\"{n}\" data-id=\"{id}\" data-lat=\"{lat}\" data-lon=\"{lon}\" data-articles=\"{articles}\"><title>{t}: {articles} article{s}, {events} event{es}</title></circle></a>",
            q = attr(&query_value(&dot.id)),
            n = attr(&dot.canonical),
            id = attr(&dot.id),
            lat = dot.lat,
            lon = dot.lon,
            articles = dot.articles,
            t = text(&dot.canonical),
            s = if dot.articles == 1 { "" } else { "s" },
            es = if events == 1 { "" } else { "s" },
        ));
    }
    out.push_str("</g></svg>");
    out
}

/// Places named on the map itself.
const LABELLED: usize = 12;

fn table(dots: &[PlaceDot]) -> String {
    if dots.is_empty() {
        return "<p>No article of this period names a place with coordinates.</p>".into();
    }
    let mut out = String::from(
        "<h2>Places</h2><table class=\"places\"><thead><tr><th>Place</th><th>Country</th><th>Articles</th><th>Events</th><th>Newest</th></tr></thead><tbody>",
    );
    for dot in dots {
        let events = dot
            .events
            .iter()
            .map(|(kind, n)| format!("{} ×{n}", text(kind)))
            .collect::<Vec<_>>()
            .join("<br>");
        let newest = dot
            .newest
            .iter()
            .map(|b| {
                format!(
                    "<a href=\"/article/{}\" dir=\"auto\">{}</a>",
                    attr(&query_value(&b.id)),
                    text(b.title.as_deref().unwrap_or("(untitled)"))
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        out.push_str(&format!(
            "<tr><td dir=\"auto\"><a href=\"/?place={q}\">{n}</a></td><td>{c}</td><td>{a}</td><td>{events}</td><td>{newest}</td></tr>",
            q = attr(&query_value(&dot.id)),
            n = text(&dot.canonical),
            c = text(dot.country.as_deref().unwrap_or("")),
            a = dot.articles,
        ));
    }
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(lat: f64, lon: f64) -> PlaceDot {
        PlaceDot {
            canonical: "p".into(),
            id: "x".into(),
            lat,
            lon,
            country: None,
            articles: 1,
            events: Default::default(),
            newest: Vec::new(),
        }
    }

    #[test]
    fn the_outlines_are_shipped_and_the_view_fits_the_dots() {
        let names: Vec<&str> = countries().iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.len() > 150, "{}", names.len());
        for country in ["Syria", "Iraq", "United Kingdom", "Egypt"] {
            assert!(names.contains(&country), "{country}");
        }
        assert_eq!(view_box(&[], false), (0.0, 0.0, 360.0, 180.0));
        // al-Baghouz and Raqqa: a box around the Euphrates valley, twice as wide as high.
        let (x, y, w, h) = view_box(&[dot(34.46, 40.93), dot(35.95, 39.01)], false);
        assert!((w - 2.0 * h).abs() < 1e-9);
        assert!(x < 40.93 + 180.0 && x + w > 40.93 + 180.0);
        assert!(y < 90.0 - 35.95 && y + h > 90.0 - 34.46);
        assert!((40.0..360.0).contains(&w));
    }
}
