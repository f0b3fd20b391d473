//! `cargo xtask fuzz [--time 10m] [--jobs N] [--minimize] [TARGET…]`: runs the cargo-fuzz targets under
//! `fuzz/` with libFuzzer, each for `--time` (default 1m), `--jobs` of them at once (default 1;
//! the machine has two cores). Debug assertions are on, so an unchecked overflow is a crash
//! like a panic. Inputs that grow coverage are kept in `fuzz/corpus/<target>/`; an input that
//! crashes a target is copied to `fuzz/regressions/<target>/` (replayed by `cargo test -p
//! khabar-fuzzing` from then on) and the command fails. cargo-fuzz is installed from
//! crates.io when missing; it needs nightly flags, which `RUSTC_BOOTSTRAP=1` allows on the
//! stable toolchain. `--minimize` instead shrinks each target's corpus to the smallest set
//! of inputs with the same coverage (`cargo fuzz cmin`), before committing it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::workspace_root;

const TARGETS: [&str; 7] = [
    "feed", "html", "dates", "opml", "sitemap", "robots", "config",
];

fn seconds(text: &str) -> Result<u64, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("--time {text:?}: write it like 90s, 10m or 1h"))?;
    Ok(match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("--time {text:?}: write it like 90s, 10m or 1h")),
    })
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let present = Command::new(&cargo)
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    eprintln!("$ cargo install cargo-fuzz --locked");
    crate::run_status(
        Command::new(&cargo).args(["install", "cargo-fuzz", "--locked"]),
        "cargo install cargo-fuzz",
    )
}

/// What one target's run did: executions, and the crash files it left.
struct Outcome {
    target: String,
    executions: Option<u64>,
    crashes: Vec<std::path::PathBuf>,
    ok: bool,
}

/// `cargo fuzz <verb>` with the settings every run here shares: the `fuzz/` crate, no
/// sanitizer (the code is safe Rust: panics and overflows are what is hunted), debug
/// assertions on, nightly flags allowed on the stable toolchain.
fn cargo_fuzz(root: &Path, verb: &str) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command.current_dir(root).env("RUSTC_BOOTSTRAP", "1").args([
        "fuzz",
        verb,
        "--fuzz-dir",
        "fuzz",
        "--sanitizer",
        "none",
        "--debug-assertions",
    ]);
    command
}

fn spawn(root: &Path, target: &str, time: u64) -> Result<std::process::Child, String> {
    let log = std::fs::File::create(root.join(format!("fuzz/{target}.log")))
        .map_err(|e| format!("fuzz/{target}.log: {e}"))?;
    let errors = log.try_clone().map_err(|e| e.to_string())?;
    cargo_fuzz(root, "run")
        .args([
            target,
            &format!("fuzz/corpus/{target}"),
            "--",
            &format!("-max_total_time={time}"),
            "-rss_limit_mb=2048",
            "-timeout=20",
            "-max_len=262144",
            "-print_final_stats=1",
        ])
        .stdout(log)
        .stderr(errors)
        .spawn()
        .map_err(|e| format!("cargo fuzz run {target}: {e}"))
}

fn collect(root: &Path, target: &str, ok: bool) -> Outcome {
    let log = std::fs::read_to_string(root.join(format!("fuzz/{target}.log"))).unwrap_or_default();
    // libFuzzer's final stats: "stat::number_of_executed_units: N".
    let executions = log
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .find_map(|n| n.trim().parse().ok());
    let artifacts = root.join("fuzz/artifacts").join(target);
    let crashes: Vec<std::path::PathBuf> = std::fs::read_dir(&artifacts)
        .map(|e| e.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    let kept = root.join("fuzz/regressions").join(target);
    for crash in &crashes {
        let _ = std::fs::create_dir_all(&kept);
        if let Some(name) = crash.file_name() {
            let _ = std::fs::copy(crash, kept.join(name));
        }
    }
    Outcome {
        target: target.to_string(),
        executions,
        crashes,
        ok,
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut time = 60;
    let mut jobs = 1usize;
    let mut targets = Vec::new();
    let mut minimize = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--time" => time = seconds(rest.next().ok_or("--time needs a value")?)?,
            "--jobs" => {
                jobs = rest
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--jobs needs a whole number")?
            }
            "--minimize" => minimize = true,
            name if TARGETS.contains(&name) => targets.push(name.to_string()),
            other => {
                return Err(format!(
                    "unknown fuzz target or flag {other:?}; targets: {}",
                    TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    ensure_cargo_fuzz()?;
    let root = workspace_root();
    // Build once before the clocks start.
    crate::run_status(&mut cargo_fuzz(&root, "build"), "cargo fuzz build")?;
    if minimize {
        for target in &targets {
            crate::run_status(
                cargo_fuzz(&root, "cmin").args([target, &format!("fuzz/corpus/{target}")]),
                &format!("cargo fuzz cmin {target}"),
            )?;
        }
        return Ok(());
    }
    let mut outcomes = Vec::new();
    for batch in targets.chunks(jobs) {
        let mut running = Vec::new();
        for target in batch {
            eprintln!("fuzzing {target} for {time}s (log: fuzz/{target}.log)");
            running.push((target.clone(), spawn(&root, target, time)?));
        }
        for (target, mut child) in running {
            let ok = child.wait().is_ok_and(|s| s.success());
            outcomes.push(collect(&root, &target, ok));
        }
    }
    println!("| target | seconds | executions | crashes |\n|---|---|---|---|");
    let mut failed = Vec::new();
    for o in &outcomes {
        println!(
            "| {} | {time} | {} | {} |",
            o.target,
            o.executions.map_or("?".to_string(), |n| n.to_string()),
            o.crashes.len()
        );
        if !o.ok || !o.crashes.is_empty() {
            failed.push(o.target.clone());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "crashes in {}: inputs copied to fuzz/regressions/ (see fuzz/<target>.log)",
            failed.join(", ")
        ))
    }
}
