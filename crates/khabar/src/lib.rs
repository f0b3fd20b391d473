//! The `khabar` command line, as a library so that a user's own binary can add plugins:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     let mut registry = khabar::builtin_registry();
//!     // my_plugin::register(&mut registry);
//!     khabar::main_with(registry)
//! }
//! ```

/// `println!` that returns the write's error instead of panicking on it, so a closed pipe
/// (`khabar feeds | head -1`) ends the command quietly.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

mod cli;
mod feeds;
mod inspect;
mod logging;
mod watch;

use khabar_core_model::Registry;

pub use cli::main_with;

/// A registry with every built-in stage type.
pub fn builtin_registry() -> Registry {
    let mut registry = Registry::new();
    khabar_fetcher::register(&mut registry);
    khabar_normalizer::register(&mut registry);
    khabar_extractor::register(&mut registry);
    khabar_sink::register(&mut registry);
    khabar_sqlite::register(&mut registry);
    khabar_postgres::register(&mut registry);
    khabar_nats::register(&mut registry);
    registry
}
