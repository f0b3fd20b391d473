//! Checks a whole config and reports every problem at once, each naming its stage and field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use khabar_core_model::{Registry, SinkConfig, SourceConfig, StageKind, TransformConfig};
use serde_json::Value;

use crate::config::{GlobalConfig, RawConfig};

/// One problem in a config: where (`sinks.db`, `sinks.db.path`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// A stage's decoded settings, by kind.
pub enum StageSettings {
    Source(Box<dyn SourceConfig>),
    Transform(Box<dyn TransformConfig>),
    Sink(Box<dyn SinkConfig>),
}

/// The settings the runtime itself reads from a stage table (removed before the stage's own
/// settings are decoded).
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// Capacity of the stage's input channel.
    pub buffer: usize,
    /// Transforms: calls of `process` at once.
    pub max_in_flight: usize,
    /// Transforms: attempts after a transient error before the record goes back as `Retry`.
    pub retries: u32,
    /// First wait between attempts; doubles each time.
    pub retry_backoff: Duration,
    /// Sinks: records per `write`.
    pub batch_size: usize,
    /// Sinks: longest wait for a batch to fill.
    pub batch_timeout: Duration,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            buffer: 64,
            max_in_flight: 4,
            retries: 3,
            retry_backoff: Duration::from_secs(1),
            batch_size: 100,
            batch_timeout: Duration::from_millis(500),
        }
    }
}

/// One stage, checked and decoded, ready to build.
pub struct StagePlan {
    pub kind: StageKind,
    pub id: String,
    pub type_name: String,
    pub inputs: Vec<String>,
    pub common: Common,
    pub settings: StageSettings,
}

/// A config that passed every check.
pub struct Plan {
    pub global: GlobalConfig,
    pub config_dir: PathBuf,
    /// Sources, then transforms in an order where inputs come first, then sinks.
    pub stages: Vec<StagePlan>,
}

impl Plan {
    /// `data_dir`, resolved against the config file's folder.
    pub fn data_dir(&self) -> PathBuf {
        if self.global.data_dir.is_absolute() {
            self.global.data_dir.clone()
        } else {
            self.config_dir.join(&self.global.data_dir)
        }
    }

    /// Ids of the stages that read from `id`.
    pub fn consumers_of(&self, id: &str) -> Vec<&StagePlan> {
        self.stages
            .iter()
            .filter(|s| s.inputs.iter().any(|i| i == id))
            .collect()
    }
}

const SECTIONS: [StageKind; 3] = [StageKind::Source, StageKind::Transform, StageKind::Sink];

fn common_keys(kind: StageKind) -> &'static [&'static str] {
    match kind {
        StageKind::Source => &["type", "buffer"],
        StageKind::Transform => &[
            "type",
            "inputs",
            "buffer",
            "max_in_flight",
            "retries",
            "retry_backoff",
        ],
        StageKind::Sink => &["type", "inputs", "buffer", "batch_size", "batch_timeout"],
    }
}

struct Collector {
    issues: Vec<ConfigIssue>,
}

impl Collector {
    fn push(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.issues.push(ConfigIssue {
            location: location.into(),
            message: message.into(),
        });
    }

    fn count(&mut self, at: &str, field: &str, value: &Value, min: u64) -> Option<u64> {
        match value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        {
            Some(n) if n >= min => Some(n),
            _ => {
                self.push(
                    format!("{at}.{field}"),
                    format!("expected a whole number ≥ {min}, found {value}"),
                );
                None
            }
        }
    }

    fn duration(&mut self, at: &str, field: &str, value: &Value) -> Option<Duration> {
        let parsed = match value.as_str() {
            Some(text) => khabar_core_model::duration::parse(text),
            None => Err(format!(
                "expected a duration such as \"30s\", found {value}"
            )),
        };
        match parsed {
            Ok(d) => Some(d),
            Err(message) => {
                self.push(format!("{at}.{field}"), message);
                None
            }
        }
    }
}

fn take_common(
    c: &mut Collector,
    kind: StageKind,
    at: &str,
    table: &mut serde_json::Map<String, Value>,
) -> (Option<String>, Vec<String>, Common) {
    let mut common = Common::default();
    let type_name = match table.remove("type") {
        Some(Value::String(t)) => Some(t),
        Some(other) => {
            c.push(
                format!("{at}.type"),
                format!("expected a type name, found {other}"),
            );
            None
        }
        None => {
            c.push(at, "missing field `type`");
            None
        }
    };
    let mut inputs = Vec::new();
    if kind != StageKind::Source {
        match table.remove("inputs") {
            Some(Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(s) => inputs.push(s),
                        other => c.push(
                            format!("{at}.inputs"),
                            format!("expected stage ids (strings), found {other}"),
                        ),
                    }
                }
            }
            // An environment override gives a single id as a plain string.
            Some(Value::String(s)) => inputs.push(s),
            Some(other) => c.push(
                format!("{at}.inputs"),
                format!("expected a list of stage ids, found {other}"),
            ),
            None => {}
        }
        if inputs.is_empty() {
            c.push(
                format!("{at}.inputs"),
                format!(
                    "a {} needs `inputs`: the ids of the stages it reads from",
                    kind.singular()
                ),
            );
        }
    }
    for key in common_keys(kind) {
        let Some(value) = table.remove(*key) else {
            continue;
        };
        match *key {
            "buffer" => {
                if let Some(n) = c.count(at, key, &value, 1) {
                    common.buffer = n as usize;
                }
            }
            "max_in_flight" => {
                if let Some(n) = c.count(at, key, &value, 1) {
                    common.max_in_flight = n as usize;
                }
            }
            "retries" => {
                if let Some(n) = c.count(at, key, &value, 0) {
                    common.retries = n.min(u32::MAX as u64) as u32;
                }
            }
            "batch_size" => {
                if let Some(n) = c.count(at, key, &value, 1) {
                    common.batch_size = n as usize;
                }
            }
            "retry_backoff" => {
                if let Some(d) = c.duration(at, key, &value) {
                    common.retry_backoff = d;
                }
            }
            "batch_timeout" => {
                if let Some(d) = c.duration(at, key, &value) {
                    common.batch_timeout = d;
                }
            }
            _ => {}
        }
    }
    (type_name, inputs, common)
}

fn decode_settings(
    registry: &Registry,
    kind: StageKind,
    type_name: &str,
    settings: Value,
) -> Option<Result<StageSettings, String>> {
    match kind {
        StageKind::Source => registry
            .decode_source(type_name, settings)
            .map(|r| r.map(StageSettings::Source)),
        StageKind::Transform => registry
            .decode_transform(type_name, settings)
            .map(|r| r.map(StageSettings::Transform)),
        StageKind::Sink => registry
            .decode_sink(type_name, settings)
            .map(|r| r.map(StageSettings::Sink)),
    }
}

fn pure_checks(settings: &StageSettings) -> Vec<String> {
    match settings {
        StageSettings::Source(s) => s.validate(),
        StageSettings::Transform(s) => s.validate(),
        StageSettings::Sink(s) => s.validate(),
    }
}

/// Checks `raw` against `registry`. Touches no network or disk. On failure, returns every
/// problem found, in config order.
pub fn validate(raw: &RawConfig, registry: &Registry) -> Result<Plan, Vec<ConfigIssue>> {
    let mut c = Collector { issues: Vec::new() };
    for conflict in registry.conflicts() {
        c.push("registry", conflict.clone());
    }
    let empty = serde_json::Map::new();
    let root = match &raw.root {
        Value::Object(map) => map,
        _ => {
            c.push("config", "expected a table of sections at the top level");
            &empty
        }
    };
    for key in root.keys() {
        if !matches!(key.as_str(), "global" | "sources" | "transforms" | "sinks") {
            c.push(
                key.clone(),
                "unknown section; expected `global`, `sources`, `transforms` or `sinks`",
            );
        }
    }
    let global = match root.get("global") {
        None => GlobalConfig::default(),
        Some(value) => match serde_path_to_error::deserialize::<_, GlobalConfig>(value.clone()) {
            Ok(g) => g,
            Err(e) => {
                let path = e.path().to_string();
                let at = if path.is_empty() || path == "." {
                    "global".to_string()
                } else {
                    format!("global.{path}")
                };
                c.push(at, e.inner().to_string());
                GlobalConfig::default()
            }
        },
    };
    if !matches!(global.log_format.as_str(), "text" | "json") {
        c.push(
            "global.log_format",
            format!(
                "expected \"text\" or \"json\", found {:?}",
                global.log_format
            ),
        );
    }

    let mut stages: Vec<StagePlan> = Vec::new();
    let mut seen_ids: BTreeMap<String, StageKind> = BTreeMap::new();
    for kind in SECTIONS {
        let section = kind.section();
        let tables = match root.get(section) {
            None => continue,
            Some(Value::Object(map)) => map.clone(),
            Some(other) => {
                c.push(
                    section,
                    format!("expected a table of stages, found {other}"),
                );
                continue;
            }
        };
        for (id, table) in tables {
            let at = format!("{section}.{id}");
            if let Some(previous) = seen_ids.get(&id) {
                c.push(
                    at.clone(),
                    format!(
                        "duplicate id {id:?}: already used by a {}; stage ids must be unique",
                        previous.singular()
                    ),
                );
                continue;
            }
            seen_ids.insert(id.clone(), kind);
            let Value::Object(mut table) = table else {
                c.push(at, format!("expected a table, found {table}"));
                continue;
            };
            let (type_name, inputs, common) = take_common(&mut c, kind, &at, &mut table);
            let Some(type_name) = type_name else { continue };
            match decode_settings(registry, kind, &type_name, Value::Object(table)) {
                None => c.push(
                    format!("{at}.type"),
                    format!(
                        "unknown {} type {type_name:?}; known {} types: {}",
                        kind.singular(),
                        kind.singular(),
                        registry.names(kind).join(", ")
                    ),
                ),
                Some(Err(message)) => c.push(at, message),
                Some(Ok(settings)) => {
                    for message in pure_checks(&settings) {
                        c.push(at.clone(), message);
                    }
                    stages.push(StagePlan {
                        kind,
                        id,
                        type_name,
                        inputs,
                        common,
                        settings,
                    });
                }
            }
        }
    }

    check_graph(&mut c, &stages, &seen_ids);
    if !root.contains_key("sources") || seen_ids.values().all(|k| *k != StageKind::Source) {
        c.push("sources", "the pipeline has no source");
    }
    if seen_ids.values().all(|k| *k != StageKind::Sink) {
        c.push("sinks", "the pipeline has no sink");
    }
    if !c.issues.is_empty() {
        return Err(c.issues);
    }
    let order = topological_order(&stages);
    let mut by_id: BTreeMap<String, StagePlan> =
        stages.into_iter().map(|s| (s.id.clone(), s)).collect();
    let stages = order.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok(Plan {
        global,
        config_dir: raw.dir.clone(),
        stages,
    })
}

fn check_graph(c: &mut Collector, stages: &[StagePlan], kinds: &BTreeMap<String, StageKind>) {
    let mut fed: BTreeSet<&str> = BTreeSet::new();
    for stage in stages {
        let at = format!("{}.{}.inputs", stage.kind.section(), stage.id);
        for input in &stage.inputs {
            fed.insert(input.as_str());
            match kinds.get(input) {
                None => c.push(
                    at.clone(),
                    format!("unknown input {input:?}: no source or transform has that id"),
                ),
                Some(StageKind::Sink) => c.push(
                    at.clone(),
                    format!("input {input:?} is a sink; sinks feed no other stage"),
                ),
                Some(_) if input == &stage.id => {
                    c.push(at.clone(), "a stage cannot read its own output".to_string())
                }
                Some(_) => {}
            }
        }
    }
    for stage in stages {
        if stage.kind != StageKind::Sink && !fed.contains(stage.id.as_str()) {
            c.push(
                format!("{}.{}", stage.kind.section(), stage.id),
                "nothing reads this stage's output: name it in some stage's `inputs` or remove it",
            );
        }
    }
    let cycle = stages_in_cycles(stages);
    if !cycle.is_empty() {
        c.push(
            "transforms",
            format!("the inputs form a cycle through: {}", cycle.join(", ")),
        );
    }
}

/// Kahn's algorithm: what never reaches in-degree zero sits on (or behind) a cycle.
fn kahn(stages: &[StagePlan]) -> (Vec<String>, Vec<String>) {
    let ids: BTreeSet<&str> = stages.iter().map(|s| s.id.as_str()).collect();
    let mut indegree: BTreeMap<&str, usize> = stages
        .iter()
        .map(|s| {
            let known = s
                .inputs
                .iter()
                .filter(|i| ids.contains(i.as_str()) && *i != &s.id);
            (s.id.as_str(), known.count())
        })
        .collect();
    let mut ready: Vec<&str> = stages
        .iter()
        .filter(|s| indegree.get(s.id.as_str()) == Some(&0))
        .map(|s| s.id.as_str())
        .collect();
    let mut order = Vec::new();
    while let Some(id) = ready.pop() {
        order.push(id.to_string());
        for s in stages.iter().filter(|s| s.inputs.iter().any(|i| i == id)) {
            if let Some(d) = indegree.get_mut(s.id.as_str()) {
                *d = d.saturating_sub(1);
                if *d == 0 {
                    ready.push(s.id.as_str());
                }
            }
        }
    }
    let stuck = stages
        .iter()
        .filter(|s| !order.contains(&s.id))
        .map(|s| s.id.clone())
        .collect();
    (order, stuck)
}

fn stages_in_cycles(stages: &[StagePlan]) -> Vec<String> {
    kahn(stages).1
}

fn topological_order(stages: &[StagePlan]) -> Vec<String> {
    let (mut order, _) = kahn(stages);
    let rank = |id: &String| {
        stages
            .iter()
            .find(|s| &s.id == id)
            .map(|s| s.kind)
            .unwrap_or(StageKind::Sink)
    };
    // Stable by kind keeps sources first and sinks last while preserving input order.
    order.sort_by_key(rank);
    order
}
