//! The seed article (an Al-Araby Al-Jadeed report) must come out as its hand-checked body.

use chrono::{TimeZone, Utc};
use khabar_core_model::{Article, FeedRef, RecordId};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/seed")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn seed_page_gives_exactly_the_body() {
    let url =
        "https://www.alaraby.co.uk/politics/2019/3/1/coalition-strikes-baghouz?utm_source=rss";
    let mut article = Article::new(RecordId::from_url(url), FeedRef::default(), url, Utc::now());
    article.html = Some(fixture("article.html"));
    khabar_normalizer::normalize_article(&mut article);

    let expected = fixture("body.txt");
    assert_eq!(article.text.as_deref(), Some(expected.trim_end()));
    assert_eq!(
        article.title.as_deref(),
        Some("التحالف الدولي يقصف المنطقة المحاصرة في الباغوز بعد أسبوعين من الهدوء")
    );
    assert_eq!(article.language.as_deref(), Some("ar"));
    assert_eq!(article.site_name.as_deref(), Some("العربي الجديد"));
    assert_eq!(
        article.published_at,
        Utc.with_ymd_and_hms(2019, 3, 1, 10, 12, 0).single()
    );
    assert_eq!(
        article.canonical_url.as_deref(),
        Some("https://www.alaraby.co.uk/politics/2019/3/1/coalition-strikes-baghouz")
    );
    assert_eq!(
        article.id,
        RecordId::from_url("https://www.alaraby.co.uk/politics/2019/3/1/coalition-strikes-baghouz")
    );
    assert_eq!(article.attrs["section"], "سياسة");
    assert_eq!(
        article.attrs["metadata_sources"]["section"],
        "article:section"
    );
    assert_eq!(article.attrs["metadata_sources"]["title"], "json-ld");
    assert_eq!(article.attrs["metadata_sources"]["published_at"], "json-ld");
    let text = article.text.unwrap_or_default();
    assert!(!text.contains("الخط"), "font control leaked");
    assert!(!text.contains("خلافات بين مكونات"), "caption leaked");
    let normalized = article.text_normalized.unwrap_or_default();
    assert!(normalized.contains("قوات سوريه الديمقراطيه"));
    assert!(article.content_hash.is_some());
}

#[test]
fn datelines_and_url_dates_are_the_last_resort() {
    use khabar_normalizer::{dateline_date, url_date};
    let fetched = Utc
        .with_ymd_and_hms(2019, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let day = |d: Option<chrono::DateTime<Utc>>| d.map(|d| d.date_naive().to_string());
    assert_eq!(
        day(dateline_date(
            "BAGHDAD, 1 March 2019 (Reuters) - Iraqi forces fired tear gas",
            fetched
        ))
        .as_deref(),
        Some("2019-03-01")
    );
    assert_eq!(
        day(dateline_date(
            "دير الزور - الجمعة ٢٤ جمادى الآخرة ١٤٤٠ هـ\n\nقصفت قوات التحالف",
            fetched
        ))
        .as_deref(),
        Some("2019-03-01")
    );
    assert_eq!(
        day(dateline_date(
            "منذ ساعتين | قصفت قوات التحالف الدولي",
            fetched
        ))
        .as_deref(),
        Some("2019-03-01")
    );
    assert_eq!(
        dateline_date("The coalition struck 4 positions near the border", fetched),
        None
    );
    for url in [
        "https://www.alaraby.co.uk/politics/2019/3/1/coalition-strikes-baghouz",
        "https://example.org/news/2019-03-01-strikes",
        "https://example.org/a/20190301/strikes.html",
    ] {
        assert_eq!(day(url_date(url)).as_deref(), Some("2019-03-01"), "{url}");
    }
    assert_eq!(url_date("https://example.org/story/123456/strikes"), None);

    // In the pipeline: a page without date metadata, an item without a date.
    let mut article = Article::new(
        RecordId::from_url("u"),
        FeedRef::default(),
        "https://example.org/world/2019/03/01/story",
        fetched,
    );
    article
        .attrs
        .insert("published_at_estimated".into(), "fetch_time".into());
    article.published_at = Some(fetched);
    article.html = Some("<html><body><article><p>The coalition struck several positions in the besieged area overnight, local sources said.</p><p>Evacuations continued on Friday from the last pocket held by the group.</p></article></body></html>".into());
    khabar_normalizer::normalize_article(&mut article);
    assert_eq!(
        article.published_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2019-03-01T00:00:00+00:00")
    );
    assert_eq!(article.attrs["metadata_sources"]["published_at"], "url");
    assert!(!article.attrs.contains_key("published_at_estimated"));
}
