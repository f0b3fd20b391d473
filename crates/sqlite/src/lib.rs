//! Khabar's embedded SQLite: the default article store (upsert by id, an FTS5 index that
//! `khabar search` reads) and the default state store (checkpoints, schedules, leases).
//!
//! Registered here: the `sqlite` sink and the `sqlite` state store.

pub mod reader;
pub mod sink;
mod state;

pub use sink::{
    highlight_marked, open, open_with, search, search_marked, Marks, SearchFilter, SearchHit,
    SqliteConfig, StoreError, Synchronous,
};
pub use state::{SqliteStateConfig, SqliteStateStore};

use khabar_core_model::Registry;

/// Adds this crate's types to `registry`.
pub fn register(registry: &mut Registry) {
    registry.add_sink::<SqliteConfig>(
        "sqlite",
        "embedded SQLite store: upsert by id, FTS5 full-text index, searchable with `khabar search`",
    );
    registry.add_state_store::<SqliteStateConfig>(
        "sqlite",
        "one SQLite file in data_dir (the default): checkpoints, schedules and feed leases of one machine",
    );
}
