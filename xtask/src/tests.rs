use super::*;

#[test]
fn totals_add_every_binary_and_move_self_skipped_tests_out_of_passed() {
    let mut totals = Totals::default();
    for line in [
        "running 3 tests",
        "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.1s",
        "test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        "test something ... ok",
    ] {
        totals.add_line(line);
    }
    assert_eq!(
        totals,
        Totals {
            passed: 8,
            failed: 2,
            skipped: 1
        }
    );
    // The same test noted twice (a retry) is one test.
    let skipped = totals.add_self_skipped(
        "a_postgres_test\tKHABAR_TEST_POSTGRES_URL\n\
         a_nats_test\tKHABAR_TEST_NATS_URL\n\
         a_nats_test\tKHABAR_TEST_NATS_URL\n",
    );
    assert_eq!(skipped.len(), 2);
    assert_eq!(
        totals,
        Totals {
            passed: 6,
            failed: 2,
            skipped: 3
        }
    );
}

#[test]
fn every_command_has_help() {
    for (name, synopsis, about) in COMMANDS {
        let help = command_help(name).unwrap_or_default();
        assert!(
            help.starts_with(&format!("usage: cargo xtask {name}")),
            "{help}"
        );
        assert!(help.contains(synopsis) && help.contains(about));
    }
    assert_eq!(command_help("nope"), None);
}

#[test]
fn the_sdk_and_the_binary_are_publishable_and_test_helpers_are_not() {
    let names = publishable_crates().unwrap_or_default();
    for name in [
        "khabar",
        "khabar-core-model",
        "khabar-runtime",
        "khabar-fetcher",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    for name in ["khabar-testkit", "khabar-eval", "khabar-fuzzing"] {
        assert!(!names.iter().any(|n| n == name), "{name} in {names:?}");
    }
}
