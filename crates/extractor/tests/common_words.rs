//! No ordinary Arabic word among the 5,000 most frequent (wordfreq) is taken for a place or a
//! person when it stands alone: the whole list is walked through the default `entities`
//! stage (curated list, GeoNames places, the name tagger).

use khabar_core_model::{
    Article, BuildContext, EntityKind, FeedRef, RecordId, Transform, TransformConfig,
};
use khabar_extractor::common_words::{WordFrequencies, WORDFREQ_AR};
use khabar_extractor::gazetteer::{parse_places_tsv, parse_tsv, CURATED};
use khabar_extractor::EntitiesConfig;

/// An Arabic article of `text` after the stage.
async fn through(stage: &dyn Transform, text: &str) -> Result<Article, String> {
    let url = "https://example.org/a";
    let mut article = Article::new(
        RecordId::from_url(url),
        FeedRef::default(),
        url,
        chrono::Utc::now(),
    );
    article.text = Some(text.to_string());
    article.language = Some("ar".to_string());
    stage
        .process(&mut article)
        .await
        .map_err(|e| e.to_string())?;
    Ok(article)
}

#[tokio::test]
async fn the_most_frequent_words_alone_are_no_places_or_people() -> Result<(), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let geonames = std::fs::read_to_string(root.join("config/gazetteers/geonames.tsv"))
        .map_err(|e| e.to_string())?;
    // Names by design: what the curated list names, and the countries and first-level
    // divisions of GeoNames (مصر and سوريا are among the most frequent words, as names).
    let mut names = std::collections::HashSet::new();
    let curated = parse_tsv(CURATED, "curated.tsv").map_err(|e| e.to_string())?;
    let places = parse_places_tsv(&geonames, "geonames.tsv").map_err(|e| e.to_string())?;
    let divisions = places
        .iter()
        .filter(|e| e.is_country() || e.feature.as_deref().is_some_and(|f| f.starts_with("A.")));
    for entry in curated.iter().chain(divisions) {
        for alias in &entry.aliases {
            names.insert(khabar_text::normalize_for_search(alias));
        }
    }

    let config: EntitiesConfig = serde_json::from_value(serde_json::json!({
        "places": ["config/gazetteers/geonames.tsv"],
    }))
    .map_err(|e| e.to_string())?;
    let ctx = BuildContext::standalone("entities", std::env::temp_dir(), root.clone());
    let stage = config.build(&ctx).await.map_err(|e| e.to_string())?;

    let words = WordFrequencies::most_common(WORDFREQ_AR);
    assert_eq!(words.len(), 5000);
    let mut wrong = Vec::new();
    for word in words {
        // A name behind proclitics (ومصر, والعراق) is that name, not an ordinary word.
        let folded = khabar_text::normalize_for_search(word);
        let mut forms = vec![folded.as_str()];
        let mut rest = folded.as_str();
        while let Some(shorter) = rest.strip_prefix(['و', 'ف', 'ب', 'ل', 'ك']) {
            forms.push(shorter);
            rest = shorter;
        }
        if forms.iter().any(|f| names.contains(*f)) {
            continue;
        }
        let article = through(stage.as_ref(), word).await?;
        for entity in &article.entities {
            if matches!(entity.kind, EntityKind::Place | EntityKind::Person) {
                wrong.push(format!("{word} → {:?} {}", entity.kind, entity.canonical));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} ordinary words taken for names:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    Ok(())
}

/// The ordinary words that became places on a map (دولة → Dhule, مدينة → Madinah, وقف → Al
/// Waqf, …) stay ordinary words in the sentences news writes them in, where the name tagger
/// reads them; and the places in the same sentences are still found.
#[tokio::test]
async fn ordinary_words_in_news_sentences_are_no_places() -> Result<(), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config: EntitiesConfig = serde_json::from_value(serde_json::json!({
        "places": ["config/gazetteers/geonames.tsv"],
    }))
    .map_err(|e| e.to_string())?;
    let ctx = BuildContext::standalone("entities", std::env::temp_dir(), root);
    let stage = config.build(&ctx).await.map_err(|e| e.to_string())?;
    // (sentence, the places it names)
    let cases: [(&str, &[&str]); 8] = [
        ("أعلنت الدولة وقف إطلاق النار في المدينة يوم الأحد.", &[]),
        (
            "قالت سلطات المدينة إن الحكومة الجديدة ستعلن خطتها دون تأخير.",
            &[],
        ),
        (
            "يتدرب اللاعبون يوميا على كرة القدم منذ سنة في القاهرة.",
            &["القاهرة"],
        ),
        (
            "كشف التقرير عنه تفاصيل جديدة عن الهجوم على بلدة الباغوز.",
            &["الباغوز"],
        ),
        ("وصل وفد من الدولة إلى دمشق لبحث وقف القتال.", &["دمشق"]),
        ("زار الرئيس مدينة حلب ثم عاد إلى بيروت.", &["حلب", "بيروت"]),
        (
            "قال مسؤول في سلطات دولة الكويت إن الاجتماع سيعقد دون إعلان.",
            &["الكويت"],
        ),
        (
            "نقلت وكالة فرانس برس عن مصادر في القدس أن الوضع هادئ.",
            &["القدس"],
        ),
    ];
    let mut wrong = Vec::new();
    for (text, places) in cases {
        let article = through(stage.as_ref(), text).await?;
        let found: Vec<&str> = article
            .entities
            .iter()
            .filter(|e| e.kind == EntityKind::Place)
            .map(|e| e.surface.as_str())
            .collect();
        for surface in &found {
            if !places.iter().any(|p| surface.contains(p)) {
                wrong.push(format!("{text}: {surface} taken for a place"));
            }
        }
        for place in places {
            if !found.iter().any(|f| f.contains(place)) {
                wrong.push(format!("{text}: {place} missed (found {found:?})"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}
