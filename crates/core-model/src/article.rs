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
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(map) = value.as_object_mut() {
            map.remove("html");
        }
        value
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
