//! The `fetch_article` transform: fetches each item's page, minding robots.txt, and keeps its
//! HTML for the normalizer.

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
    /// Items without a link (or with one that is not http, https or file) pass on without a
    /// page when true, and are rejected when false.
    #[serde(default = "default_true")]
    pub pass_without_link: bool,
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
        let fetcher = Fetcher::new(self.http.clone(), politeness).map_err(StageError::config)?;
        Ok(Box::new(FetchArticle {
            fetcher,
            pass_without_link: self.pass_without_link,
            robots: self
                .respect_robots
                .then(|| ctx.resources.get_or_init(RobotsCache::default)),
        }))
    }
}

struct FetchArticle {
    fetcher: Fetcher,
    pass_without_link: bool,
    robots: Option<Arc<RobotsCache>>,
}

#[async_trait]
impl Transform for FetchArticle {
    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        let url = match url::Url::parse(&article.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https" | "file") => url,
            _ if self.pass_without_link => return Ok(Verdict::Keep),
            _ => {
                return Err(StageError::permanent(format!(
                    "item has no fetchable link ({:?})",
                    article.url
                )))
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
        Ok(Verdict::Keep)
    }
}
