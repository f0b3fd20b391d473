use std::io::Write;

use async_trait::async_trait;
use khabar_core_model::{Article, BuildContext, Sink, SinkConfig, StageError};
use serde::Deserialize;

/// `[sinks.<id>] type = "stdout"`. Not idempotent: a replay prints again.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    /// Include the raw page.
    #[serde(default)]
    pub include_html: bool,
    /// Indented JSON instead of one line per record.
    #[serde(default)]
    pub pretty: bool,
}

#[async_trait]
impl SinkConfig for StdoutConfig {
    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        Ok(Box::new(StdoutSink {
            config: self.clone(),
        }))
    }
}

struct StdoutSink {
    config: StdoutConfig,
}

#[async_trait]
impl Sink for StdoutSink {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        batch
            .iter()
            .map(|article| {
                let value = article.to_json(self.config.include_html);
                let text = if self.config.pretty {
                    serde_json::to_string_pretty(&value)
                } else {
                    serde_json::to_string(&value)
                }
                .map_err(|e| StageError::permanent(format!("cannot serialize record: {e}")))?;
                writeln!(out, "{text}")
                    .and_then(|_| out.flush())
                    .map_err(|e| StageError::transient(format!("stdout: {e}")))
            })
            .collect()
    }
}
