//! Dates written relative to now ("منذ ساعتين", "أمس", "2 hours ago") and Hijri dates
//! ("15 رجب 1440 هـ").

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::dates::HIJRI_MONTHS;
use crate::fold::normalize_for_search;

/// Units in search form, singular, dual and plural (Arabic), and English.
const UNITS: &[(&str, i64, i64)] = &[
    // (word, seconds per unit, count implied by the word itself: 0 = needs a number, 2 = dual)
    ("ثانيه", 1, 0),
    ("ثواني", 1, 0),
    ("ثانيتين", 1, 2),
    ("دقيقه", 60, 0),
    ("دقائق", 60, 0),
    ("دقيقتين", 60, 2),
    ("ساعه", 3600, 0),
    ("ساعات", 3600, 0),
    ("ساعتين", 3600, 2),
    ("يوم", 86_400, 0),
    ("ايام", 86_400, 0),
    ("يومين", 86_400, 2),
    ("اسبوع", 604_800, 0),
    ("اسابيع", 604_800, 0),
    ("اسبوعين", 604_800, 2),
    ("شهر", 2_592_000, 0),
    ("اشهر", 2_592_000, 0),
    ("شهور", 2_592_000, 0),
    ("شهرين", 2_592_000, 2),
    ("سنه", 31_536_000, 0),
    ("سنوات", 31_536_000, 0),
    ("سنتين", 31_536_000, 2),
    ("عام", 31_536_000, 0),
    ("اعوام", 31_536_000, 0),
    ("عامين", 31_536_000, 2),
    ("second", 1, 0),
    ("seconds", 1, 0),
    ("sec", 1, 0),
    ("secs", 1, 0),
    ("minute", 60, 0),
    ("minutes", 60, 0),
    ("min", 60, 0),
    ("mins", 60, 0),
    ("hour", 3600, 0),
    ("hours", 3600, 0),
    ("hr", 3600, 0),
    ("hrs", 3600, 0),
    ("day", 86_400, 0),
    ("days", 86_400, 0),
    ("week", 604_800, 0),
    ("weeks", 604_800, 0),
    ("month", 2_592_000, 0),
    ("months", 2_592_000, 0),
    ("year", 31_536_000, 0),
    ("years", 31_536_000, 0),
];

/// Resolves a relative expression against `now`: "منذ ساعتين", "قبل 3 أيام", "أمس",
/// "أول أمس", "اليوم", "2 hours ago", "an hour ago", "yesterday", "today", "just now".
pub fn parse_relative(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let folded = normalize_for_search(text);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    let phrase = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    // `now` may be a date read from a page and the count a number a page wrote: every step
    // is checked, and what does not fit is no date rather than a panic.
    let back = |seconds: i64| now.checked_sub_signed(Duration::try_seconds(seconds)?);
    // A bare "today" or "yesterday" is a date only when it is nearly all the text says
    // ("اليوم", "أمس الساعة 5 مساء"): inside a sentence ("يصادف اليوم ذكرى …") it is a word.
    let standalone = words.len() <= 4;
    if standalone && (phrase("اول", "امس") || phrase("اول", "البارحه")) {
        return back(2 * 86_400);
    }
    if standalone && (has("امس") || has("الامس") || has("البارحه") || has("yesterday"))
    {
        return back(86_400);
    }
    if standalone && (has("الان") || phrase("just", "now")) {
        return Some(now);
    }
    let relative = has("منذ") || has("قبل") || has("ago");
    if relative {
        for (i, word) in words.iter().enumerate() {
            let Some((_, seconds, implied)) = UNITS.iter().find(|(u, _, _)| u == word) else {
                continue;
            };
            let count = if *implied > 0 {
                *implied
            } else {
                match i.checked_sub(1).map(|j| words[j]) {
                    Some(n) if n.chars().all(|c| c.is_ascii_digit()) => n.parse().ok()?,
                    Some("a" | "an" | "one" | "منذ" | "قبل") | None => 1,
                    _ => 1,
                }
            };
            let count: i64 = count;
            return back(count.checked_mul(*seconds)?);
        }
    }
    if standalone && (has("اليوم") || has("today")) {
        return Some(now);
    }
    None
}

/// The Gregorian day of a Hijri date in the Umm al-Qura calendar, Saudi Arabia's official
/// one and the one Arabic news sites print (KACST's month lengths, through ICU4X's calendar;
/// the tabular approximation is a day off for many months). `None` for a day the month does
/// not have.
pub fn hijri_to_gregorian(year: i64, month: u32, day: u32) -> Option<NaiveDate> {
    use icu_calendar::cal::{Hijri, Iso};
    use icu_calendar::Date;
    // Years past 100,000 are no date anyone writes.
    if !(1..=12).contains(&month) || !(1..=30).contains(&day) || !(1..=100_000).contains(&year) {
        return None;
    }
    let hijri = Date::try_new_hijri_with_calendar(
        i32::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
        Hijri::new_umm_al_qura(),
    )
    .ok()?;
    let iso = hijri.to_calendar(Iso);
    NaiveDate::from_ymd_opt(
        iso.year().extended_year(),
        u32::from(iso.month().ordinal),
        u32::from(iso.day_of_month().0),
    )
}

/// Reads "15 رجب 1440" (optionally with هـ), digits in any script.
pub fn parse_hijri(text: &str) -> Option<DateTime<Utc>> {
    let folded = normalize_for_search(text);
    let (name, month) = HIJRI_MONTHS
        .iter()
        .find(|(name, _)| folded.contains(name))?;
    let at = folded.find(name)?;
    let before = &folded[..at];
    let after = &folded[at + name.len()..];
    let day: u32 = before
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|s| !s.is_empty())?
        .parse()
        .ok()?;
    let year: i64 = after
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())?
        .parse()
        .ok()?;
    if !(1300..=1600).contains(&year) {
        return None;
    }
    let date = hijri_to_gregorian(year, *month, day)?;
    Utc.from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2019, 3, 1, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn relative_table() {
        let table = [
            ("منذ ساعتين", "2019-03-01T10:00:00+00:00"),
            ("منذ 3 ساعات", "2019-03-01T09:00:00+00:00"),
            ("منذ ٥ دقائق", "2019-03-01T11:55:00+00:00"),
            ("قبل يومين", "2019-02-27T12:00:00+00:00"),
            ("منذ أسبوع", "2019-02-22T12:00:00+00:00"),
            ("أمس", "2019-02-28T12:00:00+00:00"),
            ("أول أمس", "2019-02-27T12:00:00+00:00"),
            ("اليوم", "2019-03-01T12:00:00+00:00"),
            ("2 hours ago", "2019-03-01T10:00:00+00:00"),
            ("an hour ago", "2019-03-01T11:00:00+00:00"),
            ("yesterday", "2019-02-28T12:00:00+00:00"),
            ("3 days ago", "2019-02-26T12:00:00+00:00"),
        ];
        for (input, expected) in table {
            assert_eq!(
                parse_relative(input, now())
                    .map(|d| d.to_rfc3339())
                    .as_deref(),
                Some(expected),
                "{input}"
            );
        }
        assert_eq!(parse_relative("in the hour", now()), None);
        // "Today" and "yesterday" inside a sentence are words, not the page's date.
        for sentence in [
            "يصادف اليوم ذكرى تأسيس المدينة القديمة",
            "قال الوزير أمس إن المفاوضات مستمرة",
            "The minister said today that talks continue",
        ] {
            assert_eq!(parse_relative(sentence, now()), None, "{sentence}");
        }
        assert_eq!(
            parse_relative("أمس الساعة 5 مساء", now()).map(|d| d.to_rfc3339()),
            Some("2019-02-28T12:00:00+00:00".to_string())
        );
    }

    #[test]
    fn hijri_table() {
        // Umm al-Qura: 1 Muharram 1440 = 2018-09-11; 1 Ramadan 1440 = 2019-05-06 (the tabular
        // calendar says 05-05); 10 Dhu al-Hijja 1440 = 2019-08-11 (Eid al-Adha in Saudi
        // Arabia); 1 Shawwal 1441 = 2020-05-24 (Eid al-Fitr).
        assert_eq!(
            hijri_to_gregorian(1440, 1, 1)
                .map(|d| d.to_string())
                .as_deref(),
            Some("2018-09-11")
        );
        assert_eq!(
            hijri_to_gregorian(1440, 9, 1)
                .map(|d| d.to_string())
                .as_deref(),
            Some("2019-05-06")
        );
        assert_eq!(
            hijri_to_gregorian(1441, 10, 1)
                .map(|d| d.to_string())
                .as_deref(),
            Some("2020-05-24")
        );
        // Safar 1441 has 29 days in Umm al-Qura: no 30 Safar.
        assert_eq!(hijri_to_gregorian(1441, 2, 30), None);
        assert!(hijri_to_gregorian(1441, 3, 30).is_some());
        assert_eq!(
            parse_hijri("10 ذو الحجة 1440 هـ")
                .map(|d| d.date_naive().to_string())
                .as_deref(),
            Some("2019-08-11")
        );
        assert_eq!(
            parse_hijri("الجمعة ٢٤ جمادى الآخرة ١٤٤٠")
                .map(|d| d.date_naive().to_string())
                .as_deref(),
            Some("2019-03-01")
        );
        assert_eq!(parse_hijri("رمضان كريم"), None);
    }
}

#[cfg(test)]
mod overflow {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn numbers_and_dates_out_of_range_are_no_date_not_a_panic() {
        let now = Utc::now();
        // Found by fuzzing: a count whose seconds overflow.
        assert_eq!(
            parse_relative("210000000000000000:05100000000000000015 hour ago", now),
            None
        );
        assert_eq!(parse_relative("9223372036854775807 years ago", now), None);
        let earliest = Utc
            .timestamp_opt(DateTime::<Utc>::MIN_UTC.timestamp(), 0)
            .single()
            .unwrap_or(now);
        assert_eq!(parse_relative("yesterday", earliest), None);
        assert_eq!(hijri_to_gregorian(i64::MAX, 1, 1), None);
    }
}

/// A date bound as stored (RFC 3339): a bare date means its midnight UTC; a relative form
/// ("yesterday", "3 days ago", "2 hours ago", "أمس") counts back from `now`, and when it
/// counts whole days it means that day's midnight UTC.
pub fn search_bound(text: &str, now: chrono::DateTime<chrono::Utc>) -> Result<String, String> {
    if let Some(date) = crate::parse_metadata_date(text) {
        return Ok(date.to_rfc3339());
    }
    let relative = crate::parse_relative(text, now).ok_or_else(|| {
        format!(
            "{text:?} is not a date; write YYYY-MM-DD, RFC 3339, \"yesterday\" or \"3 days ago\""
        )
    })?;
    let whole_days = (now - relative).num_seconds() % 86_400 == 0;
    let bound = if whole_days {
        relative
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|midnight| midnight.and_utc())
            .unwrap_or(relative)
    } else {
        relative
    };
    Ok(bound.to_rfc3339())
}
