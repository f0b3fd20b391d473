//! Stable record ids: the same article always gets the same id, so sinks can upsert and a
//! replay after a crash duplicates nothing.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// 32 hex digits: the first 128 bits of a SHA-256 over a typed key. Never random.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(String);

impl RecordId {
    fn hash(parts: &[&str]) -> RecordId {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part.as_bytes());
            // A separator that cannot occur in the parts keeps ("ab","c") apart from ("a","bc").
            hasher.update([0u8]);
        }
        let digest = hasher.finalize();
        RecordId(crate::hex::encode(&digest[..16]))
    }

    /// From the article's canonical URL: the preferred key.
    pub fn from_url(canonical_url: &str) -> RecordId {
        RecordId::hash(&["url", canonical_url.trim()])
    }

    /// From the feed's item id, scoped to the feed (guids are only unique within one feed).
    pub fn from_guid(feed_url: &str, guid: &str) -> RecordId {
        RecordId::hash(&["guid", feed_url.trim(), guid.trim()])
    }

    /// Last resort: title and content.
    pub fn from_content(title: &str, content: &str) -> RecordId {
        RecordId::hash(&["content", title.trim(), content.trim()])
    }

    /// An id read back from storage or a message header.
    pub fn from_stored(id: impl Into<String>) -> RecordId {
        RecordId(id.into())
    }

    /// The id as text (lower-case hex).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct_by_key_kind() {
        let a = RecordId::from_url("https://x.org/a");
        assert_eq!(a, RecordId::from_url("https://x.org/a"));
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a, RecordId::from_guid("https://x.org/a", ""));
        assert_ne!(
            RecordId::from_content("ab", "c"),
            RecordId::from_content("a", "bc")
        );
        assert_ne!(
            RecordId::from_guid("https://x.org/rss", "1"),
            RecordId::from_guid("https://y.org/rss", "1")
        );
    }
}
