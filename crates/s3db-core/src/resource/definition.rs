//! The compiled form of one resource version: schema, short keys, behavior, partitions,
//! secrets and id generation — everything a read or write needs, built once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use s3db_codec::secret::{SecretString, Secrets};
use serde_json::{Map, Value};

use super::config::ResourceConfig;
use crate::behavior::{BehaviorKind, DEFAULT_METADATA_LIMIT};
use crate::error::{Error, Result};
use crate::id::IdGenerator;
use crate::mapper::KeyMap;
use crate::metadata::document::{ResourceEntry, VersionEntry};
use crate::metadata::hash::definition_hash;
use crate::metadata::registry::SchemaRegistry;
use crate::partition::Partition;
use crate::schema::{Schema, SchemaOptions};

/// A resource version ready for use.
#[derive(Debug)]
pub struct Definition {
    /// Resource name.
    pub name: String,
    /// Current version (`v1`…), written into `_v`.
    pub version: String,
    /// Attribute definitions (timestamps included).
    pub attributes: Map<String, Value>,
    /// Parsed schema.
    pub schema: Schema,
    /// Behavior.
    pub behavior: BehaviorKind,
    /// Whether `createdAt`/`updatedAt` are maintained.
    pub timestamps: bool,
    /// s3db.js `paranoid`: bulk destructive operations (`delete_all`) are refused.
    pub paranoid: bool,
    /// Declared partitions (automatic ones included).
    pub partitions: Vec<Partition>,
    /// Short keys.
    pub keys: KeyMap,
    /// Id generation.
    pub id_generator: IdGenerator,
    /// Secret-field encryption.
    pub secrets: Arc<Secrets>,
    /// s3db.js `autoDecrypt` (stored): when `false`, reads return secrets as ciphertext.
    pub auto_decrypt: bool,
    /// Most requests in flight per bulk operation (`None`: each operation's default).
    pub parallelism: Option<usize>,
    /// Absolute metadata limit of the behavior accounting.
    pub metadata_limit: usize,
    /// What in the stored definition is kept but not applied, or read differently.
    pub warnings: Vec<DefinitionWarning>,
    /// The stored versions, for objects written under an older one (current version only).
    history: Option<Arc<History>>,
}

/// Part of a definition this crate keeps but does not apply, or reads differently than it was
/// written — reported, never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionWarning {
    /// The attribute path (`email`, `profile.city`) or definition key (`behavior`).
    pub key: String,
    /// What is done with it.
    pub message: String,
}

impl DefinitionWarning {
    /// A warning about `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        DefinitionWarning {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The warnings of a parsed schema: unknown modifiers (kept, not applied).
    pub fn of_schema(schema: &Schema) -> Vec<DefinitionWarning> {
        let mut out = Vec::new();
        for field in schema.fields() {
            for modifier in &field.passthrough {
                out.push(DefinitionWarning::new(
                    &field.path,
                    format!("modifier '{modifier}' is not known here: kept, not applied"),
                ));
            }
        }
        out
    }
}

impl std::fmt::Display for DefinitionWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Keys of a stored version entry this crate reads besides the typed ones.
const KNOWN_VERSION_EXTRAS: [&str; 1] = ["map"];

/// Every stored version of a resource and the ones compiled so far.
#[derive(Debug)]
struct History {
    entry: ResourceEntry,
    local: LocalSettings,
    compiled: Mutex<HashMap<String, Arc<Definition>>>,
}

/// The attributes and partitions a config really defines: with timestamps, `createdAt` and
/// `updatedAt` attributes and the `byCreatedDate`/`byUpdatedDate` partitions; with
/// versioning, `byVersion` — appended in s3db.js's order when not given.
pub fn normalized(
    config: &ResourceConfig,
    versioning: bool,
) -> (Map<String, Value>, Map<String, Value>) {
    let versioning = config.versioning.unwrap_or(versioning);
    let mut attributes = config.attributes.clone();
    let mut partitions = config.partitions.clone();
    let partition = |path: &str, rule: &str| serde_json::json!({ "fields": { path: rule } });
    if config.timestamps {
        for name in ["createdAt", "updatedAt"] {
            attributes
                .entry(name)
                .or_insert_with(|| Value::String("datetime|optional".into()));
        }
        partitions
            .entry("byCreatedDate")
            .or_insert_with(|| partition("createdAt", "date|maxlength:10"));
        partitions
            .entry("byUpdatedDate")
            .or_insert_with(|| partition("updatedAt", "date|maxlength:10"));
    }
    if versioning {
        partitions
            .entry("byVersion")
            .or_insert_with(|| partition("_v", "string"));
    }
    (attributes, partitions)
}

/// The `hooks` summary s3db.js stores: the partition machinery's `afterInsert`/`afterDelete`
/// handlers when the resource has partitions other than `byVersion`.
fn hooks_summary(partitions: &Map<String, Value>) -> Value {
    if partitions.keys().all(|name| name == "byVersion") {
        return Value::Object(Map::new());
    }
    let handler = serde_json::json!({"count": 1, "handlers": [{"name": null, "length": 1, "type": "function"}]});
    serde_json::json!({"afterInsert": handler.clone(), "afterDelete": handler})
}

/// The stored version entry of a config.
pub fn version_entry(
    config: &ResourceConfig,
    attributes: Map<String, Value>,
    partitions: Map<String, Value>,
    hash: String,
    now: &str,
) -> VersionEntry {
    VersionEntry {
        hash,
        attributes: Some(attributes),
        behavior: config.behavior.as_str().to_owned(),
        timestamps: config.timestamps,
        hooks: hooks_summary(&partitions),
        partitions: Some(partitions),
        paranoid: config.paranoid,
        all_nested_objects_optional: config.all_nested_objects_optional,
        auto_decrypt: config.auto_decrypt,
        cache: Some(config.cache),
        async_events: None,
        async_partitions: None,
        id_size: config.id_generator.size() as u64,
        id_generator: Value::String(config.id_generator.label().to_owned()),
        created_at: Some(now.to_owned()),
        extra: Map::new(),
    }
}

/// The generator `s3db.json` records: `"incremental"` (s3db.js stores only the label, so
/// its settings are the defaults unless this process configures it), else nanoids of the
/// stored `idSize`.
fn stored_id_generator(version: &VersionEntry) -> IdGenerator {
    if version.id_generator.as_str() == Some("incremental") {
        return IdGenerator::incremental(crate::incremental::IncrementalConfig::default());
    }
    IdGenerator::Nanoid {
        size: usize::try_from(version.id_size)
            .ok()
            .filter(|s| *s > 0)
            .unwrap_or(crate::id::DEFAULT_ID_SIZE),
    }
}

/// The hash of a config's normalized definition.
pub fn config_hash(
    config: &ResourceConfig,
    attributes: &Map<String, Value>,
    partitions: &Map<String, Value>,
) -> String {
    definition_hash(
        attributes,
        config.behavior.as_str(),
        partitions,
        config.timestamps,
    )
}

/// Per-process settings that `s3db.json` does not hold.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// Passphrase of secret fields.
    pub passphrase: SecretString,
    /// Id generator (`None`: from the stored `idSize`).
    pub id_generator: Option<IdGenerator>,
    /// Absolute metadata limit.
    pub metadata_limit: usize,
    /// Most requests in flight per bulk operation (`None`: each operation's default).
    pub parallelism: Option<usize>,
}

impl LocalSettings {
    /// Settings with the given passphrase and s3db.js defaults otherwise.
    pub fn with_passphrase(passphrase: impl Into<SecretString>) -> Self {
        LocalSettings {
            passphrase: passphrase.into(),
            id_generator: None,
            metadata_limit: DEFAULT_METADATA_LIMIT,
            parallelism: None,
        }
    }
}

impl Definition {
    /// Compiles the current version of a stored resource; older versions are compiled on
    /// demand through [`Definition::at_version`].
    pub fn compile(name: &str, entry: &ResourceEntry, local: &LocalSettings) -> Result<Definition> {
        let mut def = Definition::compile_version(name, entry, local, &entry.current_version)?;
        def.history = Some(Arc::new(History {
            entry: entry.clone(),
            local: local.clone(),
            compiled: Mutex::new(HashMap::new()),
        }));
        Ok(def)
    }

    /// The definition objects written under `version` decode with: `None` when that version
    /// is not in `s3db.json` (the current definition is then the best guess). Compiled once
    /// per version and cached.
    pub fn at_version(&self, version: &str) -> Result<Option<Arc<Definition>>> {
        let Some(history) = &self.history else {
            return Ok(None);
        };
        if !history.entry.versions.contains_key(version) {
            return Ok(None);
        }
        let mut compiled = history
            .compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = compiled.get(version) {
            return Ok(Some(found.clone()));
        }
        let def = Arc::new(Definition::compile_version(
            &self.name,
            &history.entry,
            &history.local,
            version,
        )?);
        compiled.insert(version.to_owned(), def.clone());
        Ok(Some(def))
    }

    /// Compiles one version of a stored resource (partitions and key registry are shared by
    /// every version).
    fn compile_version(
        name: &str,
        entry: &ResourceEntry,
        local: &LocalSettings,
        version: &str,
    ) -> Result<Definition> {
        let current: &VersionEntry = entry.versions.get(version).ok_or_else(|| {
            Error::corrupt(
                crate::metadata::document::METADATA_KEY,
                format!("resource {name:?}: version {version:?} missing"),
            )
        })?;
        let attributes = current.attributes.clone().ok_or_else(|| {
            Error::corrupt(
                crate::metadata::document::METADATA_KEY,
                format!("resource {name:?}: version {version:?} has no attributes"),
            )
        })?;
        let options = SchemaOptions {
            all_nested_objects_optional: current.all_nested_objects_optional,
        };
        let (schema, unreadable) = Schema::parse_lenient(&attributes, options);
        let mut warnings: Vec<DefinitionWarning> = unreadable
            .into_iter()
            .map(|problem| {
                DefinitionWarning::new(
                    problem.attribute,
                    format!("{}: read as any value, kept as stored", problem.reason),
                )
            })
            .collect();
        warnings.extend(DefinitionWarning::of_schema(&schema));
        let behavior = BehaviorKind::parse(&current.behavior).unwrap_or_else(|| {
            warnings.push(DefinitionWarning::new(
                "behavior",
                format!(
                    "unknown behavior {:?}: records are written as user-managed, the name is kept",
                    current.behavior
                ),
            ));
            BehaviorKind::UserManaged
        });
        let partitions_def = entry
            .partitions
            .clone()
            .or_else(|| current.partitions.clone())
            .unwrap_or_default();
        let mut partitions = Vec::with_capacity(partitions_def.len());
        for (partition_name, partition_def) in &partitions_def {
            let one = Map::from_iter([(partition_name.clone(), partition_def.clone())]);
            match Partition::parse_all(name, &one) {
                Ok(parsed) => partitions.extend(parsed),
                Err(e) => warnings.push(DefinitionWarning::new(
                    format!("partitions.{partition_name}"),
                    format!("{e}: not used, kept as stored"),
                )),
            }
        }
        let unknown_keys = entry.extra.keys().chain(
            current
                .extra
                .keys()
                .filter(|key| !KNOWN_VERSION_EXTRAS.contains(&key.as_str())),
        );
        if current.cache == Some(true) {
            warnings.push(DefinitionWarning::new(
                "cache",
                "stored in s3db.json, no effect (s3db.js 21.6.2 ignores it too): reads are \
                 cached by the cache plugin, which covers every resource it does not exclude",
            ));
        }
        for key in unknown_keys {
            warnings.push(DefinitionWarning::new(
                key,
                "not known here: kept verbatim, not applied",
            ));
        }
        let paths = schema.mapping_paths();
        let mut registry = entry.schema_registry.clone().unwrap_or_default();
        if let Some(legacy) = current.extra.get("map").and_then(Value::as_object) {
            registry.absorb_legacy_map(&legacy_indices(legacy));
        }
        let (assigned, _) = registry.assign(&paths, "");
        let keys = KeyMap::from_indices(&assigned, &schema);
        let id_generator = local
            .id_generator
            .clone()
            .unwrap_or_else(|| stored_id_generator(current));
        Ok(Definition {
            name: name.to_owned(),
            version: version.to_owned(),
            attributes,
            schema,
            behavior,
            timestamps: current.timestamps,
            paranoid: current.paranoid,
            partitions,
            keys,
            id_generator,
            secrets: Arc::new(Secrets::new(local.passphrase.expose())),
            auto_decrypt: current.auto_decrypt,
            parallelism: local.parallelism,
            metadata_limit: local.metadata_limit,
            warnings,
            history: None,
        })
    }

    /// Key of a record object.
    pub fn record_key(&self, id: &str) -> String {
        // Pushed, not `format!`ted: every operation on a record builds its key.
        let mut key = String::with_capacity(22 + self.name.len() + id.len());
        key.push_str("resource=");
        key.push_str(&self.name);
        key.push_str("/data/id=");
        key.push_str(id);
        key
    }

    /// Listing prefix of the record objects (no trailing slash, as s3db.js).
    pub fn data_prefix(&self) -> String {
        format!("resource={}/data", self.name)
    }
}

/// Indices of a legacy `map` (attribute → base36 key); unparsable keys are skipped.
fn legacy_indices(map: &Map<String, Value>) -> Vec<(String, u64)> {
    map.iter()
        .filter_map(|(attr, key)| {
            let index = s3db_codec::base62::decode_base36_key(key.as_str()?).ok()?;
            Some((attr.clone(), index as u64))
        })
        .collect()
}

/// Registry update for a (re)definition: new paths get fresh indices, removed ones are burned.
pub fn updated_registry(
    existing: Option<&SchemaRegistry>,
    schema: &Schema,
    now: &str,
) -> (SchemaRegistry, bool) {
    let mut registry = existing.cloned().unwrap_or_default();
    let (_, changed) = registry.assign(&schema.mapping_paths(), now);
    (registry, changed || existing.is_none())
}
