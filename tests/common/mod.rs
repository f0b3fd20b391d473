//! Helpers shared by the integration tests: a loopback HTTP server and a way to run the
//! `khabar` binary on a config written into a temporary folder.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use async_trait::async_trait;
use khabar_core_model::{Article, BuildContext, Sink, SinkConfig, StageError};
use serde::Deserialize;

pub use khabar_testkit::{Reply, TestServer};

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/seed")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).expect("UTF-8 fixture")
}

/// The seed feed with its item's link pointing at `article_url`.
pub fn seed_feed(article_url: &str) -> Vec<u8> {
    fixture_text("feed.xml")
        .replace(
            "https://www.alaraby.co.uk/politics/2019/3/1/coalition-strikes-baghouz",
            article_url,
        )
        .into_bytes()
}

pub fn khabar() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_khabar"));
    // Tests run daemons side by side: each takes any free port for its API (the port is in
    // `data_dir/api.address`).
    cmd.env("RUST_LOG", "warn")
        .env("KHABAR__API__ADDRESS", "127.0.0.1:0")
        .env_remove("KHABAR__GLOBAL__DATA_DIR");
    cmd
}

/// Writes `config` as `khabar.toml` in `dir` and returns its path.
pub fn write_config(dir: &Path, config: &str) -> PathBuf {
    let path = dir.join("khabar.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

pub fn run(args: &[&str], config: &Path) -> Output {
    khabar()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run khabar")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One row of the SQLite sink, as the tests look at it.
pub struct StoredArticle {
    pub id: String,
    pub title: Option<String>,
    pub language: Option<String>,
    pub published_at: Option<String>,
    pub text: Option<String>,
}

pub fn stored_articles(db: &Path) -> Vec<StoredArticle> {
    let conn = rusqlite::Connection::open(db).expect("open sqlite sink");
    let mut stmt = conn
        .prepare("SELECT id, title, language, published_at, text FROM articles ORDER BY id")
        .expect("query");
    let rows = stmt
        .query_map([], |r| {
            Ok(StoredArticle {
                id: r.get(0)?,
                title: r.get(1)?,
                language: r.get(2)?,
                published_at: r.get(3)?,
                text: r.get(4)?,
            })
        })
        .expect("rows");
    rows.map(|r| r.expect("row")).collect()
}

/// Fails every write transiently `fail_first` times, rejects records whose title contains
/// `reject_title`, and otherwise appends ids to `log` (relative to data_dir).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlakyConfig {
    log: PathBuf,
    #[serde(default)]
    fail_first: usize,
    #[serde(default)]
    reject_title: Option<String>,
    #[serde(default)]
    always_fail: bool,
    /// Panics on a batch holding a record with this in its title.
    #[serde(default)]
    panic_title: Option<String>,
}

pub struct Flaky {
    log: PathBuf,
    failures_left: usize,
    reject_title: Option<String>,
    always_fail: bool,
    panic_title: Option<String>,
}

#[async_trait]
impl SinkConfig for FlakyConfig {
    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        Ok(Box::new(Flaky {
            log: ctx.resolve_data(&self.log),
            failures_left: self.fail_first,
            reject_title: self.reject_title.clone(),
            always_fail: self.always_fail,
            panic_title: self.panic_title.clone(),
        }))
    }
}

#[async_trait]
impl Sink for Flaky {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        if let Some(poison) = &self.panic_title {
            if batch.iter().any(|a| {
                a.title
                    .as_deref()
                    .is_some_and(|t| t.contains(poison.as_str()))
            }) {
                panic!("the sink cannot handle {poison:?}");
            }
        }
        if self.always_fail || self.failures_left > 0 {
            self.failures_left = self.failures_left.saturating_sub(1);
            return batch
                .iter()
                .map(|_| Err(StageError::transient("database restarting")))
                .collect();
        }
        batch
            .iter()
            .map(|a| {
                let title = a.title.clone().unwrap_or_default();
                if self
                    .reject_title
                    .as_deref()
                    .is_some_and(|r| title.contains(r))
                {
                    return Err(StageError::permanent("record violates a constraint"));
                }
                use std::io::Write;
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .and_then(|mut f| writeln!(f, "{}", a.id))
                    .map_err(|e| StageError::transient(e.to_string()))
            })
            .collect()
    }
}

/// A transform that panics on records whose title holds `panic_title` (on a blocking thread
/// when `cpu_bound`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanickyConfig {
    panic_title: String,
    #[serde(default)]
    cpu_bound: bool,
}

pub struct Panicky {
    panic_title: String,
    cpu_bound: bool,
}

#[async_trait]
impl khabar_core_model::TransformConfig for PanickyConfig {
    async fn build(
        &self,
        _ctx: &BuildContext,
    ) -> Result<Box<dyn khabar_core_model::Transform>, StageError> {
        Ok(Box::new(Panicky {
            panic_title: self.panic_title.clone(),
            cpu_bound: self.cpu_bound,
        }))
    }
}

#[async_trait]
impl khabar_core_model::Transform for Panicky {
    async fn process(
        &self,
        article: &mut Article,
    ) -> Result<khabar_core_model::Verdict, StageError> {
        if article
            .title
            .as_deref()
            .is_some_and(|t| t.contains(self.panic_title.as_str()))
        {
            panic!("cannot handle {:?}", self.panic_title);
        }
        Ok(khabar_core_model::Verdict::Keep)
    }

    fn cpu_bound(&self) -> bool {
        self.cpu_bound
    }
}

/// A transform that computes for `millis` per record without awaiting (on a blocking thread
/// when `cpu_bound`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpinConfig {
    millis: u64,
    #[serde(default)]
    cpu_bound: bool,
}

pub struct Spin {
    millis: u64,
    cpu_bound: bool,
}

#[async_trait]
impl khabar_core_model::TransformConfig for SpinConfig {
    async fn build(
        &self,
        _ctx: &BuildContext,
    ) -> Result<Box<dyn khabar_core_model::Transform>, StageError> {
        Ok(Box::new(Spin {
            millis: self.millis,
            cpu_bound: self.cpu_bound,
        }))
    }
}

#[async_trait]
impl khabar_core_model::Transform for Spin {
    async fn process(
        &self,
        _article: &mut Article,
    ) -> Result<khabar_core_model::Verdict, StageError> {
        let until = std::time::Instant::now() + std::time::Duration::from_millis(self.millis);
        let mut spins = 0u64;
        while std::time::Instant::now() < until {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
        Ok(khabar_core_model::Verdict::Keep)
    }

    fn cpu_bound(&self) -> bool {
        self.cpu_bound
    }
}

/// A source that panics on its first `panics` runs (counted per process), then emits one
/// record and returns.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashySourceConfig {
    panics: usize,
}

static CRASHY_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[async_trait]
impl khabar_core_model::SourceConfig for CrashySourceConfig {
    async fn build(
        &self,
        _ctx: &BuildContext,
    ) -> Result<Box<dyn khabar_core_model::Source>, StageError> {
        Ok(Box::new(CrashySource {
            panics: self.panics,
        }))
    }
}

pub struct CrashySource {
    panics: usize,
}

#[async_trait]
impl khabar_core_model::Source for CrashySource {
    async fn run(self: Box<Self>, ctx: khabar_core_model::SourceContext) -> Result<(), StageError> {
        let run = CRASHY_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if run < self.panics {
            panic!("crashy source, run {run}");
        }
        let url = "https://example.org/survivor";
        let article = Article::new(
            khabar_core_model::RecordId::from_url(url),
            khabar_core_model::FeedRef::default(),
            url,
            chrono::Utc::now(),
        );
        let receiver = ctx.emit(article).await?;
        let _ = receiver.resolution().await;
        ctx.shutdown_requested().await;
        Ok(())
    }
}

/// The built-in stage types plus the test ones: `flaky` (sink), `panicky` and `spin`
/// (transforms), `crashy` (source).
pub fn registry_with_flaky() -> khabar_core_model::Registry {
    let mut registry = khabar::builtin_registry();
    registry.add_sink::<FlakyConfig>("flaky", "test sink that fails on purpose");
    registry.add_transform::<PanickyConfig>("panicky", "test transform that panics on purpose");
    registry.add_source::<CrashySourceConfig>("crashy", "test source that panics on purpose");
    registry.add_transform::<SpinConfig>("spin", "test transform that computes without awaiting");
    registry
}

/// An RSS feed of the given titles (links https://example.org/<n>) as `feed.xml` in `dir`.
pub fn write_titles_feed(dir: &Path, titles: &[&str]) -> PathBuf {
    let items: String = titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!("<item><title>{t}</title><link>https://example.org/{i}</link></item>")
        })
        .collect();
    let path = dir.join("feed.xml");
    std::fs::write(
        &path,
        format!("<rss version=\"2.0\"><channel><title>F</title>{items}</channel></rss>"),
    )
    .expect("feed");
    path
}

/// Runs the pipeline of `config` in this process for one cycle (built-in types plus `flaky`),
/// asking it to shut down after `shutdown_after` if given.
pub async fn run_pipeline(
    config: &Path,
    shutdown_after: Option<std::time::Duration>,
) -> khabar_runtime::RunSummary {
    let raw = khabar_runtime::load_config(config).expect("config loads");
    let plan = khabar_runtime::validate(&raw, &registry_with_flaky())
        .unwrap_or_else(|issues| panic!("{issues:?}"));
    std::fs::create_dir_all(plan.data_dir()).expect("data dir");
    let state =
        khabar_sqlite::SqliteStateStore::open(&plan.data_dir().join("state.db")).expect("state");
    let pipeline = khabar_runtime::Pipeline::build(plan, std::sync::Arc::new(state))
        .await
        .unwrap_or_else(|i| panic!("{i:?}"));
    let shutdown = khabar_runtime::Shutdown::new();
    if let Some(after) = shutdown_after {
        let s = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            s.trigger();
        });
    }
    pipeline
        .run(khabar_core_model::RunMode::Once, shutdown)
        .await
}
