//! Khabar's extractor: structured facts from clean text.
//!
//! Stages registered here: transforms `entities` (people, organizations and places from
//! gazetteers, with aliases, Arabic clitics and coordinates) and `rules` (user keyword and
//! regex lists that add tags).

pub mod attributions;
pub mod common_words;
pub mod entities;
pub mod events;
pub mod gazetteer;
pub mod keyphrases;
pub mod latin_names;
pub mod latin_tagger;
pub mod name_features;
pub mod names;
pub mod ner;
mod rules;
mod taken;

pub use attributions::{attributions, AttributionsConfig};
pub use entities::{EntitiesConfig, Matcher};
pub use events::{find_events, EventsConfig};
pub use keyphrases::{keyphrases, KeyphrasesConfig};
pub use rules::{Rule, RulesConfig};

use khabar_core_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.add_transform::<KeyphrasesConfig>(
        "keyphrases",
        "the phrases an article is about (YAKE-like score; Arabic and English stop words left out)",
    );
    registry.add_transform::<AttributionsConfig>(
        "attributions",
        "who says so: reporting verbs with their speakers and source phrases, in attrs.attributions",
    );
    registry.add_transform::<EventsConfig>(
        "events",
        "events by sentence (ACLED-aligned types, evacuation, displacement) with actors, place and date; after `entities`",
    );
    registry.add_transform::<EntitiesConfig>(
        "entities",
        "people, organizations and places from gazetteers (aliases, Arabic clitics, quotes), places with coordinates",
    );
    registry.add_transform::<RulesConfig>(
        "rules",
        "adds tags from user keyword and regex rules matched against title, summary and text",
    );
}
