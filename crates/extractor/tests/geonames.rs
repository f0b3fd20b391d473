//! The GeoNames gazetteer built by `cargo xtask gazetteer` and committed with the config.

use khabar_core_model::EntityKind;

#[test]
fn the_built_gazetteer_reads_and_finds_arabic_place_names() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/gazetteers/geonames.tsv");
    let text = std::fs::read_to_string(&path).expect("config/gazetteers/geonames.tsv");
    assert!(
        text.starts_with("# Places from GeoNames"),
        "the CC-BY attribution heads the file"
    );
    let entries = khabar_extractor::gazetteer::parse_tsv(&text, "geonames.tsv").expect("parses");
    let names: usize = entries.iter().map(|e| e.aliases.len()).sum();
    assert!(names >= 100_000, "{names} names");
    let matcher = khabar_extractor::Matcher::new(entries).expect("matcher");
    let (entities, places) = matcher.find("وصلت التعزيزات إلى دير الزور قادمة من حلب");
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
