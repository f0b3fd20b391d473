//! The `Article` record: what flows through a pipeline and what sinks store.
//!
//! Its JSON form is the public schema (snake_case names, RFC 3339 times, ISO 639-1 language
//! codes). Bump [`SCHEMA_VERSION`] on any change a consumer could notice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ack::Ack;
use crate::id::RecordId;

/// Version of the JSON schema of [`Article`].
pub const SCHEMA_VERSION: u32 = 1;

/// Where a record came from: the source stage and the feed URL it polled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedRef {
    /// Id of the source stage in the pipeline config.
    pub source: String,
    /// The feed (or sitemap) URL the item was read from.
    pub url: String,
    /// The feed's own title, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// What kind of thing an [`Entity`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A person.
    Person,
    /// An organization: a government body, an armed group, a party, a company, a news agency.
    Organization,
    /// A place: a country, a region, a town, a camp, a crossing.
    Place,
}

/// A mention of a person, organization or place in `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The text as it appears in the article.
    pub surface: String,
    /// The name it resolves to.
    pub canonical: String,
    /// What kind of thing it names.
    pub kind: EntityKind,
    /// Byte offsets of `surface` in `text`.
    pub start: usize,
    /// End of `surface` in `text` (byte offset, exclusive).
    pub end: usize,
    /// How sure the matcher is, from 0 to 1.
    pub confidence: f32,
    /// External ids, such as `{"geonames": "170063"}`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub ids: serde_json::Map<String, serde_json::Value>,
}

/// A place the article speaks of, resolved to coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// The place's name as the gazetteer gives it.
    pub canonical: String,
    /// GeoNames id, or the id of a curated supplement entry.
    pub id: String,
    /// Latitude, degrees north (WGS 84).
    pub lat: f64,
    /// Longitude, degrees east (WGS 84).
    pub lon: f64,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Something that happened, as the article reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event's type (`Conflict`, `Movement`…).
    #[serde(rename = "type")]
    pub event_type: String,
    /// A finer type (`AirStrike`, `Evacuation`…), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// The words that signalled the event.
    pub trigger: String,
    /// Who took part, as canonical entity names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<String>,
    /// Where it happened, as a canonical place name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// When it happened, as the text gives it, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Byte offsets of the sentence in `text`.
    pub start: usize,
    /// End of the trigger in `text` (byte offset, exclusive).
    pub end: usize,
    /// How sure the detector is, from 0 to 1.
    pub confidence: f32,
}

/// A phrase that says what the article is about, with its weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyphrase {
    /// The phrase as it appears in the text.
    pub phrase: String,
    /// Its weight: higher is more central.
    pub score: f32,
}

/// One news article, from the moment a feed announces it to the moment a sink stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// The record layout's version ([`SCHEMA_VERSION`](crate::SCHEMA_VERSION)), for readers
    /// of stored records.
    pub schema_version: u32,
    /// Stable id: the same article gets the same id on every poll and every machine.
    pub id: RecordId,
    /// The feed (and source stage) the record came from.
    pub feed: FeedRef,
    /// The link the feed gave.
    pub url: String,
    /// The page's own canonical URL (`<link rel=canonical>`), cleaned of tracking parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_url: Option<String>,
    /// The feed's id for the item (RSS guid, Atom id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// The headline.
    #[serde(default)]
    pub title: Option<String>,
    /// The feed's or page's summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Bylines, in page order.
    #[serde(default)]
    pub authors: Vec<String>,
    /// When the article was first published.
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    /// When it was last changed, when the page says so.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// When Khabar fetched it.
    pub fetched_at: DateTime<Utc>,
    /// ISO 639-1 code.
    #[serde(default)]
    pub language: Option<String>,
    /// The outlet's name (`og:site_name` or the feed title).
    #[serde(default)]
    pub site_name: Option<String>,
    /// Labels added by stages (rules, plugins) and by the feed's categories.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The raw page, kept for the normalizer; sinks may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Clean main text, paragraphs separated by blank lines.
    #[serde(default)]
    pub text: Option<String>,
    /// The search and matching form of `text`.
    #[serde(default)]
    pub text_normalized: Option<String>,
    /// Hash of the normalized text, for exact-duplicate checks.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// 64-bit SimHash as 16 hex digits (JSON numbers lose bits past 2^53).
    #[serde(default)]
    pub simhash: Option<String>,
    /// People, organizations and places mentioned, with offsets into `text`.
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// The places among the entities, with coordinates.
    #[serde(default)]
    pub places: Vec<Place>,
    /// Events found in the text.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Keyphrases, most central first.
    #[serde(default)]
    pub keyphrases: Vec<Keyphrase>,
    /// Set by `dedupe` when this record repeats an earlier one (same canonical URL, same
    /// content, or a near-duplicate): the earlier record's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<RecordId>,
    /// Set by `dedupe`: the id of the first record of this story's cluster (its own id when it
    /// is the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<RecordId>,
    /// Open map for plugins, and for provenance notes such as which metadata came from where.
    #[serde(default)]
    pub attrs: serde_json::Map<String, serde_json::Value>,
}

impl Article {
    /// A fresh record for an item at `url`, read from `feed` at `fetched_at`.
    pub fn new(
        id: RecordId,
        feed: FeedRef,
        url: impl Into<String>,
        fetched_at: DateTime<Utc>,
    ) -> Self {
        Article {
            schema_version: SCHEMA_VERSION,
            id,
            feed,
            url: url.into(),
            canonical_url: None,
            guid: None,
            title: None,
            summary: None,
            authors: Vec::new(),
            published_at: None,
            updated_at: None,
            fetched_at,
            language: None,
            site_name: None,
            tags: Vec::new(),
            html: None,
            text: None,
            text_normalized: None,
            content_hash: None,
            simhash: None,
            entities: Vec::new(),
            places: Vec::new(),
            events: Vec::new(),
            keyphrases: Vec::new(),
            duplicate_of: None,
            cluster_id: None,
            attrs: serde_json::Map::new(),
        }
    }

    /// The JSON form without the raw page, as stores and logs want it.
    /// The JSON of the record as sinks write it: with or without the raw page.
    pub fn to_json(&self, include_html: bool) -> serde_json::Value {
        if include_html {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        } else {
            self.to_json_without_html()
        }
    }

    /// The record as JSON without the raw page (`html`), as sinks that store text write it.
    pub fn to_json_without_html(&self) -> serde_json::Value {
        serde_json::to_value(WithoutHtml::from(self)).unwrap_or(serde_json::Value::Null)
    }

    /// [`Article::to_json_without_html`] as text, written straight from the record (no
    /// intermediate `Value`: for a sink storing thousands of records a second, building one
    /// cost more than writing the text).
    pub fn to_json_string_without_html(&self) -> serde_json::Result<String> {
        serde_json::to_string(&WithoutHtml::from(self))
    }

    /// The record as JSON without the raw page and without the text (`text`,
    /// `text_normalized`), for a store that keeps the text in a column (and its search form in
    /// an index) of its own: the text is not stored three times.
    pub fn to_json_string_without_html_or_text(&self) -> serde_json::Result<String> {
        let mut record = WithoutHtml::from(self);
        record.text = None;
        record.text_normalized = None;
        serde_json::to_string(&record)
    }
}

fn leave_out<T>(value: &Option<&T>) -> bool {
    value.is_none()
}

fn is_none<T>(value: &&Option<T>) -> bool {
    value.is_none()
}

/// Every field of [`Article`] but `html`, borrowed, serialized under the same names and rules
/// (a test compares the two): the record without copying the page.
#[derive(Serialize)]
struct WithoutHtml<'a> {
    schema_version: u32,
    id: &'a RecordId,
    feed: &'a FeedRef,
    url: &'a str,
    #[serde(skip_serializing_if = "is_none")]
    canonical_url: &'a Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    guid: &'a Option<String>,
    title: &'a Option<String>,
    summary: &'a Option<String>,
    authors: &'a [String],
    published_at: &'a Option<DateTime<Utc>>,
    updated_at: &'a Option<DateTime<Utc>>,
    fetched_at: &'a DateTime<Utc>,
    language: &'a Option<String>,
    site_name: &'a Option<String>,
    tags: &'a [String],
    /// `None` (the text left out of the record) only when asked for.
    #[serde(skip_serializing_if = "leave_out")]
    text: Option<&'a Option<String>>,
    #[serde(skip_serializing_if = "leave_out")]
    text_normalized: Option<&'a Option<String>>,
    content_hash: &'a Option<String>,
    simhash: &'a Option<String>,
    entities: &'a [Entity],
    places: &'a [Place],
    events: &'a [Event],
    keyphrases: &'a [Keyphrase],
    #[serde(skip_serializing_if = "is_none")]
    duplicate_of: &'a Option<RecordId>,
    #[serde(skip_serializing_if = "is_none")]
    cluster_id: &'a Option<RecordId>,
    attrs: &'a serde_json::Map<String, serde_json::Value>,
}

impl<'a> From<&'a Article> for WithoutHtml<'a> {
    fn from(a: &'a Article) -> WithoutHtml<'a> {
        // Destructured, so a field added to `Article` fails to compile here until it is
        // placed (or left out on purpose).
        let Article {
            schema_version,
            id,
            feed,
            url,
            canonical_url,
            guid,
            title,
            summary,
            authors,
            published_at,
            updated_at,
            fetched_at,
            language,
            site_name,
            tags,
            html: _,
            text,
            text_normalized,
            content_hash,
            simhash,
            entities,
            places,
            events,
            keyphrases,
            duplicate_of,
            cluster_id,
            attrs,
        } = a;
        WithoutHtml {
            schema_version: *schema_version,
            id,
            feed,
            url,
            canonical_url,
            guid,
            title,
            summary,
            authors,
            published_at,
            updated_at,
            fetched_at,
            language,
            site_name,
            tags,
            text: Some(text),
            text_normalized: Some(text_normalized),
            content_hash,
            simhash,
            entities,
            places,
            events,
            keyphrases,
            duplicate_of,
            cluster_id,
            attrs,
        }
    }
}

/// An article in flight, with the acknowledgement its source waits on.
#[derive(Debug, Clone)]
pub struct Record {
    /// The article.
    pub article: Article,
    /// Its acknowledgement: resolve it once the record is delivered, retried or rejected.
    pub ack: Ack,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_without_html_is_the_record_minus_html() {
        let mut article = Article::new(
            RecordId::from_url("https://example.org/a"),
            FeedRef::default(),
            "https://example.org/a",
            Utc::now(),
        );
        article.canonical_url = Some("https://example.org/a".into());
        article.guid = Some("g".into());
        article.html = Some("<p>page</p>".into());
        article.text = Some("page".into());
        article.duplicate_of = Some(RecordId::from_url("https://example.org/b"));
        article.cluster_id = Some(RecordId::from_url("https://example.org/b"));
        article.tags = vec!["t".into()];
        article.attrs.insert("k".into(), serde_json::json!(1));
        let mut full = serde_json::to_value(&article).unwrap_or_default();
        assert!(full.get("html").is_some());
        if let Some(map) = full.as_object_mut() {
            map.remove("html");
        }
        assert_eq!(article.to_json_without_html(), full);
        let text = article.to_json_string_without_html().unwrap_or_default();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(parsed, full);
        // Optional fields left out when empty, as in the record's own form.
        article.guid = None;
        let value = article.to_json_without_html();
        assert!(value.get("guid").is_none() && value.get("title").is_some());
    }

    #[test]
    fn json_uses_snake_case_and_rfc3339() {
        let fetched = DateTime::parse_from_rfc3339("2019-03-01T10:30:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let mut a = Article::new(
            RecordId::from_url("https://example.com/a"),
            FeedRef {
                source: "s".into(),
                url: "https://example.com/rss".into(),
                title: None,
            },
            "https://example.com/a",
            fetched,
        );
        a.published_at = Some(fetched);
        a.language = Some("ar".into());
        let json = serde_json::to_value(&a).unwrap_or_default();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["published_at"], "2019-03-01T10:30:00Z");
        assert_eq!(json["fetched_at"], "2019-03-01T10:30:00Z");
        assert_eq!(json["language"], "ar");
        assert!(json.get("text_normalized").is_some());
        let back: Article = serde_json::from_value(json).unwrap_or_else(|_| a.clone());
        assert_eq!(back, a);
    }
}
