//! `serve`: the REST API of `s3db-server` over the database, until SIGINT or SIGTERM.

use std::io::Write as _;
use std::time::Duration;

use s3db_server::{ApiKey, AuthConfig, RateLimit, ServerConfig};

use super::metrics::serve_metrics;
use crate::args::ServeArgs;
use crate::error::{CliError, ExitKind, Result};
use crate::session::Session;

/// Runs `serve`: prints `listening on http://ADDR/BASE` once bound, then serves.
pub async fn run(session: &Session, args: ServeArgs) -> Result<()> {
    let db = session.database_to_define().await?;
    let metrics = match args.metrics_addr {
        Some(addr) => Some(serve_metrics(&db, addr).await?),
        None => None,
    };
    let mut auth = match &args.auth_config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::context(
                    ExitKind::Usage,
                    format!("cannot read --auth-config {}", path.display()),
                    e,
                )
            })?;
            AuthConfig::from_json(&text).map_err(|e| {
                CliError::context(
                    ExitKind::Usage,
                    format!("--auth-config {}: invalid", path.display()),
                    e,
                )
            })?
        }
        None => AuthConfig::default(),
    };
    auth.api_keys
        .extend(args.api_keys.iter().map(ApiKey::full_access));
    let base_path = match args.base_path.trim_end_matches('/') {
        "" => String::new(),
        base if base.starts_with('/') => base.to_owned(),
        base => format!("/{base}"),
    };
    let config = ServerConfig {
        base_path: base_path.clone(),
        read_only: args.read_only,
        auth,
        body_limit: args.body_limit,
        rate_limit: args.rate_limit.map(|n| RateLimit {
            burst: n,
            period: Duration::from_secs(60),
        }),
        cors_origins: args.cors_origins,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| {
            CliError::context(
                ExitKind::Usage,
                format!("cannot listen on {}", args.listen),
                e,
            )
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::context(ExitKind::Failure, "cannot read the bound address", e))?;
    let mut stdout = std::io::stdout();
    // The bound address is the one line on stdout, so scripts can start on port 0.
    writeln!(stdout, "listening on http://{address}{base_path}")
        .and_then(|()| match &metrics {
            Some(server) => writeln!(stdout, "metrics on http://{}/metrics", server.local_addr()),
            None => Ok(()),
        })
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::context(ExitKind::Failure, "cannot write to stdout", e))?;
    s3db_server::serve(
        listener,
        s3db_server::router(db, config),
        s3db_server::shutdown_signal(),
    )
    .await
    .map_err(|e| CliError::context(ExitKind::Failure, "the server failed", e))
}
