//! Khabar's pipeline runtime: loads a config, checks the graph, builds the stages from the
//! registry, wires them with bounded channels, and drives them until the sources are done or
//! a shutdown is requested.

mod config;
mod cpu;
mod dead_letter;
mod drivers;
mod lag;
pub mod metrics;
mod monitor;
mod pipeline;
mod timed_state;
mod validate;

pub use config::{load_config, parse_config, ApiConfig, ConfigError, GlobalConfig, RawConfig};
pub use dead_letter::DeadLetter;
pub use lag::SchedulerLag;
pub use metrics::StageMetrics;
pub use monitor::{Check, Monitor, Phase, Readiness, Snapshot, StageStatus, Totals};
pub use pipeline::{Pipeline, RunSummary, Shutdown};
pub use validate::{validate, ConfigIssue, Plan, StagePlan};
