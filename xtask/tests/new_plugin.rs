//! `cargo xtask new-plugin` makes, outside the repository, plugin crates that are
//! rustfmt-clean, pass their own tests, and run in their own binary after one edit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the plugins build: beside this workspace's own builds (in `CARGO_TARGET_DIR` when
/// set), shared between runs so Khabar's crates compile once.
fn scaffold_target() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root().join("target"),
    };
    target.join("scaffold-check")
}

fn cargo_in(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", scaffold_target())
        // Without debug info the shared folder stays a third of the size, and links faster.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run cargo")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn new_plugin(dir: &Path, kind: &str, name: &str) -> PathBuf {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new-plugin", kind, name, "--dir"])
        .arg(dir)
        .output()
        .expect("run xtask");
    assert!(out.status.success(), "{}", text(&out));
    let crate_dir = dir.join(format!("khabar-{}", name.replace('_', "-")));
    for file in ["src/lib.rs", "app/src/main.rs"] {
        let fmt = Command::new("rustfmt")
            .args(["--check", "--edition", "2021"])
            .arg(crate_dir.join(file))
            .output()
            .expect("rustfmt");
        assert!(fmt.status.success(), "{kind} {file}:\n{}", text(&fmt));
    }
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).expect("manifest");
    assert!(
        manifest.contains(&format!(
            "khabar-core-model = \"{}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "a versioned dependency:\n{manifest}"
    );
    assert!(
        crate_dir.join("Cargo.lock").exists(),
        "the workspace lockfile"
    );
    crate_dir
}

#[test]
fn scaffolded_plugins_build_pass_their_tests_and_run_in_their_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(!dir.path().starts_with(root().canonicalize().expect("root")));
    for (kind, name) in [("transform", "tagger"), ("source", "url_list")] {
        let crate_dir = new_plugin(dir.path(), kind, name);
        let lib = format!("khabar-{}", name.replace('_', "-"));
        let test = cargo_in(&crate_dir, &["test", "--quiet", "-p", &lib]);
        assert!(test.status.success(), "{kind} {name}:\n{}", text(&test));
    }

    let sink = new_plugin(dir.path(), "sink", "archive");
    let test = cargo_in(&sink, &["test", "--quiet"]);
    assert!(test.status.success(), "{}", text(&test));
    let plugins = cargo_in(&sink, &["run", "--quiet", "--", "plugins"]);
    assert!(plugins.status.success(), "{}", text(&plugins));
    assert!(
        String::from_utf8_lossy(&plugins.stdout).contains("archive "),
        "{}",
        text(&plugins)
    );

    // The one edit a plugin author makes: what `write` stores for each record.
    let lib = sink.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).expect("lib.rs");
    let line = "let record = article.to_json_without_html();";
    assert_eq!(source.matches(line).count(), 1, "{source}");
    let edited = source.replace(
        line,
        "let record = serde_json::json!({ \"headline\": article.title });",
    );
    std::fs::write(&lib, edited).expect("edit");

    std::fs::write(
        sink.join("feed.xml"),
        "<rss version=\"2.0\"><channel><title>t</title>\
         <item><title>first</title><link>https://example.org/1</link></item>\
         <item><title>second</title><link>https://example.org/2</link></item>\
         </channel></rss>",
    )
    .expect("feed");
    std::fs::write(
        sink.join("khabar.toml"),
        "[global]\ndata_dir = \"data\"\n\
         [sources.news]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n\
         [sinks.archive]\ntype = \"archive\"\ninputs = [\"news\"]\npath = \"archive.jsonl\"\n",
    )
    .expect("config");
    let once = cargo_in(
        &sink,
        &["run", "--quiet", "--", "once", "--config", "khabar.toml"],
    );
    assert!(once.status.success(), "{}", text(&once));
    let written = std::fs::read_to_string(sink.join("data/archive.jsonl")).expect("output");
    let mut headlines: Vec<String> = written
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("JSON")["headline"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    headlines.sort();
    assert_eq!(headlines, ["first", "second"], "{written}");

    let again = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new-plugin", "sink", "archive", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run xtask");
    assert!(!again.status.success(), "refuses to overwrite");
}

#[test]
fn registry_only_plugins_have_no_patch_and_plugins_is_ignored() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new-plugin", "--help"])
        .output()
        .expect("run xtask");
    assert!(String::from_utf8_lossy(&out.stdout).contains("--from-registry"));
    let dir = tempfile::tempdir().expect("tempdir");
    let registry_only = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "new-plugin",
            "transform",
            "plain",
            "--from-registry",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run xtask");
    assert!(registry_only.status.success());
    let manifest =
        std::fs::read_to_string(dir.path().join("khabar-plain/Cargo.toml")).expect("manifest");
    assert!(!manifest.contains("[patch.crates-io]"), "{manifest}");
    let ignored = std::fs::read_to_string(root().join(".gitignore")).expect(".gitignore");
    assert!(
        ignored.lines().any(|l| l.trim() == "/plugins/"),
        "{ignored}"
    );
}
