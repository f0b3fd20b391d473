//! The example's own binary knows the built-in types and its plugin, and runs a pipeline.

use std::process::Command;

#[test]
fn plugin_binary_lists_and_runs_the_count_sink() -> Result<(), Box<dyn std::error::Error>> {
    let exe = env!("CARGO_BIN_EXE_khabar-with-count");
    let plugins = Command::new(exe).arg("plugins").output()?;
    let listing = String::from_utf8_lossy(&plugins.stdout);
    assert!(
        listing.contains("count")
            && listing.contains("fetch_article")
            && listing.contains("sqlite"),
        "{listing}"
    );

    let dir = tempfile::tempdir()?;
    let feed = dir.path().join("feed.xml");
    std::fs::write(
        &feed,
        r#"<rss version="2.0"><channel><title>T</title><language>en</language>
        <item><title>One</title><link>https://example.org/1</link></item>
        <item><title>Two</title><link>https://example.org/2</link></item></channel></rss>"#,
    )?;
    let config = dir.path().join("khabar.toml");
    std::fs::write(&config, "[global]\ndata_dir = \"data\"\n[sources.f]\ntype = \"feed\"\nurls = [\"feed.xml\"]\n[sinks.tally]\ntype = \"count\"\ninputs = [\"f\"]\npath = \"tally.json\"\n")?;
    let out = Command::new(exe)
        .args(["once", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tally: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("data/tally.json"))?)?;
    assert_eq!(tally["by_language"]["en"], 2);
    Ok(())
}
