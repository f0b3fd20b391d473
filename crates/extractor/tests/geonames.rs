//! The GeoNames gazetteer built by `cargo xtask gazetteer` and committed with the config, as
//! the default configuration loads it: a bulk place list beside the curated one.

use khabar_core_model::{Entity, EntityKind};
use khabar_extractor::gazetteer::{parse_places_tsv, parse_tsv, GazetteerEntry, CURATED};
use khabar_extractor::Matcher;

fn geonames() -> Vec<GazetteerEntry> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/gazetteers/geonames.tsv");
    let text = std::fs::read_to_string(&path).expect("config/gazetteers/geonames.tsv");
    assert!(
        text.starts_with("# Places from GeoNames"),
        "the CC-BY attribution heads the file"
    );
    parse_places_tsv(&text, "geonames.tsv").expect("parses")
}

/// The default configuration's matcher: the curated list and GeoNames.
fn default_matcher() -> Matcher {
    let mut entries = parse_tsv(CURATED, "curated.tsv").expect("curated");
    entries.extend(geonames());
    Matcher::new(entries).expect("matcher")
}

fn places(entities: &[Entity]) -> Vec<(String, String)> {
    entities
        .iter()
        .filter(|e| e.kind == EntityKind::Place)
        .map(|e| {
            let id = e.ids.get("khabar").and_then(|v| v.as_str()).unwrap_or("");
            (e.surface.clone(), id.to_string())
        })
        .collect()
}

#[test]
fn the_built_gazetteer_has_its_columns_and_size() {
    let entries = geonames();
    let names: usize = entries.iter().map(|e| e.aliases.len()).sum();
    assert!(names >= 100_000, "{names} names");
    let syria = entries
        .iter()
        .find(|e| e.id == "geonames:163843")
        .expect("Syria");
    assert!(syria.is_country() && syria.aliases.iter().any(|a| a == "سوريا"));
    let tripoli = entries
        .iter()
        .find(|e| e.id == "geonames:2210247")
        .expect("Tripoli, Libya");
    assert_eq!(
        (tripoli.feature.as_deref(), tripoli.country.as_deref()),
        (Some("P"), Some("LY"))
    );
    assert!(tripoli.population.unwrap_or(0) > 1_000_000);
    assert!(entries
        .iter()
        .any(|e| e.feature.as_deref() == Some("A.ADM1") && e.canonical == "Texas"));
}

#[test]
fn arabic_place_names_with_coordinates() {
    let matcher = Matcher::new(geonames()).expect("matcher");
    let (entities, places) = matcher.find("وصلت التعزيزات إلى دير الزور قادمة من حلب في سوريا");
    let found: Vec<&str> = entities
        .iter()
        .filter(|e| e.kind == EntityKind::Place)
        .map(|e| e.canonical.as_str())
        .collect();
    assert!(
        found.contains(&"Deir ez-Zor") && found.contains(&"Aleppo"),
        "{found:?}"
    );
    assert!(places
        .iter()
        .any(|p| p.id == "geonames:170794" && (p.lat - 35.336).abs() < 0.01));
}

#[test]
fn the_text_s_countries_settle_an_ambiguous_name() {
    let matcher = default_matcher();
    // Tripoli is in Libya and in Lebanon; the text says which.
    let (lebanon, _) = matcher.find("اشتباكات في طرابلس شمال لبنان بعد توتر في عكار");
    let tripoli = lebanon
        .iter()
        .find(|e| e.surface == "طرابلس")
        .expect("Tripoli found");
    assert_eq!(
        tripoli.ids.get("geonames").and_then(|v| v.as_str()),
        Some("266826"),
        "Tripoli, Lebanon: {:?}",
        places(&lebanon)
    );
    let (libya, _) = matcher.find("اشتباكات في طرابلس بين قوات حكومة الوحدة وقوات حفتر في ليبيا");
    let tripoli = libya
        .iter()
        .find(|e| e.surface == "طرابلس")
        .expect("Tripoli found");
    assert_eq!(
        tripoli.ids.get("geonames").and_then(|v| v.as_str()),
        Some("2210247")
    );
    // With nothing to go by, the larger city, and less confidence.
    let (bare, _) = matcher.find("Clashes broke out in Tripoli overnight.");
    let tripoli = bare
        .iter()
        .find(|e| e.surface == "Tripoli")
        .expect("Tripoli found");
    assert_eq!(
        tripoli.ids.get("geonames").and_then(|v| v.as_str()),
        Some("2210247")
    );
    assert!(tripoli.confidence < 0.7, "{}", tripoli.confidence);
}

#[test]
fn common_words_are_not_places() {
    let matcher = default_matcher();
    // GeoNames has towns called Reading, Mobile and Bath, and Arabic towns whose names are
    // everyday words; lower-case English never matches a bulk name, and a one-word bulk name
    // needs its country in the text (or a large city).
    let (entities, _) = matcher.find(
        "reading the report on mobile phones, officials said the bath was closed and \
         the victory of peace was near.",
    );
    assert!(places(&entities).is_empty(), "{:?}", places(&entities));
    let (entities, _) = matcher.find("قال المسؤول إن النصر قريب وإن السلام ممكن");
    assert!(places(&entities).is_empty(), "{:?}", places(&entities));
    // A first-level division of the curated list, and a bulk town once its country is named.
    let (entities, _) = matcher.find("قصف على ريف حماة وفي محافظة الأنبار");
    let ids: Vec<String> = places(&entities).into_iter().map(|p| p.1).collect();
    assert!(
        ids.contains(&"khabar:hama".to_string()) && ids.contains(&"khabar:anbar".to_string()),
        "{ids:?}"
    );
}

#[test]
fn a_first_level_division_is_a_place_without_its_country_and_beside_a_full_name() {
    let matcher = default_matcher();
    for text in [
        "Michigan health authorities are reporting a sixth case.",
        "Cases first appeared in West Michigan. The Michigan Department of Health said so.",
    ] {
        let (entities, _) = matcher.find(text);
        assert!(
            places(&entities).iter().any(|(name, _)| name == "Michigan"),
            "{text}: {entities:?}"
        );
    }
}
