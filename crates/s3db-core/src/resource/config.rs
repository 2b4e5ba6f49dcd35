//! Resource configuration: a Rust builder, or JSON in s3db.js's `createResource` shape.

use s3db_codec::secret::SecretString;
use serde_json::{Map, Value};

use crate::behavior::BehaviorKind;
use crate::error::{Error, Result};
use crate::id::IdGenerator;
use crate::incremental::IncrementalConfig;
use crate::resource::definition::DefinitionWarning;

/// The definition of a resource, as given to [`crate::Database::create_resource`].
///
/// ```
/// use s3db_core::{BehaviorKind, ResourceConfig};
/// use serde_json::json;
///
/// let built = ResourceConfig::new("people")
///     .attribute("name", "string|required")
///     .attribute("address", json!({"city": "string"}))
///     .behavior(BehaviorKind::BodyOverflow)
///     .partition("byCity", [("address.city", "string")]);
/// let parsed = ResourceConfig::from_json(&json!({
///     "name": "people",
///     "attributes": {"name": "string|required", "address": {"city": "string"}},
///     "behavior": "body-overflow",
///     "partitions": {"byCity": {"fields": {"address.city": "string"}}}
/// })).unwrap();
/// assert_eq!(built.attributes, parsed.attributes);
/// assert_eq!(built.partitions, parsed.partitions);
/// ```
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// Resource name (the `resource=<name>` key segment).
    pub name: String,
    /// Attribute definitions (fastest-validator shorthand), in definition order.
    pub attributes: Map<String, Value>,
    /// How records are split between metadata and body.
    pub behavior: BehaviorKind,
    /// Maintain `createdAt`/`updatedAt` (adds the attributes and the date partitions).
    pub timestamps: bool,
    /// Partition definitions `{name: {fields: {path: rule}}}`, in declaration order.
    pub partitions: Map<String, Value>,
    /// How ids are generated for records inserted without one.
    pub id_generator: IdGenerator,
    /// Passphrase of the resource's secret fields (default: the one given for this resource
    /// in [`crate::DatabaseOptions::resources`], else the database's); never shown by
    /// `Debug`. Like s3db.js, nothing stores it: other processes must be given it
    /// ([`crate::ResourceOptions::passphrase`]), and reading with a wrong one is
    /// [`Error::Decryption`] naming the resource, record and field.
    pub passphrase: Option<SecretString>,
    /// s3db.js `paranoid` flag (default `true`; `delete_all` refuses to run while it is set).
    pub paranoid: bool,
    /// s3db.js `allNestedObjectsOptional` flag (stored).
    pub all_nested_objects_optional: bool,
    /// s3db.js `autoDecrypt` flag (default `true`), stored in `s3db.json` and applied by every
    /// process that opens the resource: when `false`, reads return secret fields as their
    /// stored ciphertext (decrypt one with `s3db_codec::secret::Secrets::decrypt`, as
    /// s3db.js's exported `decrypt(value, passphrase)`); writing such a value back keeps it.
    pub auto_decrypt: bool,
    /// s3db.js `cache` flag, stored in `s3db.json`; when set, the resource's
    /// [definition warnings](crate::Resource::definition_warnings) say that it has no effect in s3db.js 21.6.2 nor here. Reads are cached by the cache plugin
    /// (`s3db_plugins::cache`), which covers every resource it does not exclude.
    pub cache: bool,
    /// Most requests one bulk operation of this resource keeps in flight: `get_many`,
    /// `insert_many`, `delete_many`, the record reads of `list`, `page`, `query`, `get_all`
    /// and streams, `repair`, `write` (`None`: each operation's own default — 10 for the
    /// `*_many` operations, the request's `concurrency` for listings). Not stored: s3db.js
    /// 21.6.2 reads no per-resource `parallelism` (its pool is database-wide), so other
    /// processes are given it through [`crate::ResourceOptions::parallelism`].
    pub parallelism: Option<usize>,
    /// Who defines the resource (`"user"` unless a plugin does).
    pub created_by: String,
    /// s3db.js per-resource `versioningEnabled` (`None`: the database's setting): adds the
    /// `byVersion` partition.
    pub versioning: Option<bool>,
    /// What [`ResourceConfig::from_json`] accepted but does not apply, or read differently
    /// (deprecated nesting, unknown keys); [`crate::Database::create_resource`] reports them.
    pub warnings: Vec<DefinitionWarning>,
}

impl ResourceConfig {
    /// A resource with no attributes and s3db.js's defaults.
    pub fn new(name: impl Into<String>) -> Self {
        ResourceConfig {
            name: name.into(),
            attributes: Map::new(),
            behavior: BehaviorKind::UserManaged,
            timestamps: false,
            partitions: Map::new(),
            id_generator: IdGenerator::default(),
            passphrase: None,
            paranoid: true,
            all_nested_objects_optional: true,
            auto_decrypt: true,
            cache: false,
            parallelism: None,
            created_by: "user".into(),
            versioning: None,
            warnings: Vec::new(),
        }
    }

    /// Adds (or replaces) one attribute: a rule string or a nested object of rules.
    pub fn attribute(mut self, name: impl Into<String>, definition: impl Into<Value>) -> Self {
        self.attributes.insert(name.into(), definition.into());
        self
    }

    /// Replaces all attributes.
    pub fn attributes(mut self, attributes: Map<String, Value>) -> Self {
        self.attributes = attributes;
        self
    }

    /// Sets the behavior.
    pub fn behavior(mut self, behavior: BehaviorKind) -> Self {
        self.behavior = behavior;
        self
    }

    /// Turns timestamps on or off.
    pub fn timestamps(mut self, on: bool) -> Self {
        self.timestamps = on;
        self
    }

    /// Sets s3db.js's `paranoid` flag (default `true`): while it is set, `delete_all` is
    /// refused.
    pub fn paranoid(mut self, on: bool) -> Self {
        self.paranoid = on;
        self
    }

    /// Adds a partition over `fields` (path, rule) — fields are stored in the given order.
    pub fn partition<'a>(
        mut self,
        name: impl Into<String>,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let fields: Map<String, Value> = fields
            .into_iter()
            .map(|(path, rule)| (path.to_owned(), Value::String(rule.to_owned())))
            .collect();
        let mut partition = Map::new();
        partition.insert("fields".into(), Value::Object(fields));
        self.partitions
            .insert(name.into(), Value::Object(partition));
        self
    }

    /// Sets the id generator.
    pub fn id_generator(mut self, generator: IdGenerator) -> Self {
        self.id_generator = generator;
        self
    }

    /// Random ids of `size` characters.
    pub fn id_size(self, size: usize) -> Self {
        self.id_generator(IdGenerator::Nanoid { size })
    }

    /// Sets the passphrase of secret fields.
    pub fn passphrase(mut self, passphrase: impl Into<SecretString>) -> Self {
        self.passphrase = Some(passphrase.into());
        self
    }

    /// Sets s3db.js's `autoDecrypt` flag (default `true`; see [`ResourceConfig::auto_decrypt`]).
    pub fn auto_decrypt(mut self, on: bool) -> Self {
        self.auto_decrypt = on;
        self
    }

    /// Bounds the requests in flight of each bulk operation (at least 1; see
    /// [`ResourceConfig::parallelism`]).
    pub fn parallelism(mut self, parallelism: usize) -> Self {
        self.parallelism = Some(parallelism.max(1));
        self
    }

    /// Parses s3db.js's `createResource` argument: `name`, `attributes`, `behavior` (legacy
    /// names `user-management`, `data-truncate` too), `timestamps`, `partitions` (object, or
    /// the array shorthand `["status"]` → `byStatus`), `idSize`, `idGenerator` (a number =
    /// size), `passphrase` or `security.passphrase`, `paranoid`, `allNestedObjectsOptional`,
    /// `autoDecrypt`, `cache`, `createdBy`, `versioningEnabled`, `parallelism`. The older
    /// `options: {…}` nesting is lifted (top-level keys win). Whatever is accepted but not
    /// applied, and unknown keys (ignored, as s3db.js does), land in
    /// [`ResourceConfig::warnings`].
    ///
    /// ```
    /// use s3db_core::{BehaviorKind, ResourceConfig};
    /// use serde_json::json;
    ///
    /// let config = ResourceConfig::from_json(&json!({
    ///     "name": "users",
    ///     "attributes": {"email": "email|unique"},
    ///     "options": {"behavior": "body-overflow", "timestamps": true},
    /// })).unwrap();
    /// assert_eq!(config.behavior, BehaviorKind::BodyOverflow);
    /// assert!(config.timestamps);
    /// assert_eq!(config.warnings[0].key, "options");
    /// ```
    pub fn from_json(value: &Value) -> Result<Self> {
        let given = value
            .as_object()
            .ok_or_else(|| Error::schema("", "", "resource config must be a JSON object"))?;
        let name = given
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::schema("", "name", "a non-empty string `name` is required"))?;
        let mut warnings = Vec::new();
        let mut lifted = given.clone();
        match lifted.shift_remove("options") {
            None | Some(Value::Null) => {}
            Some(Value::Object(options)) => {
                warnings.push(DefinitionWarning::new(
                    "options",
                    "the `options: {…}` nesting is deprecated: its keys are read as top-level keys",
                ));
                for (key, value) in options {
                    lifted.entry(key).or_insert(value);
                }
            }
            Some(_) => return Err(Error::schema(name, "options", "must be an object")),
        }
        let obj = &lifted;
        for key in obj.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
            warnings.push(DefinitionWarning::new(
                key,
                "not known here: ignored (s3db.js ignores it too)",
            ));
        }
        let fail = |attribute: &str, reason: &str| Error::schema(name, attribute, reason);
        let mut config = ResourceConfig::new(name);
        config.attributes = match obj.get("attributes") {
            Some(Value::Object(attrs)) => attrs.clone(),
            None => Map::new(),
            Some(_) => return Err(fail("attributes", "must be an object")),
        };
        if let Some(behavior) = obj.get("behavior") {
            let text = behavior
                .as_str()
                .ok_or_else(|| fail("behavior", "must be a string"))?;
            config.behavior = BehaviorKind::parse(text)
                .ok_or_else(|| fail("behavior", &format!("unknown behavior {text:?}")))?;
        }
        let flag = |key: &str, default: bool| -> Result<bool> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(fail(key, "must be a boolean")),
            }
        };
        config.timestamps = flag("timestamps", false)?;
        config.paranoid = flag("paranoid", true)?;
        config.all_nested_objects_optional = flag("allNestedObjectsOptional", true)?;
        config.auto_decrypt = flag("autoDecrypt", true)?;
        config.cache = flag("cache", false)?;
        config.versioning = match obj.get("versioningEnabled") {
            None | Some(Value::Null) => None,
            Some(_) => Some(flag("versioningEnabled", false)?),
        };
        match obj.get("parallelism") {
            None | Some(Value::Null) => {}
            Some(n) => {
                let n = n
                    .as_u64()
                    .filter(|n| *n > 0)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| fail("parallelism", "must be a positive integer"))?;
                config.parallelism = Some(n);
            }
        }
        match obj.get("hooks") {
            Some(Value::Object(hooks)) if !hooks.is_empty() => {
                warnings.push(DefinitionWarning::new(
                    "hooks",
                    "hooks are functions and cannot come from JSON: register them on the \
                     resource (HookPoint::from_name also reads preInsert/preUpdate/preDelete)",
                ));
            }
            _ => {}
        }
        if let Some(created_by) = obj.get("createdBy").and_then(Value::as_str) {
            config.created_by = created_by.to_owned();
        }
        config.partitions = match obj.get("partitions") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(Value::Array(fields)) => {
                expand_partition_shorthand(name, fields, &config.attributes)?
            }
            Some(_) => return Err(fail("partitions", "must be an object or an array")),
        };
        if let Some(size) = obj.get("idSize") {
            let size = size
                .as_u64()
                .filter(|s| *s > 0)
                .ok_or_else(|| fail("idSize", "must be a positive integer"))?;
            config =
                config.id_size(usize::try_from(size).map_err(|_| fail("idSize", "too large"))?);
        }
        match obj.get("idGenerator") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => {
                let size = n.as_u64().filter(|s| *s > 0).ok_or_else(|| {
                    fail("idGenerator", "a numeric generator must be a positive size")
                })?;
                config = config
                    .id_size(usize::try_from(size).map_err(|_| fail("idGenerator", "too large"))?);
            }
            Some(Value::String(label)) if label == "default" => {}
            Some(value) if IncrementalConfig::is_incremental(value) => {
                let incremental = IncrementalConfig::from_json(value).map_err(|e| {
                    fail(
                        &format!("idGenerator.{}", e.field),
                        &format!("incremental {} {}", e.field, e.reason),
                    )
                })?;
                config = config.id_generator(IdGenerator::incremental(incremental));
            }
            Some(other) => {
                return Err(fail(
                    "idGenerator",
                    &format!(
                        "{other} is not supported from JSON (use a size, or IdGenerator::custom in Rust)"
                    ),
                ));
            }
        }
        let passphrase = obj
            .get("passphrase")
            .or_else(|| obj.get("security").and_then(|s| s.get("passphrase")));
        match passphrase {
            None | Some(Value::Null) => {}
            Some(Value::String(p)) => {
                config.passphrase = Some(p.as_str().into());
                warnings.push(DefinitionWarning::new(
                    "passphrase",
                    "used by this process; not stored in s3db.json (s3db.js does not store it \
                     either): other processes must be given it (ResourceOptions::passphrase, \
                     or the CLI's --passphrase), else reading a secret is a decryption error",
                ));
            }
            Some(_) => return Err(fail("passphrase", "must be a string")),
        }
        config.warnings = warnings;
        Ok(config)
    }
}

/// The `createResource` keys s3db.js 21.6.2 reads (others are ignored, with a warning).
const KNOWN_KEYS: [&str; 22] = [
    "name",
    "attributes",
    "behavior",
    "timestamps",
    "partitions",
    "idSize",
    "idGenerator",
    "passphrase",
    "security",
    "paranoid",
    "allNestedObjectsOptional",
    "autoDecrypt",
    "cache",
    "createdBy",
    "versioningEnabled",
    "parallelism",
    "hooks",
    "asyncEvents",
    "asyncPartitions",
    "strictValidation",
    "events",
    "map",
];

/// `["status"]` → `{byStatus: {fields: {status: <first word of its rule>}}}`, as s3db.js does.
fn expand_partition_shorthand(
    resource: &str,
    fields: &[Value],
    attributes: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut partitions = Map::new();
    for field in fields {
        let field = field.as_str().ok_or_else(|| {
            Error::schema(
                resource,
                "partitions",
                "shorthand entries must be field names",
            )
        })?;
        let definition = attributes.get(field).ok_or_else(|| {
            Error::schema(
                resource,
                "partitions",
                format!("partition field {field:?} is not an attribute"),
            )
        })?;
        let rule = match definition {
            Value::String(rule) => rule.split('|').next().unwrap_or("string").trim().to_owned(),
            Value::Object(obj) => obj
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("string")
                .to_owned(),
            _ => "string".to_owned(),
        };
        let mut chars = field.chars();
        let name = match chars.next() {
            Some(first) => format!("by{}{}", first.to_uppercase(), chars.as_str()),
            None => continue,
        };
        let mut field_map = Map::new();
        field_map.insert(field.to_owned(), Value::String(rule));
        let mut partition = Map::new();
        partition.insert("fields".into(), Value::Object(field_map));
        partitions.insert(name, Value::Object(partition));
    }
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn array_shorthand_expands_like_s3dbjs() {
        let config = ResourceConfig::from_json(&json!({
            "name": "events",
            "attributes": {"type": "string|required", "seq": "number"},
            "behavior": "body-overflow",
            "partitions": ["type"]
        }))
        .unwrap();
        assert_eq!(
            Value::Object(config.partitions),
            json!({"byType": {"fields": {"type": "string"}}})
        );
        assert_eq!(config.behavior, BehaviorKind::BodyOverflow);
    }

    #[test]
    fn bad_configs_are_schema_errors() {
        for bad in [
            json!([]),
            json!({"attributes": {}}),
            json!({"name": "x", "behavior": "truncate"}),
            json!({"name": "x", "partitions": ["missing"]}),
            json!({"name": "x", "timestamps": "yes"}),
            json!({"name": "x", "idSize": 0}),
            json!({"name": "x", "idGenerator": {"type": "incremental", "increment": 0}}),
        ] {
            assert!(
                matches!(ResourceConfig::from_json(&bad), Err(Error::Schema { .. })),
                "{bad}"
            );
        }
    }
}
