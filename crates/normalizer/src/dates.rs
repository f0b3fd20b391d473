//! Machine-readable dates from page metadata (ISO 8601 in its common shapes, RFC 2822).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

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
    let date_part = text.get(..10).unwrap_or(text);
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(date_part, format) {
            return d.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t));
        }
    }
    None
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
}
