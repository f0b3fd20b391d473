//! `khabar inspect`: one feed or one article, without a pipeline.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use khabar_core_model::{Article, BuildContext, FeedRef, RecordId, TransformConfig};
use serde_json::{json, Value};

fn fetcher(allow_private: bool) -> Result<khabar_fetcher::Fetcher> {
    let options = khabar_fetcher::HttpOptions {
        refuse_private_addresses: !allow_private,
        ..Default::default()
    };
    khabar_fetcher::Fetcher::new(options, Default::default()).map_err(|e| anyhow!(e))
}

/// An error about `location`, named once, with how to allow a refused private address.
fn explain(
    error: impl std::fmt::Display,
    location: &str,
    url: &url::Url,
    allow_private: bool,
) -> anyhow::Error {
    let text = error.to_string();
    let text = text
        .strip_prefix(&format!("{url}: "))
        .map(str::to_string)
        .unwrap_or(text);
    let mut text = if text.starts_with(location) {
        text
    } else {
        format!("{location}: {text}")
    };
    if !allow_private && text.contains(khabar_fetcher::PRIVATE_ADDRESS_REFUSED) {
        text.push_str("\nhint: pass --allow-private to read from this machine or its network");
    }
    anyhow!(text)
}

/// A location that names a local file must name a readable regular file: said plainly here
/// rather than as whatever the fetcher makes of a folder, a device or nothing.
fn check_local(url: &url::Url, location: &str) -> Result<()> {
    if url.scheme() != "file" {
        return Ok(());
    }
    let Ok(path) = url.to_file_path() else {
        return Ok(());
    };
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("{location}: no such file"),
        Err(e) => bail!("{location}: {e}"),
        Ok(meta) if !meta.is_file() => bail!("{location}: not a regular file"),
        Ok(_) => Ok(()),
    }
}

pub async fn feed(location: &str, cwd: &Path, allow_private: bool) -> Result<Value> {
    let url = khabar_fetcher::location_to_url(location, cwd).map_err(|e| anyhow!(e))?;
    check_local(&url, location)?;
    let fetched = fetcher(allow_private)?
        .get_configured(&url, None)
        .await
        .map_err(|e| explain(e, location, &url, allow_private))?
        .ok_or_else(|| anyhow!("{url}: the server answered 304 Not Modified to a plain GET"))?;
    let parsed = khabar_fetcher::parse_feed(
        &fetched.body,
        fetched.content_type.as_deref(),
        &fetched.final_url,
    )
    .map_err(|e| explain(e, location, &url, allow_private))?;
    Ok(json!({
        "feed": {
            "title": parsed.title,
            "link": parsed.link,
            "description": parsed.description,
            "language": parsed.language,
            "encoding": parsed.encoding,
            "ttl_minutes": parsed.ttl_minutes,
            "repairs": parsed.repairs,
            "recovered": parsed.recovered,
            "url": fetched.final_url,
        },
        "items": parsed.items,
    }))
}

/// The per-article chain of the default pipeline: fetch_article → normalize → entities →
/// events → keyphrases → attributions.
pub async fn article(
    location: &str,
    real_url: Option<&str>,
    cwd: &Path,
    allow_private: bool,
) -> Result<Value> {
    let target = khabar_fetcher::location_to_url(location, cwd).map_err(|e| anyhow!(e))?;
    check_local(&target, location)?;
    let ctx = BuildContext::standalone("inspect", std::env::temp_dir(), cwd.to_path_buf());
    // The operator named this file on the command line: its folder may be read.
    let local_pages: Vec<String> = target
        .to_file_path()
        .ok()
        .and_then(|path| path.parent().map(|p| p.display().to_string()))
        .into_iter()
        .collect();
    let fetch: khabar_fetcher::FetchArticleConfig = serde_json::from_value(json!({
        "http": {"refuse_private_addresses": !allow_private},
        "local_pages": local_pages,
        "pass_without_link": false,
    }))?;
    let normalize: khabar_normalizer::NormalizeConfig = serde_json::from_value(json!({}))?;
    let (fetch, normalize) = (fetch.build(&ctx).await?, normalize.build(&ctx).await?);

    let mut article = Article::new(
        RecordId::from_url(target.as_str()),
        FeedRef {
            source: "inspect".into(),
            url: String::new(),
            title: None,
        },
        target.as_str(),
        chrono::Utc::now(),
    );
    fetch
        .process(&mut article)
        .await
        .map_err(|e| explain(e, location, &target, allow_private))?;
    if let Some(real) = real_url {
        // The page came from a saved copy; the record should speak of its real address.
        article.url = real.to_string();
        article.attrs.remove("fetched_url");
        article.id = RecordId::from_url(real);
    }
    normalize
        .process(&mut article)
        .await
        .map_err(|e| anyhow!("{location}: {e}"))?;
    // As the default configuration does: the GeoNames places beside the curated list, when
    // run from a checkout (or a directory) that has them.
    let geonames = cwd.join("config/gazetteers/geonames.tsv");
    let places: Vec<String> = if geonames.is_file() {
        vec![geonames.display().to_string()]
    } else {
        Vec::new()
    };
    let entities: khabar_extractor::EntitiesConfig =
        serde_json::from_value(json!({ "places": places }))?;
    let stage = entities.build(&ctx).await?;
    stage
        .process(&mut article)
        .await
        .map_err(|e| anyhow!("{location}: {e}"))?;
    // The command ends once the record is printed: freeing the 116k names one by one would
    // take a tenth of its time for memory the process returns at exit anyway.
    std::mem::forget(stage);
    article.events = khabar_extractor::find_events(&article);
    if let Some(text) = article.text.as_deref() {
        article.keyphrases = khabar_extractor::keyphrases(text, 10);
        let found = khabar_extractor::attributions(text);
        article
            .attrs
            .insert("attributions".into(), Value::Array(found));
    }
    Ok(article.to_json_without_html())
}
