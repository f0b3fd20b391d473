//! Text utilities that several plugin crates need (plugins never depend on each other, so the
//! shared pieces live here):
//!
//! - [`fold`]: the text as written (`clean_text`) and its search and matching form
//!   (`normalize_for_search`), each Arabic mapping a small, table-tested function;
//! - [`dates`]: dates as feeds, pages and article text write them, in English and Arabic;
//! - [`relative`]: relative expressions (منذ ساعتين, yesterday) and Hijri dates.

pub mod dates;
pub mod fold;
pub mod relative;

pub use dates::{parse_date, parse_metadata_date};
pub use fold::{
    clean_text, collapse_whitespace, is_alphanumeric, nfc, normalize_for_search,
    normalize_with_offsets, normalize_with_origins, push_search_form, Origins,
};
pub use relative::{hijri_to_gregorian, parse_hijri, parse_relative, search_bound};
