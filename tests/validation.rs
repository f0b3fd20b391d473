//! `khabar validate` reports every problem of a config at once, each naming its stage and
//! field.

mod common;

use common::*;

fn validate(config: &str) -> (bool, String) {
    let (code, report) = validate_code(config, &[]);
    (code == Some(0), report)
}

const BROKEN: &str = r#"
[sources.news]
type = "feed"
urlz = ["https://example.org/rss"]

[sources.wire]
type = "fead"
urls = ["https://example.org/rss"]

[transforms.clean]
type = "normalize"
inputs = ["news", "nowhere"]

[transforms.loop_a]
type = "normalize"
inputs = ["loop_b"]

[transforms.loop_b]
type = "normalize"
inputs = ["loop_a"]

[transforms.orphan]
type = "normalize"

[sinks.db]
type = "sqlite"
inputs = ["clean"]

[sinks.news]
type = "stdout"
inputs = ["clean"]
"#;

#[test]
fn every_problem_is_reported_at_once() {
    let (ok, report) = validate(BROKEN);
    assert!(!ok);
    let expected = [
        // Unknown (misspelt) field, naming stage and field.
        "sources.news: unknown field `urlz`, expected one of",
        // Unknown type, listing the known ones.
        "sources.wire.type: unknown source type \"fead\"; known source types: feed",
        // Unknown input.
        "transforms.clean.inputs: unknown input \"nowhere\"",
        // Cycle.
        "the inputs form a cycle through: loop_a, loop_b",
        // A transform without inputs.
        "transforms.orphan.inputs: a transform needs `inputs`",
        // Missing field.
        "sinks.db: missing field `path`",
        // Duplicate id across sections.
        "sinks.news: duplicate id \"news\"",
    ];
    for message in expected {
        assert!(
            report.contains(message),
            "missing {message:?} in:\n{report}"
        );
    }
}

#[test]
fn wrong_value_types_name_the_field() {
    let (ok, report) = validate(
        r#"
[global]
shutdown_timeout = "soon"
[sources.news]
type = "feed"
urls = "https://example.org/rss"
[sources.wire]
type = "feed"
urls = ["https://example.org/rss"]
interval = "5 parsecs"
[transforms.page]
type = "fetch_article"
inputs = ["news", "wire"]
max_in_flight = 0
[sinks.out]
type = "jsonl"
inputs = ["page"]
path = "x.jsonl"
batch_timeout = 3
"#,
    );
    assert!(!ok);
    for message in [
        "global.shutdown_timeout: invalid duration \"soon\"",
        "sources.news: field `urls`: invalid type: string",
        "sources.wire: field `interval`: invalid duration \"5 parsecs\"",
        "transforms.page.max_in_flight: 0 is out of range (1 to 10000)",
        "sinks.out.batch_timeout: invalid type: integer `3`, expected a duration such as \"30s\"",
    ] {
        assert!(
            report.contains(message),
            "missing {message:?} in:\n{report}"
        );
    }
}

#[test]
fn a_sink_without_inputs_and_a_pipeline_without_sources() {
    let (ok, report) = validate("[sinks.out]\ntype = \"stdout\"\n");
    assert!(!ok);
    assert!(
        report.contains("sinks.out.inputs: a sink needs `inputs`"),
        "{report}"
    );
    assert!(
        report.contains("sources: the pipeline has no source"),
        "{report}"
    );
}

#[test]
fn unknown_section_and_unreadable_file() {
    let (ok, report) = validate("[sourcez.a]\ntype = \"feed\"\n");
    assert!(!ok);
    assert!(report.contains("sourcez: unknown section"), "{report}");
    let (ok, report) = validate("[sources.a\ntype = \"feed\"\n");
    assert!(!ok);
    assert!(
        report.contains("khabar.toml"),
        "the file is named: {report}"
    );
}

#[test]
fn the_shipped_configs_are_valid() {
    for name in [
        "khabar.toml",
        "demo.toml",
        "cluster/fetcher.toml",
        "cluster/worker.toml",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config")
            .join(name);
        let out = run(&["validate"], &path);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
    }
}

#[test]
fn environment_overrides_config_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        dir.path(),
        "[sources.news]\ntype = \"feed\"\nurls = [\"https://example.org/rss\"]\n[sinks.out]\ntype = \"stdout\"\ninputs = [\"news\"]\n",
    );
    let out = khabar()
        .args(["validate", "--config"])
        .arg(&path)
        .env("KHABAR__SOURCES__NEWS__INTERVAL", "not-a-duration")
        .output()
        .expect("run khabar");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("sources.news: field `interval`: invalid duration"),
        "{}",
        stderr(&out)
    );
}

/// Values that decode but would panic, hang or overflow at run time are refused up front.
#[test]
fn values_the_runtime_cannot_honour_are_refused() {
    let (ok, report) = validate(
        r#"
[global]
metrics_interval = "0s"
once_timeout = "0s"
[sources.news]
type = "feed"
urls = ["https://example.org/rss"]
buffer = 4611686018427387904
interval = "300000y"
max_interval = "300000y"
max_backoff = "300000y"
concurrency = 4611686018427387904
http = { per_host_concurrency = 4611686018427387904, max_connections = 4611686018427387904 }
[transforms.page]
type = "fetch_article"
inputs = ["news"]
max_in_flight = 4611686018427387904
retry_backoff = "300000y"
[transforms.dupes]
type = "dedupe"
inputs = ["page"]
ttl = "300000y"
[sinks.out]
type = "jsonl"
inputs = ["dupes"]
path = "x.jsonl"
batch_size = 4611686018427387904
"#,
    );
    assert!(!ok);
    for location in [
        "global.metrics_interval",
        "global.once_timeout",
        "sources.news.buffer",
        "field `interval`",
        "field `max_interval`",
        "field `max_backoff`",
        "field `concurrency`",
        "field `http.per_host_concurrency`",
        "field `http.max_connections`",
        "transforms.page.max_in_flight",
        "transforms.page.retry_backoff",
        "field `ttl`",
        "sinks.out.batch_size",
    ] {
        assert!(
            report.contains(location),
            "missing {location:?} in:\n{report}"
        );
    }
}

#[test]
fn the_state_store_is_chosen_through_the_registry() {
    let (ok, report) = validate(
        r#"
[global]
state = { type = "etcd", url = "http://127.0.0.1:2379" }
[sources.news]
type = "feed"
urls = ["https://example.org/rss"]
[sinks.out]
type = "stdout"
inputs = ["news"]
"#,
    );
    assert!(!ok);
    assert!(
        report.contains("global.state.type: unknown state store type \"etcd\"")
            && report.contains("nats")
            && report.contains("sqlite"),
        "{report}"
    );
    let (ok, report) = validate(
        r#"
[global]
state = { type = "nats", buckett = "x" }
[sources.news]
type = "feed"
urls = ["https://example.org/rss"]
[sinks.out]
type = "stdout"
inputs = ["news"]
"#,
    );
    assert!(!ok);
    assert!(
        report.contains("global.state") && report.contains("buckett"),
        "{report}"
    );
}

/// Found by fuzzing: a stage that names itself among its inputs made the graph check loop
/// while allocating (gigabytes in seconds).
#[test]
fn a_stage_reading_itself_is_reported_not_looped_on() {
    let (ok, report) = validate(
        r#"
[sources.news]
type = "feed"
urls = ["https://example.org/rss"]
[transforms.clean]
type = "normalize"
inputs = ["news"]
[transforms.entities]
type = "entities"
inputs = ["entities", "clean", "clean"]
[sinks.out]
type = "stdout"
inputs = ["entities"]
"#,
    );
    assert!(!ok);
    assert!(
        report.contains("transforms.entities.inputs: a stage cannot read its own output"),
        "{report}"
    );
    assert!(!report.contains("cycle"), "{report}");
}

/// Runs `validate` and returns (exit code, everything it printed).
fn validate_code(config: &str, extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content) in extra {
        std::fs::write(dir.path().join(name), content).expect("extra file");
    }
    let path = write_config(dir.path(), config);
    let out = run(&["validate"], &path);
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

#[test]
fn every_bad_field_of_a_stage_is_reported_with_its_index_as_written() {
    let (code, report) = validate_code(
        r#"
[sources.news]
type = "feed"
urls = [1, "https://example.org/rss", 2]
interval = "soon"
bogus = true

[transforms.ents]
type = "entities"
inputs = ["news"]
curated = "yes"
lists = [3]

[sinks.out]
type = "stdout"
inputs = ["ents"]
"#,
        &[],
    );
    assert_eq!(code, Some(2), "{report}");
    for expected in [
        "sources.news: field `urls[0]`: invalid type: integer `1`",
        "sources.news: field `urls[2]`: invalid type: integer `2`",
        "sources.news: field `interval`: invalid duration \"soon\"",
        "sources.news: unknown field `bogus`",
        "transforms.ents: field `curated`: invalid type",
        "transforms.ents: field `lists[0]`: invalid type",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    // A stage that failed to decode still reads its inputs: no false orphan upstream.
    assert!(!report.contains("nothing reads"), "{report}");
    assert!(!report.contains("missing field"), "{report}");
}

#[test]
fn a_cycle_names_only_the_stages_on_it() {
    let (code, report) = validate_code(
        r#"
[sources.news]
type = "feed"
urls = ["https://example.org/rss"]

[transforms.a]
type = "normalize"
inputs = ["news", "b"]

[transforms.b]
type = "normalize"
inputs = ["a"]

[transforms.after]
type = "normalize"
inputs = ["b"]

[sinks.out]
type = "stdout"
inputs = ["after"]
"#,
        &[],
    );
    assert_eq!(code, Some(2), "{report}");
    let line = report
        .lines()
        .find(|l| l.contains("cycle"))
        .unwrap_or_default()
        .to_string();
    assert!(line.ends_with("cycle through: a, b"), "{report}");
}

#[test]
fn files_the_stages_read_must_exist() {
    let config = r#"
[sources.news]
type = "feed"
opml = "feeds.opml"

[transforms.ents]
type = "entities"
inputs = ["news"]
lists = ["mine.tsv"]
places = ["places.tsv"]

[sinks.out]
type = "stdout"
inputs = ["ents"]
"#;
    let (code, report) = validate_code(config, &[("mine.tsv", "")]);
    assert_eq!(code, Some(2), "{report}");
    assert!(
        report.contains("sources.news.opml: no such file") && report.contains("feeds.opml"),
        "{report}"
    );
    assert!(
        report.contains("transforms.ents.places[0]: no such file"),
        "{report}"
    );
    assert!(!report.contains("lists[0]"), "{report}");

    let opml =
        r#"<opml version="2.0"><body><outline xmlUrl="https://example.org/rss"/></body></opml>"#;
    let (code, report) = validate_code(
        config,
        &[("mine.tsv", ""), ("places.tsv", ""), ("feeds.opml", opml)],
    );
    assert_eq!(code, Some(0), "{report}");
}

#[test]
fn every_config_error_exits_with_the_same_code() {
    let (syntax, report) = validate_code("[sources.news\ntype = 1\n", &[]);
    assert_eq!(syntax, Some(2), "{report}");
    assert!(report.contains("khabar.toml"), "{report}");
    let (field, _) = validate_code("[sources.news]\ntype = \"feed\"\n", &[]);
    assert_eq!(field, Some(2));
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = run(&["validate"], &dir.path().join("none.toml"));
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    // `once` and `run` say the same of the same config.
    let path = write_config(dir.path(), "[sources.news\n");
    assert_eq!(run(&["once"], &path).status.code(), Some(2));
}

#[test]
fn a_wrong_api_section_names_its_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        dir.path(),
        "[api]\naddress = \"localhost-ish\"\nport = 8686\n\
         [sources.s]\ntype = \"feed\"\nurls = [\"https://example.org/rss\"]\n\
         [sinks.out]\ntype = \"jsonl\"\ninputs = [\"s\"]\npath = \"out.jsonl\"\n",
    );
    // The tests' own override of the address is taken away: the config's is checked.
    let out = khabar()
        .env_remove("KHABAR__API__ADDRESS")
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .expect("validate");
    assert_eq!(out.status.code(), Some(2));
    let report = stderr(&out);
    assert!(report.contains("api"), "{report}");
    assert!(
        report.contains("port") || report.contains("address"),
        "{report}"
    );

    let good = write_config(
        dir.path(),
        "[api]\naddress = \"127.0.0.1:9797\"\nenabled = false\n\
         [sources.s]\ntype = \"feed\"\nurls = [\"https://example.org/rss\"]\n\
         [sinks.out]\ntype = \"jsonl\"\ninputs = [\"s\"]\npath = \"out.jsonl\"\n",
    );
    let out = khabar()
        .env_remove("KHABAR__API__ADDRESS")
        .args(["validate", "--config"])
        .arg(&good)
        .output()
        .expect("validate");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
