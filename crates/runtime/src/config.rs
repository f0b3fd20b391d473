//! Reading a pipeline config: TOML, YAML or JSON, with `KHABAR__<SECTION>__<KEY>` overrides.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {path}: no such file")]
    Missing { path: PathBuf },
    #[error("config file {path}: unknown config format {extension:?}; use .toml, .yaml or .json")]
    Format { path: PathBuf, extension: String },
    /// The file could not be read or parsed (TOML/YAML/JSON syntax, environment overrides).
    #[error("config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: config::ConfigError,
    },
}

/// The config as read, before validation: `[global]` and the three stage sections, as JSON.
#[derive(Debug, Clone)]
pub struct RawConfig {
    pub path: PathBuf,
    /// The folder relative input paths resolve against.
    pub dir: PathBuf,
    pub root: serde_json::Value,
}

/// `[global]`: settings of the whole pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Where state, databases and the dead-letter file live; relative to the config file.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// How long a graceful shutdown may take before in-flight work is abandoned (it is
    /// re-fetched on the next start: nothing is committed that was not delivered).
    #[serde(
        default = "default_shutdown_timeout",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub shutdown_timeout: Duration,
    /// `khabar once` gives up after this long (a sink that keeps failing, a server that drips
    /// one byte a second): it shuts down as on a signal, and what was not delivered is
    /// fetched again on the next run.
    #[serde(
        default = "default_once_timeout",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub once_timeout: Duration,
    /// How often per-stage counters are logged.
    #[serde(
        default = "default_metrics_interval",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub metrics_interval: Duration,
    /// `text` or `json`.
    #[serde(default = "default_log_format")]
    pub log_format: String,
    /// Where checkpoints, schedules and feed leases live: `{ type = "…", … }`, decoded by the
    /// registered state store of that type.
    #[serde(default = "default_state")]
    pub state: serde_json::Value,
}

/// `[global] state`: a table whose `type` names a registered state store (`sqlite`, the
/// default, in `data_dir`; `nats` for fetchers on several machines); the rest of the table is
/// that store's settings.
fn default_state() -> serde_json::Value {
    serde_json::json!({ "type": "sqlite" })
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_once_timeout() -> Duration {
    Duration::from_secs(30 * 60)
}

fn default_metrics_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_log_format() -> String {
    "text".to_string()
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            data_dir: default_data_dir(),
            shutdown_timeout: default_shutdown_timeout(),
            once_timeout: default_once_timeout(),
            metrics_interval: default_metrics_interval(),
            log_format: default_log_format(),
            state: default_state(),
        }
    }
}

/// `[api]`: the daemon's HTTP API (metrics, health, tap, the reader's pages).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// On by default; `khabar run` serves the API while the pipeline runs.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Where it listens: loopback unless written otherwise. Port 0 takes any free port (the
    /// address taken is written to `data_dir/api.address` for `khabar tap` and `top`).
    #[serde(default = "default_api_address")]
    pub address: std::net::SocketAddr,
}

fn default_true() -> bool {
    true
}

fn default_api_address() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 8686))
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            address: default_api_address(),
        }
    }
}

/// Reads `path` (format from its extension) and applies environment overrides:
/// `KHABAR__SINKS__DB__PATH=/tmp/k.db` sets `[sinks.db] path`. Environment keys are lower-cased,
/// so stage ids meant to be overridden should be lower case.
pub fn load_config(path: &Path) -> Result<RawConfig, ConfigError> {
    let read_error = |source: config::ConfigError| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_file() {
        return Err(ConfigError::Missing {
            path: path.to_path_buf(),
        });
    }
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => config::FileFormat::Toml,
        Some("yaml") | Some("yml") => config::FileFormat::Yaml,
        Some("json") => config::FileFormat::Json,
        other => {
            return Err(ConfigError::Format {
                path: path.to_path_buf(),
                extension: other.unwrap_or("").to_string(),
            })
        }
    };
    let built = config::Config::builder()
        .add_source(config::File::from(path).format(format))
        .add_source(
            config::Environment::with_prefix("KHABAR")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        )
        .build()
        .map_err(read_error)?;
    let root: serde_json::Value = built.try_deserialize().map_err(read_error)?;
    let dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(RawConfig {
        path: path.to_path_buf(),
        dir,
        root,
    })
}

/// Reads a config from text (no environment overrides): for tools and fuzzing, which have no
/// file. `extension` is `toml`, `yaml` or `json`; relative paths resolve against `dir`.
pub fn parse_config(text: &str, extension: &str, dir: &Path) -> Result<RawConfig, ConfigError> {
    let path = dir.join(format!("config.{extension}"));
    let format = match extension {
        "toml" => config::FileFormat::Toml,
        "yaml" | "yml" => config::FileFormat::Yaml,
        "json" => config::FileFormat::Json,
        other => {
            return Err(ConfigError::Format {
                path,
                extension: other.to_string(),
            })
        }
    };
    let read_error = |source: config::ConfigError| ConfigError::Read {
        path: path.clone(),
        source,
    };
    let root: serde_json::Value = config::Config::builder()
        .add_source(config::File::from_str(text, format))
        .build()
        .map_err(read_error)?
        .try_deserialize()
        .map_err(read_error)?;
    Ok(RawConfig {
        path: path.clone(),
        dir: dir.to_path_buf(),
        root,
    })
}
