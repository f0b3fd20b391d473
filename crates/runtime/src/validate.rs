//! Checks a whole config and reports every problem at once, each naming its stage and field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use khabar_core_model::{
    Registry, SinkConfig, SourceConfig, StageKind, StateContext, StateStore, StateStoreConfig,
    TransformConfig,
};
use serde::Deserialize;
use serde_json::Value;

use crate::config::{ApiConfig, GlobalConfig, RawConfig};

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

/// The settings the runtime itself reads from a stage table (taken out before the stage's own
/// settings are decoded). Which keys a stage may give depends on its kind
/// ([`common_keys`]); the ranges keep every value one the runtime can honour (a channel of
/// 2^62 slots or a backoff of 300,000 years would pass decoding and then panic or hang).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Common {
    /// Capacity of the stage's input channel.
    #[serde(default = "default_buffer", deserialize_with = "count")]
    pub buffer: usize,
    /// Transforms: calls of `process` at once.
    #[serde(default = "default_max_in_flight", deserialize_with = "count")]
    pub max_in_flight: usize,
    /// Transforms: attempts after a transient error before the record goes back as `Retry`.
    #[serde(default = "default_retries", deserialize_with = "count")]
    pub retries: usize,
    /// First wait between attempts; doubles each time.
    #[serde(
        default = "default_retry_backoff",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub retry_backoff: Duration,
    /// Sinks: records per `write`.
    #[serde(default = "default_batch_size", deserialize_with = "count")]
    pub batch_size: usize,
    /// Sinks: longest wait for a batch to fill.
    #[serde(
        default = "default_batch_timeout",
        deserialize_with = "khabar_core_model::duration::deserialize"
    )]
    pub batch_timeout: Duration,
}

fn default_buffer() -> usize {
    64
}
fn default_max_in_flight() -> usize {
    4
}
fn default_retries() -> usize {
    3
}
fn default_retry_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_batch_size() -> usize {
    100
}
fn default_batch_timeout() -> Duration {
    Duration::from_millis(500)
}

/// A whole number, also written as a string (environment overrides arrive as strings).
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Number(u64),
        Text(String),
    }
    let n = match Count::deserialize(d)? {
        Count::Number(n) => n,
        Count::Text(text) => text.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!("expected a whole number, found {text:?}"))
        })?,
    };
    usize::try_from(n).map_err(|_| serde::de::Error::custom(format!("{n} is too large")))
}

/// The allowed range of each count, and the longest duration of each wait.
const COUNT_RANGES: [(&str, usize, usize); 4] = [
    ("buffer", 1, 1_000_000),
    ("max_in_flight", 1, 10_000),
    ("retries", 0, 100),
    ("batch_size", 1, 100_000),
];
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

impl Common {
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let values = [
            self.buffer,
            self.max_in_flight,
            self.retries,
            self.batch_size,
        ];
        for ((field, min, max), value) in COUNT_RANGES.iter().zip(values) {
            if value < *min || value > *max {
                out.push((*field, format!("{value} is out of range ({min} to {max})")));
            }
        }
        for (field, value) in [
            ("retry_backoff", self.retry_backoff),
            ("batch_timeout", self.batch_timeout),
        ] {
            if value > LONGEST_WAIT {
                out.push((field, format!("{value:?} is longer than the 1h allowed")));
            }
        }
        if self.batch_timeout.is_zero() {
            out.push(("batch_timeout", "must be more than zero".to_string()));
        }
        out
    }
}

impl Default for Common {
    fn default() -> Self {
        Common {
            buffer: default_buffer(),
            max_in_flight: default_max_in_flight(),
            retries: default_retries(),
            retry_backoff: default_retry_backoff(),
            batch_size: default_batch_size(),
            batch_timeout: default_batch_timeout(),
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
    /// The stage's own settings as written (the common keys taken out), for tools that
    /// decode a known type's settings themselves.
    pub own_settings: Value,
    pub settings: StageSettings,
}

/// A config that passed every check.
pub struct Plan {
    pub global: GlobalConfig,
    /// `[api]`: where `khabar run` serves its HTTP API.
    pub api: ApiConfig,
    /// The decoded `[global] state` settings.
    pub state: Box<dyn StateStoreConfig>,
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

    /// Opens the state store `[global] state` names, creating `data_dir` first.
    pub async fn open_state(&self) -> Result<Arc<dyn StateStore>, ConfigIssue> {
        let data_dir = self.data_dir();
        std::fs::create_dir_all(&data_dir).map_err(|e| ConfigIssue {
            location: "global.data_dir".into(),
            message: format!("cannot create {}: {e}", data_dir.display()),
        })?;
        let ctx = StateContext {
            data_dir,
            config_dir: self.config_dir.clone(),
        };
        self.state.open(&ctx).await.map_err(|e| ConfigIssue {
            location: "global.state".into(),
            message: e.to_string(),
        })
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
    let mut given = serde_json::Map::new();
    for key in common_keys(kind) {
        if let Some(value) = table.remove(*key) {
            given.insert((*key).to_string(), value);
        }
    }
    match serde_path_to_error::deserialize::<_, Common>(Value::Object(given)) {
        Ok(decoded) => {
            for (field, message) in decoded.problems() {
                c.push(format!("{at}.{field}"), message);
            }
            common = decoded;
        }
        Err(e) => {
            let path = e.path().to_string();
            let location = if path.is_empty() || path == "." {
                at.to_string()
            } else {
                format!("{at}.{path}")
            };
            c.push(location, e.inner().to_string());
        }
    }
    (type_name, inputs, common)
}

fn decode_settings(
    registry: &Registry,
    kind: StageKind,
    type_name: &str,
    settings: Value,
) -> Option<Result<StageSettings, khabar_core_model::SettingsError>> {
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

/// How many bad fields of one stage are reported before giving up on the rest.
const MAX_PROBLEMS_PER_STAGE: usize = 32;

/// One step of a settings path: a key of a table or an index into a list.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `http.timeout`, `urls[2]`, `lists[0].name` as steps; `None` for a path this cannot read.
fn steps(path: &str) -> Option<Vec<Step>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Step::Key(key.to_string()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let (index, after) = inner.split_once(']')?;
            out.push(Step::Index(index.parse().ok()?));
            rest = after;
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

fn show(steps: &[Step]) -> String {
    let mut text = String::new();
    for step in steps {
        match step {
            Step::Key(key) if text.is_empty() => text.push_str(key),
            Step::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
            Step::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

/// Takes the value at `steps` out of `value`; false when there is none.
fn remove_at(value: &mut Value, steps: &[Step]) -> bool {
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut current = value;
    for step in parents {
        let next = match (step, current) {
            (Step::Key(key), Value::Object(map)) => map.get_mut(key),
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => return false,
        }
    }
    match (last, current) {
        (Step::Key(key), Value::Object(map)) => map.remove(key).is_some(),
        (Step::Index(i), Value::Array(items)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// Decodes a stage's settings and, when a field is bad, takes it out and decodes again, so
/// that one run reports every bad field of the stage (serde stops at the first). List
/// indices are reported as written, although earlier bad items were taken out.
fn decode_reporting_all(
    registry: &Registry,
    kind: StageKind,
    type_name: &str,
    settings: &Value,
) -> Option<Result<StageSettings, Vec<String>>> {
    let mut document = settings.clone();
    let mut problems: Vec<String> = Vec::new();
    // For each list (by its path as written), the indices already taken out of it.
    let mut taken: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    while problems.len() < MAX_PROBLEMS_PER_STAGE {
        let error = match decode_settings(registry, kind, type_name, document.clone())? {
            Ok(decoded) if problems.is_empty() => return Some(Ok(decoded)),
            Ok(_) => break,
            Err(error) => error,
        };
        let reason = error.reason();
        // A required field that was taken out for being bad is reported already.
        if !problems.is_empty() && reason.starts_with("missing field") {
            break;
        }
        let Some(current) = steps(error.field()) else {
            problems.push(error.to_string());
            break;
        };
        let mut written = current.clone();
        for i in 0..written.len() {
            if let Step::Index(index) = written[i] {
                let list = show(&written[..i]);
                let mut original = index;
                for removed in taken.get(&list).into_iter().flatten() {
                    if *removed <= original {
                        original += 1;
                    }
                }
                written[i] = Step::Index(original);
            }
        }
        let mut at = written.clone();
        if reason.starts_with("unknown field") {
            at.pop();
        }
        problems.push(if at.is_empty() {
            reason
        } else {
            format!("field `{}`: {reason}", show(&at))
        });
        if current.is_empty() || !remove_at(&mut document, &current) {
            break;
        }
        if let Some(Step::Index(original)) = written.last() {
            let list = taken
                .entry(show(&written[..written.len() - 1]))
                .or_default();
            list.push(*original);
            list.sort_unstable();
        }
    }
    Some(Err(problems))
}

fn input_files(settings: &StageSettings) -> Vec<khabar_core_model::InputFile> {
    match settings {
        StageSettings::Source(s) => s.input_files(),
        StageSettings::Transform(s) => s.input_files(),
        StageSettings::Sink(s) => s.input_files(),
    }
}

fn pure_checks(settings: &StageSettings) -> Vec<String> {
    match settings {
        StageSettings::Source(s) => s.validate(),
        StageSettings::Transform(s) => s.validate(),
        StageSettings::Sink(s) => s.validate(),
    }
}

/// A top-level settings table (`[global]`, `[api]`), its defaults when absent; a field that
/// does not decode is reported with its path, and the defaults stand in.
fn decode_section<T: serde::de::DeserializeOwned + Default>(
    c: &mut Collector,
    root: &serde_json::Map<String, Value>,
    name: &str,
) -> T {
    let Some(value) = root.get(name) else {
        return T::default();
    };
    match serde_path_to_error::deserialize::<_, T>(value.clone()) {
        Ok(section) => section,
        Err(e) => {
            let path = e.path().to_string();
            let at = if path.is_empty() || path == "." {
                name.to_string()
            } else {
                format!("{name}.{path}")
            };
            c.push(at, e.inner().to_string());
            T::default()
        }
    }
}

/// Checks `raw` against `registry`. Touches no network; of the disk, it only looks whether
/// the files the stages name exist. On failure, returns every problem found, in config order.
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
        if !matches!(
            key.as_str(),
            "global" | "api" | "sources" | "transforms" | "sinks"
        ) {
            c.push(
                key.clone(),
                "unknown section; expected `global`, `api`, `sources`, `transforms` or `sinks`",
            );
        }
    }
    let api: ApiConfig = decode_section(&mut c, root, "api");
    let global: GlobalConfig = decode_section(&mut c, root, "global");
    if !matches!(global.log_format.as_str(), "text" | "json") {
        c.push(
            "global.log_format",
            format!(
                "expected \"text\" or \"json\", found {:?}",
                global.log_format
            ),
        );
    }

    let state = decode_state(&mut c, registry, &global.state);
    check_global_ranges(&mut c, &global);

    let mut stages: Vec<StagePlan> = Vec::new();
    let mut seen_ids: BTreeMap<String, StageKind> = BTreeMap::new();
    // The inputs of stages that did not decode: their upstreams are read all the same.
    let mut read_by_undecoded: BTreeSet<String> = BTreeSet::new();
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
            let Some(type_name) = type_name else {
                read_by_undecoded.extend(inputs);
                continue;
            };
            let own_settings = Value::Object(table);
            match decode_reporting_all(registry, kind, &type_name, &own_settings) {
                None => {
                    c.push(
                        format!("{at}.type"),
                        format!(
                            "unknown {} type {type_name:?}; known {} types: {}",
                            kind.singular(),
                            kind.singular(),
                            registry.names(kind).join(", ")
                        ),
                    );
                    read_by_undecoded.extend(inputs);
                }
                Some(Err(problems)) => {
                    for message in problems {
                        c.push(at.clone(), message);
                    }
                    read_by_undecoded.extend(inputs);
                }
                Some(Ok(settings)) => {
                    for message in pure_checks(&settings) {
                        c.push(at.clone(), message);
                    }
                    for file in input_files(&settings) {
                        let path = if file.path.is_absolute() {
                            file.path.clone()
                        } else {
                            raw.dir.join(&file.path)
                        };
                        if !path.exists() {
                            c.push(
                                format!("{at}.{}", file.field),
                                format!("no such file: {}", path.display()),
                            );
                        }
                    }
                    stages.push(StagePlan {
                        kind,
                        id,
                        type_name,
                        inputs,
                        common,
                        own_settings,
                        settings,
                    });
                }
            }
        }
    }

    check_graph(&mut c, &stages, &seen_ids, &read_by_undecoded);
    if !root.contains_key("sources") || seen_ids.values().all(|k| *k != StageKind::Source) {
        c.push("sources", "the pipeline has no source");
    }
    if seen_ids.values().all(|k| *k != StageKind::Sink) {
        c.push("sinks", "the pipeline has no sink");
    }
    let state = match state {
        Some(state) if c.issues.is_empty() => state,
        _ => return Err(c.issues),
    };
    let order = topological_order(&stages);
    let mut by_id: BTreeMap<String, StagePlan> =
        stages.into_iter().map(|s| (s.id.clone(), s)).collect();
    let stages = order.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok(Plan {
        global,
        api,
        state,
        config_dir: raw.dir.clone(),
        stages,
    })
}

/// `[global] state = { type = "…", … }` through the registry's state stores.
fn decode_state(
    c: &mut Collector,
    registry: &Registry,
    table: &Value,
) -> Option<Box<dyn StateStoreConfig>> {
    let Value::Object(table) = table else {
        c.push(
            "global.state",
            format!("expected a table such as {{ type = \"sqlite\" }}, found {table}"),
        );
        return None;
    };
    let mut settings = table.clone();
    let type_name = match settings.remove("type") {
        Some(Value::String(name)) => name,
        Some(other) => {
            c.push(
                "global.state.type",
                format!("expected a state store type, found {other}"),
            );
            return None;
        }
        None => "sqlite".to_string(),
    };
    match registry.decode_state_store(&type_name, Value::Object(settings)) {
        None => {
            let known: Vec<String> = registry
                .state_store_types()
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            c.push(
                "global.state.type",
                format!(
                    "unknown state store type {type_name:?}; known types: {}",
                    known.join(", ")
                ),
            );
            None
        }
        Some(Err(error)) => {
            c.push("global.state", error.to_string());
            None
        }
        Some(Ok(state)) => {
            let problems = state.validate();
            for message in &problems {
                c.push("global.state", message.clone());
            }
            problems.is_empty().then_some(state)
        }
    }
}

/// Ranges of `[global]` values that decode but could not be honoured.
fn check_global_ranges(c: &mut Collector, global: &GlobalConfig) {
    // A zero interval would make the metrics ticker panic; a day is longer than anyone waits.
    if global.metrics_interval < Duration::from_secs(1)
        || global.metrics_interval > Duration::from_secs(24 * 3600)
    {
        c.push(
            "global.metrics_interval",
            format!("{:?} is out of range (1s to 24h)", global.metrics_interval),
        );
    }
    if global.once_timeout.is_zero() || global.once_timeout > Duration::from_secs(7 * 24 * 3600) {
        c.push(
            "global.once_timeout",
            format!(
                "{:?} is out of range (more than zero, at most 7 days)",
                global.once_timeout
            ),
        );
    }
    if global.shutdown_timeout > Duration::from_secs(24 * 3600) {
        c.push(
            "global.shutdown_timeout",
            format!(
                "{:?} is longer than the 24h allowed",
                global.shutdown_timeout
            ),
        );
    }
}

fn check_graph(
    c: &mut Collector,
    stages: &[StagePlan],
    kinds: &BTreeMap<String, StageKind>,
    read_by_undecoded: &BTreeSet<String>,
) {
    let mut fed: BTreeSet<&str> = read_by_undecoded.iter().map(String::as_str).collect();
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

/// Kahn's algorithm: what never reaches in-degree zero sits on (or behind) a cycle. Inputs
/// count once each however often they are listed; a stage naming itself is reported
/// elsewhere and ignored here.
fn kahn(stages: &[StagePlan]) -> (Vec<String>, Vec<String>) {
    let ids: BTreeSet<&str> = stages.iter().map(|s| s.id.as_str()).collect();
    fn upstream<'a>(s: &'a StagePlan, ids: &BTreeSet<&str>) -> BTreeSet<&'a str> {
        s.inputs
            .iter()
            .map(String::as_str)
            .filter(|i| ids.contains(i) && *i != s.id)
            .collect()
    }
    let mut indegree: BTreeMap<&str, usize> = stages
        .iter()
        .map(|s| (s.id.as_str(), upstream(s, &ids).len()))
        .collect();
    let mut ready: Vec<&str> = stages
        .iter()
        .filter(|s| indegree.get(s.id.as_str()) == Some(&0))
        .map(|s| s.id.as_str())
        .collect();
    let mut order = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while let Some(id) = ready.pop() {
        if !placed.insert(id) {
            continue;
        }
        order.push(id.to_string());
        for s in stages
            .iter()
            .filter(|s| s.id != id && upstream(s, &ids).contains(id))
        {
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
        .filter(|s| !placed.contains(s.id.as_str()))
        .map(|s| s.id.clone())
        .collect();
    (order, stuck)
}

/// The stages on a cycle. Kahn's leftovers also hold what merely sits downstream of one (a
/// sink reading a transform on a cycle); a stage is on a cycle only if it can reach itself.
fn stages_in_cycles(stages: &[StagePlan]) -> Vec<String> {
    let stuck = kahn(stages).1;
    let readers = |id: &str| -> Vec<&str> {
        stages
            .iter()
            .filter(|s| s.id != id && s.inputs.iter().any(|i| i == id))
            .map(|s| s.id.as_str())
            .collect()
    };
    stuck
        .iter()
        .filter(|start| {
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            let mut todo = readers(start);
            while let Some(id) = todo.pop() {
                if id == start.as_str() {
                    return true;
                }
                if seen.insert(id) {
                    todo.extend(readers(id));
                }
            }
            false
        })
        .cloned()
        .collect()
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
