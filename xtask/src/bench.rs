//! `cargo xtask bench <what>`: measured figures for BENCHMARKS.md.
//!
//! - `poll [--feeds N] [--items N]`: a loopback server of N realistic feeds (8 addresses,
//!   127.0.0.1–8); `khabar once` polls them all into a JSONL sink (the full cycle), then again
//!   (every feed answers 304); wall time, requests/s and peak RSS of the khabar process, beside
//!   `wrk`'s request rate against the same server (the loopback limit), when wrk is installed;
//!   then the realistic run: the same feeds over `--hosts` (1,000) loopback hosts with the
//!   default politeness settings.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, workspace_root};

pub(crate) fn flag(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("poll") => poll(&args[1..]),
        Some("pipeline") => crate::bench_pipeline::pipeline(&args[1..]),
        Some("soak") => crate::bench_soak::soak(&args[1..]),
        Some("extraction") => extraction(args.iter().any(|a| a == "--peers")),
        Some("sinks") => sinks(&args[1..]),
        Some("entities") => example("khabar-extractor", "entities_bench"),
        Some("stages") => example("khabar-extractor", "stages_bench"),
        Some("dedupe") => example("khabar-normalizer", "dedupe_bench"),
        other => Err(format!(
            "unknown benchmark {:?}; available: poll, pipeline, soak, extraction, sinks, entities, dedupe, stages",
            other.unwrap_or("")
        )),
    }
}

/// Runs a benchmark that is an example of one crate, in release mode.
fn example(package: &str, name: &str) -> Result<(), String> {
    cargo(&["run", "--release", "-q", "-p", package, "--example", name])
}

/// Peak resident set of a running process, from /proc (kB).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// CPU time (user + system) a running process has used so far, from /proc, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A finished run of one process: what it took and what it printed.
pub(crate) struct Measured {
    pub(crate) seconds: f64,
    pub(crate) peak_rss_mb: f64,
    /// User + system CPU, sampled every 10 ms while it ran (the last few ms are missed).
    pub(crate) cpu_seconds: f64,
    pub(crate) stdout: String,
}

/// An empty folder of this process under the system's temporary folder, for one benchmark.
pub(crate) fn fresh_temp_dir(benchmark: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("khabar-bench-{benchmark}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Reads a child's standard output as it comes, on a thread (so a long summary cannot fill the
/// pipe and stall the child); join the thread for the text.
pub(crate) fn read_stdout(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let stdout = child.stdout.take();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut out) = stdout {
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
        }
        text
    })
}

/// Runs `command` to its end, sampling its peak RSS and CPU time.
pub(crate) fn run_measured(mut command: Command) -> Result<Measured, String> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let pid = child.id();
    let reader = read_stdout(&mut child);
    let (mut peak, mut cpu) = (0, 0.0);
    loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(seconds) = cpu_seconds(pid) {
            cpu = seconds;
        }
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {command:?}: {e}")),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let stdout = reader.join().unwrap_or_default();
    Ok(Measured {
        seconds,
        peak_rss_mb: peak as f64 / 1024.0,
        cpu_seconds: cpu,
        stdout,
    })
}

/// `khabar once` on `config`: one full polling cycle.
fn run_cycle(khabar: &Path, config: &Path) -> Result<Measured, String> {
    let mut command = Command::new(khabar);
    command
        .args(["once", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn");
    let mut cycle = run_measured(command)?;
    cycle.stdout = cycle.stdout.trim().to_string();
    Ok(cycle)
}

/// Builds the `khabar` binary and the news server (release); the binary's path.
pub(crate) fn build_khabar_and_news_server() -> Result<PathBuf, String> {
    cargo(&["build", "--release", "-p", "khabar", "--bin", "khabar"])?;
    cargo(&[
        "build",
        "--release",
        "-p",
        "khabar-fetcher",
        "--example",
        "feed_server",
    ])?;
    Ok(crate::target_dir().join("release/khabar"))
}

/// The loopback news server (`crates/fetcher/examples/feed_server.rs`). It runs until its
/// standard input closes: when stopped, or when this is dropped.
pub(crate) struct NewsServer {
    child: std::process::Child,
    pub(crate) port: u16,
}

impl NewsServer {
    /// Starts `feeds` feeds of `items` items on `addresses` loopback addresses (127.0.0.1,
    /// 127.0.0.2, …, 127.0.1.1 after 127.0.0.250), `threads` threads each.
    pub(crate) fn start(
        feeds: usize,
        items: usize,
        addresses: usize,
        threads: usize,
    ) -> Result<NewsServer, String> {
        Self::launch(feeds, items, addresses, threads, false)
    }

    /// Starts the server; `rolling`: each feed answers with its next `items` items at every
    /// poll.
    pub(crate) fn launch(
        feeds: usize,
        items: usize,
        addresses: usize,
        threads: usize,
        rolling: bool,
    ) -> Result<NewsServer, String> {
        let server_bin = crate::target_dir().join("release/examples/feed_server");
        let mut command = Command::new(&server_bin);
        if rolling {
            command.arg("--rolling");
        }
        let mut child = command
            .args([
                "--feeds",
                &feeds.to_string(),
                "--items",
                &items.to_string(),
                "--addresses",
                &addresses.to_string(),
                "--threads",
                &threads.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the feed server: {e}"))?;
        let mut ready = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out)
                .read_line(&mut ready)
                .map_err(|e| e.to_string())?;
        }
        let port = ready
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok());
        match port {
            Some(port) => Ok(NewsServer { child, port }),
            None => {
                let _ = child.kill();
                Err(format!("the feed server did not start: {ready:?}"))
            }
        }
    }

    /// The server's CPU time so far (it shares the machine with what it serves).
    pub(crate) fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id()).unwrap_or(0.0)
    }

    /// Closes its standard input (its signal to stop) and waits for it.
    pub(crate) fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Requests/s of `wrk` against every address at once (8 connections each, like khabar's
/// per-host limit in this benchmark), summed: what this machine's loopback and this server can
/// do at most. `None` when wrk is not installed.
fn wrk(port: u16, addresses: usize, header: Option<&str>) -> Option<f64> {
    let children: Vec<_> = (1..=addresses)
        .filter_map(|n| {
            let mut cmd = Command::new("wrk");
            cmd.args(["-t1", "-c8", "-d5s"]);
            if let Some(h) = header {
                cmd.args(["-H", h]);
            }
            cmd.arg(format!("http://127.0.0.{n}:{port}/feed/1.xml"))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .ok()
        })
        .collect();
    if children.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for child in children {
        let out = child.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        total += text
            .lines()
            .find(|l| l.starts_with("Requests/sec:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())?;
    }
    Some(total)
}

/// What `bench poll`'s config sets away from the defaults: (setting, value, default). The
/// politeness settings are off so the run measures Khabar, not the waits it keeps.
const POLL_SETTINGS: [(&str, &str, &str); 8] = [
    ("sources.bench.concurrency", "64", "16"),
    ("sources.bench.http.per_host_concurrency", "8", "2"),
    (
        "sources.bench.http.per_host_interval",
        "\"0s\"",
        "\"500ms\"",
    ),
    (
        "sources.bench.http.refuse_private_addresses",
        "false",
        "true",
    ),
    ("sinks.out.batch_size", "1000", "100"),
    ("sinks.out.batch_timeout", "\"50ms\"", "\"500ms\""),
    ("sinks.out.buffer", "1024", "64"),
    ("global.metrics_interval", "\"1h\"", "\"60s\""),
];

fn poll(args: &[String]) -> Result<(), String> {
    let feeds = flag(args, "--feeds", 10_000);
    let items = flag(args, "--items", 20);
    let addresses = 8;
    let khabar = build_khabar_and_news_server()?;
    let server = NewsServer::start(feeds, items, addresses, 4)?;
    let port = server.port;

    let dir = fresh_temp_dir("poll")?;
    news_opml(&dir.join("feeds.opml"), port, feeds, addresses)?;

    let config = dir.join("khabar.toml");
    std::fs::write(
        &config,
        "[global]\ndata_dir = \"data\"\nmetrics_interval = \"1h\"\n\
         [sources.bench]\ntype = \"feed\"\nopml = \"feeds.opml\"\nconcurrency = 64\n\
         http = { refuse_private_addresses = false, per_host_concurrency = 8, per_host_interval = \"0s\", max_connections = 64 }\n\
         [sinks.out]\ntype = \"jsonl\"\ninputs = [\"bench\"]\npath = \"items.jsonl\"\nbatch_size = 1000\nbatch_timeout = \"50ms\"\nbuffer = 1024\n",
    )
    .map_err(|e| e.to_string())?;

    let full = run_cycle(&khabar, &config)?;
    let not_modified = run_cycle(&khabar, &config)?;
    let wrk_full = wrk(port, addresses, None);
    let wrk_304 = wrk(port, addresses, Some("If-None-Match: \"feed-1-v1\""));
    server.stop();
    let records = std::fs::read_to_string(dir.join("data/items.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);

    let rate = |c: &Measured| feeds as f64 / c.seconds;
    let wrk_text = |r: Option<f64>| {
        r.map(|v| format!("{v:.0} req/s"))
            .unwrap_or_else(|| "wrk not installed".to_string())
    };
    println!("\n## bench poll: {feeds} feeds × {items} items on {addresses} loopback addresses\n");
    println!("| cycle | wall time | feeds/s (= requests/s) | peak RSS | khabar's summary |");
    println!("|---|---|---|---|---|");
    println!(
        "| full (all new, {records} records to JSONL) | {:.2} s | {:.0} | {:.0} MB | {} |",
        full.seconds,
        rate(&full),
        full.peak_rss_mb,
        full.stdout
    );
    println!(
        "| all 304 | {:.2} s | {:.0} | {:.0} MB | {} |",
        not_modified.seconds,
        rate(&not_modified),
        not_modified.peak_rss_mb,
        not_modified.stdout
    );
    // A figure is only as good as what it was measured under: every setting this run changes
    // from Khabar's defaults, with the default beside it.
    println!("\nSettings changed from the defaults (default in brackets):");
    for (setting, value, default) in POLL_SETTINGS {
        println!("- `{setting}` = {value} ({default})");
    }
    println!(
        "\nLoopback limit of the same server: wrk on all {addresses} addresses at once (-t1 -c8 -d5s each): {} with a body, {} answered 304.",
        wrk_text(wrk_full),
        wrk_text(wrk_304)
    );
    poll_realistic(
        &khabar,
        feeds,
        items,
        flag(args, "--hosts", 1000).clamp(1, 1000),
    )
}

/// An OPML list of `feeds` feeds of the news server, feed `i` on loopback address `i % hosts`
/// (numbered as [`NewsServer::start`] numbers them).
pub(crate) fn news_opml(path: &Path, port: u16, feeds: usize, hosts: usize) -> Result<(), String> {
    let hosts = hosts.max(1);
    let mut text = String::from("<?xml version=\"1.0\"?><opml version=\"2.0\"><body>\n");
    for i in 0..feeds {
        let k = i % hosts;
        text.push_str(&format!(
            "<outline type=\"rss\" text=\"feed {i}\" xmlUrl=\"http://127.0.{}.{}:{port}/feed/{i}.xml\"/>\n",
            k / 250,
            1 + k % 250
        ));
    }
    text.push_str("</body></opml>\n");
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The realistic polling run: `feeds` feeds over `hosts` loopback hosts, Khabar's default
/// politeness (2 requests at a time and 500 ms between requests per host, 16 feeds at a time),
/// into a JSONL sink with its defaults; a full cycle, then an all-304 cycle.
fn poll_realistic(khabar: &Path, feeds: usize, items: usize, hosts: usize) -> Result<(), String> {
    let server = NewsServer::start(feeds, items, hosts, 1)?;
    let dir = fresh_temp_dir("poll-real")?;
    news_opml(&dir.join("feeds.opml"), server.port, feeds, hosts)?;
    let config = dir.join("khabar.toml");
    std::fs::write(
        &config,
        "[global]\ndata_dir = \"data\"\n\
         [sources.bench]\ntype = \"feed\"\nopml = \"feeds.opml\"\n\
         http = { refuse_private_addresses = false }\n\
         [sinks.out]\ntype = \"jsonl\"\ninputs = [\"bench\"]\npath = \"items.jsonl\"\n",
    )
    .map_err(|e| e.to_string())?;
    let full = run_cycle(khabar, &config)?;
    let not_modified = run_cycle(khabar, &config)?;
    server.stop();
    let records = std::fs::read_to_string(dir.join("data/items.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\n## bench poll, realistic: {feeds} feeds × {items} items on {hosts} loopback hosts, default politeness\n"
    );
    println!("| cycle | wall time | feeds/s | peak RSS | khabar's summary |");
    println!("|---|---|---|---|---|");
    for (name, cycle) in [
        (format!("full (all new, {records} records to JSONL)"), &full),
        ("all 304".to_string(), &not_modified),
    ] {
        println!(
            "| {name} | {:.2} s | {:.0} | {:.0} MB | {} |",
            cycle.seconds,
            feeds as f64 / cycle.seconds,
            cycle.peak_rss_mb,
            cycle.stdout
        );
    }
    println!(
        "\nSettings changed from the defaults: `sources.bench.http.refuse_private_addresses` = false (true): the hosts are loopback addresses. Everything else is a default."
    );
    Ok(())
}

/// The development split beside the checkout.
/// The development split of the article-extraction benchmark, kept in the repository (MIT,
/// with its LICENSE) so the evaluation runs on a fresh clone.
pub fn eval_dir() -> PathBuf {
    workspace_root().join("crates/eval/data/article-extraction-dev")
}

/// `bench extraction [--peers]`: pages/s of our extractor on one core, and with `--peers`
/// of rs-trafilatura and dom_smoothie (same process) and trafilatura (Python, from PyPI, in a
/// venv in the target folder), all on the same pages in the same run.
fn extraction(peers: bool) -> Result<(), String> {
    let dir = eval_dir();
    let mut build = vec!["build", "--release", "-p", "khabar-eval"];
    if peers {
        build.extend(["--features", "peers"]);
    }
    cargo(&build)?;
    let root = workspace_root();
    let mut eval = Command::new(crate::target_dir().join("release/khabar-eval"));
    eval.args(["extraction", "--dir"])
        .arg(&dir)
        .args(["--engine", "all"]);
    if peers {
        // Pinned, so a figure is reproducible: the versions the figures in BENCHMARKS.md
        // were measured with.
        let venv = crate::python_venv(&[
            "trafilatura==2.3.1",
            "lxml==6.1.3",
            "lxml_html_clean==0.4.6",
            "justext==3.0.2",
            "htmldate==1.11.0",
            "courlan==1.4.0",
        ])?;
        let python = venv.join("bin/python");
        let script = root.join("crates/eval/peers/trafilatura_extract.py");
        let out = Command::new(&python)
            .arg(&script)
            .arg(&dir)
            .output()
            .map_err(|e| format!("{}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "trafilatura run failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let predictions = crate::target_dir().join("trafilatura-predictions.json");
        std::fs::write(&predictions, &out.stdout).map_err(|e| e.to_string())?;
        eval.arg("--predictions").arg(&predictions);
    }
    crate::run_status(&mut eval, "khabar-eval")
}

/// `bench sinks [--records N]`: records/s into SQLite, PostgreSQL and NATS JetStream (the
/// services on this machine; `KHABAR_TEST_POSTGRES_URL` and `KHABAR_TEST_NATS_URL` override
/// the addresses).
fn sinks(args: &[String]) -> Result<(), String> {
    let records = flag(args, "--records", 20_000).to_string();
    let mut run = vec![
        "run",
        "--release",
        "-q",
        "-p",
        "khabar",
        "--example",
        "sink_bench",
        "--",
        "--records",
        records.as_str(),
    ];
    let pg = std::env::var("KHABAR_TEST_POSTGRES_URL").ok();
    let nats = std::env::var("KHABAR_TEST_NATS_URL").ok();
    if let Some(url) = pg.as_deref() {
        run.extend(["--postgres", url]);
    }
    if let Some(url) = nats.as_deref() {
        run.extend(["--nats", url]);
    }
    cargo(&run)
}
