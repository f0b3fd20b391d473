//! The feed corpus (`tests/feed-corpus`, written by its `generate.py`): 300-odd small feeds in
//! every format (RSS 0.90 to 2.0 and its modules, Atom 0.3 and 1.0, JSON Feed 1.0 and 1.1,
//! CDF) and every encoding the decoder claims, each with the titles, link, id and date a
//! reader must find. Every feed must parse; the titles must be right on at least 98 % of
//! them (the bar), and the failures are printed by format and encoding.

use std::path::PathBuf;

use serde_json::Value;

const FEED_URL: &str = "https://corpus.example/news/feed";

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/feed-corpus")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One check of one feed: what was expected, what came out.
struct Miss {
    file: String,
    field: &'static str,
    expected: String,
    got: String,
}

#[derive(Default)]
struct Score {
    checked: usize,
    right: usize,
}

impl Score {
    fn share(&self) -> f64 {
        if self.checked == 0 {
            1.0
        } else {
            self.right as f64 / self.checked as f64
        }
    }
}

#[test]
fn every_feed_of_the_corpus_parses_with_its_titles_links_ids_and_dates(
) -> Result<(), Box<dyn std::error::Error>> {
    let expected = std::fs::read_to_string(corpus().join("expected.jsonl"))?;
    let fields = [
        "feed_title",
        "first_title",
        "first_link",
        "first_id",
        "first_date",
    ];
    let mut scores: Vec<Score> = fields.iter().map(|_| Score::default()).collect();
    let mut misses = Vec::new();
    let mut refused = Vec::new();
    let mut feeds = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let row: Value = serde_json::from_str(line)?;
        let text = |key: &str| row[key].as_str().map(str::to_string);
        let file = text("file").ok_or("a row without a file")?;
        let bytes = std::fs::read(corpus().join("feeds").join(&file))?;
        feeds += 1;
        let parsed =
            match khabar_fetcher::parse_feed(&bytes, text("content_type").as_deref(), FEED_URL) {
                Ok(parsed) => parsed,
                Err(error) => {
                    refused.push(format!("{file}: {error}"));
                    continue;
                }
            };
        let first = parsed.items.first();
        let got = [
            parsed.title.clone(),
            first.and_then(|i| i.title.clone()),
            first.and_then(|i| i.url.clone()),
            first.and_then(|i| i.guid.clone()),
            first.and_then(|i| i.published_at.map(|d| d.to_rfc3339())),
        ];
        for ((field, score), got) in fields.iter().zip(scores.iter_mut()).zip(got) {
            // A field the feed does not carry (an RSS 0.91 item has no guid) is not scored.
            let Some(want) = text(field) else { continue };
            score.checked += 1;
            let got = got.map(|g| one_line(&g)).unwrap_or_default();
            if got == one_line(&want) {
                score.right += 1;
            } else {
                misses.push(Miss {
                    file: file.clone(),
                    field,
                    expected: want,
                    got,
                });
            }
        }
    }
    println!("{feeds} feeds; refused: {}", refused.len());
    for refusal in &refused {
        println!("  refused {refusal}");
    }
    for (field, score) in fields.iter().zip(&scores) {
        println!(
            "{field:12} {}/{} right ({:.1} %)",
            score.right,
            score.checked,
            100.0 * score.share()
        );
    }
    for miss in &misses {
        println!(
            "  {} {}: expected {:?}, got {:?}",
            miss.file, miss.field, miss.expected, miss.got
        );
    }
    assert!(
        feeds >= 300,
        "the corpus holds {feeds} feeds, fewer than 300"
    );
    assert!(refused.is_empty(), "feeds refused: {refused:#?}");
    for (field, score) in fields.iter().zip(&scores) {
        assert!(
            score.share() >= 0.98,
            "{field}: right on {:.1} % of the corpus, below 98 %",
            100.0 * score.share()
        );
    }
    Ok(())
}
