//! The reader's queries on a store the sink wrote: a story's cluster, places with their
//! events, browsing with filters.

use khabar_core_model::{
    Article, BuildContext, Entity, EntityKind, Event, FeedRef, Place, RecordId, SinkConfig,
};
use khabar_sqlite::reader::{article, browse, places};
use khabar_sqlite::{SearchFilter, SqliteConfig};

fn record(n: u32, published: &str, cluster: Option<&Article>) -> Article {
    let url = format!("https://example.org/{n}");
    let mut a = Article::new(
        RecordId::from_url(&url),
        FeedRef {
            source: "wire".into(),
            url: "https://example.org/feed".into(),
            title: None,
        },
        url,
        chrono::Utc::now(),
    );
    a.title = Some(format!("Story {n}"));
    a.language = Some(if n == 3 { "ar" } else { "en" }.into());
    a.published_at = chrono::DateTime::parse_from_rfc3339(published)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc));
    a.text = Some(format!("Air strikes hit Baghouz again, report {n}."));
    a.entities.push(Entity {
        surface: "Baghouz".into(),
        canonical: "الباغوز".into(),
        kind: EntityKind::Place,
        start: 16,
        end: 23,
        confidence: 0.9,
        ids: Default::default(),
    });
    a.places.push(Place {
        canonical: "الباغوز".into(),
        id: "khabar:baghouz".into(),
        lat: 34.47,
        lon: 40.94,
        country: Some("SY".into()),
    });
    a.events.push(Event {
        event_type: "Explosions/Remote violence".into(),
        sub_type: Some("Air/drone strike".into()),
        trigger: "Air strikes".into(),
        actors: Vec::new(),
        place: Some("الباغوز".into()),
        date: None,
        start: 0,
        end: 11,
        confidence: 0.8,
    });
    match cluster {
        Some(first) => {
            a.cluster_id = Some(first.id.clone());
            a.duplicate_of = Some(first.id.clone());
        }
        None => a.cluster_id = Some(a.id.clone()),
    }
    a
}

#[tokio::test]
async fn a_story_lists_its_other_records_and_places_count_articles_and_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config: SqliteConfig =
        serde_json::from_value(serde_json::json!({ "path": "k.db" })).expect("config");
    let ctx = BuildContext::standalone("db", dir.path().to_path_buf(), dir.path().to_path_buf());
    let mut sink = config.build(&ctx).await.expect("sink");
    let first = record(1, "2019-03-01T10:00:00Z", None);
    let copy = record(2, "2019-03-01T12:00:00Z", Some(&first));
    let other = record(3, "2019-03-05T08:00:00Z", None);
    let written = sink
        .write(&[first.clone(), copy.clone(), other.clone()])
        .await;
    assert!(written.iter().all(Result::is_ok), "{written:?}");
    sink.flush().await.expect("flush");
    let db = dir.path().join("k.db");

    let stored = article(&db, first.id.as_str())
        .expect("readable")
        .expect("stored");
    assert_eq!(stored.record.title.as_deref(), Some("Story 1"));
    let cluster: Vec<&str> = stored.cluster.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(cluster, [copy.id.as_str()]);
    assert_eq!(
        stored.cluster[0].duplicate_of.as_deref(),
        Some(first.id.as_str())
    );
    assert!(article(&db, "nothing-here").expect("readable").is_none());

    let dots = places(&db, None, None, 100).expect("places");
    assert_eq!(dots.len(), 1);
    assert_eq!(dots[0].articles, 3);
    assert_eq!(dots[0].events.get("Air/drone strike"), Some(&3));
    assert_eq!(
        dots[0].newest.first().map(|b| b.id.as_str()),
        Some(other.id.as_str())
    );
    let march_first = places(
        &db,
        Some("2019-03-01T00:00:00+00:00"),
        Some("2019-03-02T00:00:00+00:00"),
        100,
    )
    .expect("places");
    assert_eq!(march_first[0].articles, 2);

    let newest = browse(
        &db,
        &SearchFilter {
            limit: 10,
            ..SearchFilter::default()
        },
    )
    .expect("browse");
    let order: Vec<&str> = newest.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(
        order,
        [other.id.as_str(), copy.id.as_str(), first.id.as_str()]
    );
    let arabic = browse(
        &db,
        &SearchFilter {
            language: Some("ar".into()),
            entity: Some("الباغوز".into()),
            limit: 10,
            ..SearchFilter::default()
        },
    )
    .expect("browse");
    assert_eq!(arabic.len(), 1);
    let nowhere = browse(
        &db,
        &SearchFilter {
            place: Some("khabar:raqqa".into()),
            limit: 10,
            ..SearchFilter::default()
        },
    )
    .expect("browse");
    assert!(nowhere.is_empty());
}
