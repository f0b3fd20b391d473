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
    let text = article.text.unwrap_or_default();
    assert!(!text.contains("الخط"), "font control leaked");
    assert!(!text.contains("خلافات بين مكونات"), "caption leaked");
    let normalized = article.text_normalized.unwrap_or_default();
    assert!(normalized.contains("قوات سوريه الديمقراطيه"));
    assert!(article.content_hash.is_some());
}
