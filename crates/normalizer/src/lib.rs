//! Khabar's normalizer: turns a fetched page into clean text and trustworthy metadata.
//!
//! Stage registered here: transform `normalize`. The pieces (main text, metadata, dates,
//! text folding, URL canonicalization, language) are public for other tools to reuse.

pub mod dedupe;
pub mod extract;
/// The text mappings `normalize` applies (`text` as written, `text_normalized` for search and
/// matching) and the date readers; they live in `khabar-text` so that the extractor and the
/// sinks fold text exactly as the normalizer does.
pub use khabar_text::{dates, fold, relative};
pub mod lang;
pub mod metadata;
pub mod near;
pub mod urls;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use khabar_core_model::{
    Article, BuildContext, RecordId, Registry, StageError, Transform, TransformConfig, Verdict,
};
use khabar_html::{Document, NodeData};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub fn register(registry: &mut Registry) {
    registry.add_transform::<dedupe::DedupeConfig>(
        "dedupe",
        "marks (or drops) exact duplicates by canonical URL and content, and near-duplicates by SimHash, remembered with a TTL",
    );
    registry.add_transform::<NormalizeConfig>(
        "normalize",
        "main text without page chrome, title, authors, dates, language, site, canonical URL, search form of the text",
    );
}

/// `[transforms.<id>] type = "normalize"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeConfig {
    /// Keep the raw page in the record after extraction (large; off by default).
    #[serde(default)]
    pub keep_html: bool,
}

#[async_trait]
impl TransformConfig for NormalizeConfig {
    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        Ok(Box::new(Normalize {
            keep_html: self.keep_html,
        }))
    }
}

struct Normalize {
    keep_html: bool,
}

#[async_trait]
impl Transform for Normalize {
    fn cpu_bound(&self) -> bool {
        true
    }

    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        normalize_article(article);
        if !self.keep_html {
            article.html = None;
        }
        Ok(Verdict::Keep)
    }
}

/// Text of an HTML fragment (feed summaries often carry markup).
pub fn html_fragment_text(fragment: &str) -> String {
    if !fragment.contains('<') && !fragment.contains('&') {
        return khabar_text::collapse_whitespace(fragment);
    }
    let parsed = Document::parse(fragment);
    let texts: Vec<&str> = parsed
        .root()
        .descendants()
        .filter_map(|node| match node.data() {
            NodeData::Text(text) => Some(text.as_ref()),
            _ => None,
        })
        .collect();
    khabar_text::collapse_whitespace(&texts.join(" "))
}

/// A date at the head of the text: a dateline ("BAGHDAD, 1 March 2019 -", "الجمعة ١٥ رجب ١٤٤٠
/// هـ", "منذ ساعتين"), resolved against the fetch time when relative.
pub fn dateline_date(text: &str, fetched_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let head: String = text.chars().take(200).collect();
    let first_line = head.split('\n').next().unwrap_or("");
    for fragment in first_line.split(['|', '—', '–', '(', ')', '،', '-']) {
        if fragment
            .chars()
            .filter(|c| khabar_text::is_alphanumeric(*c))
            .count()
            < 6
        {
            continue;
        }
        if let Some(date) = khabar_text::parse_date(fragment) {
            return Some(date);
        }
    }
    let opening: String = first_line.chars().take(60).collect();
    khabar_text::parse_relative(&opening, fetched_at)
}

/// A date in the URL's path: /2019/03/01/, /2019-03-01-…, /20190301/.
pub fn url_date(url: &str) -> Option<DateTime<Utc>> {
    let parsed = url::Url::parse(url).ok()?;
    let segments: Vec<&str> = parsed.path_segments()?.collect();
    let number = |s: &str| s.parse::<u32>().ok();
    let make = |y: u32, m: u32, d: u32| {
        (1990..=2100).contains(&y).then_some(())?;
        chrono::NaiveDate::from_ymd_opt(y as i32, m, d)?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
    };
    for window in segments.windows(3) {
        if window[0].len() == 4 {
            if let (Some(y), Some(m), Some(d)) =
                (number(window[0]), number(window[1]), number(window[2]))
            {
                if let Some(date) = make(y, m, d) {
                    return Some(date);
                }
            }
        }
    }
    for segment in &segments {
        let digits: Vec<&str> = segment
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .collect();
        for window in digits.windows(3) {
            if window[0].len() == 4 && window[1].len() <= 2 && window[2].len() <= 2 {
                if let (Some(y), Some(m), Some(d)) =
                    (number(window[0]), number(window[1]), number(window[2]))
                {
                    if let Some(date) = make(y, m, d) {
                        return Some(date);
                    }
                }
            }
        }
        for run in &digits {
            if run.len() == 8 {
                if let (Some(y), Some(m), Some(d)) =
                    (number(&run[..4]), number(&run[4..6]), number(&run[6..]))
                {
                    if let Some(date) = make(y, m, d) {
                        return Some(date);
                    }
                }
            }
        }
    }
    None
}

fn hash_hex(text: &str) -> String {
    khabar_core_model::hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// Fills the record's text and metadata from its page (or, without a page, from the feed's
/// summary). Page metadata outranks the feed's; each field's source goes to
/// `attrs.metadata_sources`.
pub fn normalize_article(article: &mut Article) {
    let mut sources = serde_json::Map::new();
    let mut note = |field: &str, source: &str| {
        sources.insert(field.to_string(), Value::String(source.to_string()));
    };
    if let Some(summary) = article.summary.take() {
        let clean = html_fragment_text(&summary);
        article.summary = (!clean.is_empty()).then_some(clean);
    }
    let mut declared_language = article.language.clone();
    if let Some(html) = article.html.as_deref() {
        let document = Document::parse(html);
        let meta = metadata::extract(&document);
        let paragraphs = extract::main_text(&document);
        // The paragraphs come tidied; only composing them may remain to do.
        let joined = paragraphs.join("\n\n");
        let mut body = match khabar_text::nfc(&joined) {
            std::borrow::Cow::Borrowed(_) => joined,
            std::borrow::Cow::Owned(composed) => khabar_text::clean_text(&composed),
        };
        if body.chars().count() < 200 {
            if let Some(ld_body) = meta.article_body.as_deref().map(khabar_text::clean_text) {
                if ld_body.chars().count() > body.chars().count() {
                    body = ld_body;
                    note("text", "json-ld");
                }
            }
        }
        if !body.is_empty() {
            article.text = Some(body);
        }
        if let Some(t) = meta.title {
            article.title = Some(t.value);
            note("title", t.source);
        } else if article.title.is_some() {
            note("title", "feed");
        }
        let feed_date_is_real =
            article.published_at.is_some() && !article.attrs.contains_key("published_at_estimated");
        if let Some(p) = meta.published_at {
            article.published_at = Some(p.value);
            article.attrs.remove("published_at_estimated");
            note("published_at", p.source);
        } else if feed_date_is_real {
            note("published_at", "feed");
        } else if let Some((date, source)) =
            dateline_date(article.text.as_deref().unwrap_or(""), article.fetched_at)
                .map(|d| (d, "dateline"))
                .or_else(|| url_date(&article.url).map(|d| (d, "url")))
        {
            article.published_at = Some(date);
            article.attrs.remove("published_at_estimated");
            note("published_at", source);
        }
        if let Some(m) = meta.modified_at {
            article.updated_at = Some(m.value);
            note("updated_at", m.source);
        }
        if let Some(a) = meta.authors {
            if article.authors.is_empty() || a.source == "json-ld" {
                article.authors = a.value;
                note("authors", a.source);
            }
        }
        if let Some(s) = meta.site_name {
            article.site_name = Some(s.value);
            note("site_name", s.source);
        }
        if let Some(l) = meta.language {
            declared_language = Some(l.value);
            note("declared_language", l.source);
        }
        for tag in meta.tags {
            if !article.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
                article.tags.push(tag);
            }
        }
        if let Some(section) = meta.section {
            article
                .attrs
                .insert("section".into(), Value::String(section.value));
            note("section", section.source);
        }
        if let Some(image) = meta.image {
            article
                .attrs
                .insert("lead_image".into(), Value::String(image.value));
            note("lead_image", image.source);
        }
        if article.summary.is_none() {
            article.summary = meta.description;
        }
        let page_url = article
            .attrs
            .get("fetched_url")
            .and_then(Value::as_str)
            .unwrap_or(&article.url)
            .to_string();
        let declared_canonical = meta.canonical_url.as_ref().map(|c| c.value.as_str());
        article.canonical_url = urls::choose_canonical(&page_url, declared_canonical);
        if let Some(c) = &meta.canonical_url {
            note("canonical_url", c.source);
        }
    } else {
        article.canonical_url = urls::canonicalize(&article.url);
        if article.text.is_none() {
            article.text = article.summary.clone();
            note("text", "feed summary");
        }
    }
    if let Some(title) = article.title.take() {
        article.title = Some(metadata::clean_title(&title, article.site_name.as_deref()));
    }
    let basis = article.text.clone().unwrap_or_default();
    let basis = if basis.is_empty() {
        article.title.clone().unwrap_or_default()
    } else {
        basis
    };
    article.language = lang::identify(&basis, declared_language.as_deref());
    if let Some(title) = &article.title {
        article.attrs.insert(
            "title_normalized".into(),
            Value::String(khabar_text::normalize_for_search(title)),
        );
    }
    if let Some(text) = &article.text {
        let normalized = khabar_text::normalize_for_search(text);
        article.content_hash = Some(hash_hex(&normalized));
        article.text_normalized = Some(normalized);
    }
    if let Some(canonical) = &article.canonical_url {
        article.id = RecordId::from_url(canonical);
    }
    article
        .attrs
        .insert("metadata_sources".into(), Value::Object(sources));
    article
        .attrs
        .insert("normalized_by".into(), json!(env!("CARGO_PKG_VERSION")));
}
