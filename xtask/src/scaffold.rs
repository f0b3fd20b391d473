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

pub fn run(args: &[String], root: &Path) -> Result<(), String> {
    let (kind, name) = match args {
        [kind, name, ..] => (Kind::parse(kind)?, name.as_str()),
        _ => {
            return Err(
                "usage: cargo xtask new-plugin <source|transform|sink> <name> [--dir DIR]".into(),
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
    let crate_dir = dir.join(format!("khabar-{}", name.replace('_', "-")));
    if crate_dir.exists() {
        return Err(format!("{} already exists", crate_dir.display()));
    }
    let files = render(kind, name, &root.join("crates/core-model"));
    for (path, content) in files {
        let path = crate_dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, content).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "created {}\n  cd {} && cargo test\nthen register it in your binary: `khabar_{}::register(&mut registry);`",
        crate_dir.display(),
        crate_dir.display(),
        name
    );
    Ok(())
}

/// The files of a new plugin crate, relative to its folder.
pub fn render(kind: Kind, name: &str, core_model: &Path) -> Vec<(PathBuf, String)> {
    let type_name = camel(name);
    let crate_name = format!("khabar-{}", name.replace('_', "-"));
    let cargo_toml = format!(
        r#"[package]
name = "{crate_name}"
version = "0.1.0"
edition = "2021"
publish = false

# A crate of its own, outside any workspace.
[workspace]

[dependencies]
khabar-core-model = {{ path = "{core}" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
chrono = {{ version = "0.4", default-features = false, features = ["clock"] }}

[dev-dependencies]
tokio = {{ version = "1", features = ["macros", "rt-multi-thread"] }}
"#,
        core = core_model.display().to_string().replace('\\', "/")
    );
    let body = match kind {
        Kind::Sink => format!(
            r#"/// Settings of the `{name}` sink. Unknown keys are an error naming the field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct {type_name}Config {{
    /// Only records with a title are accepted.
    #[serde(default)]
    pub require_title: bool,
}}

#[async_trait]
impl SinkConfig for {type_name}Config {{
    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {{
        Ok(Box::new({type_name} {{ config: self.clone(), seen: Vec::new() }}))
    }}
}}

/// Receives batches; must be idempotent on the record id (a replay sends records again).
pub struct {type_name} {{
    config: {type_name}Config,
    pub seen: Vec<String>,
}}

#[async_trait]
impl Sink for {type_name} {{
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {{
        batch
            .iter()
            .map(|article| {{
                if self.config.require_title && article.title.is_none() {{
                    return Err(StageError::permanent("record has no title"));
                }}
                if !self.seen.iter().any(|id| id == article.id.as_str()) {{
                    self.seen.push(article.id.to_string());
                }}
                Ok(())
            }})
            .collect()
    }}
}}

pub fn register(registry: &mut Registry) {{
    registry.add_sink::<{type_name}Config>("{name}", "TODO: say in one line what this sink does");
}}
"#
        ),
        Kind::Transform => format!(
            r#"/// Settings of the `{name}` transform. Unknown keys are an error naming the field.
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
        Ok(Box::new({type_name} {{ tag: self.tag.clone() }}))
    }}
}}

/// Called once per record, possibly concurrently.
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

pub fn register(registry: &mut Registry) {{
    registry.add_transform::<{type_name}Config>("{name}", "TODO: say in one line what this transform does");
}}
"#
        ),
        Kind::Source => format!(
            r#"/// Settings of the `{name}` source. Unknown keys are an error naming the field.
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
        Ok(Box::new({type_name} {{ urls: self.urls.clone() }}))
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
            let done = ctx.state.get(&ctx.id, url).await.map_err(|e| StageError::transient(e.to_string()))?;
            if done.is_some() {{
                continue;
            }}
            let feed = FeedRef {{ source: ctx.id.clone(), url: String::new(), title: None }};
            let article = Article::new(RecordId::from_url(url), feed, url.clone(), chrono::Utc::now());
            let receiver = ctx.emit(article).await?;
            if receiver.resolution().await.outcome != Outcome::Retry {{
                ctx.state.put(&ctx.id, url, b"1").await.map_err(|e| StageError::transient(e.to_string()))?;
            }}
        }}
        if ctx.mode == RunMode::Continuous {{
            ctx.shutdown_requested().await;
        }}
        Ok(())
    }}
}}

pub fn register(registry: &mut Registry) {{
    registry.add_source::<{type_name}Config>("{name}", "TODO: say in one line what this source does");
}}
"#
        ),
    };
    let test = match kind {
        Kind::Sink => format!(
            r#"
#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn registers_and_decodes() {{
        let mut registry = Registry::new();
        register(&mut registry);
        assert!(registry.names(khabar_core_model::StageKind::Sink).contains(&"{name}".to_string()));
        let bad = registry.decode_sink("{name}", serde_json::json!({{"no_such_field": 1}}));
        assert!(matches!(bad, Some(Err(ref e)) if e.to_string().contains("no_such_field")));
    }}

    #[tokio::test]
    async fn writes_are_idempotent() {{
        let mut sink = {type_name} {{ config: {type_name}Config {{ require_title: true }}, seen: Vec::new() }};
        let mut a = Article::new(RecordId::from_url("https://x/1"), FeedRef::default(), "https://x/1", chrono::Utc::now());
        assert!(sink.write(&[a.clone()]).await[0].is_err());
        a.title = Some("t".into());
        assert!(sink.write(&[a.clone(), a]).await.iter().all(Result::is_ok));
        assert_eq!(sink.seen.len(), 1);
    }}
}}
"#
        ),
        Kind::Transform => format!(
            r#"
#[cfg(test)]
mod tests {{
    use super::*;

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
        let stage = {type_name} {{ tag: "seen".into() }};
        let mut a = Article::new(RecordId::from_url("https://x/1"), FeedRef::default(), "https://x/1", chrono::Utc::now());
        assert_eq!(stage.process(&mut a).await, Ok(Verdict::Keep));
        assert_eq!(a.tags, vec!["seen".to_string()]);
    }}
}}
"#
        ),
        Kind::Source => format!(
            r#"
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
        ),
    };
    let imports = match kind {
        Kind::Sink => "use khabar_core_model::{async_trait, Article, BuildContext, Registry, Sink, SinkConfig, StageError};\n#[cfg(test)]\nuse khabar_core_model::{FeedRef, RecordId};",
        Kind::Transform => "use khabar_core_model::{async_trait, Article, BuildContext, Registry, StageError, Transform, TransformConfig, Verdict};\n#[cfg(test)]\nuse khabar_core_model::{FeedRef, RecordId};",
        Kind::Source => "use khabar_core_model::{async_trait, Article, BuildContext, FeedRef, Outcome, RecordId, Registry, RunMode, Source, SourceConfig, SourceContext, StageError};",
    };
    let lib = format!(
        "//! The `{name}` Khabar plugin.\n\n{imports}\nuse serde::Deserialize;\n\n{body}{test}"
    );
    vec![
        (PathBuf::from("Cargo.toml"), cargo_toml),
        (PathBuf::from("src/lib.rs"), lib),
    ]
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
}
