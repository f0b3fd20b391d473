//! `cargo xtask bench soak [--articles N]`: the daemon (`khabar run`) on the default pipeline
//! (as `bench pipeline` runs it, plus a JSONL sink beside SQLite), polling 1,280 feeds that
//! carry 20 new articles at every poll, until N articles (1,000,000 by default) are delivered,
//! then stopped by SIGTERM; resident memory and articles delivered sampled every 10 s, plotted
//! to `docs/soak-rss.png` (matplotlib, pinned, in a venv under `target/`) with the samples in
//! `docs/soak-rss.csv`. `--without-sqlite` leaves the SQLite sink out (files
//! `docs/soak-rss-without-sqlite.*`), to tell its share of the memory. `--heap-profile` runs
//! a build with jemalloc's heap profiler instead (about a third slower; the samples and plot go
//! to `target/`, not `docs/`) and reports the allocation sites that hold more memory at the
//! end than a third of the way in (see `heap_profile.rs`).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench::{build_khabar_and_news_server, flag, fresh_temp_dir, news_opml, NewsServer};
use crate::bench_pipeline::{env_key, PIPELINE_SETTINGS};
use crate::workspace_root;

const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// Feeds polled, ten per host, and how often each is polled: 1,280 × 20 items every 30 s
/// offers about 850 articles/s, more than the pipeline takes, so the source is never what
/// limits the run.
const FEEDS: usize = 1280;
const HOSTS: usize = 128;
const ITEMS: usize = 20;
const SOAK_SETTINGS: [(&str, &str, &str); 3] = [
    ("sources.news.interval", "30s", "10m"),
    ("sources.news.min_interval", "30s", "2m"),
    ("sources.news.adaptive", "false", "true"),
];

/// Resident memory now, from /proc (MB).
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Counts the records a growing JSONL file holds, reading only what was added since the last
/// call. The file would reach 30 GB in a million-article run, so past 2 GB it is moved
/// aside (the sink opens its file by name for each batch, so the next batch starts a new
/// one), counted to its end a sample later, and deleted.
struct LineCounter {
    path: PathBuf,
    offset: u64,
    lines: u64,
    /// A file moved aside, where its counting stopped, and when it was moved.
    retired: Option<(PathBuf, u64, Instant)>,
    rotate_at: u64,
}

/// Newlines in `path` from `offset` on; the new offset.
fn count_from(path: &Path, offset: u64) -> (u64, u64) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return (0, offset);
    };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return (0, offset);
    }
    let (mut lines, mut offset) = (0, offset);
    let mut buffer = vec![0u8; 1 << 20];
    while let Ok(read) = file.read(&mut buffer) {
        if read == 0 {
            break;
        }
        offset += read as u64;
        lines += buffer[..read].iter().filter(|b| **b == b'\n').count() as u64;
    }
    (lines, offset)
}

impl LineCounter {
    fn new(path: PathBuf) -> LineCounter {
        LineCounter {
            path,
            offset: 0,
            lines: 0,
            retired: None,
            rotate_at: 2 << 30,
        }
    }

    fn count(&mut self) -> u64 {
        if let Some((path, offset, since)) = self.retired.take() {
            let (lines, offset) = count_from(&path, offset);
            self.lines += lines;
            // A batch that opened the file before it was moved has long been written.
            if since.elapsed() > Duration::from_secs(5) {
                let _ = std::fs::remove_file(&path);
            } else {
                self.retired = Some((path, offset, since));
            }
        }
        let (lines, offset) = count_from(&self.path, self.offset);
        self.lines += lines;
        self.offset = offset;
        if self.offset > self.rotate_at && self.retired.is_none() {
            let aside = self.path.with_extension("jsonl.counted");
            if std::fs::rename(&self.path, &aside).is_ok() {
                self.retired = Some((aside, self.offset, Instant::now()));
                self.offset = 0;
            }
        }
        self.lines
    }
}

struct Sample {
    seconds: f64,
    rss_mb: f64,
    delivered: u64,
    /// The daemon's last heap report: bytes allocated, and resident in the allocator's pages
    /// (MB); the rest of the RSS is the C libraries' heaps, stacks and code.
    heap: Option<(u64, u64)>,
}

/// The last `heap allocated_mb=… resident_mb=…` line the daemon logged (`khabar::memory`).
fn last_heap_report(log: &Path) -> Option<(u64, u64)> {
    let mut file = std::fs::File::open(log).ok()?;
    let length = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(16 * 1024)))
        .ok()?;
    let mut tail = String::new();
    file.read_to_string(&mut tail).ok()?;
    let line = tail.lines().rev().find(|l| l.contains("allocated_mb="))?;
    let field = |name: &str| -> Option<u64> {
        let rest = &line[line.find(name)? + name.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some((field("allocated_mb=")?, field("resident_mb=")?))
}

/// Articles per second over the samples that end at the first one past `mark`, starting a
/// tenth of `mark` earlier.
fn rate_at(samples: &[Sample], mark: u64) -> Option<f64> {
    rate_over(samples, mark, mark / 10)
}

/// Articles per second over the samples that end at the first one past `mark`, starting
/// `window` articles earlier: the same window at every mark, so that two rates are averaged
/// over as many articles (a tenth of 100,000 is twenty seconds, a tenth of a million three
/// minutes).
fn rate_over(samples: &[Sample], mark: u64, window: u64) -> Option<f64> {
    let end = samples.iter().position(|s| s.delivered >= mark)?;
    let from_count = mark.saturating_sub(window);
    let start = samples[..end]
        .iter()
        .rposition(|s| s.delivered <= from_count)?;
    let (a, b) = (&samples[start], &samples[end]);
    let seconds = b.seconds - a.seconds;
    (seconds > 0.0).then(|| (b.delivered - a.delivered) as f64 / seconds)
}

/// RSS at the first sample past `mark` delivered.
fn rss_at(samples: &[Sample], mark: u64) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.delivered >= mark)
        .map(|s| s.rss_mb)
}

fn plot(csv: &Path, png: &Path, title: &str) -> Result<(), String> {
    let venv = crate::python_venv(&["matplotlib==3.9.2"])?;
    let script = format!(
        "import csv, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n\
rows = list(csv.DictReader(open({csv:?})))\n\
x = [int(r['delivered']) for r in rows]\n\
fig, ax = plt.subplots(figsize=(8, 4), dpi=100)\n\
series = [('rss_mb', 'process RSS'), ('heap_resident_mb', 'heap: resident'), ('heap_allocated_mb', 'heap: allocated')]\n\
points = {{key: [(xi, float(r[key])) for xi, r in zip(x, rows) if r.get(key)] for key, _ in series}}\n\
lines = [ax.plot([p[0] for p in points[key]], [p[1] for p in points[key]], marker='.', linewidth=1, label=label) for key, label in series if points[key]]\n\
ax.set_xlabel('articles delivered')\nax.set_ylabel('memory (MB)')\nax.set_ylim(bottom=0)\nax.legend()\n\
ax.set_title({title:?})\nax.grid(alpha=0.3)\nfig.tight_layout()\nfig.savefig({png:?})\n",
        csv = csv.display().to_string(),
        png = png.display().to_string(),
    );
    crate::run_status(
        Command::new(venv.join("bin/python")).args(["-c", &script]),
        "matplotlib",
    )
}

/// `text` without the TOML section headed `header` (up to the next section).
fn without_section(text: &str, header: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with('[') {
            skipping = line.trim() == header;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

pub fn soak(args: &[String]) -> Result<(), String> {
    let articles = flag(args, "--articles", 1_000_000).max(1000);
    let heap_profile = args.iter().any(|a| a == "--heap-profile");
    let khabar = build_khabar_and_news_server()?;
    let khabar = if heap_profile {
        crate::heap_profile::build_profiled_khabar()?
    } else {
        khabar
    };
    let server = NewsServer::launch(FEEDS, ITEMS, HOSTS, 1, true)?;
    let dir = fresh_temp_dir("soak")?;
    let dumps = dir.join("heap");
    std::fs::create_dir_all(&dumps).map_err(|e| format!("{}: {e}", dumps.display()))?;
    let opml = dir.join("feeds.opml");
    news_opml(&opml, server.port, FEEDS, HOSTS)?;
    // The shipped config with a second sink: its relative list path made absolute, since the
    // copy lives elsewhere.
    let shipped = workspace_root().join("config/khabar.toml");
    let text =
        std::fs::read_to_string(&shipped).map_err(|e| format!("{}: {e}", shipped.display()))?;
    let geonames = workspace_root().join("config/gazetteers/geonames.tsv");
    let text = text.replace(
        "\"gazetteers/geonames.tsv\"",
        &format!("{:?}", geonames.display().to_string()),
    )
        + "\n[sinks.file]\ntype = \"jsonl\"\ninputs = [\"dedupe\"]\npath = \"articles.jsonl\"\n";
    // `--without-sqlite`: the JSONL sink alone, to tell the SQLite store's share of the
    // memory from the rest of the pipeline's.
    let without_sqlite = args.iter().any(|a| a == "--without-sqlite");
    let text = if without_sqlite {
        without_section(&text, "[sinks.db]")
    } else {
        text
    };
    let config = dir.join("khabar.toml");
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let log_path = dir.join("khabar.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;

    let mut command = Command::new(&khabar);
    command
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn,khabar::memory=debug")
        .env("KHABAR__GLOBAL__DATA_DIR", dir.join("data"))
        .env("KHABAR__API__ADDRESS", "127.0.0.1:0")
        .env("KHABAR__SOURCES__NEWS__OPML", &opml)
        .stdout(Stdio::null())
        .stderr(log);
    for (setting, value, _) in PIPELINE_SETTINGS.iter().chain(&SOAK_SETTINGS) {
        command.env(env_key(setting), value);
    }
    if heap_profile {
        command.env(
            crate::heap_profile::MALLOC_CONF_VARIABLE,
            crate::heap_profile::malloc_conf(&dumps),
        );
    }
    // When a third of the articles had been delivered: the heap profile's starting point.
    let mut third_delivered: Option<std::time::SystemTime> = None;
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run khabar: {e}"))?;
    let pid = child.id();
    let mut counter = LineCounter::new(dir.join("data/articles.jsonl"));
    let mut samples = Vec::new();
    let mut next = started + SAMPLE_EVERY;
    let mut stopping: Option<Instant> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for khabar: {e}")),
        }
        if Instant::now() >= next {
            next += SAMPLE_EVERY;
            if let Some(rss) = rss_mb(pid) {
                let sample = Sample {
                    seconds: started.elapsed().as_secs_f64(),
                    rss_mb: rss,
                    delivered: counter.count(),
                    heap: last_heap_report(&log_path),
                };
                let (allocated, heap_resident) = sample.heap.unwrap_or_default();
                eprintln!(
                    "soak: {:>6.0} s  {:>9} articles  {:>6.0} MB  (heap: {allocated} MB allocated, {heap_resident} MB resident)",
                    sample.seconds, sample.delivered, sample.rss_mb
                );
                if sample.delivered >= articles as u64 / 3 && third_delivered.is_none() {
                    third_delivered = Some(std::time::SystemTime::now());
                }
                if sample.delivered >= articles as u64 && stopping.is_none() {
                    // The daemon's own graceful stop, as an operator's `systemctl stop`.
                    crate::run_status(
                        Command::new("kill").args(["-TERM", &pid.to_string()]),
                        "kill -TERM",
                    )?;
                    stopping = Some(Instant::now());
                }
                samples.push(sample);
            }
        }
        if stopping.is_some_and(|t| t.elapsed() > Duration::from_secs(120)) {
            let _ = child.kill();
            return Err("khabar did not stop within 120 s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let seconds = started.elapsed().as_secs_f64();
    server.stop();
    let delivered = counter.count();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let errors = log.lines().filter(|l| l.contains(" ERROR ")).count();
    let growth = match (heap_profile, third_delivered) {
        (true, Some(from)) => Some(
            crate::heap_profile::growth_report(&khabar, &dumps, from, 40)
                .unwrap_or_else(|e| format!("no heap profile: {e}")),
        ),
        (true, None) => Some("no heap profile: the run stopped before a third".into()),
        (false, _) => None,
    };
    let _ = std::fs::remove_dir_all(&dir);
    if !status.success() {
        return Err(format!("khabar run exited with {status}; its log:\n{log}"));
    }

    // A profiled run is slower: its samples do not replace the plain run's in `docs/`.
    let docs = if heap_profile {
        crate::target_dir()
    } else {
        workspace_root().join("docs")
    };
    std::fs::create_dir_all(&docs).map_err(|e| e.to_string())?;
    let name = if without_sqlite {
        "soak-rss-without-sqlite"
    } else {
        "soak-rss"
    };
    let csv = docs.join(format!("{name}.csv"));
    let mut rows = String::from("seconds,delivered,rss_mb,heap_allocated_mb,heap_resident_mb\n");
    for s in &samples {
        let (allocated, resident) = s.heap.map_or((String::new(), String::new()), |(a, r)| {
            (a.to_string(), r.to_string())
        });
        rows.push_str(&format!(
            "{:.1},{},{:.1},{allocated},{resident}\n",
            s.seconds, s.delivered, s.rss_mb
        ));
    }
    std::fs::write(&csv, rows).map_err(|e| e.to_string())?;
    let png = docs.join(format!("{name}.png"));
    plot(
        &csv,
        &png,
        &format!("khabar run, default pipeline + JSONL: {delivered} articles"),
    )?;

    let tenth = (articles / 10) as u64;
    let last = samples.last().map(|s| s.delivered).unwrap_or(0);
    println!(
        "\n## bench soak: `khabar run` until {articles} articles are delivered (default pipeline, sqlite and jsonl)\n"
    );
    println!("| figure | value |\n|---|---|");
    println!(
        "| delivered | {delivered} in {seconds:.0} s ({:.0} articles/s) |",
        delivered as f64 / seconds
    );
    let show =
        |v: Option<f64>, unit: &str| v.map_or("—".to_string(), |v| format!("{v:.0} {unit}"));
    println!(
        "| RSS at {tenth} delivered | {} |",
        show(rss_at(&samples, tenth), "MB")
    );
    for quarter in 1..4u64 {
        let mark = articles as u64 * quarter / 4;
        println!(
            "| RSS at {mark} delivered | {} |",
            show(rss_at(&samples, mark), "MB")
        );
    }
    let heap_at = |mark: u64| {
        samples
            .iter()
            .find(|s| s.delivered >= mark)
            .and_then(|s| s.heap)
            .map_or("—".to_string(), |(a, r)| {
                format!("{a} MB allocated, {r} MB resident")
            })
    };
    println!("| heap at {tenth} delivered | {} |", heap_at(tenth));
    println!("| heap at the last sample | {} |", heap_at(last));
    println!(
        "| RSS at the last sample ({last}) | {} |",
        show(samples.last().map(|s| s.rss_mb), "MB")
    );
    println!(
        "| articles/s around {tenth} | {} |",
        show(rate_at(&samples, tenth), "/s")
    );
    println!(
        "| articles/s around {last} | {} |",
        show(rate_at(&samples, last), "/s")
    );
    let window = (articles / 20).max(1000) as u64;
    for mark in [tenth, last] {
        println!(
            "| articles/s over the {window} articles up to {mark} | {} |",
            show(rate_over(&samples, mark, window), "/s")
        );
    }
    println!("| errors logged | {errors} |");
    println!("\nSamples: {}; plot: {}", csv.display(), png.display());
    println!(
        "\n{FEEDS} feeds on {HOSTS} loopback hosts, {ITEMS} new items at every poll. Settings changed from `config/khabar.toml` (its value in brackets), a `jsonl` sink `file` after `dedupe` added{}:",
        if without_sqlite { ", the `sqlite` sink `db` left out" } else { "" }
    );
    for (setting, value, default) in PIPELINE_SETTINGS.iter().chain(&SOAK_SETTINGS) {
        println!("- `{setting}` = {value} ({default})");
    }
    if let Some(growth) = growth {
        println!(
            "\nHeap profile (jemalloc, built with `--features heap-profile`): live bytes held more at the end than a third of the way in, by allocation site (self, cumulative):\n\n```\n{growth}\n```"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn lines_are_counted_across_a_rotation_and_after_it() {
        let dir = std::env::temp_dir().join(format!("xtask-lines-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let path = dir.join("a.jsonl");
        let append = |text: &str| {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| e.to_string())?;
            f.write_all(text.as_bytes()).map_err(|e| e.to_string())
        };
        let mut counter = LineCounter::new(path.clone());
        counter.rotate_at = 10;
        assert_eq!(append("{}\n{}\n{}\n{}\n"), Ok(()));
        assert_eq!(counter.count(), 4);
        // Moved aside: a writer that still held it adds a line there; new batches start anew.
        let aside = path.with_extension("jsonl.counted");
        assert!(aside.exists() && !path.exists());
        let mut late = std::fs::OpenOptions::new()
            .append(true)
            .open(&aside)
            .map_err(|e| e.to_string());
        assert!(late.as_mut().map(|f| f.write_all(b"{}\n")).is_ok());
        assert_eq!(append("{}\n"), Ok(()));
        assert_eq!(counter.count(), 6);
        assert_eq!(counter.count(), 6);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
