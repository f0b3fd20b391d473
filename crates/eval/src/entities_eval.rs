//! `khabar-eval entities --file FILE.conll`: precision, recall and F1 per kind of the
//! `entities` matcher on text labelled in CoNLL form (`token<TAB>B-/I-PER|ORG|LOC|GPE` or `O`,
//! a blank line between sentences). A prediction counts when it overlaps a labelled span of
//! the same kind (clitics make token and match boundaries differ: بريف vs ريف).

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

pub fn run(conll: &str) -> Result<(), String> {
    let (text, gold) = read(conll);
    let matcher = default_matcher()?;
    let (predicted, _) = matcher.find(&text);
    println!(
        "{} labelled entities, {} found\n",
        gold.len(),
        predicted.len()
    );
    println!("| kind | precision | recall | F1 | labelled | found |");
    println!("|---|---|---|---|---|---|");
    let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    let mut totals = (0usize, 0usize, 0usize);
    for (name, kind) in [
        ("person", EntityKind::Person),
        ("organization", EntityKind::Organization),
        ("place", EntityKind::Place),
    ] {
        let gold_k: Vec<&Span> = gold.iter().filter(|s| s.kind == kind).collect();
        let pred_k: Vec<_> = predicted.iter().filter(|e| e.kind == kind).collect();
        let true_pred = pred_k
            .iter()
            .filter(|p| {
                gold_k
                    .iter()
                    .any(|g| overlaps((p.start, p.end), (g.start, g.end)))
            })
            .count();
        let found_gold = gold_k
            .iter()
            .filter(|g| {
                pred_k
                    .iter()
                    .any(|p| overlaps((p.start, p.end), (g.start, g.end)))
            })
            .count();
        totals = (
            totals.0 + true_pred,
            totals.1 + pred_k.len(),
            totals.2 + found_gold,
        );
        let p = if pred_k.is_empty() {
            1.0
        } else {
            true_pred as f64 / pred_k.len() as f64
        };
        let r = if gold_k.is_empty() {
            1.0
        } else {
            found_gold as f64 / gold_k.len() as f64
        };
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        println!(
            "| {name} | {p:.3} | {r:.3} | {f1:.3} | {} | {} |",
            gold_k.len(),
            pred_k.len()
        );
    }
    let p = totals.0 as f64 / totals.1.max(1) as f64;
    let r = totals.2 as f64 / gold.len().max(1) as f64;
    println!(
        "| all | {p:.3} | {r:.3} | {:.3} | {} | {} |",
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        },
        gold.len(),
        totals.1
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
