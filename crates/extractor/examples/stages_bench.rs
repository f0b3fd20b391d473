//! `cargo xtask bench stages`: µs per article of the `events`, `keyphrases` and `attributions`
//! transforms' work on the seed article (4.4 KB of Arabic news), one thread, release build;
//! each figure is the fastest of five rounds of 200 articles (on a shared machine other work
//! only ever slows a round down).

use std::time::{Duration, Instant};

use khabar_core_model::{Article, FeedRef, RecordId};

fn fastest(mut work: impl FnMut()) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..200 {
            work();
        }
        best = best.min(started.elapsed());
    }
    best.as_secs_f64() * 1e6 / 200.0
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let seed = match std::fs::read_to_string(root.join("tests/fixtures/seed/body.txt")) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("tests/fixtures/seed/body.txt: {e}");
            std::process::exit(1);
        }
    };
    let mut article = Article::new(
        RecordId::from_url("https://example.org/seed"),
        FeedRef::default(),
        "https://example.org/seed",
        chrono::Utc::now(),
    );
    article.text_normalized = Some(khabar_text::normalize_for_search(&seed));
    article.text = Some(seed.clone());
    article.language = Some("ar".into());
    println!("| stage | µs per article ({} bytes) |", seed.len());
    println!("|---|---|");
    let events = fastest(|| {
        std::hint::black_box(khabar_extractor::find_events(&article));
    });
    println!("| events | {events:.0} |");
    let keyphrases = fastest(|| {
        std::hint::black_box(khabar_extractor::keyphrases(&seed, 10));
    });
    println!("| keyphrases | {keyphrases:.0} |");
    let attributions = fastest(|| {
        std::hint::black_box(khabar_extractor::attributions(&seed));
    });
    println!("| attributions | {attributions:.0} |");
}
