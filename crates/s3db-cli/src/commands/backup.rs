//! `backup DIR [--compress] [--resources a,b] [--no-schemas] [--overwrite]` and
//! `restore DIR [--resources a,b] [--clear]`: a thin layer over [`s3db::core::backup`]
//! (the s3db.js BackupPlugin directory format with per-file checksums), adding progress
//! bars, the summary and the restore report.

use s3db::core::Database;
use s3db::core::backup::{self as library, BackupOptions, Observer, RestoreOptions, RestoreReport};
use serde_json::{Map, Value, json};

use crate::args::{BackupArgs, RestoreArgs};
use crate::error::{CliError, Result};
use crate::progress::Progress;
use crate::session::Session;

/// Records read in flight while backing up.
const BACKUP_CONCURRENCY: usize = 8;

/// An observer that counts each record on `progress`.
fn counting(progress: &Progress) -> Observer {
    let progress = progress.clone();
    Observer::new(move |_| progress.inc())
}

/// Warns (once) when a selected resource has secret fields under the default passphrase.
fn check_passphrases(session: &Session, db: &Database, selected: &[String]) {
    let chosen = |name: &String| selected.is_empty() || selected.contains(name);
    for name in db.list_resources().iter().filter(|name| chosen(name)) {
        if let Ok(resource) = db.resource(name) {
            session.check_passphrase(&resource);
        }
    }
}

/// `backup DIR [--compress] [--resources a,b] [--no-schemas] [--overwrite]`.
pub async fn backup(session: &Session, args: BackupArgs) -> Result<()> {
    let db = session.database().await?;
    check_passphrases(session, &db, &args.resources);
    let progress = Progress::new(&session.output, "records backed up");
    let options = BackupOptions::new()
        .compress(args.compress)
        .resources(args.resources)
        .schemas(!args.no_schemas)
        .overwrite(args.overwrite)
        .bucket(session.location())
        .concurrency(BACKUP_CONCURRENCY)
        .observer(counting(&progress));
    let made = library::backup(&db, &args.dir, &options).await;
    progress.finish();
    let made = made?;
    let mut summary = Map::new();
    summary.insert("backup".into(), json!(made.dir.display().to_string()));
    summary.insert("resources".into(), json!(made.resources.len()));
    summary.insert("records".into(), json!(made.records));
    summary.insert("bytes".into(), json!(made.bytes));
    summary.insert("compressed".into(), json!(made.compressed));
    summary.insert("schemas".into(), json!(made.schemas));
    summary.insert("removed".into(), json!(made.removed));
    session.output.summary(&summary)
}

/// `restore DIR [--resources a,b] [--clear]`: verifies every file of the backup, then
/// defines, clears (`--clear`) and upserts each resource. Records the database refuses are
/// reported on stderr and in the report; the rest is restored, and the exit code is 4.
pub async fn restore(session: &Session, args: RestoreArgs) -> Result<()> {
    let db = session.database_to_define().await?;
    let progress = Progress::new(&session.output, "records restored");
    let options = RestoreOptions::new()
        .resources(args.resources.clone())
        .clear(args.clear)
        .concurrency(usize::from(args.concurrency))
        .observer(counting(&progress));
    let report = library::restore(&db, &args.dir, &options).await;
    check_passphrases(session, &db, &args.resources);
    progress.finish();
    let report = report?;
    for resource in &report.resources {
        for failure in &resource.failures {
            eprintln!(
                "warning: {} line {}: {}",
                resource.resource, failure.line, failure.error
            );
        }
    }
    print_report(session, &report)?;
    let failed = report.failed();
    if failed > 0 {
        return Err(CliError::invalid(format!(
            "{failed} of {} records were not restored (the first of each resource are \
             reported above)",
            failed + report.restored()
        )));
    }
    Ok(())
}

/// The restore report: a table per resource with a total row, or with `--json`
/// `{"resources": [{resource, cleared, restored, failed}], "restored", "failed", "errors",
/// "warnings"}`.
fn print_report(session: &Session, report: &RestoreReport) -> Result<()> {
    let cleared: u64 = report.resources.iter().map(|r| r.cleared).sum();
    let (restored, failed) = (report.restored(), report.failed());
    if session.output.is_json() {
        let resources: Vec<Value> = report
            .resources
            .iter()
            .map(|r| json!({"resource": r.resource, "cleared": r.cleared, "restored": r.restored, "failed": r.failed}))
            .collect();
        let errors: Vec<Value> = report
            .resources
            .iter()
            .flat_map(|r| {
                r.failures
                    .iter()
                    .map(|f| json!({"resource": r.resource, "line": f.line, "error": f.error}))
            })
            .collect();
        let mut summary = Map::new();
        summary.insert("resources".into(), Value::Array(resources));
        summary.insert("restored".into(), json!(restored));
        summary.insert("failed".into(), json!(failed));
        summary.insert("errors".into(), Value::Array(errors));
        summary.insert("warnings".into(), json!(report.warnings));
        return session.output.summary(&summary);
    }
    let mut rows: Vec<Vec<Value>> = report
        .resources
        .iter()
        .map(|r| {
            vec![
                json!(r.resource),
                json!(r.cleared),
                json!(r.restored),
                json!(r.failed),
            ]
        })
        .collect();
    rows.push(vec![
        json!(format!("({} resources)", report.resources.len())),
        json!(cleared),
        json!(restored),
        json!(failed),
    ]);
    session
        .output
        .rows(&["resource", "cleared", "restored", "failed"], &rows)
}
