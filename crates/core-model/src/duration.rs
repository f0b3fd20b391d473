//! Human durations in config files (`"5m"`, `"30s"`, `"1h 30m"`, `"250ms"`).

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration setting that does not read as one.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationError {
    text: String,
    cause: humantime::DurationError,
}

impl std::fmt::Display for DurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid duration {:?} ({}); write it like \"30s\", \"5m\" or \"1h\"",
            self.text, self.cause
        )
    }
}

impl std::error::Error for DurationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// Parses a human duration, naming what is wrong.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    humantime::parse_duration(text.trim()).map_err(|cause| DurationError {
        text: text.to_string(),
        cause,
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
