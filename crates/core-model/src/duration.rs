//! Human durations in config files (`"5m"`, `"30s"`, `"1h 30m"`, `"250ms"`).

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Parses a human duration, naming what is wrong.
pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?} ({e}); write it like \"30s\", \"5m\" or \"1h\"")
    })
}

struct DurationText;

impl serde::de::Visitor<'_> for DurationText {
    type Value = Duration;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a duration such as \"30s\"")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
        parse(text).map_err(E::custom)
    }
}

/// `#[serde(deserialize_with = "khabar_core_model::duration::deserialize")]`
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_str(DurationText)
}

/// Same, for an optional field.
pub fn deserialize_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(text) => parse(&text).map(Some).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_common_forms() {
        assert_eq!(super::parse("5m"), Ok(std::time::Duration::from_secs(300)));
        assert_eq!(
            super::parse("250ms"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert!(super::parse("five minutes").is_err());
    }
}
