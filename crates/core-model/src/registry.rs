//! The explicit, static registry: config `type` name → decoder of that stage's settings.
//!
//! Each plugin crate exports `pub fn register(r: &mut Registry)` and adds its types there.
//! Decoding is pure (it validates), building may connect to things.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::error::StageError;
use crate::stage::{Sink, Source, Transform};
use crate::state::{StateError, StateStore};

/// The three kinds of stage, which are also the config's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageKind {
    /// Emits records (`[sources.<id>]`).
    Source,
    /// Changes, enriches or drops records (`[transforms.<id>]`).
    Transform,
    /// Delivers records (`[sinks.<id>]`).
    Sink,
}

impl StageKind {
    /// The config section the kind lives in.
    pub fn section(self) -> &'static str {
        match self {
            StageKind::Source => "sources",
            StageKind::Transform => "transforms",
            StageKind::Sink => "sinks",
        }
    }

    /// `source`, `transform` or `sink`, for messages.
    pub fn singular(self) -> &'static str {
        match self {
            StageKind::Source => "source",
            StageKind::Transform => "transform",
            StageKind::Sink => "sink",
        }
    }
}

/// Objects the stages of one pipeline share, one per type: a plugin crate keeps here what its
/// stages must have in common (the fetcher's per-host politeness limits, a connection pool).
#[derive(Default)]
pub struct Resources {
    map: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Resources {
    /// The pipeline's `T`, created by `init` on first use.
    pub fn get_or_init<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let mut map = match self.map.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(existing) = map.get(&TypeId::of::<T>()) {
            if let Ok(shared) = Arc::clone(existing).downcast::<T>() {
                return shared;
            }
        }
        let fresh = Arc::new(init());
        map.insert(
            TypeId::of::<T>(),
            Arc::clone(&fresh) as Arc<dyn Any + Send + Sync>,
        );
        fresh
    }
}

/// What `build` may use: where the config and data live, the state store, shared resources.
#[derive(Clone)]
pub struct BuildContext {
    /// The stage's id in the config (`[transforms.<id>]`).
    pub stage_id: String,
    /// `[global] data_dir`, created before any stage is built.
    pub data_dir: PathBuf,
    /// The folder of the config file.
    pub config_dir: PathBuf,
    /// The pipeline's state store, for checkpoints that must survive a restart.
    pub state: Arc<dyn StateStore>,
    /// Resources shared by the stages of the pipeline (loaded once, built lazily).
    pub resources: Arc<Resources>,
}

impl BuildContext {
    /// A context for building stages outside a pipeline (tools, tests): the given folders,
    /// an in-memory state store, fresh resources.
    pub fn standalone(stage_id: &str, data_dir: PathBuf, config_dir: PathBuf) -> BuildContext {
        BuildContext {
            stage_id: stage_id.to_string(),
            data_dir,
            config_dir,
            state: Arc::new(crate::state::MemoryStateStore::default()),
            resources: Arc::new(Resources::default()),
        }
    }

    /// An input the user points at (a feed file, an OPML list): relative to the config file.
    pub fn resolve_input(&self, path: &std::path::Path) -> PathBuf {
        under(&self.config_dir, path)
    }

    /// Something Khabar writes (a database, a JSONL file): relative to `data_dir`.
    pub fn resolve_data(&self, path: &std::path::Path) -> PathBuf {
        under(&self.data_dir, path)
    }
}

/// `path` as it is when absolute, else inside `dir`.
fn under(dir: &std::path::Path, path: &std::path::Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

/// The pure check of a `path` setting naming a file Khabar writes (for `validate`).
pub fn path_problems(path: &std::path::Path) -> Vec<String> {
    if path.as_os_str().is_empty() {
        vec!["field `path`: empty".to_string()]
    } else {
        Vec::new()
    }
}

/// A file a stage's `build` will read, named by the setting that gives it: `validate` reports
/// the ones that do not exist before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The setting, as a path in the stage's table (`opml`, `lists[1]`).
    pub field: String,
    /// As written: relative paths are resolved against the config file's folder.
    pub path: PathBuf,
}

/// Decoded settings of a source.
///
/// How it is driven: the runtime decodes the stage's table into this type (serde), calls
/// `validate` and checks `input_files` for every stage before anything starts (so
/// `khabar validate` reports every problem at once), then calls `build` once per run.
#[async_trait]
pub trait SourceConfig: Send + Sync {
    /// Checks that decoding cannot express (ranges, URL syntax). Touches no network or disk.
    fn validate(&self) -> Vec<String> {
        Vec::new()
    }
    /// The files `build` reads; each must exist when the config is validated.
    fn input_files(&self) -> Vec<InputFile> {
        Vec::new()
    }
    /// Makes the source; may do I/O (open files, connect) but spawns nothing.
    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Source>, StageError>;
}

/// Decoded settings of a transform; driven as [`SourceConfig`] is.
#[async_trait]
pub trait TransformConfig: Send + Sync {
    /// Checks that decoding cannot express. Touches no network or disk.
    fn validate(&self) -> Vec<String> {
        Vec::new()
    }
    /// The files `build` reads; each must exist when the config is validated.
    fn input_files(&self) -> Vec<InputFile> {
        Vec::new()
    }
    /// Makes the transform; may do I/O but spawns nothing.
    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Transform>, StageError>;
}

/// Decoded settings of a sink; driven as [`SourceConfig`] is.
#[async_trait]
pub trait SinkConfig: Send + Sync {
    /// Checks that decoding cannot express. Touches no network or disk.
    fn validate(&self) -> Vec<String> {
        Vec::new()
    }
    /// The files `build` reads; each must exist when the config is validated.
    fn input_files(&self) -> Vec<InputFile> {
        Vec::new()
    }
    /// Makes the sink; may do I/O (open a database, connect) but spawns nothing.
    async fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Sink>, StageError>;
}

/// Where a state store may keep its files: the pipeline's folders.
#[derive(Debug, Clone)]
pub struct StateContext {
    /// `[global] data_dir`, created before the store is opened.
    pub data_dir: PathBuf,
    /// The folder of the config file.
    pub config_dir: PathBuf,
}

impl StateContext {
    /// A file the store writes: relative to `data_dir`.
    pub fn resolve_data(&self, path: &std::path::Path) -> PathBuf {
        under(&self.data_dir, path)
    }
}

/// Decoded settings of a state store (`[global] state = { type = "…", … }`).
///
/// How it is driven: the runtime decodes the table (pure, during `validate`), then calls
/// [`StateStoreConfig::open`] once per process before any stage is built; every stage and
/// command of that process shares the store it returns.
#[async_trait]
pub trait StateStoreConfig: Send + Sync {
    /// Checks that decoding cannot express. Touches no network or disk.
    fn validate(&self) -> Vec<String> {
        Vec::new()
    }
    /// Opens (or connects to) the store; called once per process.
    async fn open(&self, ctx: &StateContext) -> Result<Arc<dyn StateStore>, StateError>;
}

/// A stage's settings that do not decode: where (`urls[2]`, empty at the top) and serde's
/// error, kept as the cause.
#[derive(Debug)]
pub struct SettingsError {
    path: String,
    field: String,
    cause: serde_json::Error,
}

impl SettingsError {
    /// The field at fault, as a path (`http.timeout`, `urls[2]`); empty for the whole table.
    /// For an unknown key, the table that holds it (serde's message names the key).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value at fault, the unknown key included (`http.bogus`): what to take out of the
    /// table to decode the rest of it. Empty for the whole table.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// serde's message, without the path.
    pub fn reason(&self) -> String {
        self.cause.to_string()
    }
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.cause)
        } else {
            write!(f, "field `{}`: {}", self.path, self.cause)
        }
    }
}

impl std::error::Error for SettingsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

type Decode<T> = fn(serde_json::Value) -> Result<Box<T>, SettingsError>;

struct Entry<T: ?Sized> {
    description: String,
    decode: Decode<T>,
}

/// One registered type, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// Source, transform or sink.
    pub kind: StageKind,
    /// The config `type` name.
    pub name: String,
    /// One line on what the stage does (shown by `khabar plugins`).
    pub description: String,
}

/// Maps each config `type` name to the decoder of its settings.
#[derive(Default)]
pub struct Registry {
    sources: BTreeMap<String, Entry<dyn SourceConfig>>,
    transforms: BTreeMap<String, Entry<dyn TransformConfig>>,
    sinks: BTreeMap<String, Entry<dyn SinkConfig>>,
    state_stores: BTreeMap<String, Entry<dyn StateStoreConfig>>,
    conflicts: Vec<String>,
}

/// Decodes settings, naming the field at fault (`urls[2]: invalid type…`).
fn decode<C: DeserializeOwned>(value: serde_json::Value) -> Result<C, SettingsError> {
    serde_path_to_error::deserialize::<_, C>(value).map_err(|e| {
        let mut path = e.path().to_string();
        if path == "." {
            path.clear();
        }
        let field = path.clone();
        let cause = e.into_inner();
        // serde already names an unknown field; the path need only say where it sits.
        if cause.to_string().starts_with("unknown field") {
            path = path
                .rsplit_once('.')
                .map(|(parent, _)| parent.to_string())
                .unwrap_or_default();
        }
        SettingsError { path, field, cause }
    })
}

fn decode_source<C: SourceConfig + DeserializeOwned + 'static>(
    value: serde_json::Value,
) -> Result<Box<dyn SourceConfig>, SettingsError> {
    decode::<C>(value).map(|c| Box::new(c) as Box<dyn SourceConfig>)
}

fn decode_transform<C: TransformConfig + DeserializeOwned + 'static>(
    value: serde_json::Value,
) -> Result<Box<dyn TransformConfig>, SettingsError> {
    decode::<C>(value).map(|c| Box::new(c) as Box<dyn TransformConfig>)
}

fn decode_sink<C: SinkConfig + DeserializeOwned + 'static>(
    value: serde_json::Value,
) -> Result<Box<dyn SinkConfig>, SettingsError> {
    decode::<C>(value).map(|c| Box::new(c) as Box<dyn SinkConfig>)
}

fn decode_state_store<C: StateStoreConfig + DeserializeOwned + 'static>(
    value: serde_json::Value,
) -> Result<Box<dyn StateStoreConfig>, SettingsError> {
    decode::<C>(value).map(|c| Box::new(c) as Box<dyn StateStoreConfig>)
}

fn insert<T: ?Sized>(
    map: &mut BTreeMap<String, Entry<T>>,
    conflicts: &mut Vec<String>,
    kind: &str,
    name: &str,
    description: &str,
    decode: Decode<T>,
) {
    if map.contains_key(name) {
        conflicts.push(format!(
            "{kind} type {name:?} is registered twice; the first registration is kept"
        ));
        return;
    }
    map.insert(
        name.to_string(),
        Entry {
            description: description.to_string(),
            decode,
        },
    );
}

impl Registry {
    /// An empty registry; `khabar::builtin_registry` gives one with every built-in stage.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers a source type; `C` is its settings struct (use `deny_unknown_fields`).
    pub fn add_source<C: SourceConfig + DeserializeOwned + 'static>(
        &mut self,
        name: &str,
        description: &str,
    ) {
        insert(
            &mut self.sources,
            &mut self.conflicts,
            StageKind::Source.singular(),
            name,
            description,
            decode_source::<C>,
        );
    }

    /// Registers a transform type under `name`; `C` is its settings, decoded with serde.
    pub fn add_transform<C: TransformConfig + DeserializeOwned + 'static>(
        &mut self,
        name: &str,
        description: &str,
    ) {
        insert(
            &mut self.transforms,
            &mut self.conflicts,
            StageKind::Transform.singular(),
            name,
            description,
            decode_transform::<C>,
        );
    }

    /// Registers a sink type under `name`; `C` is its settings, decoded with serde.
    pub fn add_sink<C: SinkConfig + DeserializeOwned + 'static>(
        &mut self,
        name: &str,
        description: &str,
    ) {
        insert(
            &mut self.sinks,
            &mut self.conflicts,
            StageKind::Sink.singular(),
            name,
            description,
            decode_sink::<C>,
        );
    }

    /// Registers a state store type (`[global] state = { type = name, … }`); `C` is its
    /// settings struct without the `type` key (use `deny_unknown_fields`).
    pub fn add_state_store<C: StateStoreConfig + DeserializeOwned + 'static>(
        &mut self,
        name: &str,
        description: &str,
    ) {
        insert(
            &mut self.state_stores,
            &mut self.conflicts,
            "state store",
            name,
            description,
            decode_state_store::<C>,
        );
    }

    /// The registered state store types: name and description, sorted by name.
    pub fn state_store_types(&self) -> Vec<(String, String)> {
        self.state_stores
            .iter()
            .map(|(name, e)| (name.clone(), e.description.clone()))
            .collect()
    }

    /// `None` when the type is unknown; otherwise the decoded settings or serde's message.
    pub fn decode_state_store(
        &self,
        name: &str,
        settings: serde_json::Value,
    ) -> Option<Result<Box<dyn StateStoreConfig>, SettingsError>> {
        self.state_stores.get(name).map(|e| (e.decode)(settings))
    }

    /// Two plugins that claimed the same type name.
    pub fn conflicts(&self) -> &[String] {
        &self.conflicts
    }

    /// The registered type names of one kind, sorted.
    pub fn names(&self, kind: StageKind) -> Vec<String> {
        match kind {
            StageKind::Source => self.sources.keys().cloned().collect(),
            StageKind::Transform => self.transforms.keys().cloned().collect(),
            StageKind::Sink => self.sinks.keys().cloned().collect(),
        }
    }

    /// Every registered stage type, sources first, by name within a kind.
    pub fn types(&self) -> Vec<TypeInfo> {
        let mut out = Vec::new();
        let mut push = |kind: StageKind, name: &String, description: &String| {
            out.push(TypeInfo {
                kind,
                name: name.clone(),
                description: description.clone(),
            })
        };
        for (name, e) in &self.sources {
            push(StageKind::Source, name, &e.description);
        }
        for (name, e) in &self.transforms {
            push(StageKind::Transform, name, &e.description);
        }
        for (name, e) in &self.sinks {
            push(StageKind::Sink, name, &e.description);
        }
        out
    }

    /// `None` when the type is unknown; otherwise the decoded settings or serde's message.
    pub fn decode_source(
        &self,
        name: &str,
        settings: serde_json::Value,
    ) -> Option<Result<Box<dyn SourceConfig>, SettingsError>> {
        self.sources.get(name).map(|e| (e.decode)(settings))
    }

    /// Decodes a transform's settings; `None` when no transform has that type name.
    pub fn decode_transform(
        &self,
        name: &str,
        settings: serde_json::Value,
    ) -> Option<Result<Box<dyn TransformConfig>, SettingsError>> {
        self.transforms.get(name).map(|e| (e.decode)(settings))
    }

    /// Decodes a sink's settings; `None` when no sink has that type name.
    pub fn decode_sink(
        &self,
        name: &str,
        settings: serde_json::Value,
    ) -> Option<Result<Box<dyn SinkConfig>, SettingsError>> {
        self.sinks.get(name).map(|e| (e.decode)(settings))
    }
}
