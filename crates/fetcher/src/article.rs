//! The `fetch_article` transform: fetches each item's page, minding robots.txt, and keeps its
//! HTML for the normalizer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use khabar_core_model::{Article, BuildContext, StageError, Transform, TransformConfig, Verdict};
use serde::Deserialize;
use serde_json::Value;

use crate::decode::decode_html;
use crate::http::{Fetcher, HttpOptions};
use crate::politeness::Politeness;
use crate::robots::RobotsCache;

/// `[transforms.<id>] type = "fetch_article"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchArticleConfig {
    #[serde(default)]
    pub http: HttpOptions,
    /// Items without a link (or with one that is not http or https) pass on without a page
    /// when true, and are rejected when false.
    #[serde(default = "default_true")]
    pub pass_without_link: bool,
    /// Folders (relative to the config file) whose files an item's `file:` link may name:
    /// for demos and fixtures. Empty by default, so a feed can never make Khabar read a local
    /// file; a link outside these folders (after resolving `..` and symbolic links) is refused.
    #[serde(default)]
    pub local_pages: Vec<PathBuf>,
    /// Honour robots.txt. A disallowed page is not fetched; the record passes on with the
    /// feed's title and summary and `attrs.page_skipped = "robots.txt"`.
    #[serde(default = "default_true")]
    pub respect_robots: bool,
}

fn default_true() -> bool {
    true
}

#[async_trait]
impl TransformConfig for FetchArticleConfig {
    fn validate(&self) -> Vec<String> {
        self.http.problems()
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        let politeness = ctx.resources.get_or_init(Politeness::default);
        let fetcher = Fetcher::new(self.http.clone(), politeness)
            .map(|f| f.for_stage(&ctx.stage_id))
            .map_err(|e| StageError::config("HTTP client").with_cause(e))?;
        let mut local_pages = Vec::new();
        for folder in &self.local_pages {
            let folder = ctx.resolve_input(folder);
            let canonical = std::fs::canonicalize(&folder).map_err(|e| {
                StageError::config(format!("field `local_pages`: {}", folder.display()))
                    .with_cause(e)
            })?;
            local_pages.push(canonical);
        }
        Ok(Box::new(FetchArticle {
            fetcher,
            local_pages,
            pass_without_link: self.pass_without_link,
            robots: self
                .respect_robots
                .then(|| ctx.resources.get_or_init(RobotsCache::default)),
        }))
    }
}

struct FetchArticle {
    fetcher: Fetcher,
    /// Canonical folders `file:` links may point into.
    local_pages: Vec<PathBuf>,
    pass_without_link: bool,
    robots: Option<Arc<RobotsCache>>,
}

#[async_trait]
impl Transform for FetchArticle {
    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        let url = match url::Url::parse(&article.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            Ok(url) if url.scheme() == "file" => match self.local_page(&url).await {
                Some(local) => {
                    let fetched = self.fetcher.read_file(&local).await?;
                    return match keep_page(article, fetched) {
                        Ok(()) => Ok(Verdict::Keep),
                        Err(reason) => self.skip(article, format!("{url}: {reason}")),
                    };
                }
                None => {
                    let refused = format!(
                        "{url}: a local file refused: an item's link may only name a file inside the stage's `local_pages` folders"
                    );
                    return self.skip(article, refused);
                }
            },
            // A link from the network naming another scheme (ftp:, data:, javascript:) is
            // never followed.
            Ok(url) => {
                let refused = format!(
                    "{url}: scheme {:?} refused: an item's link may only be http or https",
                    url.scheme()
                );
                return self.skip(article, refused);
            }
            Err(_) => {
                let missing = format!("item has no fetchable link ({:?})", article.url);
                return self.skip(article, missing);
            }
        };
        if let Some(robots) = &self.robots {
            if !robots.allowed(&self.fetcher, &url).await? {
                tracing::debug!(url = %url, "robots.txt disallows this page; passing the feed's data on");
                article
                    .attrs
                    .insert("page_skipped".into(), Value::String("robots.txt".into()));
                return Ok(Verdict::Keep);
            }
        }
        let fetched =
            self.fetcher.get(&url, None).await?.ok_or_else(|| {
                StageError::transient(format!("{url}: unexpected 304 Not Modified"))
            })?;
        match keep_page(article, fetched) {
            Ok(()) => Ok(Verdict::Keep),
            Err(reason) => self.skip(article, format!("{url}: {reason}")),
        }
    }
}

impl FetchArticle {
    /// A link that will not be fetched: the record passes on with the feed's data (and the
    /// reason in `attrs.page_skipped`) when `pass_without_link`, else it is rejected.
    fn skip(&self, article: &mut Article, reason: String) -> Result<Verdict, StageError> {
        if !self.pass_without_link {
            return Err(StageError::permanent(reason));
        }
        tracing::debug!(id = %article.id, reason, "page not fetched; passing the feed's data on");
        article
            .attrs
            .insert("page_skipped".into(), Value::String(reason));
        Ok(Verdict::Keep)
    }

    /// A `file:` link is followed only when it lies inside one of the operator's
    /// `local_pages` folders: the canonical path (symbolic links and `..` resolved) to read,
    /// or `None` when refused.
    async fn local_page(&self, url: &url::Url) -> Option<url::Url> {
        let path = url.to_file_path().ok()?;
        let canonical = tokio::fs::canonicalize(&path).await.ok()?;
        if !self
            .local_pages
            .iter()
            .any(|folder| inside(&canonical, folder))
        {
            return None;
        }
        url::Url::from_file_path(&canonical).ok()
    }
}

fn inside(path: &Path, folder: &Path) -> bool {
    path.starts_with(folder) && path != folder
}

/// Why a body is no web page (an image, a PDF, an executable, nothing at all), judged by its
/// first bytes as browsers sniff: servers label binaries `text/html` and pages
/// `application/octet-stream`, so the label alone decides nothing.
fn not_a_page(body: &[u8]) -> Option<String> {
    const MAGIC: [(&[u8], &str); 7] = [
        (b"%PDF-", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"GIF8", "a GIF image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1F\x8B", "gzip data"),
        (b"\x7FELF", "an executable"),
    ];
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some("the page is empty".to_string());
    }
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| body.starts_with(magic)) {
        return Some(format!("not a web page but {what}"));
    }
    // UTF-16 text has NULs in every other byte and says so with its byte-order mark.
    let utf16 = body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF");
    let head = body.get(..1024).unwrap_or(body);
    if !utf16 && head.contains(&0) {
        return Some("not a web page but binary data".to_string());
    }
    None
}

/// Decodes a fetched page into the record, or says why it is no page.
fn keep_page(article: &mut Article, fetched: crate::http::Fetched) -> Result<(), String> {
    if let Some(reason) = not_a_page(&fetched.body) {
        return Err(reason);
    }
    let decoded = decode_html(&fetched.body, fetched.content_type.as_deref());
    if fetched.final_url != article.url {
        article.attrs.insert(
            "fetched_url".into(),
            Value::String(fetched.final_url.clone()),
        );
    }
    article.attrs.insert(
        "page_encoding".into(),
        Value::String(decoded.encoding.to_string()),
    );
    article.html = Some(decoded.text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::not_a_page;

    #[test]
    fn binaries_and_empty_bodies_are_no_pages() {
        for (body, says) in [
            (&b""[..], "empty"),
            (b" \n\t", "empty"),
            (b"%PDF-1.7\n", "PDF"),
            (b"\x89PNG\r\n\x1a\n", "PNG"),
            (b"\x7FELF\x02\x01", "executable"),
            (b"<html>\0\0\0", "binary"),
        ] {
            let reason = not_a_page(body).unwrap_or_default();
            assert!(reason.contains(says), "{body:?}: {reason}");
        }
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<html>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        for page in [&b"<html><body>x</body></html>"[..], "نص".as_bytes(), &utf16] {
            assert_eq!(not_a_page(page), None, "{page:?}");
        }
    }
}
