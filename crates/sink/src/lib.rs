//! Khabar's sinks that need no client library of their own: standard output, JSON Lines files
//! and webhooks. (SQLite, PostgreSQL and NATS each have their crate.)
//!
//! Stages registered here: `stdout`, `jsonl`, `webhook`.

mod jsonl;
mod stdout;
mod webhook;

pub use jsonl::JsonlConfig;
pub use stdout::StdoutConfig;
pub use webhook::{batch_id, signature, WebhookConfig};

use khabar_core_model::Registry;

/// Adds this crate's stage types to `registry`.
pub fn register(registry: &mut Registry) {
    registry.add_sink::<StdoutConfig>(
        "stdout",
        "prints each record as one JSON line on standard output",
    );
    registry.add_sink::<JsonlConfig>(
        "jsonl",
        "appends each record as one JSON line to a file; skips ids already in the file",
    );
    registry.add_sink::<WebhookConfig>(
        "webhook",
        "POSTs each batch as a JSON array, signed with HMAC-SHA256 when a secret is set; retries 5xx and timeouts",
    );
}
