//! `cargo xtask new-plugin`: a plugin crate as a user outside the project would write it.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Source,
    Transform,
    Sink,
}

impl Kind {
    fn parse(text: &str) -> Result<Kind, String> {
        match text {
            "source" => Ok(Kind::Source),
            "transform" => Ok(Kind::Transform),
            "sink" => Ok(Kind::Sink),
            other => Err(format!(
                "unknown plugin kind {other:?}: use source, transform or sink"
            )),
        }
    }
}

/// `my_filter` → `MyFilter`.
fn camel(name: &str) -> String {
    name.split(['_', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Where the scaffold takes Khabar's crates from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sdk {
    /// crates.io only (once Khabar is published there).
    Registry,
    /// crates.io versions, patched to the crates of a checkout: the path is the checkout's
    /// root, relative to the new crate when the crate lies inside it.
    Checkout(String),
}

/// `path` relative to `from` when `path` lies inside `root` and so does `from`; else
/// absolute. A plugin made under `plugins/` keeps working when the checkout moves.
fn path_from(from: &Path, root: &Path) -> String {
    let relative = from.strip_prefix(root).ok().map(|inside| {
        let depth = inside.components().count();
        if depth == 0 {
            ".".to_string()
        } else {
            vec![".."; depth].join("/")
        }
    });
    relative.unwrap_or_else(|| root.display().to_string().replace('\\', "/"))
}

pub fn run(args: &[String], root: &Path) -> Result<(), String> {
    let (kind, name) = match args {
        [kind, name, ..] => (Kind::parse(kind)?, name.as_str()),
        _ => {
            return Err(
                "usage: cargo xtask new-plugin <source|transform|sink> <name> [--dir DIR] [--from-registry]"
                    .into(),
            )
        }
    };
    if !valid_name(name) {
        return Err(format!(
            "plugin name {name:?}: use lower case letters, digits and _ (it is the config `type`)"
        ));
    }
    let dir = match args.iter().position(|a| a == "--dir") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or("--dir needs a folder")?),
        None => root.join("plugins"),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let root = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let crate_dir = dir.join(format!("khabar-{}", name.replace('_', "-")));
    if crate_dir.exists() {
        return Err(format!("{} already exists", crate_dir.display()));
    }
    let sdk = if args.iter().any(|a| a == "--from-registry") {
        Sdk::Registry
    } else {
        Sdk::Checkout(path_from(&crate_dir, &root))
    };
    let lockfile = std::fs::read_to_string(root.join("Cargo.lock")).ok();
    let mut files = render(kind, name, env!("CARGO_PKG_VERSION"), &sdk);
    // The versions Khabar is built and tested with; cargo drops what the plugin does not use.
    if let Some(lock) = lockfile {
        files.push((PathBuf::from("Cargo.lock"), lock));
    }
    let mut sources = Vec::new();
    for (path, content) in files {
        let path = crate_dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, content).map_err(|e| format!("{}: {e}", path.display()))?;
        if path.extension().is_some_and(|e| e == "rs") {
            sources.push(path);
        }
    }
    // Line breaks depend on the names: rustfmt places them as `cargo fmt` would.
    let formatted = std::process::Command::new("rustfmt")
        .args(["--edition", "2021"])
        .args(&sources)
        .status();
    if !formatted.is_ok_and(|s| s.success()) {
        eprintln!("warning: rustfmt did not run on the new files; run `cargo fmt` there");
    }
    println!(
        "created {dir} (the `{name}` {kind} in src/lib.rs, its binary in app/)\n  \
         cd {dir} && cargo test && cargo run -- plugins",
        dir = crate_dir.display(),
        kind = kind.word(),
    );
    Ok(())
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Source => "source",
            Kind::Transform => "transform",
            Kind::Sink => "sink",
        }
    }
}

/// The files of a new plugin workspace, relative to its folder: the plugin crate (root) and
/// the binary that registers it (`app/`).
pub fn render(kind: Kind, name: &str, version: &str, sdk: &Sdk) -> Vec<(PathBuf, String)> {
    let type_name = camel(name);
    let crate_name = format!("khabar-{}", name.replace('_', "-"));
    let lib_name = crate_name.replace('-', "_");
    let word = kind.word();
    let patch = match sdk {
        Sdk::Registry => String::new(),
        Sdk::Checkout(root) => format!(
            r#"
# Khabar's crates from the checkout this plugin was made in. To build against the versions
# published on crates.io, remove this section.
[patch.crates-io]
khabar-core-model = {{ path = "{root}/crates/core-model" }}
khabar = {{ path = "{root}/crates/khabar" }}
"#
        ),
    };
    let (extra_dependencies, extra_dev_dependencies) = match kind {
        Kind::Sink => (
            "tokio = { version = \"1\", features = [\"fs\", \"io-util\"] }\n",
            "tempfile = \"3\"\n",
        ),
        _ => ("", ""),
    };
    let cargo_toml = format!(
        r#"[package]
name = "{crate_name}"
version = "0.1.0"
edition = "2021"
description = "The `{name}` {word} for Khabar"
publish = false

[dependencies]
khabar-core-model = "{version}"
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
chrono = {{ version = "0.4", default-features = false, features = ["clock"] }}
{extra_dependencies}
[dev-dependencies]
tokio = {{ version = "1", features = ["macros", "rt-multi-thread"] }}
{extra_dev_dependencies}
# The plugin and the binary that runs it (app/), built and tested together:
# `cargo test`, then `cargo run -- plugins`.
[workspace]
members = [".", "app"]
default-members = [".", "app"]
{patch}"#
    );
    let app_toml = format!(
        r#"[package]
name = "{crate_name}-app"
version = "0.1.0"
edition = "2021"
description = "Khabar with the `{name}` {word}"
publish = false

[[bin]]
name = "khabar-with-{short}"
path = "src/main.rs"

[dependencies]
khabar = "{version}"
{crate_name} = {{ path = ".." }}
"#,
        short = name.replace('_', "-"),
    );
    let main_rs = format!(
        "fn main() -> std::process::ExitCode {{\n    \
         let mut registry = khabar::builtin_registry();\n    \
         {lib_name}::register(&mut registry);\n    \
         khabar::main_with(registry)\n}}\n"
    );
    let lib = match kind {
        Kind::Sink => sink_source(name, &type_name),
        Kind::Transform => transform_source(name, &type_name),
        Kind::Source => source_source(name, &type_name),
    };
    vec![
        (PathBuf::from("Cargo.toml"), cargo_toml),
        (PathBuf::from("src/lib.rs"), lib),
        (PathBuf::from("app/Cargo.toml"), app_toml),
        (PathBuf::from("app/src/main.rs"), main_rs),
        (PathBuf::from(".gitignore"), "/target\n".to_string()),
    ]
}

fn sink_source(name: &str, type_name: &str) -> String {
    format!(
        r#"//! The `{name}` Khabar sink: appends each record to a file as one JSON line.
//!
//! ```toml
//! [sinks.{name}]
//! type = "{name}"
//! inputs = ["clean"]
//! path = "{name}.jsonl"
//! ```

use std::collections::HashSet;
use std::path::PathBuf;

use khabar_core_model::{{
    async_trait, path_problems, Article, BuildContext, Registry, Sink, SinkConfig, StageError,
}};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

/// Settings of the `{name}` sink. Unknown keys are an error naming the field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct {type_name}Config {{
    /// The file records are appended to, relative to `data_dir`.
    pub path: PathBuf,
    /// Only records with a title are accepted.
    #[serde(default)]
    pub require_title: bool,
}}

#[async_trait]
impl SinkConfig for {type_name}Config {{
    fn validate(&self) -> Vec<String> {{
        path_problems(&self.path)
    }}

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {{
        let path = ctx.resolve_data(&self.path);
        // tokio::fs, never std::fs: stages run on the async threads that also poll feeds,
        // and a blocking call there stalls them.
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(|e| StageError::config(format!("field `path`: {{}}: {{e}}", path.display())))?;
        Ok(Box::new({type_name} {{
            config: self.clone(),
            file,
            written: HashSet::new(),
        }}))
    }}
}}

/// Receives batches of records. After a crash the same records come again: ids this
/// process wrote are not written twice, but across restarts a record may be, so readers
/// keep the last line of each `id`.
pub struct {type_name} {{
    config: {type_name}Config,
    file: tokio::fs::File,
    written: HashSet<String>,
}}

#[async_trait]
impl Sink for {type_name} {{
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {{
        let mut results = Vec::with_capacity(batch.len());
        let mut new_ids = Vec::new();
        for article in batch {{
            if self.config.require_title && article.title.is_none() {{
                results.push(Err(StageError::permanent("record has no title")));
                continue;
            }}
            let id = article.id.to_string();
            if self.written.contains(&id) || new_ids.contains(&id) {{
                results.push(Ok(()));
                continue;
            }}
            let record = article.to_json_without_html();
            let line = record.to_string() + "\n";
            match self.file.write_all(line.as_bytes()).await {{
                Ok(()) => {{
                    new_ids.push(id);
                    results.push(Ok(()));
                }}
                Err(e) => results.push(Err(StageError::transient(e.to_string()))),
            }}
        }}
        // Delivered means on disk: a failed flush sends the batch's new records round again.
        if let Err(e) = self.file.flush().await {{
            return batch
                .iter()
                .map(|_| Err(StageError::transient(e.to_string())))
                .collect();
        }}
        self.written.extend(new_ids);
        results
    }}
}}

/// Adds the `{name}` sink to a binary's registry.
pub fn register(registry: &mut Registry) {{
    registry.add_sink::<{type_name}Config>("{name}", "appends each record to a file as one JSON line");
}}

#[cfg(test)]
mod tests {{
    use super::*;
    use khabar_core_model::{{FeedRef, RecordId, StageKind}};

    #[test]
    fn registers_and_decodes() {{
        let mut registry = Registry::new();
        register(&mut registry);
        assert!(registry.names(StageKind::Sink).contains(&"{name}".to_string()));
        let bad = registry.decode_sink("{name}", serde_json::json!({{"no_such_field": 1}}));
        assert!(matches!(bad, Some(Err(ref e)) if e.to_string().contains("no_such_field")));
    }}

    #[tokio::test]
    async fn writes_each_record_once() -> Result<(), Box<dyn std::error::Error>> {{
        let dir = tempfile::tempdir()?;
        let ctx = BuildContext::standalone("{name}", dir.path().into(), dir.path().into());
        let config = {type_name}Config {{
            path: "out.jsonl".into(),
            require_title: true,
        }};
        let mut sink = config.build(&ctx).await?;
        let url = "https://example.org/1";
        let mut article = Article::new(RecordId::from_url(url), FeedRef::default(), url, chrono::Utc::now());
        assert!(sink.write(&[article.clone()]).await[0].is_err());
        article.title = Some("a title".into());
        let results = sink.write(&[article.clone(), article]).await;
        assert!(results.iter().all(Result::is_ok));
        let text = std::fs::read_to_string(dir.path().join("out.jsonl"))?;
        assert_eq!(text.lines().count(), 1);
        Ok(())
    }}
}}
"#
    )
}

fn transform_source(name: &str, type_name: &str) -> String {
    format!(
        r#"//! The `{name}` Khabar transform: tags every record it passes.
//!
//! ```toml
//! [transforms.{name}]
//! type = "{name}"
//! inputs = ["clean"]
//! tag = "seen"
//! ```

use khabar_core_model::{{
    async_trait, Article, BuildContext, Registry, StageError, Transform, TransformConfig, Verdict,
}};
use serde::Deserialize;

/// Settings of the `{name}` transform. Unknown keys are an error naming the field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct {type_name}Config {{
    /// The tag added to every record that passes.
    pub tag: String,
}}

#[async_trait]
impl TransformConfig for {type_name}Config {{
    fn validate(&self) -> Vec<String> {{
        if self.tag.trim().is_empty() {{
            vec!["field `tag`: empty".to_string()]
        }} else {{
            Vec::new()
        }}
    }}

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {{
        Ok(Box::new({type_name} {{
            tag: self.tag.clone(),
        }}))
    }}
}}

/// Called once per record, possibly for several at once. Slow I/O belongs in `tokio`'s
/// async APIs and heavy computation in `tokio::task::spawn_blocking`: this runs on the
/// threads that also poll feeds.
pub struct {type_name} {{
    tag: String,
}}

#[async_trait]
impl Transform for {type_name} {{
    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {{
        if !article.tags.contains(&self.tag) {{
            article.tags.push(self.tag.clone());
        }}
        Ok(Verdict::Keep)
    }}
}}

/// Adds the `{name}` transform to a binary's registry.
pub fn register(registry: &mut Registry) {{
    registry.add_transform::<{type_name}Config>("{name}", "tags every record it passes");
}}

#[cfg(test)]
mod tests {{
    use super::*;
    use khabar_core_model::{{FeedRef, RecordId}};

    #[test]
    fn registers_and_validates() {{
        let mut registry = Registry::new();
        register(&mut registry);
        let decoded = registry.decode_transform("{name}", serde_json::json!({{"tag": " "}}));
        let problems = decoded.and_then(Result::ok).map(|c| c.validate()).unwrap_or_default();
        assert_eq!(problems, vec!["field `tag`: empty".to_string()]);
    }}

    #[tokio::test]
    async fn tags_records() {{
        let stage = {type_name} {{
            tag: "seen".into(),
        }};
        let url = "https://example.org/1";
        let mut article = Article::new(RecordId::from_url(url), FeedRef::default(), url, chrono::Utc::now());
        assert_eq!(stage.process(&mut article).await, Ok(Verdict::Keep));
        assert_eq!(article.tags, vec!["seen".to_string()]);
    }}
}}
"#
    )
}

fn source_source(name: &str, type_name: &str) -> String {
    format!(
        r#"//! The `{name}` Khabar source: announces each URL of a list as an article, once.
//!
//! ```toml
//! [sources.{name}]
//! type = "{name}"
//! urls = ["https://example.org/news/1"]
//! ```

use khabar_core_model::{{
    async_trait, Article, BuildContext, FeedRef, Outcome, RecordId, Registry, RunMode, Source,
    SourceConfig, SourceContext, StageError,
}};
use serde::Deserialize;

/// Settings of the `{name}` source. Unknown keys are an error naming the field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct {type_name}Config {{
    /// URLs to announce as articles.
    pub urls: Vec<String>,
}}

#[async_trait]
impl SourceConfig for {type_name}Config {{
    fn validate(&self) -> Vec<String> {{
        if self.urls.is_empty() {{
            vec!["field `urls`: empty".to_string()]
        }} else {{
            Vec::new()
        }}
    }}

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Source>, StageError> {{
        Ok(Box::new({type_name} {{
            urls: self.urls.clone(),
        }}))
    }}
}}

/// Emits one record per URL not yet delivered, and commits each delivered URL to the state
/// store so a restart does not emit it again.
pub struct {type_name} {{
    urls: Vec<String>,
}}

#[async_trait]
impl Source for {type_name} {{
    async fn run(self: Box<Self>, ctx: SourceContext) -> Result<(), StageError> {{
        for url in &self.urls {{
            if ctx.is_shutting_down() {{
                break;
            }}
            let state_error = |e: khabar_core_model::StateError| StageError::transient(e.to_string());
            if ctx.state.get(&ctx.id, url).await.map_err(state_error)?.is_some() {{
                continue;
            }}
            let feed = FeedRef {{
                source: ctx.id.clone(),
                url: String::new(),
                title: None,
            }};
            let article = Article::new(RecordId::from_url(url), feed, url.clone(), chrono::Utc::now());
            let receiver = ctx.emit(article).await?;
            if receiver.resolution().await.outcome != Outcome::Retry {{
                ctx.state.put(&ctx.id, url, b"1").await.map_err(state_error)?;
            }}
        }}
        if ctx.mode == RunMode::Continuous {{
            ctx.shutdown_requested().await;
        }}
        Ok(())
    }}
}}

/// Adds the `{name}` source to a binary's registry.
pub fn register(registry: &mut Registry) {{
    registry.add_source::<{type_name}Config>("{name}", "announces each URL of a list as an article, once");
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn registers_and_validates() {{
        let mut registry = Registry::new();
        register(&mut registry);
        let decoded = registry.decode_source("{name}", serde_json::json!({{"urls": []}}));
        let problems = decoded.and_then(Result::ok).map(|c| c.validate()).unwrap_or_default();
        assert_eq!(problems, vec!["field `urls`: empty".to_string()]);
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(camel("my_filter"), "MyFilter");
        assert!(valid_name("geo2"));
        assert!(!valid_name("Geo"));
        assert!(!valid_name("2geo"));
        assert!(Kind::parse("sinks").is_err());
    }

    #[test]
    fn the_checkout_is_named_relatively_from_inside_it() {
        let root = Path::new("/src/khabar");
        assert_eq!(path_from(&root.join("plugins/khabar-x"), root), "../..");
        assert_eq!(path_from(&root.join("a/b/khabar-x"), root), "../../..");
        assert_eq!(path_from(Path::new("/tmp/khabar-x"), root), "/src/khabar");
    }
}
