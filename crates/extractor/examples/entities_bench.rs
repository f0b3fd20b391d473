//! MB/s of entity matching with the full gazetteer, for `cargo xtask bench entities`.
//!
//! `entities_bench [--mb N] [--show]` (`--show` lists what one copy of the text yields): the curated list plus config/gazetteers/geonames.tsv (as the
//! bulk place list the default config loads); the text is
//! the seed article and an English wire paragraph, repeated to N MB. MB/s from the fastest of
//! three passes. The whole stage is then run over the seed article and over the AQMAR
//! articles (when `../shared/eval/arabic-ner-aqmar` is there), one pass each.

use std::time::Instant;

use khabar_extractor::gazetteer::{parse_places_tsv, parse_tsv, CURATED};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mb: usize = args
        .iter()
        .position(|a| a == "--mb")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let geonames =
        std::fs::read_to_string(root.join("config/gazetteers/geonames.tsv")).unwrap_or_default();
    let mut entries = parse_tsv(CURATED, "curated.tsv").unwrap_or_default();
    entries.extend(parse_places_tsv(&geonames, "geonames.tsv").unwrap_or_default());
    let names: usize = entries.iter().map(|e| e.aliases.len()).sum();
    let started = Instant::now();
    let matcher = match khabar_extractor::Matcher::new(entries) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let build = started.elapsed();
    let seed =
        std::fs::read_to_string(root.join("tests/fixtures/seed/body.txt")).unwrap_or_default();
    let wire = "Iraqi security forces fired tear gas at protesters in central Baghdad on Thursday, killing at least four people near the Ahrar bridge over the Tigris, security and medical sources in Basra and Mosul said.\n\n";
    let unit = format!("{seed}\n\n{wire}");
    let mut documents = Vec::new();
    let mut size = 0;
    while size < mb * 1_000_000 {
        documents.push(unit.clone());
        size += unit.len();
    }
    if args.iter().any(|a| a == "--show") {
        for e in matcher.find(&unit).0 {
            println!(
                "{}\t{}\t{:?}\t{:.2}",
                e.surface,
                e.canonical,
                e.ids.get("khabar"),
                e.confidence
            );
        }
    }
    // The fastest of three passes: on a shared machine other work only slows a pass down.
    let mut seconds = f64::MAX;
    let mut found = 0;
    for _ in 0..3 {
        let started = Instant::now();
        found = 0;
        for doc in &documents {
            found += matcher.find(doc).0.len();
        }
        seconds = seconds.min(started.elapsed().as_secs_f64());
    }
    println!(
        "| {names} names | built in {:.2} s | {:.1} MB in {seconds:.2} s | **{:.1} MB/s** | {found} mentions |",
        build.as_secs_f64(),
        size as f64 / 1e6,
        size as f64 / 1e6 / seconds
    );
    // The whole stage as the default configuration runs it on Arabic text: matching, the
    // name tagger (both passes) and the merge. One pass over the Arabic part of the text.
    let started = Instant::now();
    let Ok(tagger) = khabar_extractor::names::arabic_tagger() else {
        eprintln!("the shipped tagger does not load");
        std::process::exit(1);
    };
    let loaded = started.elapsed();
    let arabic: Vec<&str> = documents.iter().map(|_| seed.as_str()).collect();
    let stage = |what: &str, arabic: &[&str]| {
        let arabic_size: usize = arabic.iter().map(|d| d.len()).sum();
        let started = Instant::now();
        let mut mentions = 0;
        for doc in arabic {
            let (known, _, sources) = matcher.find_with_sources(doc);
            let tagged = khabar_extractor::names::tag_names(tagger, doc, &known, &sources);
            mentions += khabar_extractor::names::merge(doc, known, &sources, &tagged).len();
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "| stage with tagger, {what} (model read in {:.3} s) | {:.1} MB of Arabic in {seconds:.2} s | **{:.2} MB/s** | {mentions} mentions |",
            loaded.as_secs_f64(),
            arabic_size as f64 / 1e6,
            arabic_size as f64 / 1e6 / seconds
        );
    };
    stage("seed article", &arabic);
    // Text that is not Arabic: matching, then the rules for Latin-script names. The English
    // news set's sentences (crates/eval), repeated to the same size.
    let english: String = ["dev", "heldout"]
        .iter()
        .filter_map(|split| {
            std::fs::read_to_string(
                root.join(format!("crates/eval/data/english-news/{split}.conll")),
            )
            .ok()
        })
        .flat_map(|conll| {
            conll
                .split("\n\n")
                .map(|sentence| {
                    sentence
                        .lines()
                        .filter(|l| !l.starts_with('#'))
                        .filter_map(|l| l.split('\t').next())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n");
    if !english.is_empty() {
        let copies = (mb * 1_000_000 / english.len()).max(1);
        let started = Instant::now();
        let mut mentions = 0;
        let model = match khabar_extractor::latin_tagger::english_model() {
            Ok(model) => model,
            Err(e) => {
                eprintln!("model/ner-en.model: {e}");
                std::process::exit(1);
            }
        };
        for _ in 0..copies {
            let (known, _) = matcher.find(&english);
            let ruled = khabar_extractor::latin_names::find(&english, known.clone(), |e| {
                matcher.names_a_country(e)
            });
            mentions += khabar_extractor::latin_tagger::retag(model, &english, &known, ruled).len();
        }
        let seconds = started.elapsed().as_secs_f64();
        let size = (english.len() * copies) as f64 / 1e6;
        println!(
            "| stage on English news (matching, the Latin-script name rules and the English tagger) | {size:.1} MB in {seconds:.2} s | **{:.2} MB/s** | {mentions} mentions |",
            size / seconds
        );
    }
    // The seed repeated keeps its few hundred words in the cache; the AQMAR articles
    // (28 articles, some 20,000 different words) show the stage on varied text.
    let aqmar = aqmar_articles(&root.join("../shared/eval/arabic-ner-aqmar"));
    if aqmar.is_empty() {
        println!("(../shared/eval/arabic-ner-aqmar not found: no run on varied text)");
        return;
    }
    let mut varied: Vec<&str> = Vec::new();
    let mut size = 0;
    while size < mb * 1_000_000 {
        for article in &aqmar {
            varied.push(article);
            size += article.len();
        }
    }
    stage("AQMAR articles", &varied);
}

/// The articles of the AQMAR corpus as running text: one token per line in the files, a
/// blank line between sentences.
fn aqmar_articles(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|file| {
            let mut text = String::new();
            for line in file.lines() {
                match line.split_whitespace().next() {
                    Some(token) => {
                        if !text.is_empty() && !text.ends_with('\n') {
                            text.push(' ');
                        }
                        text.push_str(token);
                    }
                    None => text.push('\n'),
                }
            }
            text
        })
        .collect()
}
