//! Reading the article store for people: the newest articles, one article with its story's
//! other records, and the places articles speak of. Read-only connections, so a reader never
//! blocks the sink that writes (WAL lets both go on at once).

use std::collections::HashMap;
use std::path::Path;

use khabar_core_model::Article;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::sink::{SearchFilter, SearchHit, StoreError};

/// An article in a list: enough to show and link it.
#[derive(Debug, Clone, Serialize)]
pub struct Brief {
    pub id: String,
    pub title: Option<String>,
    pub url: String,
    pub published_at: Option<String>,
    pub language: Option<String>,
    pub source: String,
    pub site_name: Option<String>,
    /// The id of the story's first record, when this one repeats it.
    pub duplicate_of: Option<String>,
}

/// One stored article and the other records of its story.
#[derive(Debug, Clone, Serialize)]
pub struct StoredArticle {
    pub record: Article,
    /// The story's other records (its cluster), first published first; those that repeat an
    /// earlier one say which.
    pub cluster: Vec<Brief>,
}

/// A place on the map: where, how many articles of the period speak of it, the newest few.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceDot {
    pub canonical: String,
    pub id: String,
    pub lat: f64,
    pub lon: f64,
    pub country: Option<String>,
    pub articles: usize,
    /// Events reported at the place, by type (the finer type when there is one).
    pub events: std::collections::BTreeMap<String, usize>,
    pub newest: Vec<Brief>,
}

/// Newest articles of a place kept on its dot.
const NEWEST_PER_PLACE: usize = 5;
/// Records of one cluster listed on an article's page.
const CLUSTER_LIMIT: usize = 50;

/// Opens the store for reading only (the sink creates and migrates it).
pub fn open_read_only(db: &Path) -> Result<Connection, StoreError> {
    if !db.is_file() {
        return Err(StoreError::Missing {
            path: db.to_path_buf(),
        });
    }
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Database {
        path: db.to_path_buf(),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|source| StoreError::Database {
            path: db.to_path_buf(),
            source,
        })?;
    Ok(conn)
}

fn describe(db: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Database {
        path: db.to_path_buf(),
        source,
    }
}

const BRIEF_COLUMNS: &str = "a.id, a.title, a.url, a.published_at, a.language, a.source, \
     a.site_name, json_extract(a.record, '$.duplicate_of')";

fn brief(row: &rusqlite::Row<'_>) -> rusqlite::Result<Brief> {
    Ok(Brief {
        id: row.get(0)?,
        title: row.get(1)?,
        url: row.get(2)?,
        published_at: row.get(3)?,
        language: row.get(4)?,
        source: row.get(5)?,
        site_name: row.get(6)?,
        duplicate_of: row.get(7)?,
    })
}

/// The newest articles that pass `filter` (no words to match): what the search page shows
/// before anything is typed. The snippet is the summary, or the text's opening.
pub fn browse(db: &Path, filter: &SearchFilter) -> Result<Vec<SearchHit>, StoreError> {
    let conn = open_read_only(db)?;
    let (conditions, values) = filter.conditions(1);
    let sql = format!(
        "SELECT a.id, a.title, a.url, a.published_at, a.language, a.source,
                coalesce(a.summary, substr(a.text, 1, 400), '')
         FROM articles a WHERE 1 = 1{conditions}
         ORDER BY a.published_at DESC LIMIT {}",
        filter.limit.max(1)
    );
    let mut stmt = conn.prepare(&sql).map_err(describe(db))?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(values.iter()), |r| {
            let snippet: String = r.get(6)?;
            crate::sink::search_hit(r, opening(&snippet, 300), 0.0)
        })
        .map_err(describe(db))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(describe(db))
}

/// At most `chars` characters of `text`, cut at a space, with an ellipsis when cut.
fn opening(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        return flat;
    }
    let cut: String = flat.chars().take(chars).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", &cut[..at])
}

/// The article stored under `id`, with the other records of its story.
pub fn article(db: &Path, id: &str) -> Result<Option<StoredArticle>, StoreError> {
    let conn = open_read_only(db)?;
    let stored: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT record, text FROM articles WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })
        .map_err(describe(db))?;
    let Some((record, text)) = stored else {
        return Ok(None);
    };
    let mut record: Article = serde_json::from_str(&record).map_err(|e| StoreError::Record {
        path: db.to_path_buf(),
        id: id.to_string(),
        message: e.to_string(),
    })?;
    // The store keeps the text in its own column, not in the record (its search form is only
    // in the index).
    if record.text.is_none() {
        record.text = text;
    }
    let cluster = match &record.cluster_id {
        Some(cluster) => {
            let story = if crate::sink::schema_version(&conn).map_err(describe(db))? >= 5 {
                "a.cluster_id"
            } else {
                "json_extract(a.record, '$.cluster_id')"
            };
            let sql = format!(
                "SELECT {BRIEF_COLUMNS} FROM articles a
                 WHERE {story} = ?1 AND a.id != ?2
                 ORDER BY a.published_at LIMIT {CLUSTER_LIMIT}"
            );
            let mut stmt = conn.prepare(&sql).map_err(describe(db))?;
            let rows = stmt
                .query_map([cluster.as_str(), id], brief)
                .map_err(describe(db))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(describe(db))?
        }
        None => Vec::new(),
    };
    Ok(Some(StoredArticle { record, cluster }))
}

/// The places that the articles published in [since, until) speak of, with coordinates, most
/// spoken of first. Reads at most `max_articles` articles, newest first.
pub fn places(
    db: &Path,
    since: Option<&str>,
    until: Option<&str>,
    max_articles: usize,
) -> Result<Vec<PlaceDot>, StoreError> {
    let conn = open_read_only(db)?;
    let filter = SearchFilter {
        since: since.map(str::to_string),
        until: until.map(str::to_string),
        ..SearchFilter::default()
    };
    let (conditions, values) = filter.conditions(1);
    let sql = format!(
        "SELECT {BRIEF_COLUMNS}, json_extract(a.record, '$.places'),
                json_extract(a.record, '$.events') FROM articles a
         WHERE json_array_length(a.record, '$.places') > 0{conditions}
         ORDER BY a.published_at DESC LIMIT {}",
        max_articles.max(1)
    );
    let mut stmt = conn.prepare(&sql).map_err(describe(db))?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(values.iter()), |r| {
            Ok((
                brief(r)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })
        .map_err(describe(db))?;
    let mut dots: HashMap<String, PlaceDot> = HashMap::new();
    for row in rows {
        let (brief, places, events) = row.map_err(describe(db))?;
        let places: Vec<khabar_core_model::Place> = places
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default();
        let events: Vec<khabar_core_model::Event> = events
            .and_then(|e| serde_json::from_str(&e).ok())
            .unwrap_or_default();
        for place in places {
            if !(place.lat.is_finite()
                && place.lon.is_finite()
                && (-90.0..=90.0).contains(&place.lat)
                && (-180.0..=180.0).contains(&place.lon))
            {
                continue;
            }
            let dot = dots.entry(place.id.clone()).or_insert_with(|| PlaceDot {
                canonical: place.canonical.clone(),
                id: place.id.clone(),
                lat: place.lat,
                lon: place.lon,
                country: place.country.clone(),
                articles: 0,
                events: Default::default(),
                newest: Vec::new(),
            });
            dot.articles += 1;
            for event in events
                .iter()
                .filter(|e| e.place.as_deref() == Some(place.canonical.as_str()))
            {
                let kind = event.sub_type.as_ref().unwrap_or(&event.event_type);
                *dot.events.entry(kind.clone()).or_default() += 1;
            }
            if dot.newest.len() < NEWEST_PER_PLACE && !dot.newest.iter().any(|b| b.id == brief.id) {
                dot.newest.push(brief.clone());
            }
        }
    }
    let mut dots: Vec<PlaceDot> = dots.into_values().collect();
    dots.sort_by(|a, b| {
        b.articles
            .cmp(&a.articles)
            .then_with(|| a.canonical.cmp(&b.canonical))
    });
    Ok(dots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opening_is_cut_at_a_space() {
        assert_eq!(opening("one two three", 100), "one two three");
        assert_eq!(opening("one two three", 9), "one two…");
        assert_eq!(opening("قصفت قوات التحالف", 10), "قصفت قوات…");
    }
}
