//! Khabar's plugin SDK.
//!
//! Everything a stage author needs and nothing heavy: the [`Article`] record and its stable
//! [`RecordId`], the acknowledgement handle ([`Ack`]) that travels with every record, the three
//! stage traits ([`Source`], [`Transform`], [`Sink`]), the errors they report ([`StageError`]),
//! the [`StateStore`] for checkpoints and the explicit [`Registry`] that maps a config `type` to
//! a stage.

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

/// Re-exported so plugin crates use the same `async_trait` as the traits they implement.
pub use async_trait::async_trait;
