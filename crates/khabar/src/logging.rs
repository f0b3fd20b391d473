use tracing_subscriber::EnvFilter;

/// Logs go to standard error (standard output carries records and summaries), as text or
/// JSON. `RUST_LOG` overrides `level`.
pub fn init(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // Already initialised (a test harness, an embedding binary): keep theirs.
    let _ = result;
}
