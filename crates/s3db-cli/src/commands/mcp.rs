//! `mcp [--http ADDR] [--read-only]`: the database as an MCP server (crate `s3db-mcp`), on
//! stdio (stdout carries only the protocol; diagnostics go to stderr) or streamable HTTP,
//! with Prometheus metrics on `--metrics-addr`.

use s3db_mcp::S3dbMcp;

use super::metrics::serve_metrics;

use crate::args::McpArgs;
use crate::error::{CliError, ExitKind, Result};
use crate::session::Session;

/// Runs `mcp` until the client disconnects (stdio) or the process is stopped (HTTP).
pub async fn run(session: &Session, args: McpArgs) -> Result<()> {
    // A writing server may start on an empty location (dbCreateResource defines the first
    // resource); a read-only one needs the database to exist.
    let db = if args.read_only {
        session.database().await?
    } else {
        session.database_to_define().await?
    };
    let metrics = match args.metrics_addr {
        Some(addr) => Some(serve_metrics(&db, addr).await?),
        None => None,
    };
    let metrics_line = |server: &s3db::plugins::metrics::MetricsServer| {
        format!("metrics on http://{}/metrics", server.local_addr())
    };
    let server = S3dbMcp::new(db, args.read_only).with_metrics(session.metrics().clone());
    let failed = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| CliError::context(ExitKind::Failure, what, e)
    };
    match args.http {
        None => {
            if let Some(metrics) = &metrics {
                eprintln!("{}", metrics_line(metrics));
            }
            s3db_mcp::serve_stdio(server)
                .await
                .map_err(failed("MCP stdio transport failed"))
        }
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(failed(&format!("cannot listen on {addr}")))?;
            let bound = listener
                .local_addr()
                .map_err(failed("cannot read the bound address"))?;
            println!("listening on http://{bound}{}", s3db_mcp::HTTP_PATH);
            if let Some(metrics) = &metrics {
                println!("{}", metrics_line(metrics));
            }
            s3db_mcp::serve_http(server, listener)
                .await
                .map_err(failed("MCP HTTP server failed"))
        }
    }
}
