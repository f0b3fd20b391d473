//! Khabar's plugin SDK.
//!
//! Everything a stage author needs and nothing heavy: the [`Article`] record and its stable
//! [`RecordId`], the acknowledgement handle ([`Ack`]) that travels with every record, the three
//! stage traits ([`Source`], [`Transform`], [`Sink`]), the errors they report ([`StageError`]),
//! the [`StateStore`] for checkpoints and the explicit [`Registry`] that maps a config `type` to
//! a stage.
//!
//! # Writing a plugin
//!
//! A stage is two types: its settings, decoded with serde from the stage's table in the
//! config, which implement [`TransformConfig`] (or [`SourceConfig`], [`SinkConfig`]); and the
//! stage that `build` makes from them, which implements [`Transform`] (or [`Source`],
//! [`Sink`]). A `register` function adds the settings type to a [`Registry`] under the name
//! the config's `type` gives; the binary calls it (`khabar::main_with` runs the command line
//! with the registry it is given). Here is a whole transform that counts the words of each
//! article, tested without a pipeline:
//!
//! ```
//! use khabar_core_model::{
//!     async_trait, Article, BuildContext, FeedRef, RecordId, Registry, StageError, Transform,
//!     TransformConfig, Verdict,
//! };
//! use serde::Deserialize;
//!
//! /// `[transforms.<id>] type = "word_count"`: unknown keys are an error naming the field.
//! #[derive(Debug, Clone, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! pub struct WordCountConfig {
//!     /// Articles with fewer words are dropped.
//!     #[serde(default)]
//!     pub min_words: usize,
//! }
//!
//! #[async_trait]
//! impl TransformConfig for WordCountConfig {
//!     // Checks decoding cannot express; `khabar validate` shows them with the stage's id.
//!     fn validate(&self) -> Vec<String> {
//!         if self.min_words > 100_000 {
//!             vec!["field `min_words`: more than 100000".to_string()]
//!         } else {
//!             Vec::new()
//!         }
//!     }
//!
//!     async fn build(&self, _ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError> {
//!         Ok(Box::new(WordCount { min_words: self.min_words }))
//!     }
//! }
//!
//! /// Called once per record, possibly for several records at once (`max_in_flight`).
//! pub struct WordCount {
//!     min_words: usize,
//! }
//!
//! #[async_trait]
//! impl Transform for WordCount {
//!     async fn process(&self, article: &mut Article) -> Result<Verdict, StageError> {
//!         let words = article.text.as_deref().unwrap_or("").split_whitespace().count();
//!         if words < self.min_words {
//!             return Ok(Verdict::Drop { reason: format!("{words} words") });
//!         }
//!         article.attrs.insert("word_count".into(), words.into());
//!         Ok(Verdict::Keep)
//!     }
//! }
//!
//! /// What the binary calls: `word_count::register(&mut registry)`.
//! pub fn register(registry: &mut Registry) {
//!     registry.add_transform::<WordCountConfig>("word_count", "counts the words of each article");
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = Registry::new();
//! register(&mut registry);
//! // The runtime decodes a stage's table like this (`khabar validate` reports the errors).
//! let settings = serde_json::json!({ "min_words": 3 });
//! let config = registry.decode_transform("word_count", settings).ok_or("not registered")??;
//! assert!(config.validate().is_empty());
//! let bad = registry.decode_transform("word_count", serde_json::json!({ "min_word": 3 }));
//! assert!(matches!(bad, Some(Err(e)) if e.to_string().contains("min_word")));
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! runtime.block_on(async {
//!     let ctx = BuildContext::standalone("words", std::env::temp_dir(), std::env::temp_dir());
//!     let stage = config.build(&ctx).await?;
//!     let url = "https://example.org/a";
//!     let mut article = Article::new(RecordId::from_url(url), FeedRef::default(), url, chrono::Utc::now());
//!     article.text = Some("three short words".into());
//!     assert_eq!(stage.process(&mut article).await?, Verdict::Keep);
//!     assert_eq!(article.attrs["word_count"], 3);
//!     article.text = Some("two words".into());
//!     assert!(matches!(stage.process(&mut article).await?, Verdict::Drop { .. }));
//!     Ok::<_, StageError>(())
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! Sinks and sources follow the same shape; their traits' documentation says how the runtime
//! drives them (batches and idempotent writes for a sink, acknowledgements and checkpoints
//! for a source). `cargo xtask new-plugin <source|transform|sink> <name>` writes such a crate,
//! with its tests and the binary that registers it.

#![warn(missing_docs)]

mod ack;
mod article;
pub mod duration;
mod error;
pub mod hex;
mod id;
mod registry;
mod stage;
mod state;
mod stats;
mod tap;

pub use ack::{Ack, AckReceiver, Outcome, Resolution};
pub use article::{
    Article, Entity, EntityKind, Event, FeedRef, Keyphrase, Place, Record, SCHEMA_VERSION,
};
pub use error::{error_chain, Cause, ErrorKind, StageError};
pub use id::RecordId;
pub use registry::{
    path_problems, BuildContext, InputFile, Registry, Resources, SettingsError, SinkConfig,
    SourceConfig, StageKind, StateContext, StateStoreConfig, TransformConfig, TypeInfo,
};
pub use stage::{
    DeadLetters, MemoryDeadLetters, RunMode, Sink, Source, SourceContext, Transform, Verdict,
};
pub use state::{MemoryStateStore, StateError, StateStore};
pub use stats::{RunStats, StageCounters};
pub use tap::{Tap, DEFAULT_BACKLOG as DEFAULT_TAP_BACKLOG};

/// Re-exported so plugin crates use the same `async_trait` as the traits they implement.
pub use async_trait::async_trait;
