//! Watching a running daemon from another terminal (`khabar tap`, `khabar top`), and the
//! progress line of a long `khabar once`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use khabar_core_model::Registry;
use khabar_runtime::{Monitor, Snapshot};

/// The file a running daemon writes its API's address to, in its data folder: `khabar tap`
/// and `top` find a daemon that took any free port (`address = "127.0.0.1:0"`) through it.
pub(crate) const ADDRESS_FILE: &str = "api.address";

/// Where the daemon of `config` serves its API: `--api` when given, else the address the
/// running daemon wrote to its data folder, else the config's `[api] address`.
pub(crate) fn api_base(api: Option<&str>, config: &Path, registry: &Registry) -> Result<String> {
    if let Some(api) = api {
        return Ok(api.trim_end_matches('/').to_string());
    }
    let plan = crate::cli::plan(config, registry)?;
    if !plan.api.enabled {
        bail!(
            "{}: the API is off (`[api] enabled = false`); turn it on to watch the daemon",
            config.display()
        );
    }
    let written = plan.data_dir().join(ADDRESS_FILE);
    if let Ok(text) = std::fs::read_to_string(&written) {
        let text = text.trim();
        if !text.is_empty() {
            return Ok(text.trim_end_matches('/').to_string());
        }
    }
    Ok(format!("http://{}", plan.api.address))
}

fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("cannot set up the HTTP client")
}

fn unreachable(base: &str, error: reqwest::Error) -> anyhow::Error {
    anyhow!("cannot reach the daemon's API at {base} ({error}); is `khabar run` running with this config, and its [api] on?")
}

/// `khabar tap <stage>`: prints the records leaving `stage` as JSON lines, and on standard
/// error how many were dropped while this reader was too slow. Like `vector tap`, it waits
/// for a daemon that does not answer yet and connects again when the daemon restarts (the
/// address is found afresh each time by `find_base`), until `limit` records are printed;
/// with `wait` false it fails at once instead, and ends with the daemon.
pub(crate) async fn tap(
    find_base: impl Fn() -> Result<String>,
    stage: &str,
    limit: Option<u64>,
    fields: Option<&str>,
    wait: bool,
) -> Result<()> {
    let client = client()?;
    let mut printed: u64 = 0;
    let mut dropped: u64 = 0;
    let mut told = false;
    loop {
        let base = find_base()?;
        let left = limit.map(|l| l.saturating_sub(printed));
        let response = match client
            .get(tap_url(&base, stage, left, fields)?)
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) if wait && e.is_connect() => {
                if !told {
                    eprintln!("tap: waiting for the daemon at {base} (Ctrl-C to stop)");
                    told = true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(e) => return Err(unreachable(&base, e)),
        };
        let (lines, lost) = print_tap(response).await?;
        printed = printed.saturating_add(lines);
        dropped = dropped.saturating_add(lost);
        if !wait || limit.is_some_and(|l| printed >= l) {
            break;
        }
        eprintln!("tap: the daemon stopped; waiting for it to come back");
        told = true;
    }
    if dropped > 0 {
        eprintln!("tap: {dropped} records dropped in all");
    }
    Ok(())
}

fn tap_url(
    base: &str,
    stage: &str,
    limit: Option<u64>,
    fields: Option<&str>,
) -> Result<reqwest::Url> {
    let mut url = reqwest::Url::parse(&format!("{base}/api/tap/"))
        .with_context(|| format!("{base}: not a URL"))?
        .join(stage)
        .with_context(|| format!("{stage:?}: not a stage id"))?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(limit) = limit {
            query.append_pair("limit", &limit.to_string());
        }
        if let Some(fields) = fields {
            query.append_pair("fields", fields);
        }
    }
    Ok(url)
}

/// Prints a tap's records as they come, and its notices on standard error, until the stream
/// ends; returns the records printed and those the daemon dropped for this reader.
async fn print_tap(response: reqwest::Response) -> Result<(u64, u64)> {
    if !response.status().is_success() {
        let status = response.status();
        let body: serde_json::Value = response
            .bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let stages = body["stages"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        bail!(
            "{}{}",
            body["error"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status}")),
            if stages.is_empty() {
                String::new()
            } else {
                format!("; its stages: {stages}")
            }
        );
    }
    let mut body = response.bytes_stream();
    let mut pending: Vec<u8> = Vec::new();
    let (mut printed, mut dropped) = (0u64, 0u64);
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            // The daemon went away mid-stream (a restart): the caller decides what follows.
            break;
        };
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end();
            if let Some(n) = notice(line) {
                dropped = dropped.saturating_add(n);
                eprintln!("tap: {n} records dropped: this reader was slower than the stage (the pipeline does not wait for it)");
                continue;
            }
            out!("{line}")?;
            printed += 1;
        }
    }
    Ok((printed, dropped))
}

/// The count of a tap's "records dropped" notice line.
fn notice(line: &str) -> Option<u64> {
    if !line.contains(khabar_api::TAP_NOTICE) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get(khabar_api::TAP_NOTICE)?.get("dropped")?.as_u64()
}

/// `khabar top`: each stage's rates and queue, redrawn every `interval` (on a terminal; else
/// one table per interval). Stops after `iterations` tables when not 0.
pub(crate) async fn top(base: &str, interval: Duration, iterations: u64) -> Result<()> {
    let client = client()?;
    let url = format!("{base}/api/stats");
    let redraw = std::io::stdout().is_terminal();
    let mut previous: Option<(Instant, Snapshot)> = None;
    let mut drawn: u64 = 0;
    loop {
        let body = client
            .get(&url)
            .send()
            .await
            .map_err(|e| unreachable(base, e))?
            .error_for_status()
            .map_err(|e| anyhow!("{url}: {e}"))?
            .bytes()
            .await
            .map_err(|e| anyhow!("{url}: {e}"))?;
        let snapshot: Snapshot = serde_json::from_slice(&body)
            .map_err(|e| anyhow!("{url}: not the stats of a Khabar daemon: {e}"))?;
        let now = Instant::now();
        let table = render_top(
            &snapshot,
            previous
                .as_ref()
                .map(|(at, s)| (now.duration_since(*at), s)),
        );
        if redraw {
            // Home and clear, then the table: a full redraw, like `top`.
            out!("\x1b[H\x1b[2J{table}")?;
        } else {
            out!("{table}")?;
        }
        std::io::stdout().flush()?;
        drawn += 1;
        if iterations != 0 && drawn >= iterations {
            return Ok(());
        }
        previous = Some((now, snapshot));
        tokio::time::sleep(interval).await;
    }
}

/// One screen of `khabar top`: the totals, then a line per stage with its rates since
/// `previous` (blank on the first screen).
fn render_top(now: &Snapshot, previous: Option<(Duration, &Snapshot)>) -> String {
    let t = &now.totals;
    let mut text = format!(
        "khabar: {:?}, up {}  feeds polled {}  new items {}  delivered {}  retry {}  rejected {}  panics {}\n\n",
        now.phase,
        humantime_short(now.uptime_seconds),
        t.feeds_polled,
        t.items_new,
        t.delivered,
        t.retried,
        t.rejected,
        t.tasks_crashed
    )
    .to_lowercase();
    text.push_str(&format!(
        "{:<16} {:<9} {:<16} {:>9} {:>9} {:>10} {:>10} {:>8} {:>8} {:>11}\n",
        "STAGE", "KIND", "TYPE", "IN/S", "OUT/S", "RECEIVED", "SENT", "DROPPED", "ERRORS", "QUEUE"
    ));
    let before: HashMap<&str, (u64, u64)> = previous
        .map(|(_, s)| {
            s.stages
                .iter()
                .map(|st| {
                    (
                        st.counters.stage.as_str(),
                        (st.counters.received, st.counters.sent),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let seconds = previous.map(|(d, _)| d.as_secs_f64()).unwrap_or(0.0);
    let rate = |now: u64, then: Option<u64>| -> String {
        match then {
            Some(then) if seconds > 0.0 => {
                format!("{:.1}", now.saturating_sub(then) as f64 / seconds)
            }
            _ => "-".to_string(),
        }
    };
    for stage in &now.stages {
        let c = &stage.counters;
        let then = before.get(c.stage.as_str());
        let queue = match (stage.queue_depth, stage.queue_capacity) {
            (Some(depth), Some(capacity)) => format!("{depth}/{capacity}"),
            _ => "-".to_string(),
        };
        text.push_str(&format!(
            "{:<16} {:<9} {:<16} {:>9} {:>9} {:>10} {:>10} {:>8} {:>8} {:>11}\n",
            c.stage,
            c.kind,
            stage.type_name,
            rate(c.received, then.map(|t| t.0)),
            rate(c.sent, then.map(|t| t.1)),
            c.received,
            c.sent,
            c.dropped,
            c.errored,
            queue
        ));
        if let Some(error) = &stage.last_error {
            text.push_str(&format!("{:>16} last write failed: {error}\n", "↳"));
        }
    }
    text
}

fn humantime_short(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The progress line of `khabar once` on a terminal: redrawn in place on standard error
/// every half second (wiped by each log line, drawn again on the next tick), cleared at
/// the end. Off when standard error is not a terminal (a log,
/// a pipe, CI), so nothing but the summary is printed there.
pub(crate) struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub(crate) fn start(monitor: Monitor) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { task: None };
        }
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let t = monitor.totals();
                let line = format!(
                    "{}  feeds polled {} (failed {})  new items {}  delivered {}  retry later {}  rejected {}",
                    humantime_short(started.elapsed().as_secs_f64()),
                    t.feeds_polled,
                    t.feeds_failed,
                    t.items_new,
                    t.delivered,
                    t.retried,
                    t.rejected
                );
                crate::logging::draw_progress(&line);
            }
        });
        Progress { task: Some(task) }
    }

    pub(crate) fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
            crate::logging::clear_progress();
        }
    }
}

/// Writes the API's address where `khabar tap` and `top` look for it; removed on drop.
pub(crate) struct AddressFile(PathBuf);

impl AddressFile {
    pub(crate) fn write(data_dir: &Path, address: std::net::SocketAddr) -> AddressFile {
        let path = data_dir.join(ADDRESS_FILE);
        if let Err(e) = std::fs::write(&path, format!("http://{address}\n")) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the API's address; `khabar tap` and `top` need --api");
        }
        AddressFile(path)
    }
}

impl Drop for AddressFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_line_is_told_from_a_record() {
        assert_eq!(notice(r#"{"khabar_tap":{"dropped":12}}"#), Some(12));
        assert_eq!(notice(r#"{"title":"khabar_tap is mentioned"}"#), None);
        assert_eq!(notice(r#"{"url":"https://x/"}"#), None);
    }
}
