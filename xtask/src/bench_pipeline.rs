//! `cargo xtask bench pipeline`: the default pipeline (`config/khabar.toml`, every stage on)
//! end to end against the loopback news server, and what it costs per stage.

use std::path::Path;
use std::process::Command;

use crate::bench::{
    build_khabar_and_news_server, flag, fresh_temp_dir, news_opml, run_measured, Measured,
    NewsServer,
};
use crate::workspace_root;

/// What `bench pipeline` changes in `config/khabar.toml`, through the environment:
/// (setting, value, default). Loopback hosts are private addresses; the per-host interval
/// would cap a run of 128 hosts at 128 pages/s, which measures the wait, not Khabar.
pub(crate) const PIPELINE_SETTINGS: [(&str, &str, &str); 4] = [
    (
        "sources.news.http.refuse_private_addresses",
        "false",
        "true",
    ),
    ("sources.news.http.per_host_interval", "0s", "1s"),
    (
        "transforms.page.http.refuse_private_addresses",
        "false",
        "true",
    ),
    ("transforms.page.http.per_host_interval", "0s", "1s"),
];

/// The environment variable that overrides `setting`.
pub(crate) fn env_key(setting: &str) -> String {
    format!("KHABAR__{}", setting.replace('.', "__").to_uppercase())
}

/// `khabar once --json` on `config` as `bench pipeline` runs it: the settings above, the data
/// in `dir/data`, the feeds in `opml`.
pub(crate) fn once_command(khabar: &Path, config: &Path, dir: &Path, opml: &Path) -> Command {
    let mut command = Command::new(khabar);
    command
        .args(["once", "--json", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .env("KHABAR__GLOBAL__DATA_DIR", dir.join("data"))
        .env("KHABAR__SOURCES__NEWS__OPML", opml);
    for (setting, value, _) in PIPELINE_SETTINGS {
        command.env(env_key(setting), value);
    }
    command
}

/// A run of the shipped config over `opml`, into a fresh data folder.
fn once(khabar: &Path, dir: &Path, opml: &Path) -> Result<Measured, String> {
    let _ = std::fs::remove_dir_all(dir.join("data"));
    let config = workspace_root().join("config/khabar.toml");
    run_measured(once_command(khabar, &config, dir, opml))
}

fn stages_table(summary: &serde_json::Value, articles: f64) -> String {
    let mut out = String::from(
        "| stage | kind | in | out | dropped | errored | CPU-s per 1,000 articles |\n|---|---|---|---|---|---|---|\n",
    );
    for stage in summary["stages"].as_array().into_iter().flatten() {
        let cpu = stage["cpu_ms"].as_f64().unwrap_or(0.0) / 1000.0;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.3} |\n",
            stage["stage"].as_str().unwrap_or("?"),
            stage["kind"].as_str().unwrap_or("?"),
            stage["received"],
            stage["sent"],
            stage["dropped"],
            stage["errored"],
            cpu * 1000.0 / articles.max(1.0)
        ));
    }
    out
}

/// Bytes of the SQLite article store in `data`: the database and its write-ahead log.
fn store_size(data: &std::path::Path) -> u64 {
    ["khabar.db", "khabar.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(data.join(name)).ok())
        .map(|m| m.len())
        .sum()
}

pub fn pipeline(args: &[String]) -> Result<(), String> {
    let hosts = flag(args, "--hosts", 128).clamp(1, 1000);
    let feeds_per_host = flag(args, "--feeds-per-host", 2).max(1);
    let items = flag(args, "--items", 20).max(1);
    let khabar = build_khabar_and_news_server()?;
    let feeds = hosts * feeds_per_host;
    let server = NewsServer::start(feeds, items, hosts, 1)?;
    let dir = fresh_temp_dir("pipeline")?;

    // The same process with no feeds: what starting and stopping cost (lists loaded, stages
    // built, the database opened), to tell the steady rate from the whole run's.
    let empty = dir.join("empty.opml");
    news_opml(&empty, server.port, 0, hosts)?;
    let idle = once(&khabar, &dir, &empty)?;

    let news = dir.join("feeds.opml");
    news_opml(&news, server.port, feeds, hosts)?;
    let server_cpu_before = server.cpu_seconds();
    let run = once(&khabar, &dir, &news)?;
    let server_cpu = server.cpu_seconds() - server_cpu_before;
    server.stop();
    let store_bytes = store_size(&dir.join("data"));
    let _ = std::fs::remove_dir_all(&dir);

    let summary: serde_json::Value = serde_json::from_str(&run.stdout).map_err(|e| {
        format!(
            "khabar once --json printed no summary ({e}): {}",
            run.stdout
        )
    })?;
    let delivered = summary["delivered"].as_f64().unwrap_or(0.0);
    let expected = (feeds * items) as f64;
    let steady = (run.seconds - idle.seconds).max(f64::EPSILON);
    let cpu_total = run.cpu_seconds;
    let staged: f64 = summary["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["cpu_ms"].as_f64().unwrap_or(0.0) / 1000.0)
        .sum();

    println!(
        "\n## bench pipeline: {feeds} feeds × {items} items = {expected:.0} Arabic article pages (~57 KB) from {hosts} loopback hosts\n"
    );
    println!("| figure | value |\n|---|---|");
    println!(
        "| articles delivered (sqlite, after dedupe's drops) | {delivered:.0} of {expected:.0} |"
    );
    println!("| wall time, whole run | {:.2} s |", run.seconds);
    println!(
        "| **articles/s, whole run (start to exit)** | **{:.0}** |",
        delivered / run.seconds
    );
    println!(
        "| start and stop alone (same config, no feeds) | {:.2} s |",
        idle.seconds
    );
    println!(
        "| articles/s, steady (run minus start and stop) | {:.0} |",
        delivered / steady
    );
    println!(
        "| khabar CPU (user + system) | {cpu_total:.2} s = {:.2} CPU-s per 1,000 articles |",
        cpu_total * 1000.0 / delivered.max(1.0)
    );
    println!(
        "| of which in the stages' own calls | {staged:.2} s (the rest: feed polls, HTTP connections, the sqlite writer thread, start-up, the runtime) |"
    );
    println!("| peak RSS | {:.0} MB |", run.peak_rss_mb);
    println!(
        "| the article store (khabar.db and its WAL) | {:.1} MB = {:.1} KB per article |",
        store_bytes as f64 / 1e6,
        store_bytes as f64 / 1e3 / delivered.max(1.0)
    );
    let lag = &summary["scheduler_lag"];
    println!(
        "| poll latency under this load: how late a 10 ms timer woke on the async workers (p50 / p99 / max of {} wake-ups) | {:.1} / {:.1} / {:.1} ms |",
        lag["samples"],
        lag["p50_us"].as_f64().unwrap_or(0.0) / 1000.0,
        lag["p99_us"].as_f64().unwrap_or(0.0) / 1000.0,
        lag["max_us"].as_f64().unwrap_or(0.0) / 1000.0
    );
    println!("| the page server's CPU, same machine | {server_cpu:.2} s |");
    println!("\n{}", stages_table(&summary, delivered));
    println!("Settings changed from `config/khabar.toml` (its value in brackets):");
    for (setting, value, default) in PIPELINE_SETTINGS {
        println!(
            "- `{setting}` = {value} ({default}), as `{}`",
            env_key(setting)
        );
    }
    println!("- the OPML and the data folder: the generated feeds, a fresh temporary folder");
    if delivered < expected {
        return Err(format!(
            "only {delivered:.0} of {expected:.0} articles were delivered: {}",
            run.stdout
        ));
    }
    Ok(())
}
