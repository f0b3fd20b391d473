//! `cargo xtask new-plugin` scaffolds crates that build, register their stage and pass their
//! own tests.

use std::process::Command;

#[test]
fn scaffolded_plugins_build_and_pass_their_tests() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("tempdir");
    // Shared between runs so the plugins' dependencies are compiled once.
    let target = root.join("target/scaffold-check");
    for (kind, name) in [
        ("sink", "archive"),
        ("transform", "tagger"),
        ("source", "url_list"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["new-plugin", kind, name, "--dir"])
            .arg(dir.path())
            .output()
            .expect("run xtask");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let crate_dir = dir
            .path()
            .join(format!("khabar-{}", name.replace('_', "-")));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let test = Command::new(cargo)
            .args(["test", "--quiet"])
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("cargo test in the new crate");
        assert!(
            test.status.success(),
            "{kind} {name}:\n{}\n{}",
            String::from_utf8_lossy(&test.stdout),
            String::from_utf8_lossy(&test.stderr)
        );
    }
    let again = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new-plugin", "sink", "archive", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run xtask");
    assert!(!again.status.success(), "refuses to overwrite");
}
