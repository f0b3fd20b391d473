//! Helpers shared by the integration tests: a loopback HTTP server and a way to run the
//! `khabar` binary on a config written into a temporary folder.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use khabar_testkit::{Reply, TestServer};

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/seed")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).expect("UTF-8 fixture")
}

/// The seed feed with its item's link pointing at `article_url`.
pub fn seed_feed(article_url: &str) -> Vec<u8> {
    fixture_text("feed.xml")
        .replace(
            "https://www.alaraby.co.uk/politics/2019/3/1/coalition-strikes-baghouz",
            article_url,
        )
        .into_bytes()
}

pub fn khabar() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_khabar"));
    cmd.env("RUST_LOG", "warn")
        .env_remove("KHABAR__GLOBAL__DATA_DIR");
    cmd
}

/// Writes `config` as `khabar.toml` in `dir` and returns its path.
pub fn write_config(dir: &Path, config: &str) -> PathBuf {
    let path = dir.join("khabar.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

pub fn run(args: &[&str], config: &Path) -> Output {
    khabar()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run khabar")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One row of the SQLite sink, as the tests look at it.
pub struct StoredArticle {
    pub id: String,
    pub title: Option<String>,
    pub language: Option<String>,
    pub published_at: Option<String>,
    pub text: Option<String>,
}

pub fn stored_articles(db: &Path) -> Vec<StoredArticle> {
    let conn = rusqlite::Connection::open(db).expect("open sqlite sink");
    let mut stmt = conn
        .prepare("SELECT id, title, language, published_at, text FROM articles ORDER BY id")
        .expect("query");
    let rows = stmt
        .query_map([], |r| {
            Ok(StoredArticle {
                id: r.get(0)?,
                title: r.get(1)?,
                language: r.get(2)?,
                published_at: r.get(3)?,
                text: r.get(4)?,
            })
        })
        .expect("rows");
    rows.map(|r| r.expect("row")).collect()
}
