//! Khabar on NATS JetStream, to spread a pipeline over machines: the `nats` sink publishes
//! records (deduplicated by the server on `Nats-Msg-Id` = record id), the `nats` source consumes
//! them through a durable consumer shared by workers, and the `nats` state store keeps
//! checkpoints, schedules and feed leases in a key-value bucket every fetcher sees.

mod state;
mod stream;

pub use state::{NatsStateConfig, NatsStateStore};
pub use stream::{NatsSinkConfig, NatsSourceConfig};

use khabar_core_model::Registry;

/// Adds this crate's types to `registry`.
pub fn register(registry: &mut Registry) {
    registry.add_source::<NatsSourceConfig>(
        "nats",
        "NATS JetStream durable pull consumer shared by workers; acks a message when its record is delivered, naks to retry",
    );
    registry.add_sink::<NatsSinkConfig>(
        "nats",
        "NATS JetStream publisher, deduplicated on Nats-Msg-Id = record id; delivered on the server's acknowledgement",
    );
    registry.add_state_store::<NatsStateConfig>(
        "nats",
        "a NATS JetStream key-value bucket shared by fetchers on several machines, with per-feed leases",
    );
}
