use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use khabar_core_model::{Registry, RunMode, StageKind};
use khabar_runtime::{load_config, validate, ConfigIssue, Pipeline, Plan, RunSummary, Shutdown};

use crate::inspect;

const DEFAULT_CONFIG: &str = "config/khabar.toml";

#[derive(Parser)]
#[command(
    name = "khabar",
    version,
    about = "Turns news feeds into clean, enriched, deduplicated article records"
)]
struct Cli {
    /// Log format: text or json (default: the config's `global.log_format`, else text).
    #[arg(long, global = true)]
    log_format: Option<String>,
    /// Log level (error, warn, info, debug, trace, off) or per-module filter such as
    /// `info,khabar_fetcher=debug` (RUST_LOG overrides it).
    #[arg(long, global = true, default_value = "info", value_parser = crate::logging::parse_level)]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline until SIGINT or SIGTERM (a second signal exits at once).
    Run {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Poll every feed once, deliver everything, print a summary and exit.
    Once {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the records leaving a stage of the running daemon as JSON lines (as they pass;
    /// when this reader is slower than the stage, records are dropped and counted on
    /// standard error: the pipeline never waits for a viewer).
    Tap {
        /// The stage's id in the config (`clean`, `entities`, a sink's id…).
        stage: String,
        /// Stop after this many records.
        #[arg(long)]
        limit: Option<u64>,
        /// Only these fields, comma-separated (`title,url,entities`; `feed.source` reaches in).
        #[arg(long)]
        fields: Option<String>,
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The daemon's API (default: what the running daemon of the config wrote to its data
        /// folder, else the config's `[api] address`).
        #[arg(long)]
        api: Option<String>,
        /// Fail at once when no daemon answers, and end when it stops (by default the tap
        /// waits for the daemon and connects again after a restart, as `vector tap` does).
        #[arg(long)]
        no_wait: bool,
    },
    /// Each stage's rates and queue in the running daemon, redrawn every interval.
    Top {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The daemon's API (default as for `tap`).
        #[arg(long)]
        api: Option<String>,
        /// Time between two screens (`2s`, `500ms`).
        #[arg(long, default_value = "2s", value_parser = parse_interval)]
        interval: std::time::Duration,
        /// Stop after this many screens (0: until interrupted).
        #[arg(long, default_value_t = 0)]
        iterations: u64,
    },
    /// Check a config and report every problem at once.
    Validate {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// List the stage types this binary knows, by kind.
    Plugins,
    /// Full-text search over the SQLite store.
    Search {
        /// Words to find (all must match); spelling variants fold as in `text_normalized`.
        query: Vec<String>,
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The database (default: the config's first `sqlite` sink).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Only articles published at or after this date: YYYY-MM-DD, RFC 3339, or relative
        /// ("yesterday", "today", "3 days ago", "2 hours ago", "أمس"; whole days mean their
        /// midnight UTC).
        #[arg(long)]
        since: Option<String>,
        /// Only articles published before this date (same forms as --since).
        #[arg(long)]
        until: Option<String>,
        /// Only articles from this source stage.
        #[arg(long)]
        source: Option<String>,
        /// Only articles in this language (ISO 639-1).
        #[arg(long)]
        language: Option<String>,
        /// Only articles that mention this entity (its canonical name, as in `entities`).
        #[arg(long)]
        entity: Option<String>,
        /// Only articles about this place (its canonical name or gazetteer id).
        #[arg(long)]
        place: Option<String>,
        /// At most this many results (1 or more).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Look at one feed or one article without running a pipeline.
    Inspect {
        /// Allow private, loopback and link-local addresses (a server on this machine).
        #[arg(long, global = true)]
        allow_private: bool,
        #[command(subcommand)]
        what: InspectCommand,
    },
    /// The feeds of the config's feed and sitemap sources: state, import, export.
    Feeds {
        #[arg(long, short, default_value = DEFAULT_CONFIG, global = true)]
        config: PathBuf,
        /// The source stage (needed when the config has several feed sources).
        #[arg(long, global = true)]
        source: Option<String>,
        /// Without an action: list the feeds as JSON (as `feeds list --json`).
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<FeedsCommand>,
    },
}

#[derive(Subcommand)]
enum FeedsCommand {
    /// Each feed: URL, last success, next poll, errors, items seen (the default action).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add the feeds of an OPML file (with `interval` and `enabled` attributes per feed).
    Import { file: PathBuf },
    /// Write every feed (configured and imported) as OPML.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum InspectCommand {
    /// Parse a feed and print it as JSON: {"feed": {...}, "items": [...]}.
    Feed { location: String },
    /// Run the per-article chain on one page and print the record as JSON.
    Article {
        /// The page's real URL, when LOCATION is a saved file.
        #[arg(long)]
        url: Option<String>,
        location: String,
    },
}

/// Exit code for "the config is wrong", whatever is wrong with it: its syntax, a field, the
/// graph of stages, a file it names.
const CONFIG_INVALID: u8 = 2;

/// A config the user has to fix; the command exits with [`CONFIG_INVALID`].
#[derive(Debug)]
pub(crate) struct ConfigRejected(pub String);

impl std::fmt::Display for ConfigRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigRejected {}

/// True when the error is a write to a closed pipe (`khabar plugins | head -1`): the reader
/// has what it wanted, so the command ends quietly, as `cat` does.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Runs the command line with `registry`'s stage types. Errors are printed, never panicked.
pub fn main_with(registry: Registry) -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli, registry)) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ConfigRejected>().is_some() {
                ExitCode::from(CONFIG_INVALID)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Every problem of a config, one per line, under the file's name.
pub(crate) fn describe_issues(path: &Path, issues: &[ConfigIssue]) -> String {
    let mut text = format!(
        "{}: {} problem{}:",
        path.display(),
        issues.len(),
        if issues.len() == 1 { "" } else { "s" }
    );
    for issue in issues {
        text.push_str(&format!("\n  - {issue}"));
    }
    text
}

/// Loads and validates a config; every failure (syntax included) is a [`ConfigRejected`].
pub(crate) fn plan(path: &Path, registry: &Registry) -> Result<Plan> {
    let raw = load_config(path).map_err(|e| ConfigRejected(e.to_string()))?;
    validate(&raw, registry).map_err(|issues| ConfigRejected(describe_issues(path, &issues)).into())
}

async fn dispatch(cli: Cli, registry: Registry) -> Result<ExitCode> {
    let level = cli.log_level.clone();
    let init_logs = |plan_format: Option<&str>| {
        let format = cli.log_format.as_deref().or(plan_format).unwrap_or("text");
        crate::logging::init(format, &level);
    };
    match cli.command {
        Command::Run { ref config } | Command::Once { ref config, .. } => {
            let once = matches!(cli.command, Command::Once { .. });
            let json = matches!(cli.command, Command::Once { json: true, .. });
            let plan = plan(config, &registry)?;
            init_logs(Some(plan.global.log_format.as_str()));
            run(
                config,
                plan,
                if once {
                    RunMode::Once
                } else {
                    RunMode::Continuous
                },
                json,
            )
            .await
        }
        Command::Validate { config } => {
            let plan = plan(&config, &registry)?;
            let count = |k: StageKind| plan.stages.iter().filter(|s| s.kind == k).count();
            out!(
                "{}: ok ({} sources, {} transforms, {} sinks)",
                config.display(),
                count(StageKind::Source),
                count(StageKind::Transform),
                count(StageKind::Sink)
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tap {
            stage,
            limit,
            fields,
            config,
            api,
            no_wait,
        } => {
            init_logs(None);
            let find_base = || crate::watch::api_base(api.as_deref(), &config, &registry);
            crate::watch::tap(find_base, &stage, limit, fields.as_deref(), !no_wait).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Top {
            config,
            api,
            interval,
            iterations,
        } => {
            init_logs(None);
            let base = crate::watch::api_base(api.as_deref(), &config, &registry)?;
            crate::watch::top(&base, interval, iterations).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins => {
            for kind in [StageKind::Source, StageKind::Transform, StageKind::Sink] {
                out!("{}:", kind.section())?;
                for info in registry.types().into_iter().filter(|t| t.kind == kind) {
                    out!("  {:<16} {}", info.name, info.description)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Search {
            query,
            config,
            db,
            since,
            until,
            source,
            language,
            entity,
            place,
            limit,
            json,
        } => {
            init_logs(None);
            let db = match db {
                Some(db) => db,
                None => sqlite_path_from_config(&config, &registry)?,
            };
            let normalized = khabar_text::normalize_for_search(&query.join(" "));
            let now = chrono::Utc::now();
            let filter = khabar_sqlite::SearchFilter {
                since: since
                    .map(|s| khabar_text::search_bound(&s, now).map_err(|e| anyhow!(e)))
                    .transpose()?,
                until: until
                    .map(|s| khabar_text::search_bound(&s, now).map_err(|e| anyhow!(e)))
                    .transpose()?,
                source,
                language,
                entity,
                place,
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            };
            let hits = khabar_sqlite::search(&db, &normalized, &filter).map_err(|e| anyhow!(e))?;
            if json {
                out!("{}", serde_json::to_string_pretty(&hits)?)?;
            } else if hits.is_empty() {
                out!("no matches")?;
            } else {
                for hit in hits {
                    out!(
                        "{}  {}  [{}]\n  {}\n  {}\n",
                        hit.published_at
                            .as_deref()
                            .unwrap_or("          ")
                            .get(..10)
                            .unwrap_or(""),
                        hit.title.as_deref().unwrap_or("(untitled)"),
                        hit.language.as_deref().unwrap_or("?"),
                        hit.url,
                        hit.snippet
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Feeds {
            config,
            source,
            json,
            action,
        } => {
            init_logs(None);
            let action = match action {
                Some(action) => action.into(),
                None => crate::feeds::Action::List { json },
            };
            crate::feeds::run(&config, source.as_deref(), action, &registry).await
        }
        Command::Inspect {
            allow_private,
            what,
        } => {
            init_logs(None);
            let cwd = std::env::current_dir().context("current directory")?;
            let value = match what {
                InspectCommand::Feed { location } => {
                    inspect::feed(&location, &cwd, allow_private).await?
                }
                InspectCommand::Article { url, location } => {
                    inspect::article(&location, url.as_deref(), &cwd, allow_private).await?
                }
            };
            out!("{}", serde_json::to_string_pretty(&value)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl From<FeedsCommand> for crate::feeds::Action {
    fn from(c: FeedsCommand) -> Self {
        match c {
            FeedsCommand::List { json } => crate::feeds::Action::List { json },
            FeedsCommand::Import { file } => crate::feeds::Action::Import { file },
            FeedsCommand::Export { output } => crate::feeds::Action::Export { output },
        }
    }
}

/// The store of the plan's first `sqlite` sink.
fn sqlite_store(plan: &Plan) -> Option<PathBuf> {
    let data_dir = plan.data_dir();
    plan.stages
        .iter()
        .filter(|s| s.kind == StageKind::Sink && s.type_name == "sqlite")
        .find_map(|s| s.own_settings.get("path")?.as_str().map(PathBuf::from))
        .map(|path| {
            if path.is_absolute() {
                path
            } else {
                data_dir.join(path)
            }
        })
}

fn sqlite_path_from_config(config: &Path, registry: &Registry) -> Result<PathBuf> {
    let raw = load_config(config).map_err(|e| ConfigRejected(e.to_string()))?;
    let plan = validate(&raw, registry).map_err(|issues| {
        ConfigRejected(format!(
            "{}\ncannot find the database in an invalid config; pass --db",
            describe_issues(config, &issues)
        ))
    })?;
    if let Some(path) = sqlite_store(&plan) {
        return Ok(path);
    }
    bail!("{} has no sqlite sink; pass --db", config.display())
}

fn print_summary(summary: &RunSummary, json: bool) -> Result<()> {
    if json {
        out!("{}", serde_json::to_string_pretty(summary)?)?;
    } else {
        out!(
            "feeds: {}, new items: {}, delivered: {}, failed: {} (feeds failed: {}, retry later: {}, rejected: {})",
            summary.feeds,
            summary.new_items,
            summary.delivered,
            summary.feeds_failed + summary.retried + summary.rejected,
            summary.feeds_failed,
            summary.retried,
            summary.rejected
        )?;
        if summary.tasks_crashed > 0 {
            out!(
                "panics caught: {} (see the log; the records involved are in the dead-letter file)",
                summary.tasks_crashed
            )?;
        }
        for error in &summary.stage_errors {
            out!("stage error: {error}")?;
        }
    }
    Ok(())
}

fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let interval = khabar_core_model::duration::parse(text).map_err(|e| e.to_string())?;
    if interval < std::time::Duration::from_millis(100) {
        return Err(format!("{text}: shorter than 100ms"));
    }
    Ok(interval)
}

async fn run(config: &Path, plan: Plan, mode: RunMode, json: bool) -> Result<ExitCode> {
    let data_dir = plan.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("global.data_dir: cannot create {}", data_dir.display()))?;
    let monitor = khabar_runtime::Monitor::new();
    let state = open_state(&plan).await?;
    // The API comes up before the stages build, so that /health answers while they do.
    let api = if mode == RunMode::Continuous && plan.api.enabled {
        let reader = khabar_api::Reader {
            db: sqlite_store(&plan),
            feeds: crate::feeds::StoredFeeds::of(&plan, Arc::clone(&state))?
                .map(|f| Arc::new(f) as Arc<dyn khabar_api::FeedsProvider>),
        };
        let server = khabar_api::Server::start(plan.api.address, monitor.clone(), reader)
            .await
            .map_err(|e| {
                anyhow!("{e}; set another `[api] address` (port 0 takes any free port) or `[api] enabled = false`")
            })?;
        let file = crate::watch::AddressFile::write(&data_dir, server.address());
        Some((server, file))
    } else {
        None
    };
    let pipeline = Pipeline::build_watched(plan, state, monitor.clone())
        .await
        .map_err(|issues| ConfigRejected(describe_issues(config, &issues)))?;
    let shutdown = Shutdown::new();
    let signals = tokio::spawn(watch_signals(shutdown.clone()));
    tracing::info!(config = %config.display(), data_dir = %data_dir.display(), mode = ?mode, "pipeline started");
    let progress = match mode {
        RunMode::Once => Some(crate::watch::Progress::start(monitor)),
        RunMode::Continuous => None,
    };
    let summary = pipeline.run(mode, shutdown).await;
    if let Some(progress) = progress {
        progress.finish();
    }
    if let Some((server, file)) = api {
        server.stop().await;
        drop(file);
    }
    signals.abort();
    if mode == RunMode::Once {
        print_summary(&summary, json)?;
    } else {
        tracing::info!(
            new_items = summary.new_items,
            delivered = summary.delivered,
            "pipeline stopped"
        );
    }
    let failed = summary.feeds_failed + summary.retried + summary.rejected > 0
        || !summary.stage_errors.is_empty()
        || summary.tasks_crashed > 0
        || summary.timed_out;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The state store `[global] state` names.
pub(crate) async fn open_state(plan: &Plan) -> Result<Arc<dyn khabar_core_model::StateStore>> {
    plan.open_state().await.map_err(|issue| anyhow!("{issue}"))
}

/// First SIGINT or SIGTERM: graceful shutdown. Second: exit at once.
async fn watch_signals(shutdown: Shutdown) {
    let mut count = 0;
    loop {
        if wait_signal().await.is_err() {
            return;
        }
        count += 1;
        if count == 1 {
            tracing::info!(
                "signal received: shutting down gracefully (send again to exit at once)"
            );
            shutdown.trigger();
        } else {
            eprintln!("second signal: exiting now; undelivered items will be fetched again on the next start");
            std::process::exit(130);
        }
    }
}

#[cfg(unix)]
async fn wait_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
