//! The phases of the standard workload, timed one by one, each checked for correctness
//! and reported as one JSON line with the storage requests it sent.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use s3db::core::workload::{CITIES, Person, people_config, person};
use s3db::core::{Database, ListRequest, Resource, TypedResource};
use serde_json::{Map, Value, json};

use super::backend::Backend;
use super::{PhaseLine, Result};

/// Runs every phase in the workload's order on a fresh `people` resource; calls `report`
/// with each phase's line as it ends and returns them all.
pub async fn run_workload(
    backend: &Backend,
    n: u32,
    c: usize,
    report: &dyn Fn(&PhaseLine),
) -> Result<Vec<PhaseLine>> {
    let db = Database::builder(backend.storage.clone())
        .open()
        .await
        .map_err(|e| e.to_string())?;
    let mut config = people_config();
    // The workload ends with deleteAll, which a paranoid resource refuses.
    config.paranoid = false;
    let people = db
        .create_resource(config)
        .await
        .map_err(|e| e.to_string())?;
    let run = Run {
        backend,
        n,
        c,
        report,
        lines: Mutex::new(Vec::new()),
    };
    let p = &people;

    // Inputs and expected values are made before the clock starts, so a phase times s3db,
    // not the record generator (about 11 000 instructions per record).
    let records: Vec<Map<String, Value>> = (0..n).map(|i| person(i, "u")).collect();
    let ages: Vec<u64> = records.iter().map(age_of).collect();
    let shared = Arc::new(Shared {
        people: people.clone(),
        typed: people.typed(),
        inputs: records
            .iter()
            .cloned()
            .map(|r| Mutex::new(Some(r)))
            .collect(),
        records,
        ages,
    });
    run.phase("insert", n, || {
        each(n, c, &shared, |s, i| async move {
            let record = s.inputs[i as usize]
                .lock()
                .ok()
                .and_then(|mut slot| slot.take())
                .ok_or_else(|| format!("insert: record {i} was taken twice"))?;
            s.people
                .insert(record)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    })
    .await?;
    run.phase("get", n, || {
        each(n, c, &shared, |s, i| async move {
            let got = s.typed.get(&id(i)).await.map_err(|e| e.to_string())?;
            let want = &s.records[i as usize];
            if want.get("email") != Some(&json!(got.email))
                || want["address"]["city"] != json!(got.address.city)
            {
                return Err(format!("get {}: unexpected record {got:?}", id(i)));
            }
            Ok(())
        })
    })
    .await?;
    run.phase("update", n, || {
        each(n, c, &shared, |s, i| async move {
            let changes = json_map(json!({"age": s.ages[i as usize] + 1}));
            s.people
                .update(&id(i), changes)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    })
    .await?;
    run.phase("list", n, || async {
        let shared = Arc::clone(&shared);
        // The records are checked (and dropped) in the task that listed them, as a service
        // handles them in the request's handler.
        on_worker(async move {
            let request = ListRequest::all().concurrency(c);
            let all = shared
                .typed
                .list(&request)
                .await
                .map_err(|e| e.to_string())?;
            check_len("list", all.len(), n as usize)?;
            for ((i, record), age) in (0..n).zip(&all).zip(&shared.ages) {
                if record.age != age + 1 {
                    return Err(format!("list: {} was not updated: {record:?}", id(i)));
                }
            }
            Ok(())
        })
        .await?
    })
    .await?;
    run.phase("listIds", n, || async {
        check_len(
            "listIds",
            on_worker({
                let people = p.clone();
                async move { people.list_ids().await }
            })
            .await?
            .map_err(|e| e.to_string())?
            .len(),
            n as usize,
        )
    })
    .await?;
    run.phase("count", n, || async {
        check_len(
            "count",
            on_worker({
                let people = p.clone();
                async move { people.count().await }
            })
            .await?
            .map_err(|e| e.to_string())?,
            n as usize,
        )
    })
    .await?;
    run.phase("listPartition", n, || async {
        for (k, city) in CITIES.iter().enumerate() {
            let request = ListRequest::partition("byCity", json!({"address.city": city}));
            let people = shared.typed.clone();
            let want = (0..n as usize).filter(|i| i % CITIES.len() == k).count();
            on_worker(async move {
                let found = people
                    .list(&request.concurrency(c))
                    .await
                    .map_err(|e| e.to_string())?;
                check_len(&format!("listPartition {city}"), found.len(), want)
            })
            .await??;
        }
        Ok(())
    })
    .await?;
    run.phase("delete", n, || {
        each(n, c, &shared, |s, i| async move {
            s.people.delete(&id(i)).await.map_err(|e| e.to_string())
        })
    })
    .await?;
    let records = (0..n).map(|i| person(i, "m")).collect();
    run.phase("insertMany", n, || async {
        let people = p.clone();
        let failed = on_worker(async move { people.insert_many(records).await })
            .await?
            .into_iter()
            .filter(|r| r.is_err())
            .count();
        if failed > 0 {
            return Err(format!("insertMany: {failed} records failed"));
        }
        Ok(())
    })
    .await?;
    run.phase("deleteAll", n, || async {
        check_len(
            "deleteAll",
            on_worker({
                let people = p.clone();
                async move { people.delete_all().await }
            })
            .await?
            .map_err(|e| e.to_string())?,
            n as usize,
        )
    })
    .await?;
    Ok(run.lines.into_inner().unwrap_or_default())
}

/// One run: backend, record count and concurrency, and the phases measured so far.
struct Run<'a> {
    backend: &'a Backend,
    n: u32,
    c: usize,
    report: &'a dyn Fn(&PhaseLine),
    lines: Mutex<Vec<PhaseLine>>,
}

impl Run<'_> {
    /// Times `work`, counts its requests, reports and keeps the phase line.
    async fn phase<F, Fut>(&self, phase: &str, ops: u32, work: F) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let before = self.backend.requests().requests();
        phase_boundary();
        let started = Instant::now();
        work().await.map_err(|e| format!("phase {phase}: {e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        phase_boundary();
        let requests = self.backend.requests().requests() - before;
        let line = PhaseLine {
            implementation: "s3db".into(),
            backend: self.backend.kind.label().into(),
            phase: phase.into(),
            n: u64::from(self.n),
            concurrency: self.c as u64,
            seconds,
            ops_per_s: f64::from(ops) / seconds.max(1e-9),
            requests: Some(requests),
        };
        (self.report)(&line);
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(line);
        }
        Ok(())
    }
}

/// Called right before and right after each timed phase: `cargo xtask profile` has callgrind
/// dump its counters whenever this function is entered, so each phase gets its own dump.
#[inline(never)]
pub fn phase_boundary() {
    std::hint::black_box(());
}

/// Runs one bulk call in a task of the multi-threaded runtime, as a service runs the
/// handler of a request (not on the thread that waits for the phase to end).
async fn on_worker<T: Send + 'static>(call: impl Future<Output = T> + Send + 'static) -> Result<T> {
    tokio::spawn(call)
        .await
        .map_err(|e| format!("the phase's task failed: {e}"))
}

/// What the per-record phases share: the resource, the generated records (still to insert,
/// and as expected back) and their ages.
struct Shared {
    people: Resource,
    /// The same resource, read into [`Person`]s (as a Rust service reads its records).
    typed: TypedResource<Person>,
    inputs: Vec<Mutex<Option<Map<String, Value>>>>,
    records: Vec<Map<String, Value>>,
    ages: Vec<u64>,
}

/// Runs `op(shared, i)` for every `i < n` on `c` tasks, each taking the next `i` when its
/// last operation ended: at most `c` in flight, spread over the runtime's worker threads as a
/// service handling `c` concurrent requests spreads them. The first failure stops it.
async fn each<F, Fut>(n: u32, c: usize, shared: &Arc<Shared>, op: F) -> Result<()>
where
    F: Fn(Arc<Shared>, u32) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let next = Arc::new(AtomicU32::new(0));
    let workers: Vec<_> = (0..c.max(1))
        .map(|_| {
            let (next, shared) = (Arc::clone(&next), Arc::clone(shared));
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok(());
                    }
                    if let Err(e) = op(Arc::clone(&shared), i).await {
                        next.store(n, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker
            .await
            .map_err(|e| format!("a worker task failed: {e}"))??;
    }
    Ok(())
}

fn id(i: u32) -> String {
    format!("u{i:07}")
}

/// The generated age of a workload record.
fn age_of(record: &Map<String, Value>) -> u64 {
    record
        .get("age")
        .and_then(Value::as_u64)
        .unwrap_or_default()
}

fn check_len(phase: &str, got: usize, n: usize) -> Result<()> {
    if got == n {
        Ok(())
    } else {
        Err(format!("{phase}: expected {n} records, found {got}"))
    }
}

fn json_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
