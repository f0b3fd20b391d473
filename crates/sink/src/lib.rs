//! Khabar's sinks: where records end up.
//!
//! Stages registered here: `stdout`, `jsonl`, `sqlite`. The SQLite store also answers
//! `khabar search` through [`sqlite::search`].

mod jsonl;
mod nats;
mod nats_state;
mod postgres;
pub mod sqlite;
mod stdout;
mod webhook;

pub use jsonl::JsonlConfig;
pub use nats::{NatsSinkConfig, NatsSourceConfig};
pub use nats_state::NatsStateStore;
pub use postgres::PostgresConfig;
pub use sqlite::SqliteConfig;
pub use stdout::StdoutConfig;
pub use webhook::{signature, WebhookConfig};

use khabar_core_model::Registry;

/// The check every file-writing sink makes of its `path` setting.
fn path_problems(path: &std::path::Path) -> Vec<String> {
    if path.as_os_str().is_empty() {
        vec!["field `path`: empty".to_string()]
    } else {
        Vec::new()
    }
}

pub fn register(registry: &mut Registry) {
    registry.add_sink::<StdoutConfig>(
        "stdout",
        "prints each record as one JSON line on standard output",
    );
    registry.add_sink::<JsonlConfig>(
        "jsonl",
        "appends each record as one JSON line to a file; skips ids already in the file",
    );
    registry.add_source::<NatsSourceConfig>(
        "nats",
        "NATS JetStream durable pull consumer shared by workers; acks a message when its record is delivered, naks to retry",
    );
    registry.add_sink::<NatsSinkConfig>(
        "nats",
        "NATS JetStream publisher, deduplicated on Nats-Msg-Id = record id; delivered on the server's acknowledgement",
    );
    registry.add_sink::<PostgresConfig>(
        "postgres",
        "PostgreSQL: upsert by id in batches, versioned schema, JSONB entities, places and events, a full-text column",
    );
    registry.add_sink::<WebhookConfig>(
        "webhook",
        "POSTs each batch as a JSON array, signed with HMAC-SHA256 when a secret is set; retries 5xx and timeouts",
    );
    registry.add_sink::<SqliteConfig>(
        "sqlite",
        "embedded SQLite store: upsert by id, FTS5 full-text index, searchable with `khabar search`",
    );
}
