//! Dates as feeds, pages and articles write them.
//!
//! [`parse_metadata_date`] reads the machine forms of metadata (ISO 8601 in its common shapes,
//! RFC 2822). [`parse_date`] reads anything else a feed, a page's metadata or a dateline may
//! carry: RFC 822 with named zones and `GMT+3`, English and Arabic month names (the يناير, the
//! كانون الثاني, the Maghrebi جانفي and the Moroccan يوليوز/غشت systems, alone or paired),
//! Arabic-Indic digits, weekday names, 12-hour clocks (ص/م), zones in words (بتوقيت مكة
//! المكرمة), and Hijri dates in the Umm al-Qura calendar — where a line gives both calendars,
//! the Gregorian date.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use crate::fold::normalize_for_search;

/// Parses the date forms found in metadata. Times without a zone are taken as UTC; a date
/// without a time as midnight UTC.
pub fn parse_metadata_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(text) {
        return Some(d.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S %z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(text, format) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&d));
        }
    }
    // HTTP's two older forms, which some feeds copy from their server's headers: RFC 850
    // ("Friday, 01-Mar-19 10:12:00 GMT") and asctime ("Fri Mar  1 10:12:00 2019"), in UTC.
    let utc_named = ["GMT", "UTC", "UT", "Z"]
        .iter()
        .find_map(|zone| text.strip_suffix(zone).map(str::trim_end))
        .unwrap_or(text);
    for format in [
        "%A, %d-%b-%y %H:%M:%S",
        "%a, %d-%b-%y %H:%M:%S",
        "%a %b %e %H:%M:%S %Y",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(utc_named, format) {
            return Some(Utc.from_utc_datetime(&d));
        }
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(text, format) {
            return d.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t));
        }
    }
    None
}

/// Month names in their search form (see [`normalize_for_search`]), longest first within a
/// month so that "كانون الثاني" is not read as "كانون".
const MONTHS: &[(&str, u32)] = &[
    ("كانون الثاني", 1),
    ("كانون الاول", 12),
    ("تشرين الاول", 10),
    ("تشرين الثاني", 11),
    ("تشرين اول", 10),
    ("تشرين ثاني", 11),
    ("كانون ثاني", 1),
    ("كانون اول", 12),
    ("يناير", 1),
    ("فبراير", 2),
    ("مارس", 3),
    ("ابريل", 4),
    ("مايو", 5),
    ("يونيو", 6),
    ("يونيه", 6),
    ("يوليو", 7),
    ("يوليه", 7),
    ("اغسطس", 8),
    ("سبتمبر", 9),
    ("اكتوبر", 10),
    ("نوفمبر", 11),
    ("ديسمبر", 12),
    ("شباط", 2),
    ("اذار", 3),
    ("نيسان", 4),
    ("ايار", 5),
    ("حزيران", 6),
    ("تموز", 7),
    ("اب", 8),
    ("ايلول", 9),
    ("جانفي", 1),
    ("فيفري", 2),
    ("افريل", 4),
    ("ماي", 5),
    ("جوان", 6),
    ("جويليه", 7),
    ("اوت", 8),
    // Moroccan.
    ("يوليوز", 7),
    ("غشت", 8),
    ("شتنبر", 9),
    ("نونبر", 11),
    ("دجنبر", 12),
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sept", 9),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

/// Named zones of RFC 822 and common North American and European abbreviations, in minutes.
const ZONES: &[(&str, i32)] = &[
    ("gmt", 0),
    ("utc", 0),
    ("ut", 0),
    ("z", 0),
    ("est", -300),
    ("edt", -240),
    ("cst", -360),
    ("cdt", -300),
    ("mst", -420),
    ("mdt", -360),
    ("pst", -480),
    ("pdt", -420),
    ("cet", 60),
    ("cest", 120),
    ("eet", 120),
    ("eest", 180),
    ("bst", 60),
    ("wet", 0),
    ("west", 60),
    ("msk", 180),
    ("trt", 180),
    ("irst", 210),
    ("ist", 330),
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(String),
    Time(u32, u32, u32),
    Offset(i32),
    Separator(char),
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ':') {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            // Fractional seconds add nothing a news record needs.
            if i < chars.len() && chars[i] == '.' && run.contains(':') {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let parts: Vec<&str> = run.split(':').collect();
            match parts.as_slice() {
                [h, m] | [h, m, _] if !h.is_empty() && !m.is_empty() => {
                    let sec = parts.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
                    if let (Ok(h), Ok(m)) = (h.parse(), m.parse()) {
                        tokens.push(Token::Time(h, m, sec));
                    }
                }
                _ => tokens.push(Token::Number(run.trim_end_matches(':').to_string())),
            }
        } else if (c == '+' || c == '-')
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
            && matches!(tokens.last(), Some(Token::Time(..)) | Some(Token::Word(_)))
        {
            // An offset follows a time or a zone name: +0300, +03:00, GMT+3, UTC-5.
            let sign = if c == '-' { -1 } else { 1 };
            i += 1;
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ':') {
                i += 1;
            }
            let digits: String = chars[start..i]
                .iter()
                .filter(|c| c.is_ascii_digit())
                .collect();
            let minutes = match digits.len() {
                1 | 2 => digits.parse::<i32>().unwrap_or(0) * 60,
                3 => {
                    digits[..1].parse::<i32>().unwrap_or(0) * 60
                        + digits[1..].parse::<i32>().unwrap_or(0)
                }
                4 => {
                    digits[..2].parse::<i32>().unwrap_or(0) * 60
                        + digits[2..].parse::<i32>().unwrap_or(0)
                }
                _ => 0,
            };
            tokens.push(Token::Offset(sign * minutes));
        } else {
            if matches!(c, '/' | '.' | '-') {
                tokens.push(Token::Separator(c));
            }
            i += 1;
        }
    }
    tokens
}

fn month_number(word: &str) -> Option<u32> {
    MONTHS
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, m)| *m)
}

fn expand_year(year: i32, digits: usize) -> i32 {
    match digits {
        2 if year < 70 => 2000 + year,
        2 => 1900 + year,
        _ => year,
    }
}

/// Hijri month names in search form (the two-word names first, so that ربيع الاول is not
/// read as a one-word name inside it).
pub(crate) const HIJRI_MONTHS: &[(&str, u32)] = &[
    ("ربيع الاول", 3),
    ("ربيع اول", 3),
    ("ربيع الاخر", 4),
    ("ربيع الثاني", 4),
    ("ربيع ثاني", 4),
    ("جمادي الاولي", 5),
    ("جمادي الاول", 5),
    ("جمادي الاخره", 6),
    ("جمادي الثانيه", 6),
    ("جمادي الاخر", 6),
    ("ذو القعده", 11),
    ("ذي القعده", 11),
    ("ذو الحجه", 12),
    ("ذي الحجه", 12),
    ("محرم", 1),
    ("صفر", 2),
    ("رجب", 7),
    ("شعبان", 8),
    ("رمضان", 9),
    ("شوال", 10),
];

/// The one-word stand-in for a two-word Hijri month (letters only, so the tokenizer keeps
/// it one word).
fn hijri_marker(month: u32) -> String {
    let letter = char::from_u32(u32::from(b'a') + month.saturating_sub(1)).unwrap_or('a');
    format!("hijrimonth{letter}")
}

fn hijri_month(word: &str) -> Option<u32> {
    if let Some(letter) = word.strip_prefix("hijrimonth") {
        let c = letter.chars().next()?;
        return Some(u32::from(c).checked_sub(u32::from('a'))? + 1).filter(|m| *m <= 12);
    }
    HIJRI_MONTHS
        .iter()
        .find(|(name, _)| !name.contains(' ') && *name == word)
        .map(|(_, m)| *m)
}

/// هـ (folded ه), هجري, هجريه: the numbers before it are a Hijri date.
fn is_hijri_mark(word: &str) -> bool {
    matches!(word, "ه" | "هجري" | "هجريه" | "للهجره")
}

/// The parts of a Hijri date found so far.
#[derive(Debug, Default)]
struct HijriParts {
    day: Option<u32>,
    month: Option<u32>,
    year: Option<i64>,
    expect_year: bool,
}

impl HijriParts {
    /// At هـ: the numbers of the current run are the Hijri date's (a year after a named
    /// month, or a numeric day-month-year), taken out of the Gregorian candidates.
    fn take_marked(&mut self, numbers: &mut Vec<(String, Option<char>)>, run_start: usize) {
        let run: Vec<i64> = numbers
            .get(run_start..)
            .unwrap_or_default()
            .iter()
            .filter_map(|(n, _)| n.parse().ok())
            .collect();
        numbers.truncate(run_start.min(numbers.len()));
        match run.as_slice() {
            [] => {}
            [year] if self.month.is_some() => self.year = self.year.or(Some(*year)),
            [day, month, year, ..] if self.month.is_none() => {
                let (day, month, year) = if *day > 31 {
                    (*year, *month, *day)
                } else {
                    (*day, *month, *year)
                };
                self.day = u32::try_from(day).ok();
                self.month = u32::try_from(month).ok();
                self.year = Some(year);
            }
            _ => {}
        }
    }

    fn to_gregorian(&self) -> Option<NaiveDate> {
        let year = self.year.filter(|y| (1300..=1600).contains(y))?;
        crate::relative::hijri_to_gregorian(year, self.month?, self.day?)
    }
}

/// Zones news writes in words: "بتوقيت مكة المكرمة", "بتوقيت غرينتش" (search form).
const NAMED_ZONES: &[(&str, i32)] = &[
    ("بتوقيت مكه", 180),
    ("بتوقيت السعوديه", 180),
    ("بتوقيت الرياض", 180),
    ("بتوقيت الدوحه", 180),
    ("بتوقيت قطر", 180),
    ("بتوقيت بغداد", 180),
    ("بتوقيت الكويت", 180),
    ("بتوقيت ابوظبي", 240),
    ("بتوقيت الامارات", 240),
    ("بتوقيت دبي", 240),
    ("بتوقيت غرينتش", 0),
    ("بتوقيت غرينيتش", 0),
    ("بتوقيت جرينتش", 0),
    ("بتوقيت جرينيتش", 0),
];

/// Reads a date in any of the forms above. A date without a zone is taken as UTC; a date
/// without a time as midnight.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Some(d) = parse_metadata_date(text) {
        return Some(d);
    }
    let mut folded = normalize_for_search(text);
    // Two-word Levantine months become one token before splitting.
    const ENGLISH: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    for (name, month) in MONTHS.iter().filter(|(n, _)| n.contains(' ')) {
        folded = folded.replace(name, &format!(" {} ", ENGLISH[(*month as usize) - 1]));
    }
    // Two-word Hijri months (ربيع الاول) become one word too, a letter-only marker.
    for (name, month) in HIJRI_MONTHS.iter().filter(|(n, _)| n.contains(' ')) {
        folded = folded.replace(name, &format!(" {} ", hijri_marker(*month)));
    }
    let zone_named = NAMED_ZONES
        .iter()
        .find(|(phrase, _)| folded.contains(phrase))
        .map(|(_, minutes)| *minutes);
    let tokens = tokenize(&folded);

    let (mut day, mut month, mut year) = (None::<u32>, None::<u32>, None::<i32>);
    let mut time: Option<(u32, u32, u32)> = None;
    let mut offset: Option<i32> = None;
    let mut pm: Option<bool> = None;
    let mut numbers: Vec<(String, Option<char>)> = Vec::new();
    let mut last_sep = None;
    // A Hijri date beside the Gregorian one ("4 ربيع الآخر 1436 هـ - 24 يناير 2015 م") or
    // alone: its numbers never fill the Gregorian slots.
    let mut hijri = HijriParts::default();
    // Where the current run of numbers (since the last word) starts in `numbers`.
    let mut run_start = 0;
    for token in &tokens {
        if let Token::Word(w) = token {
            if let Some(m) = hijri_month(w) {
                hijri.month = Some(m);
                // The day came just before the month's name.
                if numbers.len() > run_start {
                    hijri.day = numbers.pop().and_then(|(n, _)| n.parse().ok());
                }
                hijri.expect_year = true;
                run_start = numbers.len();
                last_sep = None;
                continue;
            }
            if is_hijri_mark(w) {
                hijri.take_marked(&mut numbers, run_start);
                hijri.expect_year = false;
                run_start = numbers.len();
                last_sep = None;
                continue;
            }
            hijri.expect_year = false;
        }
        if let Token::Number(n) = token {
            if hijri.expect_year && hijri.year.is_none() {
                hijri.year = n.parse().ok();
                hijri.expect_year = false;
                continue;
            }
        }
        match token {
            Token::Word(w) => {
                run_start = numbers.len();
                if let Some(m) = month_number(w) {
                    if month.is_none() {
                        month = Some(m);
                    }
                } else if let Some((_, minutes)) = ZONES.iter().find(|(z, _)| z == w) {
                    offset = Some(*minutes);
                } else if matches!(w.as_str(), "am" | "a" | "ص" | "صباحا") {
                    pm = Some(false);
                } else if matches!(w.as_str(), "pm" | "p" | "م" | "مساء" | "ظهرا") && time.is_some()
                {
                    pm = Some(true);
                }
                last_sep = None;
            }
            Token::Number(n) => {
                numbers.push((n.clone(), last_sep));
                last_sep = None;
            }
            Token::Time(h, m, s) => time = Some((*h, *m, *s)),
            Token::Offset(minutes) => offset = Some(offset.unwrap_or(0).saturating_add(*minutes)),
            Token::Separator(c) => last_sep = Some(*c),
        }
    }
    if month.is_some() {
        for (n, _) in &numbers {
            let value: i64 = n.parse().ok()?;
            if n.len() == 4 && year.is_none() {
                year = Some(value as i32);
            } else if day.is_none() && (1..=31).contains(&value) {
                day = Some(value as u32);
            } else if year.is_none() && n.len() == 2 {
                year = Some(expand_year(value as i32, 2));
            }
        }
    } else {
        // Numeric dates: 2019/03/01 (year first), else day first (01/03/2019), unless the
        // middle number cannot be a month (03/25/2019).
        let triple: Vec<&(String, Option<char>)> = numbers.iter().take(3).collect();
        if triple.len() == 3 && triple[1].1.is_some() && triple[2].1.is_some() {
            let v: Vec<i64> = triple.iter().filter_map(|(n, _)| n.parse().ok()).collect();
            if v.len() == 3 {
                if triple[0].0.len() == 4 {
                    (year, month, day) = (Some(v[0] as i32), Some(v[1] as u32), Some(v[2] as u32));
                } else if v[1] > 12 {
                    (month, day, year) = (
                        Some(v[0] as u32),
                        Some(v[1] as u32),
                        Some(expand_year(v[2] as i32, triple[2].0.len())),
                    );
                } else {
                    (day, month, year) = (
                        Some(v[0] as u32),
                        Some(v[1] as u32),
                        Some(expand_year(v[2] as i32, triple[2].0.len())),
                    );
                }
            }
        }
    }
    let offset = offset.or(zone_named);
    let date = match (year, month, day) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y, m, d)?,
        _ => hijri.to_gregorian()?,
    };
    let (mut hour, minute, second) = time.unwrap_or((0, 0, 0));
    match pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let naive = date.and_time(NaiveTime::from_hms_opt(hour, minute, second.min(59))?);
    let zone = FixedOffset::east_opt(offset.unwrap_or(0).checked_mul(60)?)?;
    let local = zone.from_local_datetime(&naive).single()?;
    let utc = local.with_timezone(&Utc);
    (utc.year() >= 1900).then_some(utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_date_table() {
        let table = [
            ("2019-03-01T10:12:00+00:00", "2019-03-01T10:12:00+00:00"),
            ("2019-03-01T13:12:00+03:00", "2019-03-01T10:12:00+00:00"),
            ("2019-03-01T10:12:00Z", "2019-03-01T10:12:00+00:00"),
            ("2019-03-01T10:12:00.123Z", "2019-03-01T10:12:00.123+00:00"),
            ("2019-03-01T10:12:00+0000", "2019-03-01T10:12:00+00:00"),
            ("2019-03-01T10:12:00", "2019-03-01T10:12:00+00:00"),
            ("2019-03-01 10:12", "2019-03-01T10:12:00+00:00"),
            ("2019-03-01", "2019-03-01T00:00:00+00:00"),
            ("Fri, 01 Mar 2019 10:12:00 GMT", "2019-03-01T10:12:00+00:00"),
            (
                "Friday, 01-Mar-19 10:12:00 GMT",
                "2019-03-01T10:12:00+00:00",
            ),
            ("Fri, 01-Mar-19 10:12:00 UT", "2019-03-01T10:12:00+00:00"),
            ("Fri Mar  1 10:12:00 2019", "2019-03-01T10:12:00+00:00"),
        ];
        for (input, expected) in table {
            assert_eq!(
                parse_metadata_date(input)
                    .map(|d| d.to_rfc3339())
                    .as_deref(),
                Some(expected),
                "{input}"
            );
        }
        assert_eq!(parse_metadata_date("yesterday"), None);
    }

    #[test]
    fn free_form_date_table() {
        let table = [
            ("Fri, 01 Mar 2019 10:12:00 GMT", "2019-03-01T10:12:00+00:00"),
            (
                "Fri, 01 Mar 2019 13:12:00 +0300",
                "2019-03-01T10:12:00+00:00",
            ),
            ("Fri, 1 Mar 2019 05:12:00 EST", "2019-03-01T10:12:00+00:00"),
            (
                "Fri, 01 Mar 2019 13:12:00 GMT+3",
                "2019-03-01T10:12:00+00:00",
            ),
            (
                "Fri, 01 Mar 2019 13:12:00 GMT+03:00",
                "2019-03-01T10:12:00+00:00",
            ),
            ("01 Mar 19 10:12 UT", "2019-03-01T10:12:00+00:00"),
            (
                "Friday, March 1, 2019 10:12 AM",
                "2019-03-01T10:12:00+00:00",
            ),
            ("March 1, 2019 1:12 PM PST", "2019-03-01T21:12:00+00:00"),
            ("01 مارس 2019", "2019-03-01T00:00:00+00:00"),
            ("الجمعة ٠١ مارس ٢٠١٩ - ١٠:١٢", "2019-03-01T10:12:00+00:00"),
            ("1 آذار 2019", "2019-03-01T00:00:00+00:00"),
            ("الأحد، 15 كانون الثاني 2023", "2023-01-15T00:00:00+00:00"),
            ("3 تشرين الأول 2020 14:05", "2020-10-03T14:05:00+00:00"),
            ("12 أيلول/سبتمبر 2021", "2021-09-12T00:00:00+00:00"),
            ("02 جانفي 2022", "2022-01-02T00:00:00+00:00"),
            ("١٥/٠٣/٢٠٢٤", "2024-03-15T00:00:00+00:00"),
            ("2024/03/15 08:00", "2024-03-15T08:00:00+00:00"),
            ("03/25/2024", "2024-03-25T00:00:00+00:00"),
            ("2019-03-01 10:12:00 +03:00", "2019-03-01T07:12:00+00:00"),
        ];
        for (input, expected) in table {
            assert_eq!(
                parse_date(input).map(|d| d.to_rfc3339()).as_deref(),
                Some(expected),
                "{input}"
            );
        }
        for bad in ["", "soon", "31 February 2019", "the 5th"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
