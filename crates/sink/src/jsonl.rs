use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

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
    /// Record ids remembered to skip records already in the file (a replay after a crash
    /// repeats recent records). Older ones are forgotten, so memory stays bounded.
    #[serde(default = "default_remember")]
    pub remember: usize,
}

/// A replay after a crash repeats what was in flight then (each feed's last unsettled poll:
/// thousands of records, not hundreds of thousands); 100,000 ids cost about 4 MB.
fn default_remember() -> usize {
    100_000
}

#[async_trait]
impl SinkConfig for JsonlConfig {
    fn validate(&self) -> Vec<String> {
        let mut problems = khabar_core_model::path_problems(&self.path);
        if self.remember == 0 || self.remember > 100_000_000 {
            problems.push(format!(
                "field `remember`: {} is out of range (1 to 100000000)",
                self.remember
            ));
        }
        problems
    }

    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError> {
        let path = ctx.resolve_data(&self.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StageError::config(format!("field `path`: {}", dir.display())).with_cause(e)
            })?;
        }
        let at = |e: std::io::Error| {
            StageError::config(format!("field `path`: {}", path.display())).with_cause(e)
        };
        repair_tail(&path).map_err(at)?;
        let written = read_written_ids(&path, self.remember).map_err(at)?;
        Ok(Box::new(JsonlSink {
            path: path.clone(),
            include_html: self.include_html,
            written,
            torn: false,
        }))
    }
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

/// A record id in 16 bytes: ids are 32 hex digits; anything else (an id from another
/// producer) is hashed to the same width.
fn compact(id: &str) -> u128 {
    if let Some(bytes) = khabar_core_model::hex::decode(id) {
        if let Ok(array) = <[u8; 16]>::try_from(bytes.as_slice()) {
            return u128::from_be_bytes(array);
        }
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    let mut array = [0u8; 16];
    array.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(array)
}

/// The ids most recently written, at most `capacity`, oldest forgotten first: enough to
/// make a replay after a crash (which repeats recent records) append nothing twice, without
/// a set that grows for as long as the daemon runs.
struct RecentIds {
    set: HashSet<u128>,
    order: VecDeque<u128>,
    capacity: usize,
}

impl RecentIds {
    fn new(capacity: usize) -> RecentIds {
        RecentIds {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    fn contains(&self, id: u128) -> bool {
        self.set.contains(&id)
    }

    fn insert(&mut self, id: u128) {
        if !self.set.insert(id) {
            return;
        }
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }
}

/// Cuts a torn last line (a crash or a full disk mid-write) off the file, so that the next
/// record appended starts on a line of its own. The torn record was never acknowledged: it
/// comes again and is written whole.
fn repair_tail(path: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let length = file.metadata()?.len();
    // Walk back from the end in blocks until a newline (or the start of the file).
    let mut end = length;
    let mut block = [0u8; 8192];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let size = usize::try_from(end - start).unwrap_or(block.len());
        let Some(window) = block.get_mut(..size) else {
            break;
        };
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(window)?;
        if let Some(at) = window.iter().rposition(|b| *b == b'\n') {
            let keep = start + at as u64 + 1;
            if keep < length {
                file.set_len(keep)?;
                file.sync_all()?;
            }
            return Ok(());
        }
        end = start;
    }
    if length > 0 {
        // One torn line and nothing before it.
        file.set_len(0)?;
        file.sync_all()?;
    }
    Ok(())
}

/// The ids already in the file, so a replay after a crash appends nothing twice.
fn read_written_ids(path: &Path, capacity: usize) -> std::io::Result<RecentIds> {
    let mut ids = RecentIds::new(capacity);
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(e),
    };
    for line in std::io::BufReader::new(file).lines() {
        if let Ok(record) = serde_json::from_str::<IdOnly>(&line?) {
            ids.insert(compact(&record.id));
        }
    }
    Ok(ids)
}

struct JsonlSink {
    path: PathBuf,
    include_html: bool,
    written: RecentIds,
    /// A write failed part-way: the tail may be torn and is repaired before the next one.
    torn: bool,
}

#[async_trait]
impl Sink for JsonlSink {
    async fn write(&mut self, batch: &[Article]) -> Vec<Result<(), StageError>> {
        let mut text = String::new();
        let mut results = Vec::with_capacity(batch.len());
        let mut fresh = Vec::new();
        for article in batch {
            let id = compact(article.id.as_str());
            if self.written.contains(id) || fresh.contains(&id) {
                results.push(Ok(()));
                continue;
            }
            let line = if self.include_html {
                serde_json::to_string(article)
            } else {
                // Straight to text: no intermediate JSON tree, no copy of the page.
                article.to_json_string_without_html()
            };
            match line {
                Ok(line) => {
                    text.push_str(&line);
                    text.push('\n');
                    fresh.push(id);
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(
                    StageError::permanent("cannot serialize record").with_cause(e)
                )),
            }
        }
        if text.is_empty() {
            return results;
        }
        let path = self.path.clone();
        let repair_first = self.torn;
        let written = tokio::task::spawn_blocking(move || {
            if repair_first {
                repair_tail(&path)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(text.as_bytes())?;
            file.sync_data()
        })
        .await
        .map_err(|e| StageError::transient("jsonl writer").with_cause(e))
        .and_then(|r| {
            r.map_err(|e| StageError::transient(self.path.display().to_string()).with_cause(e))
        });
        match written {
            Ok(()) => {
                self.torn = false;
                for id in fresh {
                    self.written.insert(id);
                }
                results
            }
            Err(e) => {
                self.torn = true;
                batch.iter().map(|_| Err(e.clone())).collect()
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
            remember: 1000,
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

    #[tokio::test]
    async fn a_torn_last_line_is_cut_before_appending() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let ctx =
            BuildContext::standalone("out", dir.path().to_path_buf(), dir.path().to_path_buf());
        let path = dir.path().join("records.jsonl");
        let whole = serde_json::to_string(&article("https://a/1").to_json(false))?;
        // A crash mid-write left half of the second record.
        let torn = serde_json::to_string(&article("https://a/2").to_json(false))?;
        std::fs::write(&path, format!("{whole}\n{}", &torn[..torn.len() / 2]))?;
        let config = JsonlConfig {
            path: "records.jsonl".into(),
            include_html: false,
            remember: 1000,
        };
        let mut sink = config.build(&ctx).await?;
        let results = sink
            .write(&[article("https://a/2"), article("https://a/3")])
            .await;
        assert!(results.iter().all(Result::is_ok));
        let text = std::fs::read_to_string(&path)?;
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        let urls: Vec<&str> = lines.iter().filter_map(|l| l["url"].as_str()).collect();
        assert_eq!(urls, ["https://a/1", "https://a/2", "https://a/3"]);
        Ok(())
    }

    #[test]
    fn the_remembered_ids_are_bounded() {
        let mut recent = RecentIds::new(3);
        for id in 0..10u128 {
            recent.insert(id);
        }
        assert_eq!(recent.set.len(), 3);
        assert!(recent.contains(9) && !recent.contains(6));
        assert_eq!(compact(&"ab".repeat(16)), u128::from_be_bytes([0xab; 16]));
        assert_ne!(compact("not hex"), compact("not hex either"));
    }
}
