//! Command-line syntax: the clap definitions of every command and option.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The connection string used when neither `--connection` nor `S3DB_CONNECTION_STRING` is set.
pub const DEFAULT_CONNECTION: &str = "file://./s3db-data";

const AFTER_LONG_HELP: &str = "\
Connection strings:
  file://./dir  file:///abs/dir        a directory (the default: file://./s3db-data)
  memory://bucket/prefix               in-process memory (gone when the command ends)
  s3://KEY:SECRET@bucket/prefix?region=R
  http://KEY:SECRET@host:port/bucket/prefix   (MinIO, moto, R2...)
  (s3:// and http(s):// need the build feature `s3`, on by default)

  Without ?region=: AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's region, else us-east-1.
  s3:// goes to AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS.
  Without KEY:SECRET@: the AWS default credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
  AWS_PROFILE and ~/.aws, SSO, web identity, container, EC2 instance role).

Logs go to stderr, coloured only on a terminal and never when NO_COLOR is set.

Exit codes:
  0  success
  1  any other failure (storage, I/O, corrupt data)
  2  usage error (bad arguments or options, a query that needs --scan, a bulk delete
     of a paranoid resource)
  3  not found (database, record, resource or object)
  4  invalid input (schema validation, bad definition or id, malformed import lines)
  5  already exists or write conflict

Errors are printed as `error: ...` followed by one `caused by: ...` line per cause.";

/// Operate an s3db database (records in an S3 bucket, a directory or memory) from the shell.
#[derive(Debug, Parser)]
#[command(name = "s3db", version, about, long_about = None, after_long_help = AFTER_LONG_HELP)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalOptions,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// Where the database lives.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "S3DB_CONNECTION_STRING",
        hide_env_values = true,
        default_value = DEFAULT_CONNECTION
    )]
    pub connection: String,
    /// Passphrase of `secret` fields (else --passphrase-file, else S3DB_PASSPHRASE, else
    /// s3db.js's default `secret`, with a warning when secret fields are used).
    #[arg(long, global = true, conflicts_with = "passphrase_file")]
    pub passphrase: Option<String>,
    /// Read the passphrase of `secret` fields from this file (one trailing line break is
    /// ignored).
    #[arg(long, global = true, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
    /// Machine output: one JSON document on stdout, no progress bars.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log filter for stderr (`error`, `warn`, `info`, `debug`, `trace`, or tracing directives).
    #[arg(long, global = true, env = "S3DB_LOG_LEVEL", default_value = "warn")]
    pub log_level: String,
    /// Format of the log lines on stderr: `text` for people, `json` (one JSON object per
    /// line, with the operation's span fields) for log collectors.
    #[arg(
        long,
        global = true,
        env = "S3DB_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// JSON lines.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Raw object tools that bypass schemas (dump, load, list).
    #[command(subcommand)]
    Objects(ObjectsCommand),
    /// Create the database (an empty `s3db.json`) unless it exists. Commands that read
    /// never create it.
    Init,
    /// List the resources, or show one definition.
    Resources(ResourcesArgs),
    /// Define (or evolve) a resource from a JSON file in s3db.js `createResource` shape.
    CreateResource {
        /// The definition file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Insert records from `--data` or `--file` (a JSON object, a JSON array or JSON lines).
    Insert(InsertArgs),
    /// Read one record.
    Get {
        /// Resource name.
        resource: String,
        /// Record id.
        id: String,
        /// Add s3db.js's internal fields to each record: `_etag` (its version), `_lastModified`,
        /// `_contentLength`, `_hasContent`, `_mimeType`, `_v`, `_originalVersion`,
        /// `_versionMapped`. Writes ignore them, so the output can be edited and written back.
        #[arg(long)]
        meta: bool,
    },
    /// Change fields of one record (a JSON object of the changes).
    Update {
        /// Resource name.
        resource: String,
        /// Record id.
        id: String,
        /// The changes, as a JSON object.
        #[arg(long)]
        data: String,
    },
    /// Delete one record.
    Delete {
        /// Resource name.
        resource: String,
        /// Record id.
        id: String,
    },
    /// List records (in id order), optionally a page of them.
    List(ListArgs),
    /// Records matching a filter, served by the best partition (or a full scan with --scan).
    Query(QueryArgs),
    /// Reconcile partition references and `unique` claims with records (after a crash, or
    /// records written by s3db.js); values several records hold are reported, not changed.
    Repair {
        /// Resource name.
        resource: String,
    },
    /// Count the records of a resource.
    Count {
        /// Resource name.
        resource: String,
    },
    /// Write every record of a resource to a file or stdout.
    Export(ExportArgs),
    /// Insert records from a file (JSON lines, a JSON array or CSV).
    Import(ImportArgs),
    /// Record counts, partitions, and the storage requests (with estimated cost) of the command.
    Stats {
        /// Only this resource.
        resource: Option<String>,
    },
    /// Copy resources (definitions and records) into a backup directory.
    Backup(BackupArgs),
    /// Load a backup directory into the database (definitions first, then records).
    Restore(RestoreArgs),
    /// Create a small sample database (idempotent) and print what was done.
    Demo,
    /// Generate code from the stored resource definitions.
    #[command(subcommand)]
    Codegen(CodegenCommand),
    /// Serve the database to AI assistants over MCP (Model Context Protocol): on stdio, or
    /// on streamable HTTP with --http (see docs/mcp.md).
    #[cfg(feature = "mcp")]
    Mcp(McpArgs),
    /// Serve a REST API over the database (docs/server.md) until SIGINT or SIGTERM.
    #[cfg(feature = "serve")]
    Serve(ServeArgs),
}

/// `mcp` arguments.
#[cfg(feature = "mcp")]
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio (port 0 picks a free one);
    /// the URL is printed on stdout once bound.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// Offer only the tools that read: the writing ones are neither listed nor callable.
    #[arg(long)]
    pub read_only: bool,
    /// Serve Prometheus metrics (operations, latencies and storage requests per resource)
    /// at http://ADDR/metrics; port 0 picks a free one. The URL is printed after the MCP
    /// one with `--http`, on stderr with stdio (whose stdout carries only the protocol).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// `serve` options.
#[cfg(feature = "serve")]
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Prefix of every route, e.g. `/v1`.
    #[arg(long, default_value = "", value_name = "PATH")]
    pub base_path: String,
    /// An API key allowed to read and write every resource (`X-API-Key` header); repeatable.
    #[arg(
        long = "api-key",
        value_name = "KEY",
        env = "S3DB_API_KEY",
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// JSON file of API keys and Basic users with per-resource permissions (docs/server.md).
    #[arg(long, value_name = "PATH")]
    pub auth_config: Option<PathBuf>,
    /// Refuse every write (403).
    #[arg(long)]
    pub read_only: bool,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub body_limit: usize,
    /// Serve Prometheus metrics (operations, latencies and storage requests per resource)
    /// at http://ADDR/metrics; port 0 picks a free one, printed on stdout after the API's.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Requests per minute allowed per principal (API key, user or client address).
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// An origin allowed by CORS (`*` for any); repeatable.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
}

/// `codegen` subcommands.
#[derive(Debug, Subcommand)]
pub enum CodegenCommand {
    /// Rust structs deriving `s3db::Document` (and serde), one per resource and nested
    /// object, whose definitions equal the stored ones.
    Rust {
        /// Only these resources, in this order (default: every resource).
        resources: Vec<String>,
        /// Write to this file (`-` for stdout) instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// `backup` arguments.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup directory (created; must be empty unless --overwrite).
    pub dir: PathBuf,
    /// Gzip the record files (`RESOURCE.jsonl.gz`).
    #[arg(long)]
    pub compress: bool,
    /// Only these resources (comma-separated; default: every resource).
    #[arg(long, value_delimiter = ',')]
    pub resources: Vec<String>,
    /// Leave the resource schemas out of `s3db.json` (records and stats only).
    #[arg(long)]
    pub no_schemas: bool,
    /// Replace the backup already in DIR: afterwards DIR holds exactly the new backup's
    /// files (refused if DIR holds anything a backup does not write).
    #[arg(long)]
    pub overwrite: bool,
}

/// `restore` arguments.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup directory.
    pub dir: PathBuf,
    /// Only these resources of the backup (comma-separated; default: all of them).
    #[arg(long, value_delimiter = ',')]
    pub resources: Vec<String>,
    /// Delete the existing records of each restored resource first (refused for a paranoid
    /// resource: define it with `"paranoid": false` to allow it).
    #[arg(long)]
    pub clear: bool,
    /// Requests in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
}

/// `objects` subcommands.
#[derive(Debug, Subcommand)]
pub enum ObjectsCommand {
    /// Dump every object (key, metadata, body, content type) as JSON lines.
    Export {
        /// Output file (`-` for stdout).
        file: PathBuf,
        /// Only keys with this prefix.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Requests in flight.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
        concurrency: u16,
    },
    /// Store every object of a JSON-lines dump (overwriting keys that exist).
    Import {
        /// Input file (`-` for stdin).
        file: PathBuf,
        /// Requests in flight.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
        concurrency: u16,
    },
    /// List object keys.
    List {
        /// Only keys with this prefix.
        #[arg(long, default_value = "")]
        prefix: String,
    },
}

/// `resources` arguments.
#[derive(Debug, Args)]
pub struct ResourcesArgs {
    /// `show NAME` prints one definition; nothing lists them all.
    #[command(subcommand)]
    pub action: Option<ResourcesAction>,
}

/// `resources` subcommands.
#[derive(Debug, Subcommand)]
pub enum ResourcesAction {
    /// Print one resource definition (as stored in `s3db.json`).
    Show {
        /// Resource name.
        name: String,
    },
}

/// `insert` arguments.
#[derive(Debug, Args)]
pub struct InsertArgs {
    /// Resource name.
    pub resource: String,
    /// The record(s) as JSON text.
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    pub data: Option<String>,
    /// A file holding the record(s): a JSON object, a JSON array or JSON lines.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

/// `list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Resource name.
    pub resource: String,
    /// At most this many records.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Skip this many records first.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// List through this partition's references.
    #[arg(long)]
    pub partition: Option<String>,
    /// Partition field values, `field=value,...` (fields not given match any value).
    #[arg(long, requires = "partition")]
    pub values: Option<String>,
    /// Add s3db.js's internal fields to each record: `_etag` (its version), `_lastModified`,
    /// `_contentLength`, `_hasContent`, `_mimeType`, `_v`, `_originalVersion`,
    /// `_versionMapped`. Writes ignore them, so the output can be edited and written back.
    #[arg(long)]
    pub meta: bool,
}

/// `query` arguments.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Resource name.
    pub resource: String,
    /// The filter, a JSON object (`{"status": "open", "age": {"$gt": 30}}`).
    #[arg(long)]
    pub filter: String,
    /// Allow reading every record when no partition serves the filter.
    #[arg(long)]
    pub scan: bool,
    /// At most this many records.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Skip this many matching records first.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Add s3db.js's internal fields to each record: `_etag` (its version), `_lastModified`,
    /// `_contentLength`, `_hasContent`, `_mimeType`, `_v`, `_originalVersion`,
    /// `_versionMapped`. Writes ignore them, so the output can be edited and written back.
    #[arg(long)]
    pub meta: bool,
}

/// Record file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON record per line.
    Jsonl,
    /// One JSON array of records.
    Json,
    /// Comma-separated values with a header row; nested fields as dotted columns.
    Csv,
}

/// `export` arguments.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Resource name.
    pub resource: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Output file (stdout when absent).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Requests in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
}

/// `import` arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Resource name.
    pub resource: String,
    /// Input file (`-` for stdin).
    pub file: PathBuf,
    /// Input format (default: from the file extension, else JSON lines).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Replace records whose id exists instead of reporting them as duplicates.
    #[arg(long)]
    pub upsert: bool,
    /// Requests in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_default_connection_is_the_embedded_file_store() {
        let cli = Cli::try_parse_from(["s3db", "count", "people"]).unwrap();
        if std::env::var_os("S3DB_CONNECTION_STRING").is_none() {
            assert_eq!(cli.global.connection, DEFAULT_CONNECTION);
        }
        assert!(!cli.global.json);
    }

    #[test]
    fn global_options_go_after_the_command_too() {
        let cli =
            Cli::try_parse_from(["s3db", "get", "r", "1", "--json", "-c", "memory://b"]).unwrap();
        assert!(cli.global.json);
        assert_eq!(cli.global.connection, "memory://b");
    }
}
