//! `khabar feeds`: what the feed and sitemap sources know of their feeds; OPML in and out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use khabar_core_model::{Registry, StageKind, StateStore};
use khabar_fetcher::{FeedSourceConfig, OpmlFeed, Subscription};

pub enum Action {
    List { json: bool },
    Import { file: PathBuf },
    Export { output: Option<PathBuf> },
}

struct FeedSource {
    id: String,
    configured: Vec<Subscription>,
}

/// The config's `feed` and `sitemap` sources with their configured feeds, and the state store.
async fn sources(
    config: &Path,
    registry: &Registry,
) -> Result<(Vec<FeedSource>, Arc<dyn StateStore>)> {
    let plan = crate::cli::plan(config, registry)?;
    let found = feed_sources(&plan)?;
    let data_dir = plan.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("global.data_dir: {}", data_dir.display()))?;
    Ok((found, crate::cli::open_state(&plan).await?))
}

/// The plan's `feed` and `sitemap` sources with their configured feeds.
fn feed_sources(plan: &khabar_runtime::Plan) -> Result<Vec<FeedSource>> {
    let mut found = Vec::new();
    for stage in plan.stages.iter().filter(|s| s.kind == StageKind::Source) {
        if !matches!(stage.type_name.as_str(), "feed" | "sitemap") {
            continue;
        }
        let settings: FeedSourceConfig = serde_json::from_value(stage.own_settings.clone())
            .with_context(|| format!("sources.{}", stage.id))?;
        let configured = settings
            .subscriptions(&plan.config_dir)
            .map_err(|e| anyhow!("sources.{}: {e}", stage.id))?;
        found.push(FeedSource {
            id: stage.id.clone(),
            configured,
        });
    }
    Ok(found)
}

/// The feeds page's view of a running daemon's feeds: read from its state store on each
/// request, as `khabar feeds` reads them.
pub(crate) struct StoredFeeds {
    sources: Vec<FeedSource>,
    state: Arc<dyn StateStore>,
}

impl StoredFeeds {
    /// `None` when the plan has no feed or sitemap source.
    pub(crate) fn of(
        plan: &khabar_runtime::Plan,
        state: Arc<dyn StateStore>,
    ) -> Result<Option<StoredFeeds>> {
        let sources = feed_sources(plan)?;
        Ok((!sources.is_empty()).then_some(StoredFeeds { sources, state }))
    }
}

#[khabar_core_model::async_trait]
impl khabar_api::FeedsProvider for StoredFeeds {
    async fn feeds(&self) -> Result<Vec<khabar_fetcher::FeedStatus>, String> {
        let mut all = Vec::new();
        for s in &self.sources {
            all.extend(
                khabar_fetcher::feed_status(self.state.as_ref(), &s.id, &s.configured).await,
            );
        }
        Ok(all)
    }
}

/// The sources' ids, for messages: "wire, maps".
fn ids<'a>(sources: impl Iterator<Item = &'a FeedSource>) -> String {
    sources
        .map(|s| s.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn pick<'a>(sources: &'a [FeedSource], wanted: Option<&str>) -> Result<Vec<&'a FeedSource>> {
    match wanted {
        Some(id) => match sources.iter().find(|s| s.id == id) {
            Some(s) => Ok(vec![s]),
            None => bail!(
                "no feed or sitemap source {id:?}; the config has: {}",
                ids(sources.iter())
            ),
        },
        None if sources.is_empty() => bail!("the config has no feed or sitemap source"),
        None => Ok(sources.iter().collect()),
    }
}

fn short_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".to_string())
}

pub async fn run(
    config: &Path,
    source: Option<&str>,
    action: Action,
    registry: &Registry,
) -> Result<ExitCode> {
    let (sources, state) = sources(config, registry).await?;
    match action {
        Action::List { json } => {
            let mut all = Vec::new();
            for s in pick(&sources, source)? {
                all.extend(khabar_fetcher::feed_status(state.as_ref(), &s.id, &s.configured).await);
            }
            if json {
                out!("{}", serde_json::to_string_pretty(&all)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            out!(
                "{:<16} {:<16} {:>6} {:>7}  {:<10} URL",
                "LAST SUCCESS",
                "NEXT POLL",
                "ERRORS",
                "ITEMS",
                "STATUS"
            )?;
            for f in &all {
                let status = f.status.as_str();
                out!(
                    "{:<16} {:<16} {:>6} {:>7}  {:<10} {}",
                    short_time(f.last_success),
                    short_time(f.next_poll),
                    f.errors,
                    f.items_seen,
                    status,
                    f.url
                )?;
                if let Some(polling) = &f.polling_url {
                    out!("{:>60} now polled at {polling}", "↳")?;
                }
                if let Some(panic) = &f.crashed {
                    out!("{:>60} crashed: {panic}", "↳")?;
                }
                if let Some(reason) = f.disabled.as_ref().or(f.last_error.as_ref()) {
                    out!("{:>60} {reason}", "↳")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Import { file } => {
            let targets = pick(&sources, source)?;
            let [target] = targets.as_slice() else {
                bail!(
                    "the config has several feed sources ({}); name one with --source",
                    ids(targets.iter().copied())
                );
            };
            let bytes = std::fs::read(&file).with_context(|| file.display().to_string())?;
            let text = khabar_fetcher::decode_xml(&bytes, None).text;
            let mut feeds = khabar_fetcher::parse_opml(&text)
                .map_err(|e| anyhow!("{}: {e}", file.display()))?;
            // A relative xmlUrl names a file beside the OPML file, as the config's `opml` does.
            let base = std::fs::canonicalize(&file)
                .ok()
                .and_then(|path| path.parent().map(Path::to_path_buf))
                .unwrap_or_default();
            for feed in &mut feeds {
                feed.url = khabar_fetcher::location_to_url(&feed.url, &base)
                    .map_err(|e| anyhow!("{}: feed {:?}: {e}", file.display(), feed.url))?
                    .to_string();
                if let Some(interval) = &feed.interval {
                    khabar_core_model::duration::parse(interval).map_err(|e| {
                        anyhow!("{}: feed {}: interval: {e}", file.display(), feed.url)
                    })?;
                }
            }
            let count = khabar_fetcher::import_feeds(state.as_ref(), &target.id, &feeds)
                .await
                .map_err(|e| anyhow!(e))?;
            out!("imported {count} feeds into source {:?}", target.id)?;
            Ok(ExitCode::SUCCESS)
        }
        Action::Export { output } => {
            let mut feeds: Vec<OpmlFeed> = Vec::new();
            for s in pick(&sources, source)? {
                for status in
                    khabar_fetcher::feed_status(state.as_ref(), &s.id, &s.configured).await
                {
                    feeds.push(OpmlFeed {
                        url: status.url.clone(),
                        title: status.title.clone(),
                        category: status.category.clone(),
                        interval: status.interval.clone(),
                        enabled: status.disabled.is_none(),
                    });
                }
            }
            let text = khabar_fetcher::write_opml("Khabar feeds", &feeds);
            match output {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| path.display().to_string())?
                }
                None => {
                    use std::io::Write as _;
                    std::io::stdout().write_all(text.as_bytes())?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
