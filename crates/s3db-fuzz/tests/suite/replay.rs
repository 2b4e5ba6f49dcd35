//! Replays the committed fuzz corpora and crash regressions through the harnesses, so every
//! input the fuzzers kept or that once crashed runs in `cargo test --workspace` on stable.

use std::path::{Path, PathBuf};

use s3db_fuzz::TARGETS;

/// `fuzz/` at the root of the repository.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted (none if it does not exist).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

/// Runs every file of `fuzz/<kind>/<target>/` through its harness; returns how many ran.
fn replay(kind: &str) -> usize {
    let mut ran = 0;
    for (name, harness) in TARGETS {
        for file in files_in(&fuzz_dir().join(kind).join(name)) {
            let data = std::fs::read(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let outcome = std::panic::catch_unwind(|| harness(&data));
            assert!(outcome.is_ok(), "{name}: {} fails", file.display());
            ran += 1;
        }
    }
    ran
}

#[test]
fn every_target_has_a_fuzz_target_and_a_corpus() {
    for (name, _) in TARGETS {
        let target = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(target.is_file(), "missing {}", target.display());
        let corpus = fuzz_dir().join("corpus").join(name);
        assert!(
            !files_in(&corpus).is_empty(),
            "empty corpus {}",
            corpus.display()
        );
    }
}

#[test]
fn corpus_replays_without_failure() {
    assert!(replay("corpus") >= TARGETS.len());
}

#[test]
fn crash_regressions_replay_without_failure() {
    replay("regressions");
}
