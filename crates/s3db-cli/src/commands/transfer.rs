//! `export R` and `import R FILE`: whole resources to and from JSON lines, JSON or CSV,
//! streaming (records are read and written one at a time, with bounded concurrency).

use futures::TryStreamExt;
use s3db::core::{ListRequest, Resource};

use s3db::plugins::importer::Importer;

use crate::apply::{Tally, show};
use crate::args::{ExportArgs, Format, ImportArgs};
use crate::csv_columns::ColumnKinds;
use crate::error::{CliError, ExitKind, Result};
use crate::input;
use crate::output_file::{JsonArrayWriter, OutputFile};
use crate::progress::Progress;
use crate::session::Session;

/// `export R --format F [--output FILE]`.
pub async fn export(session: &Session, args: ExportArgs) -> Result<()> {
    let db = session.database().await?;
    let resource = session.resource(&db, &args.resource)?;
    let mut out = match &args.output {
        Some(path) => OutputFile::create(path)?,
        None => OutputFile::stdout(),
    };
    let to_stdout = out.is_stdout();
    let progress = Progress::new(&session.output, "records exported");
    let exported = write_records(
        &resource,
        &mut out,
        args.format,
        usize::from(args.concurrency),
        &progress,
    )
    .await?;
    out.finish()?;
    progress.finish();
    if !to_stdout {
        let mut summary = serde_json::Map::new();
        summary.insert("resource".into(), args.resource.into());
        summary.insert("exported".into(), exported.into());
        if let Some(path) = &args.output {
            summary.insert("file".into(), path.display().to_string().into());
        }
        session.output.summary(&summary)?;
    }
    Ok(())
}

/// Writes every record of `resource` to `out` in id order; returns how many.
/// Streams: ids and records are read as they are written (constant memory); records
/// deleted while the export runs are skipped.
pub async fn write_records(
    resource: &Resource,
    out: &mut OutputFile,
    format: Format,
    concurrency: usize,
    progress: &Progress,
) -> Result<u64> {
    let request = ListRequest::all().concurrency(concurrency.max(1));
    let records = resource.stream(&request)?.map_err(CliError::from);
    let mut records = std::pin::pin!(records);
    let mut count = 0u64;
    match format {
        Format::Jsonl => {
            while let Some(record) = records.try_next().await? {
                out.write_json_line(&record)?;
                count += 1;
                progress.inc();
            }
        }
        Format::Json => {
            let mut array = JsonArrayWriter::start(out)?;
            while let Some(record) = records.try_next().await? {
                array.push(&record)?;
                progress.inc();
            }
            count = array.end()?;
        }
        Format::Csv => {
            let columns = ColumnKinds::from_attributes(resource.attributes());
            let csv_failed =
                |e: csv::Error| CliError::context(ExitKind::Failure, "cannot write CSV", e);
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *out);
            writer.write_record(columns.header()).map_err(csv_failed)?;
            while let Some(record) = records.try_next().await? {
                writer
                    .write_record(columns.cells(&record))
                    .map_err(csv_failed)?;
                count += 1;
                progress.inc();
            }
            writer.flush().map_err(|e| csv_failed(e.into()))?;
        }
    }
    Ok(count)
}

/// `import R FILE [--format F] [--upsert]`: every item is inserted (or upserted) by the
/// library's [`Importer`]; failures are reported with their line numbers, the rest
/// imported, and a summary printed.
pub async fn import(session: &Session, args: ImportArgs) -> Result<()> {
    let db = session.database().await?;
    let resource = session.resource(&db, &args.resource)?;
    let format = args.format.unwrap_or_else(|| input::format_of(&args.file));
    let reader = input::open(&args.file)?;
    let progress = Progress::new(&session.output, "records imported");
    let report = Importer::new(resource)
        .format(input::import_format(format))
        .upsert(args.upsert)
        .concurrency(usize::from(args.concurrency))
        .on_progress(show(&progress))
        .import_reader(reader)
        .await;
    let tally = Tally(report);
    progress.finish();
    session.output.summary(&tally.summary("imported"))?;
    tally.into_result("records")
}
