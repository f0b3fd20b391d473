//! `khabar-eval entities --file FILE.conll [--language xx] [--lexicon-from TRAIN.conll]`:
//! precision, recall and F1 per kind of the `entities` stage on text labelled in CoNLL form
//! (`token<TAB>B-/I-PER|ORG|LOC|GPE` or `O`, a blank line between sentences), by exact span and
//! by overlap (a prediction that overlaps a labelled span of its kind: Arabic clitics make
//! token and match boundaries differ, بريف vs ريف); beside it, a lexicon of a training split's
//! names.

use khabar_core_model::EntityKind;

struct Span {
    start: usize,
    end: usize,
    kind: EntityKind,
}

fn kind_of(label: &str) -> Option<EntityKind> {
    match label {
        "PER" => Some(EntityKind::Person),
        "ORG" => Some(EntityKind::Organization),
        "LOC" | "GPE" => Some(EntityKind::Place),
        _ => None,
    }
}

/// The text (tokens joined by spaces, sentences by newlines) and its labelled spans.
fn read(conll: &str) -> (String, Vec<Span>) {
    let mut text = String::new();
    let mut spans: Vec<Span> = Vec::new();
    let mut open: Option<Span> = None;
    for line in conll.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut parts = line.split('\t');
        let (Some(token), Some(tag)) = (parts.next().filter(|t| !t.is_empty()), parts.next())
        else {
            spans.extend(open.take());
            text.push('\n');
            continue;
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push(' ');
        }
        let start = text.len();
        text.push_str(token);
        let end = text.len();
        let (prefix, label) = tag.split_once('-').unwrap_or((tag, ""));
        match (prefix, kind_of(label)) {
            ("I", Some(kind)) if open.as_ref().is_some_and(|o| o.kind == kind) => {
                if let Some(o) = open.as_mut() {
                    o.end = end;
                }
            }
            ("B" | "I", Some(kind)) => {
                spans.extend(open.take());
                open = Some(Span { start, end, kind });
            }
            _ => spans.extend(open.take()),
        }
    }
    spans.extend(open);
    (text, spans)
}

/// The default configuration's gazetteers: the curated list and GeoNames as bulk places.
pub fn default_matcher() -> Result<khabar_extractor::Matcher, String> {
    let mut entries =
        khabar_extractor::gazetteer::parse_tsv(khabar_extractor::gazetteer::CURATED, "curated.tsv")
            .map_err(|e| e.to_string())?;
    let geonames = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/gazetteers/geonames.tsv"
    );
    let list = std::fs::read_to_string(geonames).map_err(|e| format!("{geonames}: {e}"))?;
    entries.extend(
        khabar_extractor::gazetteer::parse_places_tsv(&list, "geonames.tsv")
            .map_err(|e| e.to_string())?,
    );
    khabar_extractor::Matcher::new(entries).map_err(|e| e.to_string())
}

/// The `entities` stage as the default config builds it (curated list, GeoNames places, the
/// name tagger), run on each of `texts` as one article in `language`.
fn stage_entities(texts: &[&str], language: &str) -> Result<Vec<Names>, String> {
    use khabar_core_model::{Article, BuildContext, FeedRef, RecordId, TransformConfig};
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let config: khabar_extractor::EntitiesConfig = serde_json::from_value(serde_json::json!({
        "places": ["config/gazetteers/geonames.tsv"]
    }))
    .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let ctx = BuildContext::standalone("entities", root.into(), root.into());
        let stage = config.build(&ctx).await.map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            let mut article = Article::new(
                RecordId::from_url("eval:conll"),
                FeedRef::default(),
                "eval:conll",
                chrono::Utc::now(),
            );
            article.text = Some(text.to_string());
            article.language = Some(language.to_string());
            stage
                .process(&mut article)
                .await
                .map_err(|e| e.to_string())?;
            out.push(
                article
                    .entities
                    .iter()
                    .map(|e| (e.start, e.end, e.kind))
                    .collect(),
            );
        }
        Ok(out)
    })
}

/// A lexicon of the names labelled in `conll` (each name with its most frequent kind), found
/// in `text` as whole words, longest first: the baseline a list of the training names gives.
fn lexicon_entities(conll: &str, text: &str) -> Vec<(usize, usize, EntityKind)> {
    use std::collections::HashMap;
    let (train_text, train_spans) = read(conll);
    let mut counts: HashMap<&str, [usize; 3]> = HashMap::new();
    for span in &train_spans {
        let name = &train_text[span.start..span.end];
        counts.entry(name).or_default()[slot(span.kind)] += 1;
    }
    let mut names: Vec<(&str, EntityKind)> = counts
        .into_iter()
        .map(|(name, c)| {
            let best = (0..3).max_by_key(|&i| c[i]).unwrap_or(0);
            (name, KINDS[best])
        })
        .collect();
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let mut found: Vec<(usize, usize, EntityKind)> = Vec::new();
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    for (name, kind) in names {
        for (at, _) in text.match_indices(name) {
            let end = at + name.len();
            if word(text[..at].chars().next_back()) || word(text[end..].chars().next()) {
                continue;
            }
            if found.iter().any(|&(a, b, _)| at < b && a < end) {
                continue;
            }
            found.push((at, end, kind));
        }
    }
    found
}

const KINDS: [EntityKind; 3] = [
    EntityKind::Person,
    EntityKind::Organization,
    EntityKind::Place,
];

fn slot(kind: EntityKind) -> usize {
    match kind {
        EntityKind::Person => 0,
        EntityKind::Organization => 1,
        EntityKind::Place => 2,
    }
}

/// Precision, recall, F1 per kind and over all, exact spans and overlapping spans.
fn score(system: &str, gold: &[Span], predicted: &[(usize, usize, EntityKind)]) {
    let f1 = |p: f64, r: f64| {
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    };
    println!(
        "\n{system}: {} labelled, {} found\n",
        gold.len(),
        predicted.len()
    );
    println!("| kind | exact P | exact R | **exact F1** | overlap F1 | labelled | found |");
    println!("|---|---|---|---|---|---|---|");
    let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    let mut all = [0usize; 5];
    for (name, kind) in [
        ("person", EntityKind::Person),
        ("organization", EntityKind::Organization),
        ("place", EntityKind::Place),
    ] {
        let g: Vec<(usize, usize)> = gold
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| (s.start, s.end))
            .collect();
        let p: Vec<(usize, usize)> = predicted
            .iter()
            .filter(|e| e.2 == kind)
            .map(|e| (e.0, e.1))
            .collect();
        let exact = p.iter().filter(|x| g.contains(x)).count();
        let true_pred = p
            .iter()
            .filter(|x| g.iter().any(|y| overlaps(**x, *y)))
            .count();
        let found_gold = g
            .iter()
            .filter(|y| p.iter().any(|x| overlaps(*x, **y)))
            .count();
        for (i, n) in [exact, true_pred, found_gold, p.len(), g.len()]
            .into_iter()
            .enumerate()
        {
            all[i] += n;
        }
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let (ep, er) = (ratio(exact, p.len()), ratio(exact, g.len()));
        let (op, or) = (ratio(true_pred, p.len()), ratio(found_gold, g.len()));
        println!(
            "| {name} | {ep:.3} | {er:.3} | **{:.3}** | {:.3} | {} | {} |",
            f1(ep, er),
            f1(op, or),
            g.len(),
            p.len()
        );
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (ep, er) = (ratio(all[0], all[3]), ratio(all[0], all[4]));
    let (op, or) = (ratio(all[1], all[3]), ratio(all[2], all[4]));
    println!(
        "| all | {ep:.3} | {er:.3} | **{:.3}** | {:.3} | {} | {} |",
        f1(ep, er),
        f1(op, or),
        all[4],
        all[3]
    );
}

/// Every name missed or mislabelled and every name found that is not labelled, with its kind:
/// what to look at when tuning (on the development split only).
fn print_errors(text: &str, gold: &[Span], predicted: &[(usize, usize, EntityKind)]) {
    let name = |k: EntityKind| match k {
        EntityKind::Person => "PER",
        EntityKind::Organization => "ORG",
        EntityKind::Place => "LOC",
    };
    println!("\nerrors (missed: labelled, not found exactly; wrong: found, not labelled):");
    for g in gold {
        if !predicted.contains(&(g.start, g.end, g.kind)) {
            let got: Vec<String> = predicted
                .iter()
                .filter(|p| p.0 < g.end && g.start < p.1)
                .map(|p| format!("{} {}", name(p.2), &text[p.0..p.1]))
                .collect();
            println!(
                "missed {} {:?} (found: {:?})",
                name(g.kind),
                &text[g.start..g.end],
                got
            );
        }
    }
    for p in predicted {
        if !gold
            .iter()
            .any(|g| g.start == p.0 && g.end == p.1 && g.kind == p.2)
        {
            println!("wrong  {} {:?}", name(p.2), &text[p.0..p.1]);
        }
    }
}

/// Scores the `entities` stage on `conll` (text in `language`), and beside it the lexicon of
/// the names labelled in `lexicon_from` when given (a training split).
pub fn run(
    conll: &str,
    language: &str,
    lexicon_from: Option<&str>,
    show_errors: bool,
) -> Result<(), String> {
    let (text, gold) = read(conll);
    let predicted = stage_on_pages(conll, &text, language)?;
    score("the entities stage", &gold, &predicted);
    if show_errors {
        print_errors(&text, &gold, &predicted);
    }
    if let Some(train) = lexicon_from {
        score(
            "a lexicon of the training split's names",
            &gold,
            &lexicon_entities(train, &text),
        );
    }
    Ok(())
}

/// The stage's names in `text` (`conll`'s sentences, one a line, as [`read`] gives it): each
/// page's sentences read together as one article (see [`pages`]), so that what one article
/// tells the stage about a name reaches its other sentences, and nothing crosses pages.
fn stage_on_pages(conll: &str, text: &str, language: &str) -> Result<Names, String> {
    let pages = pages(conll, text);
    let texts: Vec<&str> = pages.iter().map(|page| page.text.as_str()).collect();
    let mut out = Vec::new();
    for (page, names) in pages.iter().zip(stage_entities(&texts, language)?) {
        for (start, end, kind) in names {
            if let Some((start, end)) = page.in_text(start, end) {
                out.push((start, end, kind));
            }
        }
    }
    out.sort_unstable_by_key(|&(start, end, _)| (start, end));
    Ok(out)
}

/// One page's sentences as one text, a sentence a line.
#[derive(Default)]
struct Page {
    text: String,
    /// For each line: where it starts in the page and in the whole text.
    starts: Vec<(usize, usize)>,
}

impl Page {
    /// Where a span of the page is in the whole text (a span never crosses a line).
    fn in_text(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let &(in_page, in_text) = self.starts.iter().rev().find(|(s, _)| *s <= start)?;
        Some((start - in_page + in_text, end - in_page + in_text))
    }

    /// Where a span of the whole text is in the page, if it is in one of its lines.
    fn in_page(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        self.starts.iter().find_map(|&(in_page, in_text)| {
            let line = self.text[in_page..].split('\n').next().unwrap_or_default();
            (in_text <= start && end <= in_text + line.len())
                .then(|| (start - in_text + in_page, end - in_text + in_page))
        })
    }
}

/// The pages of `conll`, whose text (sentences one a line) is `text`: each page's sentences
/// in file order (see [`page_groups`]).
fn pages(conll: &str, text: &str) -> Vec<Page> {
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .scan(0, |offset, line| {
            let at = *offset;
            *offset += line.len() + 1;
            Some((at, line))
        })
        .filter(|(_, line)| !line.trim().is_empty())
        .collect();
    let groups = page_groups(conll, lines.len());
    let mut pages: Vec<Page> = Vec::new();
    for (i, (at, line)) in lines.iter().enumerate() {
        // A line the page lines do not account for is a page of its own.
        let index = groups.get(i).copied().unwrap_or(lines.len() + i);
        if pages.len() <= index {
            pages.resize_with(index + 1, Default::default);
        }
        let page = &mut pages[index];
        if !page.text.is_empty() {
            page.text.push('\n');
        }
        page.starts.push((page.text.len(), *at));
        page.text.push_str(line);
    }
    pages.retain(|page| !page.text.is_empty());
    pages
}

/// The English development set the English tagger learns from.
pub const ENGLISH_DEV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/english-news/dev.conll");

/// The English model the `entities` stage loads.
pub const ENGLISH_MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../extractor/model/ner-en.model"
);

/// Passes over the sentences: from 8 on the folds change by less than their noise.
const ENGLISH_EPOCHS: usize = 10;

/// One labelled text (a page's sentences) with what the gazetteers and the rules read in it.
struct ReadText {
    text: String,
    gold: Vec<(usize, usize, EntityKind)>,
    found: Vec<khabar_core_model::Entity>,
    ruled: Vec<khabar_core_model::Entity>,
}

/// Names as byte spans with their kind.
type Names = Vec<(usize, usize, EntityKind)>;

/// The pages of `conll` as the stage reads articles (see [`pages`]), read by the gazetteers
/// and the rules as the stage reads English text. Names a page repeats (a surname after the
/// full name) are read across its sentences, as in an article, and never across pages.
fn read_pages(conll: &str, matcher: &khabar_extractor::Matcher) -> Vec<ReadText> {
    let (text, spans) = read(conll);
    pages(conll, &text)
        .into_iter()
        .map(|page| {
            let gold = spans
                .iter()
                .filter_map(|s| page.in_page(s.start, s.end).map(|(a, b)| (a, b, s.kind)))
                .collect();
            let (entities, _, sources) = matcher.find_with_sources(&page.text);
            let found: Vec<khabar_core_model::Entity> = entities
                .into_iter()
                .zip(sources)
                .filter(|(_, source)| {
                    *source != khabar_extractor::entities::MatchSource::OrdinaryWord
                })
                .map(|(e, _)| e)
                .collect();
            let ruled = khabar_extractor::latin_names::find(&page.text, found.clone(), |e| {
                matcher.names_a_country(e)
            });
            ReadText {
                text: page.text,
                gold,
                found,
                ruled,
            }
        })
        .collect()
}

/// For each sentence of `conll` (there are `count`), the index of its page among the pages in
/// the order they first appear, from the `# page: ID` line before it. The folds of a
/// cross-validation hold whole pages: a name a story repeats must not be learnt from one of
/// its sentences and scored on another. A sentence with no page line is a page of its own.
fn page_groups(conll: &str, count: usize) -> Vec<usize> {
    let mut pages: Vec<&str> = Vec::new();
    let mut groups = Vec::with_capacity(count);
    let mut page: Option<&str> = None;
    let mut in_sentence = false;
    for line in conll.lines() {
        if let Some(id) = line.strip_prefix("# page:") {
            page = Some(id.trim());
            in_sentence = false;
        } else if line.starts_with('#') || line.trim().is_empty() {
            in_sentence = false;
        } else if !in_sentence {
            in_sentence = true;
            let group = match page.take() {
                Some(id) => pages.iter().position(|p| *p == id).unwrap_or_else(|| {
                    pages.push(id);
                    pages.len() - 1
                }),
                None => {
                    pages.push("");
                    pages.len() - 1
                }
            };
            groups.push(group);
        }
    }
    groups
}

/// The mean of models trained in four orders: what one order gets right by luck the others
/// do not.
fn train_english_model(texts: &[&ReadText], epochs: usize) -> khabar_extractor::ner::Model {
    let examples: Vec<khabar_extractor::ner::Example> = texts
        .iter()
        .flat_map(|s| {
            khabar_extractor::latin_tagger::examples(&s.text, &s.found, &s.ruled, &s.gold)
        })
        .collect();
    let models: Vec<khabar_extractor::ner::Model> = (1..=4u64)
        .map(|seed| khabar_extractor::ner::train(&examples, epochs, seed * 7919))
        .collect();
    khabar_extractor::ner::average(&models)
}

/// Byte spans as the scorer's spans (exact matches count the same whatever the unit).
fn as_spans(names: &[(usize, usize, EntityKind)]) -> Vec<crate::aqmar::Span> {
    names
        .iter()
        .map(|&(start, end, kind)| crate::aqmar::Span { start, end, kind })
        .collect()
}

/// One row of the folds' table: F1 per kind (person, organization, place) and over all.
fn fold_row(system: &str, score: &crate::aqmar::Score) -> String {
    let f1 = |kind| score.of(kind).2;
    format!(
        "| {system} | {:.3} | {:.3} | {:.3} | **{:.3}** |\n",
        f1(Some(EntityKind::Person)),
        f1(Some(EntityKind::Organization)),
        f1(Some(EntityKind::Place)),
        f1(None)
    )
}

/// `train-ner --lang en [--file DEV.conll] [--folds K] [--epochs N] [--out FILE]`: the English
/// tagger learned from the English development set (never the held-out one) and written to
/// the model the stage loads; with `--folds K`, K-fold cross-validation over the development
/// pages instead (each page whole in one fold, read as one article), scored beside the rules
/// alone.
pub fn train_english(args: &[String]) -> Result<(), String> {
    let value = |name: &str| crate::arg(args, name);
    let file = value("--file").unwrap_or_else(|| ENGLISH_DEV.to_string());
    let epochs: usize = value("--epochs")
        .and_then(|n| n.parse().ok())
        .unwrap_or(ENGLISH_EPOCHS);
    let conll = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let matcher = default_matcher()?;
    let pages = read_pages(&conll, &matcher);
    let sentence_count: usize = pages.iter().map(|page| page.text.lines().count()).sum();
    if let Some(folds) = value("--folds").and_then(|n| n.parse::<usize>().ok()) {
        let folds = folds.clamp(2, pages.len().max(2));
        let (mut rules, mut tagger) = (
            crate::aqmar::Score::default(),
            crate::aqmar::Score::default(),
        );
        for fold in 0..folds {
            let in_fold = |page: usize| page % folds == fold;
            let training: Vec<&ReadText> = pages
                .iter()
                .enumerate()
                .filter(|(i, _)| !in_fold(*i))
                .map(|(_, s)| s)
                .collect();
            let model = train_english_model(&training, epochs);
            for (_, s) in pages.iter().enumerate().filter(|(i, _)| in_fold(*i)) {
                let spans =
                    |names: &[khabar_core_model::Entity]| -> Vec<(usize, usize, EntityKind)> {
                        names.iter().map(|e| (e.start, e.end, e.kind)).collect()
                    };
                let gold = as_spans(&s.gold);
                rules.add(&gold, &as_spans(&spans(&s.ruled)));
                let tagged = khabar_extractor::latin_tagger::retag(
                    &model,
                    &s.text,
                    &s.found,
                    s.ruled.clone(),
                );
                let tagged = spans(&tagged);
                tagger.add(&gold, &as_spans(&tagged));
                // The development split's errors, for tuning; the held-out split is never shown.
                if std::env::var_os("KHABAR_EVAL_SHOW_ERRORS").is_some() {
                    let show = |what: &str, (a, b, kind): &(usize, usize, EntityKind)| {
                        let name = s.text.get(*a..*b).unwrap_or_default();
                        let line_start = s.text[..*a].rfind('\n').map_or(0, |i| i + 1);
                        let line_end = s.text[*b..].find('\n').map_or(s.text.len(), |i| b + i);
                        let line = &s.text[line_start..line_end];
                        println!("{what} {kind:?}: {name}    | {line}");
                    };
                    tagged
                        .iter()
                        .filter(|p| !s.gold.contains(p))
                        .for_each(|p| show("false", p));
                    s.gold
                        .iter()
                        .filter(|g| !tagged.contains(g))
                        .for_each(|g| show("missed", g));
                }
            }
        }
        println!("{folds}-fold cross-validation on {file} ({sentence_count} sentences of {} pages, {epochs} epochs), exact-span F1:\n", pages.len());
        println!("| system | person | organization | place | all |\n|---|---|---|---|---|");
        print!("{}", fold_row("rules", &rules));
        print!("{}", fold_row("rules and tagger", &tagger));
        return Ok(());
    }
    let out = value("--out").unwrap_or_else(|| ENGLISH_MODEL.to_string());
    let all: Vec<&ReadText> = pages.iter().collect();
    let model = train_english_model(&all, epochs);
    let bytes = model.write();
    std::fs::write(&out, &bytes).map_err(|e| format!("{out}: {e}"))?;
    println!(
        "trained on {sentence_count} sentences of {} pages of {file}, {epochs} epochs: {} features, {} KB → {out}",
        pages.len(),
        model.features(),
        bytes.len() / 1024
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_keep_each_page_whole() {
        let conll =
            "# header\n# page: a\nOne\tO\n\n# page: b\nTwo\tO\n\n# page: a\nThree\tO\n\nFour\tO\n";
        assert_eq!(page_groups(conll, 4), vec![0, 1, 0, 2]);
    }

    #[test]
    fn reads_bio_spans() {
        let (text, spans) = read("The\tO\nSyrian\tB-ORG\nForces\tI-ORG\nin\tO\nBaghouz\tB-LOC\n\nal-Hol\tB-LOC\ncamp\tI-LOC\n");
        assert_eq!(text, "The Syrian Forces in Baghouz\nal-Hol camp");
        let got: Vec<(&str, EntityKind)> = spans
            .iter()
            .map(|s| (&text[s.start..s.end], s.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Syrian Forces", EntityKind::Organization),
                ("Baghouz", EntityKind::Place),
                ("al-Hol camp", EntityKind::Place)
            ]
        );
    }

    #[test]
    fn the_committed_english_model_is_what_train_ner_builds() -> Result<(), String> {
        let conll = std::fs::read_to_string(ENGLISH_DEV).map_err(|e| e.to_string())?;
        let matcher = default_matcher()?;
        let pages = read_pages(&conll, &matcher);
        let all: Vec<&ReadText> = pages.iter().collect();
        let built = train_english_model(&all, ENGLISH_EPOCHS).write();
        let committed = std::fs::read(ENGLISH_MODEL).map_err(|e| e.to_string())?;
        assert!(
            built == committed,
            "crates/extractor/model/ner-en.model is not what `cargo xtask train ner --lang en` \
             builds now: run it and commit the file"
        );
        Ok(())
    }
}
