//! `khabar-eval extraction --dir DIR [--engine khabar|rs-trafilatura|dom_smoothie|all]
//! [--predictions FILE.json…] [--show-worst N]`: scores main-text extraction on a development
//! split (gzipped pages and `ground-truth.json`) with the benchmark's metric; prints F1,
//! precision, recall, accuracy and pages/s per engine. `--predictions` scores another
//! program's output on the same pages (trafilatura, run by `cargo xtask bench extraction`).

mod aqmar;
mod entities_eval;
mod feeds_eval;
mod metric;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use khabar_core_model::{Article, FeedRef, RecordId};
use regex::Regex;

struct Page {
    id: String,
    url: String,
    html: String,
    expected: String,
}

fn load(dir: &Path) -> Result<Vec<Page>, String> {
    let truth_path = dir.join("ground-truth.json");
    let truth: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&truth_path).map_err(|e| format!("{}: {e}", truth_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", truth_path.display()))?;
    let entries = truth
        .as_object()
        .ok_or("ground-truth.json: expected an object")?;
    let mut pages = Vec::new();
    for (id, entry) in entries {
        let path = dir.join("html").join(format!("{id}.html.gz"));
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        pages.push(Page {
            id: id.clone(),
            url: entry["url"].as_str().unwrap_or("").to_string(),
            // Pages are decoded as the fetcher would: UTF-8, else Latin-1-ish lossy.
            html: String::from_utf8_lossy(&bytes).into_owned(),
            expected: entry["articleBody"].as_str().unwrap_or("").to_string(),
        });
    }
    pages.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(pages)
}

/// The headline Khabar gives the page (after the site name is cut).
fn khabar_title(page: &Page) -> String {
    normalized(page).title.unwrap_or_default()
}

/// Hand-labelled headlines by page id (`id<TAB>headline`, `#` comments).
fn load_titles(path: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(id, title)| (id.to_string(), title.to_string()))
        .collect()
}

/// The page through Khabar's normalize pass, as the pipeline runs it.
fn normalized(page: &Page) -> Article {
    let mut article = Article::new(
        RecordId::from_url(&page.url),
        FeedRef::default(),
        page.url.clone(),
        chrono::Utc::now(),
    );
    article.html = Some(page.html.clone());
    khabar_normalizer::normalize_article(&mut article);
    article
}

fn khabar(page: &Page) -> String {
    normalized(page).text.unwrap_or_default()
}

#[cfg(feature = "peers")]
fn rs_trafilatura(page: &Page) -> String {
    rs_trafilatura::extract(&page.html)
        .map(|r| r.content_text)
        .unwrap_or_default()
}

#[cfg(feature = "peers")]
fn dom_smoothie(page: &Page) -> String {
    let Ok(mut readability) =
        dom_smoothie::Readability::new(page.html.as_str(), Some(page.url.as_str()), None)
    else {
        return String::new();
    };
    readability
        .parse()
        .map(|a| a.text_content.to_string())
        .unwrap_or_default()
}

type Engine = (&'static str, fn(&Page) -> String);

fn engines(wanted: &str) -> Result<Vec<Engine>, String> {
    #[allow(unused_mut)]
    let mut all: Vec<Engine> = vec![("khabar", khabar)];
    #[cfg(feature = "peers")]
    {
        all.push(("rs-trafilatura", rs_trafilatura));
        all.push(("dom_smoothie", dom_smoothie));
    }
    if wanted == "all" {
        return Ok(all);
    }
    all.into_iter()
        .find(|(name, _)| *name == wanted)
        .map(|e| vec![e])
        .ok_or_else(|| format!("unknown engine {wanted:?} (peers need `--features peers`)"))
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The model the `entities` stage loads.
const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../extractor/model/ner-ar.model"
);
const AQMAR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/eval/arabic-ner-aqmar"
);

/// `train-ner [--aqmar DIR] [--out FILE] [--epochs N]`: the tagger, learned from the training
/// articles of AQMAR only.
fn train_ner(args: &[String]) -> Result<(), String> {
    if arg(args, "--lang").as_deref() == Some("en") {
        return entities_eval::train_english(args);
    }
    let dir = arg(args, "--aqmar").unwrap_or_else(|| AQMAR.to_string());
    let out = arg(args, "--out").unwrap_or_else(|| MODEL.to_string());
    let epochs = arg(args, "--epochs")
        .and_then(|n| n.parse().ok())
        .unwrap_or(12);
    let articles = aqmar::read_dir(Path::new(&dir))?;
    let training: Vec<&aqmar::Article> = articles
        .iter()
        .filter(|a| !aqmar::held_out(&a.name))
        .collect();
    let matcher = entities_eval::default_matcher()?;
    let started = Instant::now();
    let tagger = aqmar::train(&matcher, &training, epochs);
    let bytes = tagger.write();
    std::fs::write(&out, &bytes).map_err(|e| format!("{out}: {e}"))?;
    println!(
        "trained on {} articles ({} sentences) in {:.1}s, {epochs} epochs: {} features, {} KB → {out}",
        training.len(),
        training.iter().map(|a| a.sentences.len()).sum::<usize>(),
        started.elapsed().as_secs_f64(),
        tagger.first().features() + tagger.second().features(),
        bytes.len() / 1024
    );
    Ok(())
}

/// What went wrong in one sentence of a held-back fold (training articles only): the
/// tagger's false and missed names, and the names the tagger had right that the stage lost
/// (with what the stage made of them).
fn show_fold_errors(sentence: &aqmar::Sentence, tagged: &[aqmar::Span], stage: &[aqmar::Span]) {
    let gold = aqmar::spans(&sentence.tags);
    let words = &sentence.words;
    let text = |a: usize, b: usize| words[a.min(words.len())..b.min(words.len())].join(" ");
    let context = |s: &aqmar::Span| text(s.start.saturating_sub(3), s.end + 3);
    let show = |what: &str, s: &aqmar::Span| {
        println!(
            "{what} {:?}: {} ({})",
            s.kind,
            text(s.start, s.end),
            context(s)
        );
    };
    for p in tagged.iter().filter(|p| !gold.contains(p)) {
        show("false", p);
    }
    for g in gold.iter().filter(|g| !tagged.contains(g)) {
        show("missed", g);
    }
    for g in gold
        .iter()
        .filter(|g| tagged.contains(g) && !stage.contains(g))
    {
        let instead: Vec<String> = stage
            .iter()
            .filter(|f| f.start < g.end && g.start < f.end)
            .map(|f| format!("{:?} {}", f.kind, text(f.start, f.end)))
            .collect();
        println!(
            "lost by the stage {:?}: {} ({}) → [{}]",
            g.kind,
            text(g.start, g.end),
            context(g),
            instead.join(", ")
        );
    }
}

/// `ner --folds K`: for tuning without looking at the held-out articles. The training
/// articles are cut into K folds by article; each fold is scored by a tagger trained on the
/// others.
fn cross_validate(dir: &str, folds: usize, epochs: usize) -> Result<(), String> {
    let articles = aqmar::read_dir(Path::new(dir))?;
    let training: Vec<&aqmar::Article> = articles
        .iter()
        .filter(|a| !aqmar::held_out(&a.name))
        .collect();
    let matcher = entities_eval::default_matcher()?;
    let mut score = aqmar::Score::default();
    let mut stage = aqmar::Score::default();
    let show_errors = std::env::var_os("KHABAR_EVAL_SHOW_ERRORS").is_some();
    for fold in 0..folds {
        let in_fold = |i: &usize| i % folds == fold;
        let train: Vec<&aqmar::Article> = (0..training.len())
            .filter(|i| !in_fold(i))
            .map(|i| training[i])
            .collect();
        let test = (0..training.len()).filter(in_fold).map(|i| training[i]);
        let tagger = aqmar::train(&matcher, &train, epochs);
        for article in test {
            let all = aqmar::tag_article(&matcher, &tagger, article);
            let found = aqmar::stage_spans(&matcher, &tagger, article);
            for ((sentence, tags), found) in article.sentences.iter().zip(all).zip(found) {
                score.add(&aqmar::spans(&sentence.tags), &aqmar::spans(&tags));
                stage.add(&aqmar::spans(&sentence.tags), &found);
                if show_errors {
                    show_fold_errors(sentence, &aqmar::spans(&tags), &found);
                }
            }
        }
    }
    println!("| system | split | kind | precision | recall | F1 |\n|---|---|---|---|---|---|");
    let split = format!("{folds}-fold (training articles)");
    print!("{}", score.rows("tagger", &split));
    print!("{}", stage.rows("entities stage", &split));
    Ok(())
}

/// `ner [--aqmar DIR] [--model FILE]`: exact-span precision, recall and F1 per kind on
/// AQMAR's held-out articles and on its training articles, for the gazetteer matcher, the
/// lexicon of training names, and the tagger.
fn eval_ner(args: &[String]) -> Result<(), String> {
    let dir = arg(args, "--aqmar").unwrap_or_else(|| AQMAR.to_string());
    if let Some(folds) = arg(args, "--folds").and_then(|k| k.parse().ok()) {
        let epochs = arg(args, "--epochs")
            .and_then(|n| n.parse().ok())
            .unwrap_or(12);
        return cross_validate(&dir, folds, epochs);
    }
    let model_path = arg(args, "--model").unwrap_or_else(|| MODEL.to_string());
    let articles = aqmar::read_dir(Path::new(&dir))?;
    let (held, training): (Vec<&aqmar::Article>, Vec<&aqmar::Article>) =
        articles.iter().partition(|a| aqmar::held_out(&a.name));
    let matcher = entities_eval::default_matcher()?;
    let lexicon = aqmar::Lexicon::new(&training);
    let bytes = std::fs::read(&model_path).map_err(|e| format!("{model_path}: {e}"))?;
    let tagger =
        khabar_extractor::ner::Tagger::read(&bytes).map_err(|e| format!("{model_path}: {e}"))?;
    println!("| system | split | kind | precision | recall | F1 |\n|---|---|---|---|---|---|");
    for (split, set) in [("held-out", &held), ("training", &training)] {
        let mut scores = [aqmar::Score::default(); 4];
        for article in set.iter() {
            for (sentence, found) in article
                .sentences
                .iter()
                .zip(aqmar::stage_spans(&matcher, &tagger, article))
            {
                let gold = aqmar::spans(&sentence.tags);
                if split == "training" && std::env::var_os("KHABAR_EVAL_SHOW_ERRORS").is_some() {
                    for p in found.iter().filter(|p| !gold.contains(p)) {
                        let g = gold.iter().find(|g| g.start < p.end && p.start < g.end);
                        println!(
                            "stage false {:?}: {} (gold: {})",
                            p.kind,
                            sentence.words[p.start..p.end].join(" "),
                            g.map(|g| format!(
                                "{:?} {}",
                                g.kind,
                                sentence.words[g.start..g.end].join(" ")
                            ))
                            .unwrap_or_default()
                        );
                    }
                }
                scores[3].add(&gold, &found);
            }
            let all = aqmar::tag_article(&matcher, &tagger, article);
            let gazetteer = aqmar::article_gazetteer_spans(&matcher, article);
            for ((sentence, tags), gazetteer) in article.sentences.iter().zip(all).zip(gazetteer) {
                let gold = aqmar::spans(&sentence.tags);
                scores[0].add(&gold, &gazetteer);
                scores[1].add(&gold, &lexicon.find(&sentence.words));
                let predicted = aqmar::spans(&tags);
                // Errors of the training split only: tuning never looks at held-out text.
                if split == "training" && std::env::var_os("KHABAR_EVAL_SHOW_ERRORS").is_some() {
                    for p in predicted.iter().filter(|p| !gold.contains(p)) {
                        println!(
                            "false {:?}: {}",
                            p.kind,
                            sentence.words[p.start..p.end].join(" ")
                        );
                    }
                }
                scores[2].add(&gold, &predicted);
            }
        }
        for (system, score) in ["gazetteers", "lexicon", "tagger", "entities stage"]
            .iter()
            .zip(&scores)
        {
            print!("{}", score.rows(system, split));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match args.first().map(String::as_str) {
        Some("train-ner") => Some(train_ner(&args[1..])),
        Some("ner") => Some(eval_ner(&args[1..])),
        Some("feeds") => Some(feeds_eval::run(&args[1..])),
        _ => None,
    };
    if let Some(result) = command {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some("entities") {
        let file = arg(&args, "--file").unwrap_or_else(|| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/seed-entities.conll").to_string()
        });
        let language = arg(&args, "--language").unwrap_or_else(|| "ar".to_string());
        let lexicon = match arg(&args, "--lexicon-from")
            .map(|f| std::fs::read_to_string(&f).map_err(|e| format!("{f}: {e}")))
            .transpose()
        {
            Ok(lexicon) => lexicon,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        return match std::fs::read_to_string(&file)
            .map_err(|e| format!("{file}: {e}"))
            .and_then(|t| {
                let show = args.iter().any(|a| a == "--show-errors");
                entities_eval::run(&t, &language, lexicon.as_deref(), show)
            }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) != Some("extraction") {
        eprintln!("usage: khabar-eval extraction --dir DIR [--engine NAME|all] [--passes N] [--predictions FILE.json…] [--show-worst N] [--dump PAGE-ID]");
        return ExitCode::from(2);
    }
    let dir = PathBuf::from(arg(&args, "--dir").unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/article-extraction-dev").into()
    }));
    let wanted = arg(&args, "--engine").unwrap_or_else(|| "khabar".into());
    let passes: usize = arg(&args, "--passes")
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
        .max(1);
    let worst: usize = arg(&args, "--show-worst")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let dump = arg(&args, "--dump");
    let run = || -> Result<(), String> {
        let pages = load(&dir)?;
        if let Some(id) = &dump {
            // One page's text as Khabar extracts it, beside the expected text, to read.
            let page = pages
                .iter()
                .find(|p| p.id.starts_with(id.as_str()))
                .ok_or_else(|| format!("no page whose id starts with {id}"))?;
            println!(
                "== {} {}\n== ours:\n{}\n== expected:\n{}",
                page.id,
                page.url,
                khabar(page),
                page.expected
            );
            return Ok(());
        }
        let re = Regex::new(r"\w+").map_err(|e| e.to_string())?;
        println!("{} pages from {}\n", pages.len(), dir.display());
        println!("| engine | F1 | precision | recall | accuracy | pages/s (one core) |");
        println!("|---|---|---|---|---|---|");
        let mut runs: Vec<(String, Vec<String>, Duration)> = Vec::new();
        // Headlines, scored apart from the text (untimed): ours, and a peer's when its
        // predictions carry them.
        let labelled = load_titles(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/extraction-dev-titles.tsv"
        )));
        let mut headlines: Vec<(String, Vec<String>)> = Vec::new();
        // How each peer was run, said under the table.
        let mut modes: Vec<String> = Vec::new();
        if !labelled.is_empty() && engines(&wanted)?.iter().any(|(n, _)| *n == "khabar") {
            headlines.push(("khabar".into(), pages.iter().map(khabar_title).collect()));
        }
        for (name, extract) in engines(&wanted)? {
            // One untimed pass first, so no engine pays for the process's cold start.
            for page in &pages {
                let _ = extract(page);
            }
            // The fastest of several timed passes: on a shared machine, other work only ever
            // makes a pass slower, so the minimum is the figure that repeats.
            let mut texts = Vec::new();
            let mut fastest = Duration::MAX;
            for _ in 0..passes {
                texts.clear();
                let mut spent = Duration::ZERO;
                for page in &pages {
                    let started = Instant::now();
                    let text = extract(page);
                    spent += started.elapsed();
                    texts.push(text);
                }
                fastest = fastest.min(spent);
            }
            runs.push((name.to_string(), texts, fastest));
        }
        // Another program's output on the same pages: {"engine", "seconds", "texts": {id: text}}.
        for file in args
            .iter()
            .skip_while(|a| *a != "--predictions")
            .skip(1)
            .take_while(|a| !a.starts_with("--"))
        {
            let value: serde_json::Value =
                serde_json::from_slice(&std::fs::read(file).map_err(|e| format!("{file}: {e}"))?)
                    .map_err(|e| format!("{file}: {e}"))?;
            let name = format!(
                "{} {}",
                value["engine"].as_str().unwrap_or(file),
                value["version"].as_str().unwrap_or("")
            );
            let texts = pages
                .iter()
                .map(|p| value["texts"][&p.id].as_str().unwrap_or("").to_string())
                .collect();
            if value.get("titles").is_some() {
                headlines.push((
                    name.trim().to_string(),
                    pages
                        .iter()
                        .map(|p| value["titles"][&p.id].as_str().unwrap_or("").to_string())
                        .collect(),
                ));
            }
            if let Some(mode) = value["mode"].as_str() {
                modes.push(format!("{}: {mode}", name.trim()));
            }
            let seconds = value["seconds"].as_f64().unwrap_or(f64::NAN);
            runs.push((
                name.trim().to_string(),
                texts,
                Duration::from_secs_f64(seconds.max(1e-9)),
            ));
        }
        let speeds: Vec<(String, f64)> = runs
            .iter()
            .map(|(name, _, spent)| (name.clone(), pages.len() as f64 / spent.as_secs_f64()))
            .collect();
        for (name, texts, spent) in runs {
            let mut scores = Vec::new();
            for (page, text) in pages.iter().zip(&texts) {
                scores.push((page, metric::score(&re, &page.expected, text)));
            }
            let just: Vec<metric::PageScore> = scores.iter().map(|(_, s)| *s).collect();
            let (p, r, f1, acc) = metric::summarize(&just);
            println!(
                "| {name} | {f1:.3} | {p:.3} | {r:.3} | {acc:.3} | {:.1} |",
                pages.len() as f64 / spent.as_secs_f64()
            );
            // Two fixed halves by page id: a change tuned on pages of one half is checked
            // on the other (the fixes of 2026-11-27 came from pages in the 8–f half).
            let half = |high: bool| {
                let part: Vec<metric::PageScore> = scores
                    .iter()
                    .filter(|(page, _)| {
                        page.id
                            .as_bytes()
                            .first()
                            .is_some_and(|c| (*c >= b'8') == high)
                    })
                    .map(|(_, s)| *s)
                    .collect();
                (part.len(), metric::summarize(&part).2)
            };
            let ((low_n, low_f1), (high_n, high_f1)) = (half(false), half(true));
            let lowest = just
                .iter()
                .map(metric::PageScore::f1)
                .fold(f64::INFINITY, f64::min);
            eprintln!(
                "  {name}: ids 0–7 F1 {low_f1:.3} ({low_n} pages), ids 8–f F1 {high_f1:.3} ({high_n} pages); lowest page F1 {lowest:.2}"
            );
            if worst > 0 {
                scores.sort_by(|a, b| {
                    (a.1.precision + a.1.recall).total_cmp(&(b.1.precision + b.1.recall))
                });
                for (page, s) in scores.iter().take(worst) {
                    eprintln!(
                        "  {name} {} p={:.2} r={:.2} {}",
                        page.id, s.precision, s.recall, page.url
                    );
                }
            }
        }
        for mode in &modes {
            println!("({mode})");
        }
        for (name, titles) in &headlines {
            let scored: Vec<(bool, &Page)> = pages
                .iter()
                .zip(titles)
                .filter_map(|(page, title)| {
                    labelled
                        .get(&page.id)
                        .map(|label| (metric::title_right(label, title), page))
                })
                .collect();
            let right = scored.iter().filter(|(ok, _)| *ok).count();
            println!(
                "titles {name}: {right}/{} right (hand-labelled headlines; a site name left on counts as right)",
                scored.len()
            );
            if worst > 0 {
                for (page, title) in pages.iter().zip(titles) {
                    if let Some(label) = labelled.get(&page.id) {
                        if !metric::title_right(label, title) {
                            eprintln!(
                                "  {name} title {}: {title:?} (headline {label:?})",
                                &page.id[..8]
                            );
                        }
                    }
                }
            }
        }
        if let Some((_, ours)) = speeds.iter().find(|(name, _)| name == "khabar") {
            println!();
            for (name, theirs) in speeds.iter().filter(|(name, _)| name != "khabar") {
                println!("khabar: {:.1}× the pages/s of {name}", ours / theirs);
            }
        }
        println!("\n(pages/s: the fastest of {passes} timed passes after a warm-up pass)");
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
