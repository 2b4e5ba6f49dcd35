//! Measures the resident memory a `MemoryStorage` needs per small object.
//!
//! Stores 1 000 000 objects shaped like s3db records (a 33-byte key, three metadata entries,
//! empty body) and reads the resident set size from `/proc/self/statm` before and after.
//! Linux only. Run with `cargo run --release -p s3db-storage --example memory_overhead [count]`.

use std::error::Error;

use s3db_storage::{MemoryStorage, PutMode, PutPayload, Storage};

/// Resident set size in bytes, from `/proc/self/statm` (second field, in 4 KiB pages).
fn resident_bytes() -> Result<u64, Box<dyn Error>> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or("statm has no resident field")?
        .parse()?;
    Ok(pages * 4096)
}

fn main() -> Result<(), Box<dyn Error>> {
    let count: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 1_000_000,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let store = MemoryStorage::new();
    let before = resident_bytes()?;
    runtime.block_on(async {
        for i in 0..count {
            let payload = PutPayload {
                metadata: [
                    ("_v".to_string(), "v1".to_string()),
                    ("0".to_string(), format!("user {i}")),
                    ("1".to_string(), format!("{i:x}")),
                ]
                .into(),
                ..PutPayload::default()
            };
            let key = format!("resource=users/data/id={i:010}");
            store.put(&key, payload, PutMode::Overwrite).await?;
        }
        Ok::<(), s3db_storage::Error>(())
    })?;
    let after = resident_bytes()?;
    let stats = store.stats();
    let per_object = (after.saturating_sub(before)) as f64 / stats.objects.max(1) as f64;
    println!(
        "{{\"objects\":{},\"rss_before\":{before},\"rss_after\":{after},\"bytes_per_object\":{per_object:.1}}}",
        stats.objects
    );
    Ok(())
}
