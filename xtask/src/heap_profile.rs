//! `bench soak --heap-profile`: which allocation sites hold more memory late in a run than
//! early in it. The daemon is built with jemalloc's sampling profiler (the `heap-profile`
//! feature of the `khabar` crate, in its own target folder so that the ordinary build is not
//! rebuilt), dumps its live heap every 8 GB allocated, and the report is jemalloc's own
//! `jeprof` (the script shipped in the `tikv-jemalloc-sys` sources, run with Perl) on the
//! difference between the first dump past a third of the run and the last one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::target_dir;

/// The environment variable jemalloc reads its options from (the `_rjem_` prefix of
/// `tikv-jemalloc-sys`), and the options: sample one allocation per 512 KB on average, dump
/// every 2³³ bytes allocated.
pub(crate) const MALLOC_CONF_VARIABLE: &str = "_RJEM_MALLOC_CONF";

pub(crate) fn malloc_conf(dumps: &Path) -> String {
    format!(
        "prof:true,lg_prof_sample:19,lg_prof_interval:33,prof_prefix:{}",
        dumps.join("jeprof").display()
    )
}

/// Builds the profiling `khabar` binary; its path.
pub(crate) fn build_profiled_khabar() -> Result<PathBuf, String> {
    let target = target_dir().join("heap-profile");
    let args = [
        "build",
        "--release",
        "-p",
        "khabar",
        "--bin",
        "khabar",
        "--features",
        "heap-profile",
    ];
    eprintln!(
        "$ CARGO_TARGET_DIR={} cargo {}",
        target.display(),
        args.join(" ")
    );
    crate::run_status(
        crate::cargo_command(&args).env("CARGO_TARGET_DIR", &target),
        "the profiling build of khabar",
    )?;
    Ok(target.join("release/khabar"))
}

/// `jeprof` from the `tikv-jemalloc-sys` sources cargo fetched, made runnable: its version and
/// symbol prefix filled in, and function names kept whole (it cuts everything inside `<…>`,
/// which for Rust leaves `::process` of `<Dedupe as Transform>::process`).
fn jeprof_script() -> Result<PathBuf, String> {
    let output = crate::cargo_command(&["metadata", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "tikv-jemalloc-sys")
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or("tikv-jemalloc-sys is not among the workspace's packages")?;
    let source = Path::new(manifest)
        .parent()
        .ok_or("tikv-jemalloc-sys has no source folder")?
        .join("jemalloc/bin/jeprof.in");
    let text =
        std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let mut script = String::with_capacity(text.len());
    let mut in_short_name = false;
    for line in text.lines() {
        script.push_str(
            &line
                .replace("@jemalloc_version@", "5.3.0")
                .replace("@JEMALLOC_PREFIX@", "_rjem_"),
        );
        script.push('\n');
        if line.starts_with("sub ShortFunctionName") {
            in_short_name = true;
        } else if in_short_name && line.contains("shift;") {
            script.push_str("  return $function;\n");
            in_short_name = false;
        }
    }
    let path = target_dir().join("jeprof.pl");
    std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The dumps in `dumps`, oldest first (jemalloc numbers them in order).
fn dumps_in_order(dumps: &Path) -> Vec<(u64, PathBuf, SystemTime)> {
    let mut found: Vec<(u64, PathBuf, SystemTime)> = std::fs::read_dir(dumps)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let name = path.file_name()?.to_str()?.to_string();
            // jeprof.<pid>.<sequence>.i<sequence>.heap
            let sequence = name
                .strip_suffix(".heap")?
                .split('.')
                .nth(2)?
                .parse()
                .ok()?;
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((sequence, path, modified))
        })
        .collect();
    found.sort_by_key(|(sequence, _, _)| *sequence);
    found
}

/// What grew between the first dump made after `from` and the last: jeprof's text report,
/// allocation sites by the bytes they hold more, the first `lines` lines.
pub(crate) fn growth_report(
    binary: &Path,
    dumps: &Path,
    from: SystemTime,
    lines: usize,
) -> Result<String, String> {
    let all = dumps_in_order(dumps);
    let base = all
        .iter()
        .find(|(_, _, modified)| *modified >= from)
        .ok_or("no heap dump after the mark")?;
    let last = all.last().ok_or("no heap dump")?;
    if base.0 == last.0 {
        return Err("a single heap dump after the mark: run longer".into());
    }
    let script = jeprof_script()?;
    let output = Command::new("perl")
        .arg(&script)
        .args(["--text", "--cum"])
        .arg(format!("--base={}", base.1.display()))
        .arg(binary)
        .arg(&last.1)
        .output()
        .map_err(|e| format!("perl jeprof: {e}"))?;
    let report = String::from_utf8_lossy(&output.stdout);
    // The whole-program frames (threads, the runtime's polling) say nothing: Khabar's own
    // functions and the total.
    Ok(report
        .lines()
        .filter(|l| l.starts_with("Total") || l.contains("khabar"))
        .take(lines)
        .collect::<Vec<_>>()
        .join("\n"))
}
