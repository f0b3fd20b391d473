//! `cargo xtask <command> --help` explains and runs nothing; the commands find what cargo
//! built in `CARGO_TARGET_DIR` when it is set.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn help_for_every_command_runs_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Anything the command would run (cargo, python, pip) leaves a trace here.
    let trace = dir.path().join("ran");
    let fake = dir.path().join("fake");
    write_script(&fake, &format!("echo \"$0 $*\" >> {}", trace.display()));
    for tool in ["cargo", "python3", "pip"] {
        std::fs::copy(&fake, dir.path().join(tool)).expect("copy");
        std::fs::set_permissions(
            dir.path().join(tool),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }
    let geonames = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/gazetteers/geonames.tsv");
    let before = std::fs::metadata(&geonames).and_then(|m| m.modified()).ok();
    for command in [
        vec!["ci"],
        vec!["new-plugin"],
        vec!["new-plugin", "sink", "archive"],
        vec!["bench"],
        vec!["bench", "poll"],
        vec!["eval", "extraction"],
        vec!["gazetteer"],
        vec!["train", "ner"],
        vec!["fuzz", "feed"],
    ] {
        for flag in ["--help", "-h"] {
            let out = xtask()
                .args(&command)
                .arg(flag)
                .env("CARGO", dir.path().join("cargo"))
                .env("PATH", dir.path())
                .current_dir(dir.path())
                .output()
                .expect("run xtask");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{command:?} {flag}: {text}");
            assert!(
                text.starts_with(&format!("usage: cargo xtask {}", command[0])),
                "{command:?}: {text}"
            );
        }
    }
    assert!(
        !trace.exists(),
        "something ran: {}",
        std::fs::read_to_string(&trace).unwrap_or_default()
    );
    assert!(
        !dir.path().join("plugins").exists() && !dir.path().join("khabar-archive").exists(),
        "new-plugin --help wrote a crate"
    );
    let after = std::fs::metadata(&geonames).and_then(|m| m.modified()).ok();
    assert_eq!(before, after, "gazetteer --help rewrote the tracked list");
}

#[test]
fn commands_look_for_builds_in_cargo_target_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A cargo that "builds" khabar-eval into $CARGO_TARGET_DIR/release, as the real one does.
    let cargo = dir.path().join("cargo");
    write_script(
        &cargo,
        "mkdir -p \"$CARGO_TARGET_DIR/release\"\n\
         printf '#!/bin/sh\\necho \"eval ran: $*\"\\n' > \"$CARGO_TARGET_DIR/release/khabar-eval\"\n\
         chmod +x \"$CARGO_TARGET_DIR/release/khabar-eval\"",
    );
    // Relative, as users write it: relative to where `cargo xtask` started.
    let out = xtask()
        .args(["eval", "entities", "--file", "x.conll"])
        .env("CARGO", &cargo)
        .env("CARGO_TARGET_DIR", "elsewhere/target")
        .current_dir(dir.path())
        .output()
        .expect("run xtask");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("eval ran: entities --file x.conll"));
    assert!(dir
        .path()
        .join("elsewhere/target/release/khabar-eval")
        .exists());
}
