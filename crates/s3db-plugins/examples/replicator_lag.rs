//! Replication lag to PostgreSQL for 1 000 inserts, printed as JSON lines.
//!
//! ```text
//! S3DB_TEST_POSTGRES_URL=$(bash .ci/start-postgres.sh | tail -n 1) \
//!   cargo run --release -p s3db-plugins --example replicator_lag [-- INSERTS]
//! ```
//!
//! Two runs on a memory database, each into a fresh table:
//! - `burst`: the inserts are made back to back; the lag (write → PostgreSQL
//!   acknowledgement) includes the time a change waits in the queue behind earlier ones.
//! - `paced`: each insert waits for the replicator to be idle before the next; the lag is
//!   the cost of one change alone (queue hand-off + one upsert round trip).
//! - `burst-journal`, `paced-journal`: the same with the journal on (each change is also
//!   stored, then removed, under `plugin=replicator/pending/`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use s3db_core::{Database, ResourceConfig};
use s3db_plugins::replicator::{PostgresTarget, Replicator, Route};
use serde_json::json;

type Failure = Box<dyn std::error::Error>;

fn millis(d: Option<Duration>) -> f64 {
    d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

async fn run(
    url: &str,
    mode: &str,
    journal: bool,
    inserts: usize,
) -> Result<serde_json::Value, Failure> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let db = Database::connect(&format!("memory://replicator-lag-{mode}-{stamp}")).await?;
    let table = format!("lag_{}_{stamp}", mode.replace('-', "_"));
    let replicator = Arc::new(
        Replicator::builder()
            .journal(journal)
            .target(
                PostgresTarget::new(url),
                [Route::resource("events").rename(table)],
            )
            .build()?,
    );
    db.use_plugin(replicator.clone()).await?;
    let events = db
        .create_resource(
            ResourceConfig::new("events")
                .attribute("kind", "string")
                .attribute("n", "number"),
        )
        .await?;
    // Warm-up: connect and create the table outside the measured window.
    let warm = json!({"id": "warm-up", "kind": "warm-up", "n": -1});
    events
        .insert(warm.as_object().cloned().unwrap_or_default())
        .await?;
    replicator.flush().await?;
    let warm_samples = replicator.stats().lag_samples;

    let started = Instant::now();
    for n in 0..inserts {
        let record = json!({"id": format!("e{n:05}"), "kind": "click", "n": n});
        events
            .insert(record.as_object().cloned().unwrap_or_default())
            .await?;
        if mode.starts_with("paced") {
            replicator.wait_idle().await;
        }
    }
    let writes_done = started.elapsed();
    replicator.flush().await?;
    let replicated = started.elapsed();
    let stats = replicator.stats();
    db.disconnect().await?;
    if stats.dead_letters > 0 || stats.lag_samples != warm_samples + inserts {
        return Err(format!("replication incomplete: {stats:?}").into());
    }
    // The warm-up sample is one of LAG_WINDOW; its effect on the percentiles is at most one rank.
    Ok(json!({
        "mode": mode,
        "inserts": inserts,
        "lag_p50_ms": millis(stats.lag_p50),
        "lag_p95_ms": millis(stats.lag_p95),
        "writes_s": writes_done.as_secs_f64(),
        "all_replicated_s": replicated.as_secs_f64(),
        "replicated_per_s": inserts as f64 / replicated.as_secs_f64(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let url = std::env::var("S3DB_TEST_POSTGRES_URL").map_err(
        |_| "set S3DB_TEST_POSTGRES_URL (e.g. $(bash .ci/start-postgres.sh | tail -n 1))",
    )?;
    let inserts = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000,
    };
    for (mode, journal) in [
        ("burst", false),
        ("paced", false),
        ("burst-journal", true),
        ("paced-journal", true),
    ] {
        println!("{}", run(&url, mode, journal, inserts).await?);
    }
    Ok(())
}
