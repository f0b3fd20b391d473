//! Records that can never be delivered, kept with the reason so nothing vanishes silently.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use khabar_core_model::{Article, DeadLetters};

/// Appends one JSON object per rejected record to `data_dir/dead-letter.jsonl`:
/// `{"at", "stage", "reason", "record"}` (the record without its raw HTML).
pub struct DeadLetter {
    path: PathBuf,
    lock: Mutex<()>,
}

impl DeadLetter {
    pub fn new(data_dir: &Path) -> DeadLetter {
        DeadLetter {
            path: data_dir.join("dead-letter.jsonl"),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the record; a failure to write is logged with the whole record, never lost
    /// without a trace.
    pub fn write(&self, stage: &str, reason: &str, article: &Article) {
        let line = serde_json::json!({
            "at": chrono::Utc::now().to_rfc3339(),
            "stage": stage,
            "reason": reason,
            "record": article.to_json_without_html(),
        });
        metrics::counter!(crate::metrics::names::DEAD_LETTERS, "component_id" => stage.to_string())
            .increment(1);
        let _guard = self.lock.lock();
        let result = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| {
                writeln!(f, "{line}")?;
                f.sync_data()
            });
        match result {
            Ok(()) => {
                tracing::warn!(stage, reason, id = %article.id, url = %article.url, "record rejected; written to the dead-letter file")
            }
            Err(e) => {
                tracing::error!(stage, reason, record = %line, error = %e, path = %self.path.display(), "record rejected and the dead-letter file could not be written")
            }
        }
    }
}

impl DeadLetters for DeadLetter {
    fn write(&self, stage: &str, reason: &str, article: &Article) {
        DeadLetter::write(self, stage, reason, article);
    }
}
