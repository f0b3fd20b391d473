use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use async_trait::async_trait;
use khabar_core_model::{Article, BuildContext, Sink, SinkConfig, StageError};
use serde::Deserialize;

/// `[sinks.<id>] type = "jsonl"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlConfig {
    /// The file to append to; relative to `data_dir`.
    pub path: PathBuf,
    #[serde(default)]
    pub include_html: bool,
}

#[async_trait]
impl SinkConfig for JsonlConfig {
    fn validate(&self) -> Vec<String> {
        crate::path_problems(&self.path)
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        let path = ctx.resolve_data(&self.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StageError::config(format!("field `path`: {}: {e}", dir.display())))?;
        }
        let written = read_written_ids(&path)
            .map_err(|e| StageError::config(format!("field `path`: {}: {e}", path.display())))?;
        Ok(Box::new(JsonlSink {
            path,
            include_html: self.include_html,
            written,
        }))
    }
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

/// Ids already in the file, so a replay after a crash appends nothing twice.
fn read_written_ids(path: &std::path::Path) -> std::io::Result<HashSet<String>> {
    let mut ids = HashSet::new();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(e),
    };
    for line in std::io::BufReader::new(file).lines() {
        // A torn last line (crash mid-write) is not a record; it is skipped.
        if let Ok(record) = serde_json::from_str::<IdOnly>(&line?) {
            ids.insert(record.id);
        }
    }
    Ok(ids)
}

struct JsonlSink {
    path: PathBuf,
    include_html: bool,
    written: HashSet<String>,
}

#[async_trait]
impl Sink for JsonlSink {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        let mut text = String::new();
        let mut results = Vec::with_capacity(batch.len());
        let mut fresh = Vec::new();
        for article in batch {
            if self.written.contains(article.id.as_str()) || fresh.contains(&article.id) {
                results.push(Ok(()));
                continue;
            }
            match serde_json::to_string(&article.to_json(self.include_html)) {
                Ok(line) => {
                    text.push_str(&line);
                    text.push('\n');
                    fresh.push(article.id.clone());
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(StageError::permanent(format!(
                    "cannot serialize record: {e}"
                )))),
            }
        }
        if text.is_empty() {
            return results;
        }
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(text.as_bytes())?;
            file.sync_data()
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
        match written {
            Ok(()) => {
                self.written
                    .extend(fresh.into_iter().map(|id| id.to_string()));
                results
            }
            Err(e) => {
                let message = format!("{}: {e}", self.path.display());
                batch
                    .iter()
                    .map(|_| Err(StageError::transient(message.clone())))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khabar_core_model::{FeedRef, RecordId};

    fn article(url: &str) -> Article {
        Article::new(
            RecordId::from_url(url),
            FeedRef::default(),
            url,
            chrono::Utc::now(),
        )
    }

    #[tokio::test]
    async fn appends_each_id_once_even_after_reopening() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let ctx =
            BuildContext::standalone("out", dir.path().to_path_buf(), dir.path().to_path_buf());
        let config = JsonlConfig {
            path: "out/records.jsonl".into(),
            include_html: false,
        };
        let mut sink = config.build(&ctx).await?;
        let results = sink
            .write(&[
                article("https://a/1"),
                article("https://a/2"),
                article("https://a/1"),
            ])
            .await;
        assert!(results.iter().all(Result::is_ok));
        let mut sink = config.build(&ctx).await?;
        let results = sink
            .write(&[article("https://a/2"), article("https://a/3")])
            .await;
        assert!(results.iter().all(Result::is_ok));
        let text = std::fs::read_to_string(dir.path().join("out/records.jsonl"))?;
        assert_eq!(text.lines().count(), 3);
        Ok(())
    }
}
