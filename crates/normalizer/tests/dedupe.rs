//! `dedupe` on real-looking pairs: a syndicated Arabic report, an English wire story with an
//! edited copy, exact copies under other URLs, unrelated stories, replays, restarts, expiry.

use std::sync::Arc;

use chrono::Utc;
use khabar_core_model::{
    Article, BuildContext, FeedRef, MemoryStateStore, RecordId, Transform, TransformConfig, Verdict,
};
use khabar_normalizer::dedupe::DedupeConfig;

fn body() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seed/body.txt");
    std::fs::read_to_string(path).unwrap_or_default()
}

const WIRE: &str = "Iraqi security forces fired tear gas and live rounds at protesters in central Baghdad on Thursday, killing at least four people and wounding dozens, according to security and medical sources. The demonstrators had gathered near the Ahrar bridge, one of several crossings over the Tigris that protesters have tried to occupy in recent weeks. The protests, which began on October 1, are the largest Iraq has seen since the fall of Saddam Hussein, and more than 300 people have been killed. Demonstrators accuse the political elite of corruption and of serving foreign powers, in particular neighbouring Iran, and demand the overhaul of a political system established after the 2003 U.S.-led invasion. Prime Minister Adel Abdul Mahdi has promised electoral reform and a cabinet reshuffle, but protesters say the measures do not go far enough. Security forces have used live ammunition, tear gas canisters and stun grenades against the crowds, according to rights groups and Reuters witnesses.";

const OTHER: &str = "The European Central Bank left interest rates unchanged on Thursday and repeated that it expects them to stay at present or lower levels until inflation is robustly converging to its aim, as policymakers waited for the new president to lead a strategic review. The bank's deposit rate remains at minus 0.5 percent, and its asset purchases of 20 billion euros a month will continue for as long as necessary. Economists expect no change in policy for most of next year, as the bank assesses the side effects of negative rates on lenders and savers across the euro zone, where growth has slowed sharply amid trade tensions.";

fn article(url: &str, text: &str) -> Article {
    let mut a = Article::new(RecordId::from_url(url), FeedRef::default(), url, Utc::now());
    a.summary = Some(text.to_string());
    khabar_normalizer::normalize_article(&mut a);
    a
}

async fn stage(state: Arc<MemoryStateStore>, settings: serde_json::Value) -> Box<dyn Transform> {
    let mut ctx = BuildContext::standalone("dedupe", std::env::temp_dir(), std::env::temp_dir());
    ctx.state = state;
    let config: DedupeConfig = serde_json::from_value(settings).expect("settings");
    assert!(config.validate().is_empty());
    config.build(&ctx).await.expect("build")
}

fn kind(a: &Article) -> Option<String> {
    a.attrs
        .get("duplicate")
        .and_then(|d| d["kind"].as_str())
        .map(str::to_string)
}

#[tokio::test]
async fn syndicated_and_edited_copies_are_near_duplicates() {
    let state = Arc::new(MemoryStateStore::default());
    let dedupe = stage(state, serde_json::json!({})).await;

    let mut original = article("https://www.alaraby.co.uk/a", &body());
    assert_eq!(dedupe.process(&mut original).await, Ok(Verdict::Keep));
    assert!(original.duplicate_of.is_none());
    assert_eq!(original.cluster_id.as_ref(), Some(&original.id));
    assert!(original.simhash.as_deref().is_some_and(|h| h.len() == 16));

    // A syndicated copy: its own dateline, one sentence reworded, the last paragraph cut.
    let mut paragraphs: Vec<String> = body().trim().split("\n\n").map(str::to_string).collect();
    paragraphs.pop();
    paragraphs[0] = format!("دير الزور (الأناضول) - {}", paragraphs[0]);
    paragraphs[4] = paragraphs[4].replace("منذ أسبوعين", "منذ نحو أسبوعين");
    let mut copy = article(
        "https://other-site.example/syndicated",
        &paragraphs.join("\n\n"),
    );
    dedupe.process(&mut copy).await.expect("process");
    let distance = |a: &Article, b: &Article| {
        let h =
            |x: &Article| u64::from_str_radix(x.simhash.as_deref().unwrap_or("0"), 16).unwrap_or(0);
        (h(a) ^ h(b)).count_ones()
    };
    assert!(distance(&original, &copy) <= 10);
    assert_eq!(copy.duplicate_of.as_ref(), Some(&original.id));
    assert_eq!(copy.cluster_id.as_ref(), Some(&original.id));
    assert_eq!(kind(&copy).as_deref(), Some("near"));

    let mut wire = article("https://wire.example/iraq", WIRE);
    dedupe.process(&mut wire).await.expect("process");
    let edited = WIRE
        .replace("on Thursday", "on Thursday evening")
        .replace("Reuters witnesses", "witnesses")
        .replace("at least four people", "at least four protesters");
    let mut reprint = article(
        "https://paper.example/world/iraq-protests",
        &format!("BAGHDAD (Reuters) - {edited}"),
    );
    dedupe.process(&mut reprint).await.expect("process");
    assert!(distance(&wire, &reprint) <= 10);
    assert_eq!(reprint.duplicate_of.as_ref(), Some(&wire.id));

    // Unrelated stories stay apart, in both languages.
    let mut unrelated = article("https://bank.example/ecb", OTHER);
    dedupe.process(&mut unrelated).await.expect("process");
    // Unrelated texts sit near 32 of 64 bits apart.
    assert!(distance(&wire, &unrelated) > 20 && distance(&original, &unrelated) > 20);
    assert!(
        unrelated.duplicate_of.is_none(),
        "{:?}",
        unrelated.attrs.get("duplicate")
    );
    assert!(wire.duplicate_of.is_none());
}

#[tokio::test]
async fn exact_copies_replays_drop_restarts_and_expiry() {
    let state = Arc::new(MemoryStateStore::default());
    let dedupe = stage(Arc::clone(&state), serde_json::json!({"drop": true})).await;
    let mut first = article("https://a.example/1", WIRE);
    assert_eq!(dedupe.process(&mut first).await, Ok(Verdict::Keep));
    // The same record again (a replay after a crash) is not a duplicate of itself.
    let mut replay = article("https://a.example/1", WIRE);
    assert_eq!(dedupe.process(&mut replay).await, Ok(Verdict::Keep));
    assert!(replay.duplicate_of.is_none());
    // The same text at another URL: an exact content duplicate, dropped.
    let mut copy = article("https://b.example/copy", WIRE);
    let verdict = dedupe.process(&mut copy).await.expect("process");
    assert!(
        matches!(verdict, Verdict::Drop { ref reason } if reason.contains("content duplicate")),
        "{verdict:?}"
    );

    // A restart remembers.
    let again = stage(Arc::clone(&state), serde_json::json!({})).await;
    let mut later = article("https://c.example/later", WIRE);
    again.process(&mut later).await.expect("process");
    assert_eq!(later.duplicate_of.as_ref(), Some(&first.id));

    // Past the TTL, it forgets.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let forgetful = stage(Arc::clone(&state), serde_json::json!({"ttl": "10ms"})).await;
    let mut fresh = article("https://d.example/fresh", WIRE);
    forgetful.process(&mut fresh).await.expect("process");
    assert!(fresh.duplicate_of.is_none());
}

#[tokio::test]
async fn a_full_index_forgets_its_oldest_in_the_state_store_too() {
    let state = Arc::new(MemoryStateStore::default());
    let dedupe = stage(Arc::clone(&state), serde_json::json!({"max_entries": 10})).await;
    for i in 0..40 {
        let mut a = article(&format!("https://x.example/{i}"), &format!("{OTHER} {i}"));
        assert_eq!(dedupe.process(&mut a).await, Ok(Verdict::Keep));
    }
    use khabar_core_model::StateStore;
    let kept = state.keys("dedupe").await.expect("keys");
    // Ten at most in memory, a sweep's backlog at most still being deleted: never all forty.
    assert!(
        kept.len() <= 12,
        "{} fingerprints left in the store",
        kept.len()
    );
    assert!(kept.contains(
        &RecordId::from_url("https://x.example/39")
            .as_str()
            .to_string()
    ));
    assert!(!kept.contains(
        &RecordId::from_url("https://x.example/0")
            .as_str()
            .to_string()
    ));
    // A restart reads only what is left, and still finds a copy among it (the forty texts
    // differ by a number: near-duplicates of one story).
    let again = stage(Arc::clone(&state), serde_json::json!({"max_entries": 10})).await;
    let mut copy = article("https://elsewhere.example/39", &format!("{OTHER} 39"));
    assert_eq!(again.process(&mut copy).await, Ok(Verdict::Keep));
    assert!(copy.duplicate_of.is_some());
}

#[tokio::test]
async fn a_forgotten_record_that_comes_again_keeps_its_new_fingerprint() {
    use khabar_core_model::StateStore;
    let state = Arc::new(MemoryStateStore::default());
    let dedupe = stage(Arc::clone(&state), serde_json::json!({"max_entries": 100})).await;
    let first = RecordId::from_url("https://x.example/0");
    for i in 0..101 {
        let mut a = article(&format!("https://x.example/{i}"), &format!("{WIRE} {i}"));
        assert_eq!(dedupe.process(&mut a).await, Ok(Verdict::Keep));
    }
    // The sweep at the 101st record forgot the eleven oldest, `first` among them (deleted last
    // of them); it comes again before its delete has run, and the records after it drain the
    // backlog.
    let mut again = article("https://x.example/0", &format!("{WIRE} 0"));
    assert_eq!(dedupe.process(&mut again).await, Ok(Verdict::Keep));
    for i in 100..110 {
        let mut a = article(&format!("https://y.example/{i}"), &format!("{OTHER} {i}"));
        assert_eq!(dedupe.process(&mut a).await, Ok(Verdict::Keep));
    }
    let kept = state.keys("dedupe").await.expect("keys");
    assert!(
        kept.contains(&first.as_str().to_string()),
        "the record seen again lost its fingerprint"
    );
}
