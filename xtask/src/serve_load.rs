//! `cargo xtask serve-load`: a bounded load run of the REST API (`s3db-server`) over one
//! backend. The server runs in this process on 127.0.0.1 (sharing its cores with the
//! client); C connections send N requests per phase with reqwest. Phases: `insert`
//! (`POST /items`) then `get` (`GET /items/{id}`, every inserted id). One JSON line per
//! phase: `{"impl":"s3db-server","backend","phase","n","concurrency","seconds","ops_per_s",
//! "p50_ms","p99_ms","errors"}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use s3db::core::{Database, ResourceConfig};
use serde_json::json;

use crate::bench::{Backend, BackendKind, Result, Server};

/// Options of `cargo xtask serve-load`.
#[derive(Debug, Args)]
pub struct ServeLoadArgs {
    /// Where the records go (`file` or `s3`; `memory` measures the HTTP layer alone).
    #[arg(long, value_enum, default_value_t = BackendKind::File)]
    pub backend: BackendKind,
    /// Requests per phase.
    #[arg(long, default_value_t = 2000)]
    pub n: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub c: usize,
    /// S3 endpoint (`--backend s3`); without it a local moto server is started and stopped.
    #[arg(long)]
    pub endpoint: Option<String>,
}

/// Runs both phases and prints their lines.
pub fn run(args: ServeLoadArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    runtime.block_on(async {
        let server = Server::start(args.backend, args.endpoint.as_deref())?;
        let backend = Backend::fresh(args.backend, &server).await?;
        let db = Database::builder(backend.storage.clone())
            .open()
            .await
            .map_err(|e| e.to_string())?;
        db.create_resource(
            ResourceConfig::new("items")
                .attribute("name", "string")
                .attribute("qty", "number|integer:true")
                .attribute("tags", "array|items:string"),
        )
        .await
        .map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot bind: {e}"))?;
        let base = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let router = s3db_server::router(db, s3db_server::ServerConfig::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(s3db_server::serve(listener, router, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(args.c)
            .build()
            .map_err(|e| e.to_string())?;
        let label = args.backend.label();
        let ids: Vec<String> = (0..args.n).map(|i| format!("item{i:07}")).collect();
        let insert = phase(&ids, args.c, |id| {
            client.post(format!("{base}/items")).json(
                &json!({"id": id, "name": format!("name of {id}"), "qty": 7, "tags": ["a", "b"]}),
            )
        })
        .await;
        print_line(label, "insert", &args, &insert);
        let get = phase(&ids, args.c, |id| client.get(format!("{base}/items/{id}"))).await;
        print_line(label, "get", &args, &get);
        let _ = stop.send(());
        let _ = serving.await;
        Ok(())
    })
}

/// Timings of one phase.
struct Timings {
    seconds: f64,
    latencies: Vec<Duration>,
    errors: usize,
}

/// Sends one request per id, `c` in flight; a non-2xx answer counts as an error.
async fn phase(
    ids: &[String],
    c: usize,
    request: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Timings {
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let latencies: Vec<Duration> = futures::stream::iter(ids)
        .map(|id| {
            let sent = request(id).send();
            let errors = errors.clone();
            async move {
                let at = Instant::now();
                let ok = match sent.await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                at.elapsed()
            }
        })
        .buffer_unordered(c.max(1))
        .collect()
        .await;
    Timings {
        seconds: started.elapsed().as_secs_f64(),
        latencies,
        errors: errors.load(Ordering::Relaxed),
    }
}

/// The latency at quantile `q` in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn print_line(backend: &str, phase: &str, args: &ServeLoadArgs, timings: &Timings) {
    let mut sorted = timings.latencies.clone();
    sorted.sort();
    let round = |x: f64| (x * 100.0).round() / 100.0;
    println!(
        "{}",
        json!({
            "impl": "s3db-server",
            "backend": backend,
            "phase": phase,
            "n": args.n,
            "concurrency": args.c,
            "seconds": round(timings.seconds),
            "ops_per_s": round(args.n as f64 / timings.seconds),
            "p50_ms": round(quantile_ms(&sorted, 0.50)),
            "p99_ms": round(quantile_ms(&sorted, 0.99)),
            "errors": timings.errors,
        })
    );
}
