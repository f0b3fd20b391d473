//! The seed article's actors and places, as its README lists them.

use std::collections::BTreeSet;

use khabar_core_model::EntityKind;
use khabar_extractor::gazetteer::{parse_tsv, CURATED};
use khabar_extractor::Matcher;

fn body() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seed/body.txt");
    std::fs::read_to_string(path).unwrap_or_default()
}

fn matcher() -> Matcher {
    Matcher::new(parse_tsv(CURATED, "curated.tsv").unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_seed_yields_its_actors_and_places() {
    let text = body();
    let (entities, places) = matcher().find(&text);
    let canonical = |kind: EntityKind| -> BTreeSet<String> {
        entities
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.canonical.clone())
            .collect()
    };
    let found_places = canonical(EntityKind::Place);
    for place in [
        "الباغوز",
        "دير الزور",
        "سورية",
        "الحسكة",
        "مخيم الهول",
        "حقل الجفرة",
        "حقل العزبة",
    ] {
        assert!(
            found_places.contains(place),
            "{place} missing from {found_places:?}"
        );
    }
    let found_orgs = canonical(EntityKind::Organization);
    for org in [
        "التحالف الدولي",
        "تنظيم الدولة الإسلامية",
        "قوات سورية الديمقراطية",
        "وحدات حماية الشعب",
        "مجلس دير الزور العسكري",
        "العربي الجديد",
        "الإدارة الذاتية",
        "الولايات المتحدة",
    ] {
        assert!(
            found_orgs.contains(org),
            "{org} missing from {found_orgs:?}"
        );
    }
    // "قوات سورية الديمقراطية" is the organization, not the country inside its name; and
    // "مجلس دير الزور العسكري" is not the city.
    for e in &entities {
        assert_eq!(&text[e.start..e.end], e.surface);
        if e.surface.contains("الديمقراطية") || e.surface.contains("مجلس") {
            assert_eq!(e.kind, EntityKind::Organization, "{e:?}");
        }
    }
    // Every place has coordinates, Syria its GeoNames id.
    assert!(places
        .iter()
        .any(|p| p.id == "geonames:163843" && p.country.as_deref() == Some("SY")));
    let baghouz = places
        .iter()
        .find(|p| p.canonical == "الباغوز")
        .map(|p| (p.lat, p.lon));
    assert!(baghouz
        .is_some_and(|(lat, lon)| (34.0..35.0).contains(&lat) && (40.0..41.5).contains(&lon)));
}

#[test]
fn clitics_quotes_and_word_boundaries() {
    let m = matcher();
    let kinds = |text: &str| -> Vec<(String, String)> {
        m.find(text)
            .0
            .into_iter()
            .map(|e| (e.surface, e.canonical))
            .collect()
    };
    // Proclitics and the ل + ال contraction.
    assert_eq!(
        kinds("وقالت مصادر لـ\"العربي الجديد\""),
        vec![("العربي الجديد".to_string(), "العربي الجديد".to_string())]
    );
    assert_eq!(
        kinds("التابعة للتحالف الدولي")
            .first()
            .map(|e| e.1.as_str()),
        Some("التحالف الدولي")
    );
    assert_eq!(
        kinds("بريف دير الزور").first().map(|e| e.1.as_str()),
        Some("دير الزور")
    );
    assert_eq!(kinds("وسوريا والعراق").len(), 2);
    // A quotation mark inside the name.
    assert_eq!(
        kinds("تنظيم \"داعش\" الإرهابي")
            .first()
            .map(|e| (e.0.as_str(), e.1.as_str())),
        Some(("تنظيم \"داعش", "تنظيم الدولة الإسلامية"))
    );
    // Not inside another word.
    assert!(kinds("السوريات").is_empty());
    assert!(kinds("The SDFX group").is_empty());
    assert_eq!(kinds("the SDF and ISIS").len(), 2);
}

#[test]
fn the_seed_yields_its_events() {
    use chrono::TimeZone;
    use khabar_core_model::{Article, FeedRef, RecordId};
    let mut article = Article::new(
        RecordId::from_url("u"),
        FeedRef::default(),
        "u",
        chrono::Utc::now(),
    );
    article.text = Some(body());
    article.published_at = chrono::Utc.with_ymd_and_hms(2019, 3, 1, 10, 12, 0).single();
    article.entities = matcher().find(&body()).0;
    let events = khabar_extractor::find_events(&article);
    let find = |sub: &str, pred: &dyn Fn(&khabar_core_model::Event) -> bool| {
        events
            .iter()
            .any(|e| e.sub_type.as_deref() == Some(sub) && pred(e))
    };
    // The coalition's air strikes on al-Baghouz, on Thursday night.
    assert!(
        find("Air/drone strike", &|e| e
            .actors
            .iter()
            .any(|a| a == "التحالف الدولي")
            && e.place.as_deref() == Some("الباغوز")),
        "{events:#?}"
    );
    assert!(
        find("Shelling/artillery/missile attack", &|e| e.date.as_deref()
            == Some("2019-02-28")
            && e.place.as_deref() == Some("الباغوز"))
            || find("Air/drone strike", &|e| e.date.as_deref()
                == Some("2019-02-28"))
    );
    // The evacuation from al-Baghouz to al-Hol camp, yesterday (Thursday) evening.
    assert!(
        find("Evacuation", &|e| e.place.as_deref() == Some("الباغوز")
            && e.date.as_deref() == Some("2019-02-28")),
        "{events:#?}"
    );
    // The oil fields handed over to the Deir ez-Zor Military Council.
    assert!(
        find("Non-violent transfer of territory", &|e| e
            .actors
            .iter()
            .any(|a| a == "مجلس دير الزور العسكري")),
        "{events:#?}"
    );
    // Clashes between the two, and the siege of ISIS in al-Baghouz.
    assert!(find("Armed clash", &|_| true), "{events:#?}");
    assert!(
        find("Siege", &|e| e
            .actors
            .iter()
            .any(|a| a == "تنظيم الدولة الإسلامية")),
        "{events:#?}"
    );
}

#[test]
fn the_seed_yields_its_sources_and_keyphrases() {
    let text = body();
    let found = khabar_extractor::attributions(&text);
    let speakers: Vec<String> = found
        .iter()
        .filter_map(|a| a["speaker"].as_str().map(str::to_string))
        .collect();
    assert!(speakers.iter().any(|s| s == "مصادر محلية"), "{speakers:?}");
    assert!(
        speakers.iter().any(|s| s == "المصادر المقربة من \"قسد\""),
        "{speakers:?}"
    );
    let english = khabar_extractor::attributions("Iraqi security forces fired tear gas, local sources said. According to Reuters witnesses, four died.");
    let speakers: Vec<&str> = english
        .iter()
        .filter_map(|a| a["speaker"].as_str())
        .collect();
    assert!(
        speakers.contains(&"local sources")
            && speakers.iter().any(|s| s.starts_with("Reuters witnesses")),
        "{speakers:?}"
    );

    let phrases: Vec<String> = khabar_extractor::keyphrases(&text, 10)
        .into_iter()
        .map(|k| k.phrase)
        .collect();
    assert!(
        phrases.iter().any(|p| p.contains("التحالف الدولي")),
        "{phrases:?}"
    );
    assert!(
        phrases.iter().any(|p| p.contains("سورية الديمقراطية")
            || p.contains("داعش")
            || p.contains("الباغوز")),
        "{phrases:?}"
    );
    assert!(phrases
        .iter()
        .all(|p| !["في", "من", "على"].contains(&p.as_str())));
}
