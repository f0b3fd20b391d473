//! Khabar's extractor: structured facts from clean text.
//!
//! Stage registered here: transform `rules` (user keyword and regex lists that add tags).

mod rules;

pub use rules::{Rule, RulesConfig};

use khabar_core_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.add_transform::<RulesConfig>(
        "rules",
        "adds tags from user keyword and regex rules matched against title, summary and text",
    );
}
