//! Arabic dates from another project's test suite: every Arabic string with an expected
//! instant in the tests of dateparser 1.5.0 (BSD-3-Clause, scrapinghub/dateparser;
//! `tests/test_languages.py`, `test_date_parser.py`, `test_search.py`,
//! `test_freshness_date_parser.py`), copied as data with the values those tests expect. We did
//! not write these forms, so they check the parser on more than its own table.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use khabar_text::{parse_date, parse_relative};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|day| day.and_hms_opt(h, min, 0))
        .map(|t| Utc.from_utc_datetime(&t))
        .unwrap_or_default()
}

#[test]
fn absolute_dates_from_dateparser() {
    let table = [
        ("6 يناير، 2015، الساعة 05:16 مساءً", at(2015, 1, 6, 17, 16)),
        ("7 يناير، 2015، الساعة 11:00 صباحاً", at(2015, 1, 7, 11, 0)),
        ("الجمعه 5 يونيه 2020", at(2020, 6, 5, 0, 0)),
        ("6 يونية 2020", at(2020, 6, 6, 0, 0)),
        ("7 يوليه 2020", at(2020, 7, 7, 0, 0)),
        ("8 يولية 2020", at(2020, 7, 8, 0, 0)),
        ("۳ یولیو ۲۰۱۴", at(2014, 7, 3, 0, 0)),
        ("08 أكتوبر 2020 08:15 م", at(2020, 10, 8, 20, 15)),
        ("5 أكتوبر 2020", at(2020, 10, 5, 0, 0)),
        ("في 29 يوليو 1938", at(1938, 7, 29, 0, 0)),
        ("في 11 مايو 1939", at(1939, 5, 11, 0, 0)),
        ("5 يونيو 2020", at(2020, 6, 5, 0, 0)),
        ("5 يونيو 2020 الساعة 5:00 مساءً", at(2020, 6, 5, 17, 0)),
    ];
    let mut wrong = Vec::new();
    for (text, expected) in table {
        let got = parse_date(text);
        if got != Some(expected) {
            wrong.push(format!("{text}: expected {expected}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn relative_dates_from_dateparser() {
    let now = at(2026, 9, 23, 12, 0);
    let table = [
        ("اليوم", Duration::zero()),
        ("يوم أمس", Duration::days(1)),
        ("منذ يومين", Duration::days(2)),
        ("منذ 3 أيام", Duration::days(3)),
        ("منذ 21 أيام", Duration::days(21)),
        ("قبل ٥ ساعات", Duration::hours(5)),
        ("قبل يومين", Duration::days(2)),
    ];
    let mut wrong = Vec::new();
    for (text, ago) in table {
        let got = parse_relative(text, now);
        // A day-sized answer may fall on the day's start: the day is what must be right.
        let right = got.is_some_and(|g| {
            let want = now - ago;
            if ago.num_hours() % 24 == 0 {
                g.date_naive() == want.date_naive()
            } else {
                g == want
            }
        });
        if !right {
            wrong.push(format!("{text}: expected {} ago, got {got:?}", ago));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
