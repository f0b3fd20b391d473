use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing_subscriber::EnvFilter;

const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// Checks `--log-level`: a level, or comma-separated directives `LEVEL` or `TARGET=LEVEL`
/// (`info,khabar_fetcher=debug`). `EnvFilter` alone would take a misspelt level such as
/// `bogus` as a target name and log nothing, silently.
pub fn parse_level(text: &str) -> Result<String, String> {
    let valid_level = |level: &str| LEVELS.contains(&level.to_ascii_lowercase().as_str());
    let valid_target = |target: &str| {
        !target.is_empty()
            && target
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-')
    };
    for directive in text.split(',').map(str::trim) {
        let ok = match directive.split_once('=') {
            Some((target, level)) => valid_target(target) && valid_level(level),
            None => valid_level(directive),
        };
        if !ok {
            return Err(format!(
                "{directive:?} is not a log level; use one of {} or TARGET=LEVEL (e.g. info,khabar_fetcher=debug)",
                LEVELS.join(", ")
            ));
        }
    }
    EnvFilter::try_new(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// Colour only for a person at a terminal who has not asked for none (<https://no-color.org>).
fn use_colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

/// Logs go to standard error (standard output carries records and summaries), as text or
/// JSON. `RUST_LOG` overrides `level`.
pub fn init(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(use_colour())
        .with_writer(LogWriter::default);
    let result = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // Already initialised (a test harness, an embedding binary): keep theirs.
    let _ = result;
}

/// Characters of the progress line on standard error now (0: none shown). A log line first
/// wipes it, so the two never share a line; the progress line is drawn again on its next tick.
static PROGRESS_SHOWN: AtomicUsize = AtomicUsize::new(0);

/// Draws the progress line of `khabar once` in place of the previous one (`\r` and spaces
/// only: no escape sequence, so it is plain text even under NO_COLOR).
pub(crate) fn draw_progress(line: &str) {
    let mut err = std::io::stderr().lock();
    let width = line.chars().count();
    let previous = PROGRESS_SHOWN.swap(width, Ordering::Relaxed);
    let pad = previous.saturating_sub(width);
    let _ = write!(err, "\r{line}{:pad$}", "");
    let _ = err.flush();
}

/// Wipes the progress line, if one is shown.
pub(crate) fn clear_progress() {
    let previous = PROGRESS_SHOWN.swap(0, Ordering::Relaxed);
    if previous > 0 {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{:previous$}\r", "");
        let _ = err.flush();
    }
}

/// Standard error, wiping the progress line before a log line is written.
#[derive(Default)]
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        clear_progress();
        std::io::stderr().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        clear_progress();
        std::io::stderr().write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_level;

    #[test]
    fn levels_and_directives() {
        for good in [
            "info",
            "DEBUG",
            "off",
            "info,khabar_fetcher=debug",
            "warn,h2=off",
        ] {
            assert!(parse_level(good).is_ok(), "{good}");
        }
        for bad in ["bogus", "", "info,", "khabar=loud", "=info", "info;debug"] {
            assert!(parse_level(bad).is_err(), "{bad}");
        }
    }
}
