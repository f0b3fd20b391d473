//! Arabic dates as feeds, pages and datelines write them, in every month-naming system, with
//! dual forms, Hijri dates (Umm al-Qura) and times: a table of several hundred strings, each
//! with the UTC instant it means. The strings are built from their parts (day, month, year,
//! time), so the expected instant never comes from the parser.

use chrono::{NaiveDate, TimeZone, Utc};
use khabar_text::parse_date;

/// Month names by system, as written (not folded), January first.
const EGYPTIAN: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];
const LEVANTINE: [&str; 12] = [
    "كانون الثاني",
    "شباط",
    "آذار",
    "نيسان",
    "أيار",
    "حزيران",
    "تموز",
    "آب",
    "أيلول",
    "تشرين الأول",
    "تشرين الثاني",
    "كانون الأول",
];
const MAGHREBI: [&str; 12] = [
    "جانفي",
    "فيفري",
    "مارس",
    "أفريل",
    "ماي",
    "جوان",
    "جويلية",
    "أوت",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];
const MOROCCAN: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "ماي",
    "يونيو",
    "يوليوز",
    "غشت",
    "شتنبر",
    "أكتوبر",
    "نونبر",
    "دجنبر",
];
/// Other spellings news sites use.
const VARIANTS: [(&str, u32); 10] = [
    ("إبريل", 4),
    ("ابريل", 4),
    ("يونية", 6),
    ("يوليه", 7),
    ("اغسطس", 8),
    ("كانون ثاني", 1),
    ("تشرين اول", 10),
    ("تشرين ثاني", 11),
    ("كانون اول", 12),
    ("مايو", 5),
];
const WEEKDAYS: [&str; 7] = [
    "الاثنين",
    "الثلاثاء",
    "الأربعاء",
    "الخميس",
    "الجمعة",
    "السبت",
    "الأحد",
];

fn arabic_indic(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0660 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

fn instant(y: i32, m: u32, d: u32, h: u32, min: u32) -> String {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

/// A Hijri day, month name and year, and its Gregorian date (year, month, day).
type HijriCase = (u32, &'static str, i64, (i32, u32, u32));

/// (input, expected instant)
fn table() -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (system, names) in [EGYPTIAN, LEVANTINE, MAGHREBI, MOROCCAN].iter().enumerate() {
        for (i, name) in names.iter().enumerate() {
            let month = i as u32 + 1;
            let day = (month * 7 + system as u32 * 3) % 28 + 1;
            let year = 2012 + ((i + system) % 13) as i32;
            let weekday = WEEKDAYS[(i + system) % 7];
            let at = instant(year, month, day, 0, 0);
            rows.push((format!("{day} {name} {year}"), at.clone()));
            rows.push((format!("{day:02} {name} {year}"), at.clone()));
            rows.push((format!("{weekday}، {day} {name} {year}"), at.clone()));
            rows.push((format!("{weekday} {day} {name}، {year}"), at.clone()));
            rows.push((arabic_indic(&format!("{day} {name} {year}")), at.clone()));
            // Times: 24-hour, 12-hour with ص/م and صباحًا/مساءً, after a dash or الساعة.
            let hour = (month * 5) % 11 + 1;
            let minute = (day * 7) % 60;
            rows.push((
                format!("{day} {name} {year} - {:02}:{minute:02}", hour + 12),
                instant(year, month, day, hour + 12, minute),
            ));
            rows.push((
                format!("{weekday}، {day} {name} {year} - {hour}:{minute:02} م"),
                instant(year, month, day, hour + 12, minute),
            ));
            rows.push((
                format!("{day} {name}، {year}، الساعة {hour:02}:{minute:02} صباحًا"),
                instant(year, month, day, hour, minute),
            ));
            rows.push((
                format!("{day} {name} {year} {hour:02}:{minute:02} مساءً"),
                instant(year, month, day, hour + 12, minute),
            ));
            // Zones in words.
            rows.push((
                format!(
                    "{day} {name} {year} {:02}:{minute:02} بتوقيت مكة المكرمة",
                    hour + 6
                ),
                instant(year, month, day, hour + 3, minute),
            ));
            rows.push((
                format!(
                    "{day} {name} {year} {:02}:{minute:02} بتوقيت غرينتش",
                    hour + 6
                ),
                instant(year, month, day, hour + 6, minute),
            ));
        }
    }
    // Dual names: Levantine with Egyptian, both orders, slash or brackets.
    for month in 1..=12u32 {
        let (lev, egy) = (LEVANTINE[month as usize - 1], EGYPTIAN[month as usize - 1]);
        let day = month + 10;
        let year = 2010 + month as i32;
        let at = instant(year, month, day, 0, 0);
        for text in [
            format!("{day} {lev}/{egy} {year}"),
            format!("{day} {egy}/ {lev} {year}"),
            format!("{day} {lev} ({egy}) {year}"),
            format!("{day} {egy} ({lev}) {year}"),
            format!("{day} {lev} / {egy} {year}"),
        ] {
            rows.push((text, at.clone()));
        }
    }
    for (name, month) in VARIANTS {
        let at = instant(2016, month, 9, 0, 0);
        rows.push((format!("9 {name} 2016"), at.clone()));
        rows.push((format!("الجمعة 09 {name} 2016"), at));
    }
    // Numeric dates with times.
    for (i, (d, m, y)) in [(24, 1, 2015), (3, 11, 2019), (30, 6, 2020), (1, 12, 2021)]
        .into_iter()
        .enumerate()
    {
        let (h, min) = (8 + i as u32, 5 * i as u32);
        let at = instant(y, m, d, h, min);
        rows.push((format!("{d:02}-{m:02}-{y} {h:02}:{min:02}"), at.clone()));
        rows.push((
            format!("نشر في: {d:02}/{m:02}/{y} - {h:02}:{min:02}"),
            at.clone(),
        ));
        rows.push((format!("{y}/{m:02}/{d:02} {h:02}:{min:02}"), at.clone()));
        rows.push((arabic_indic(&format!("{d}/{m}/{y} {h}:{min:02}")), at));
    }
    // Hijri dates, alone (Umm al-Qura) and beside the Gregorian date (the Gregorian part
    // wins; the Hijri numbers never fill its slots). Known Umm al-Qura days.
    let hijri: [HijriCase; 8] = [
        (11, "شوال", 1441, (2020, 6, 3)),
        (1, "رمضان", 1440, (2019, 5, 6)),
        (10, "ذو الحجة", 1440, (2019, 8, 11)),
        (4, "ربيع الآخر", 1436, (2015, 1, 24)),
        (19, "رجب", 1441, (2020, 3, 14)),
        (14, "رمضان", 1432, (2011, 8, 14)),
        (1, "محرم", 1440, (2018, 9, 11)),
        (24, "جمادى الآخرة", 1440, (2019, 3, 1)),
    ];
    for (day, name, year, (gy, gm, gd)) in hijri {
        let at = instant(gy, gm, gd, 0, 0);
        rows.push((format!("{day} {name} {year}هـ"), at.clone()));
        rows.push((format!("{day} {name} {year} هـ"), at.clone()));
        rows.push((arabic_indic(&format!("{day} {name} {year} هـ")), at.clone()));
        let weekday = WEEKDAYS[(day as usize) % 7];
        let gregorian = EGYPTIAN[gm as usize - 1];
        rows.push((
            format!("{weekday} - {day} {name} {year} هـ - {gd} {gregorian} {gy} مـ"),
            at.clone(),
        ));
        rows.push((
            format!("{gd} {gregorian} {gy} م الموافق {day} {name} {year} هـ"),
            at.clone(),
        ));
    }
    for (text, (y, m, d)) in [
        ("14-09-1432 هـ", (2011, 8, 14)),
        ("١٩‏/٧‏/١٤٤١ هـ", (2020, 3, 14)),
        ("11/10/1441هـ", (2020, 6, 3)),
        ("1440/09/01 هـ", (2019, 5, 6)),
    ] {
        rows.push((text.to_string(), instant(y, m, d, 0, 0)));
    }
    // As the issue quotes them.
    for (text, (y, m, d, h, min)) in [
        ("1 آذار/مارس 2019", (2019, 3, 1, 0, 0)),
        ("24 كانون الثاني (يناير) 2015", (2015, 1, 24, 0, 0)),
        ("17 مارس/ آذار 2020", (2020, 3, 17, 0, 0)),
        (
            "السبت - 4 ربيع الآخر 1436 هـ - 24 يناير 2015 مـ",
            (2015, 1, 24, 0, 0),
        ),
        ("24-01-2015 16:08", (2015, 1, 24, 16, 8)),
        ("6 يناير، 2015، الساعة 05:16 مساءً", (2015, 1, 6, 17, 16)),
        ("السبت، 24 يناير 2015 - 4:08 م", (2015, 1, 24, 16, 8)),
        ("نشر في: 24/01/2015 - 16:08", (2015, 1, 24, 16, 8)),
        ("01 مارس 2019", (2019, 3, 1, 0, 0)),
    ] {
        rows.push((text.to_string(), instant(y, m, d, h, min)));
    }
    rows
}

#[test]
fn arabic_dates_table() {
    let rows = table();
    assert!(rows.len() >= 400, "only {} strings", rows.len());
    let mut wrong = Vec::new();
    for (input, expected) in &rows {
        let got = parse_date(input).map(|d| d.to_rfc3339());
        if got.as_deref() != Some(expected.as_str()) {
            wrong.push(format!("{input}: {got:?}, expected {expected}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}

#[test]
fn hijri_numbers_never_fill_gregorian_slots() {
    // A Hijri date whose numbers alone would make a valid Gregorian date.
    let text = "الخميس 12 محرم 1442 هـ";
    let got = parse_date(text).map(|d| d.date_naive());
    assert_eq!(got, NaiveDate::from_ymd_opt(2020, 8, 31));
    // A Hijri year out of any range news uses is no date.
    assert_eq!(parse_date("12 محرم 2020"), None);
}
