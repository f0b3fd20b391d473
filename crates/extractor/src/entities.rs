//! The `entities` transform: finds gazetteer names in the text, Arabic clitics and quotes
//! included, and lists the people, organizations and places with their coordinates.
//!
//! Matching runs Aho-Corasick (leftmost-longest: "قوات سورية الديمقراطية" beats "سورية") over
//! the search form of the text with quotation marks dropped (تنظيم "داعش" is تنظيم داعش);
//! every match maps back to byte offsets in `text`. A match must start a word, or follow one of
//! the proclitics و ف ب ل ك (alone or combined), and end one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aho_corasick::{AhoCorasick, MatchKind};
use async_trait::async_trait;
use khabar_core_model::{
    Article, BuildContext, Entity, EntityKind, Place, StageError, Transform, TransformConfig,
    Verdict,
};
use serde::Deserialize;
use serde_json::Value;

use crate::gazetteer::{parse_tsv, GazetteerEntry, CURATED};

/// `[transforms.<id>] type = "entities"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitiesConfig {
    /// Extra gazetteers (TSV, same columns as the curated one), relative to the config file.
    #[serde(default)]
    pub lists: Vec<PathBuf>,
    /// Use the curated list shipped with Khabar.
    #[serde(default = "default_true")]
    pub curated: bool,
}

fn default_true() -> bool {
    true
}

/// Quotation marks that sit inside names in Arabic prose.
fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '«' | '»' | '“' | '”' | '„' | '‘' | '’')
}

/// Single proclitics; combinations (وب, ول, فل…) are sequences of them.
const PROCLITICS: [char; 5] = ['و', 'ف', 'ب', 'ل', 'ك'];

/// A compiled gazetteer.
pub struct Matcher {
    automaton: AhoCorasick,
    /// Pattern number → entry number.
    owner: Vec<usize>,
    entries: Vec<GazetteerEntry>,
}

impl Matcher {
    pub fn new(entries: Vec<GazetteerEntry>) -> Result<Matcher, String> {
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            for alias in &entry.aliases {
                let folded: String = khabar_text::normalize_for_search(alias)
                    .chars()
                    .filter(|c| !is_quote(*c))
                    .collect();
                if folded.chars().count() < 2 {
                    continue;
                }
                // After ل the article's alef is not written: للتحالف is ل + التحالف.
                if let Some(rest) = folded.strip_prefix("ال") {
                    patterns.push(format!("لل{rest}"));
                    owner.push(i);
                }
                patterns.push(folded);
                owner.push(i);
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(|e| format!("gazetteer: {e}"))?;
        Ok(Matcher {
            automaton,
            owner,
            entries,
        })
    }

    /// Entities and places in `text`, in text order.
    pub fn find(&self, text: &str) -> (Vec<Entity>, Vec<Place>) {
        let (folded, offsets) = khabar_text::normalize_with_offsets(text);
        // Drop quotes; keep, for every byte of what remains, the offset in `text` of the char
        // it came from (matches come back as byte ranges).
        let mut search = String::with_capacity(folded.len());
        let mut origin = Vec::with_capacity(folded.len());
        for (c, at) in folded.chars().zip(offsets) {
            if !is_quote(c) {
                search.push(c);
                origin.extend(std::iter::repeat_n(at, c.len_utf8()));
            }
        }
        let mut entities = Vec::new();
        let mut places: BTreeMap<String, Place> = BTreeMap::new();
        for m in self.automaton.find_iter(&search) {
            if m.start() >= m.end()
                || !word_start(&search, m.start())
                || !word_end(&search, m.end())
            {
                continue;
            }
            let Some(&entry_index) = self.owner.get(m.pattern().as_usize()) else {
                continue;
            };
            let entry = &self.entries[entry_index];
            let from = origin[m.start()];
            let last = origin[m.end() - 1];
            let to = last + text[last..].chars().next().map_or(0, char::len_utf8);
            let length = search[m.start()..m.end()].chars().count();
            let mut ids = serde_json::Map::new();
            ids.insert("khabar".into(), Value::String(entry.id.clone()));
            if let Some(g) = &entry.geonames {
                ids.insert("geonames".into(), Value::String(g.clone()));
            }
            entities.push(Entity {
                surface: text[from..to].to_string(),
                canonical: entry.canonical.clone(),
                kind: entry.kind,
                start: from,
                end: to,
                confidence: if length <= 4 { 0.7 } else { 0.9 },
                ids,
            });
            if entry.kind == EntityKind::Place {
                if let (Some(lat), Some(lon)) = (entry.lat, entry.lon) {
                    places.entry(entry.id.clone()).or_insert_with(|| Place {
                        canonical: entry.canonical.clone(),
                        id: entry
                            .geonames
                            .clone()
                            .map(|g| format!("geonames:{g}"))
                            .unwrap_or_else(|| entry.id.clone()),
                        lat,
                        lon,
                        country: entry.country.clone(),
                    });
                }
            }
        }
        (entities, places.into_values().collect())
    }
}

/// A match starts a word, or follows up to three proclitics that start one.
fn word_start(search: &str, start: usize) -> bool {
    let mut before = search[..start].chars().rev();
    for taken in 0..=3 {
        match before.next() {
            None => return true,
            Some(c) if !c.is_alphanumeric() => return true,
            Some(c) if taken < 3 && PROCLITICS.contains(&c) => continue,
            Some(_) => return false,
        }
    }
    false
}

fn word_end(search: &str, end: usize) -> bool {
    search[end..]
        .chars()
        .next()
        .is_none_or(|c| !c.is_alphanumeric())
}

#[async_trait]
impl TransformConfig for EntitiesConfig {
    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        let mut entries = if self.curated {
            parse_tsv(CURATED, "curated.tsv").map_err(StageError::config)?
        } else {
            Vec::new()
        };
        for list in &self.lists {
            let path = ctx.resolve_input(list);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                StageError::config(format!("field `lists`: {}: {e}", path.display()))
            })?;
            entries.extend(
                parse_tsv(&text, &path.display().to_string())
                    .map_err(|e| StageError::config(format!("field `lists`: {e}")))?,
            );
        }
        if entries.is_empty() {
            return Err(StageError::config(
                "no gazetteer: set `curated = true` or name `lists`",
            ));
        }
        Ok(Box::new(Entities {
            matcher: Matcher::new(entries).map_err(StageError::config)?,
        }))
    }
}

struct Entities {
    matcher: Matcher,
}

#[async_trait]
impl Transform for Entities {
    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        let Some(text) = article.text.as_deref() else {
            return Ok(Verdict::Keep);
        };
        let (entities, places) = self.matcher.find(text);
        article.entities = entities;
        article.places = places;
        Ok(Verdict::Keep)
    }
}
