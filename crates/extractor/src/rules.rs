//! The `rules` transform: analysts' own watch lists, as tags on matching records.

use async_trait::async_trait;
use khabar_core_model::{Article, BuildContext, StageError, Transform, TransformConfig, Verdict};
use regex::Regex;
use serde::Deserialize;

/// One rule: the tag to add when any keyword or pattern matches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub tag: String,
    /// Plain phrases, matched case-insensitively (Latin) as whole words.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regular expressions (Rust `regex` syntax).
    #[serde(default)]
    pub patterns: Vec<String>,
}

/// `[transforms.<id>] type = "rules"`, with `[[transforms.<id>.rules]]` tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    pub rules: Vec<Rule>,
    /// Drop records that match no rule (counted as delivered).
    #[serde(default)]
    pub drop_unmatched: bool,
}

fn keyword_regex(keyword: &str) -> Result<Regex, regex::Error> {
    // Word boundaries that also hold for Arabic: no letter or digit on either side, but an
    // Arabic proclitic (و ف ب ل ك, ال) may stand before the keyword.
    Regex::new(&format!(
        r"(?i)(?:^|[^\p{{L}}\p{{N}}]|[وفبلك]|ال|لل)({})(?:$|[^\p{{L}}\p{{N}}])",
        regex::escape(keyword.trim())
    ))
}

impl RulesConfig {
    fn compile(&self) -> Result<Vec<(String, Vec<Regex>)>, Vec<String>> {
        let mut problems = Vec::new();
        let mut compiled = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.tag.trim().is_empty() {
                problems.push(format!("field `rules[{i}].tag`: empty"));
            }
            if rule.keywords.is_empty() && rule.patterns.is_empty() {
                problems.push(format!(
                    "field `rules[{i}]`: needs `keywords` or `patterns`"
                ));
            }
            let mut regexes = Vec::new();
            for (j, k) in rule.keywords.iter().enumerate() {
                match keyword_regex(k) {
                    Ok(r) => regexes.push(r),
                    Err(e) => problems.push(format!("field `rules[{i}].keywords[{j}]`: {e}")),
                }
            }
            for (j, p) in rule.patterns.iter().enumerate() {
                match Regex::new(p) {
                    Ok(r) => regexes.push(r),
                    Err(e) => problems.push(format!("field `rules[{i}].patterns[{j}]`: {e}")),
                }
            }
            compiled.push((rule.tag.trim().to_string(), regexes));
        }
        if problems.is_empty() {
            Ok(compiled)
        } else {
            Err(problems)
        }
    }
}

#[async_trait]
impl TransformConfig for RulesConfig {
    fn validate(&self) -> Vec<String> {
        self.compile().err().unwrap_or_default()
    }

    async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
        let rules = self
            .compile()
            .map_err(|p| StageError::config(p.join("; ")))?;
        Ok(Box::new(Rules {
            rules,
            drop_unmatched: self.drop_unmatched,
        }))
    }
}

struct Rules {
    rules: Vec<(String, Vec<Regex>)>,
    drop_unmatched: bool,
}

#[async_trait]
impl Transform for Rules {
    fn cpu_bound(&self) -> bool {
        true
    }

    async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
        let fields = [
            article.title.as_deref(),
            article.summary.as_deref(),
            article.text.as_deref(),
        ];
        let mut matched = false;
        for (tag, regexes) in &self.rules {
            let hit = regexes
                .iter()
                .any(|r| fields.iter().flatten().any(|f| r.is_match(f)));
            if hit {
                matched = true;
                if !article.tags.iter().any(|t| t == tag) {
                    article.tags.push(tag.clone());
                }
            }
        }
        if !matched && self.drop_unmatched {
            return Ok(Verdict::Drop {
                reason: "matched no rule".to_string(),
            });
        }
        Ok(Verdict::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khabar_core_model::{FeedRef, RecordId};

    #[tokio::test]
    async fn tags_arabic_and_english_matches() -> Result<(), StageError> {
        let config: RulesConfig = serde_json::from_value(serde_json::json!({
            "rules": [
                {"tag": "syria", "keywords": ["سورية", "Syria"]},
                {"tag": "oil", "patterns": ["(?i)oil ?fields?|حقل|حقول"]},
                {"tag": "iraq", "keywords": ["Iraq"]}
            ]
        }))
        .map_err(|e| StageError::config(e.to_string()))?;
        assert!(config.validate().is_empty());
        let ctx = BuildContext::standalone("r", ".".into(), ".".into());
        let stage = config.build(&ctx).await?;
        let mut a = Article::new(
            RecordId::from_url("u"),
            FeedRef::default(),
            "u",
            chrono::Utc::now(),
        );
        a.text = Some("شمال شرق سورية، وتسلمت إدارة حقلي الجفرة. Not Iraqi news.".into());
        stage.process(&mut a).await?;
        assert_eq!(a.tags, vec!["syria".to_string(), "oil".to_string()]);
        let mut b = Article::new(
            RecordId::from_url("v"),
            FeedRef::default(),
            "v",
            chrono::Utc::now(),
        );
        b.text = Some("وفي بسورية".into());
        stage.process(&mut b).await?;
        assert_eq!(b.tags, vec!["syria".to_string()]);
        Ok(())
    }

    #[test]
    fn bad_pattern_is_named() {
        let config: Result<RulesConfig, _> =
            serde_json::from_value(serde_json::json!({"rules": [{"tag": "x", "patterns": ["("]}]}));
        let problems = config.map(|c| c.validate()).unwrap_or_default();
        assert!(
            problems.iter().any(|p| p.contains("rules[0].patterns[0]")),
            "{problems:?}"
        );
    }
}
