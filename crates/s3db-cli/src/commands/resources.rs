//! `resources [show R]`, `create-resource --file def.json` and `init`.

use std::path::Path;

use s3db::core::ResourceConfig;
use serde_json::{Map, Value, json};

use crate::args::{ResourcesAction, ResourcesArgs};
use crate::commands::records::parse_json;
use crate::error::{CliError, ExitKind, Result};
use crate::input;
use crate::session::Session;

/// `resources`: one row per resource; `resources show R`: its `s3db.json` entry, with the
/// definition's `warnings` (parts kept but not applied) or the `error` that makes it unusable.
pub async fn run(session: &Session, args: ResourcesArgs) -> Result<()> {
    let db = session.database().await?;
    let document = db.document();
    match args.action {
        Some(ResourcesAction::Show { name }) => {
            let entry = document.resources.get(&name).ok_or_else(|| {
                CliError::new(ExitKind::NotFound, format!("unknown resource {name:?}"))
            })?;
            let entry = serde_json::to_value(entry).map_err(|e| {
                CliError::context(
                    ExitKind::Failure,
                    format!("cannot show resource {name:?}"),
                    e,
                )
            })?;
            let mut shown = Map::new();
            shown.insert("name".into(), json!(name));
            if let Value::Object(fields) = entry {
                shown.extend(fields);
            }
            // What the definition holds that is kept but not applied, or cannot be used.
            match db.resource(&name) {
                Ok(resource) => {
                    let warnings: Vec<String> = resource
                        .definition_warnings()
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    shown.insert("warnings".into(), json!(warnings));
                }
                Err(e) => {
                    shown.insert("error".into(), json!(e.to_string()));
                }
            }
            session.output.record(&Value::Object(shown))
        }
        None => {
            let rows: Vec<Vec<Value>> = document
                .resources
                .iter()
                .map(|(name, entry)| {
                    let current = entry.current();
                    let attributes = current
                        .and_then(|v| v.attributes.as_ref())
                        .map_or(0, Map::len);
                    let partitions: Vec<&String> = entry
                        .partitions
                        .as_ref()
                        .map(|p| p.keys().collect())
                        .unwrap_or_default();
                    vec![
                        json!(name),
                        json!(entry.current_version),
                        json!(current.map(|v| v.behavior.as_str())),
                        json!(attributes),
                        json!(partitions),
                    ]
                })
                .collect();
            session.output.rows(
                &["name", "version", "behavior", "attributes", "partitions"],
                &rows,
            )
        }
    }
}

/// `create-resource --file def.json`: defines the resource, or records a new version when
/// the definition changed; prints which.
pub async fn create(session: &Session, file: &Path) -> Result<()> {
    let definition = parse_json(&input::read_to_string(file)?, &file.display().to_string())?;
    let config = ResourceConfig::from_json(&definition)?;
    let db = session.database_to_define().await?;
    let name = config.name.clone();
    let before = db.document().resources.get(&name).cloned();
    let resource = db.create_resource(config).await?;
    // A change outside the definition hash (`paranoid`) updates the entry in place.
    let outcome = match &before {
        None => "created",
        Some(entry) if db.document().resources.get(&name) == Some(entry) => "unchanged",
        Some(_) => "updated",
    };
    let mut summary = Map::new();
    summary.insert("resource".into(), json!(name));
    summary.insert("version".into(), json!(resource.version()));
    summary.insert("outcome".into(), json!(outcome));
    session.output.summary(&summary)
}

/// `init`: creates the database (a blank `s3db.json`) unless it exists; prints whether it
/// was created.
pub async fn init(session: &Session) -> Result<()> {
    let db = session.database_to_define().await?;
    let created = db.init().await?;
    let mut summary = Map::new();
    summary.insert("location".into(), json!(session.location()));
    summary.insert("created".into(), json!(created));
    session.output.summary(&summary)
}
