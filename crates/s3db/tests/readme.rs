//! The README's quick start is the compiled one of `docs/getting-started.md`.

#![allow(clippy::unwrap_used)]

/// The first ```` ```rust ```` block after the `## Quick start` heading.
fn quick_start(text: &str) -> &str {
    let section = &text[text.find("## Quick start").unwrap()..];
    let start = section.find("```rust\n").unwrap();
    let end = start + section[start..].find("\n```\n").unwrap();
    &section[start..end]
}

#[test]
fn readme_quick_start_matches_the_compiled_guide() {
    let readme = include_str!("../../../README.md");
    let guide = include_str!("../../../docs/getting-started.md");
    assert_eq!(quick_start(readme), quick_start(guide));
    assert!(quick_start(readme).contains("Database::connect"));
}

#[test]
fn readme_keeps_the_run_and_test_commands() {
    let readme = include_str!("../../../README.md");
    // The run command builds without S3 (the demo's file:// store needs none), so a fresh
    // clone runs it within minutes.
    assert!(readme.contains("cargo run --release -p s3db-cli --no-default-features -- demo"));
    assert!(readme.contains("cargo test --workspace"));
}
