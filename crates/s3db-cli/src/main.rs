//! The `s3db` command-line tool; all logic lives in the `s3db_cli` library.

// mimalloc for the binary: records are many small maps and strings, and the allocator is a
// quarter of an operation's instructions with the system one. Linked here, not in the
// libraries, so applications embedding s3db choose their own. It replaces `malloc` itself
// (the `override` feature) under Rust's default allocator, which calls `malloc` for every
// alignment malloc guarantees: `mimalloc::MiMalloc` as `#[global_allocator]` sends every
// allocation through mimalloc's slower aligned entry points (about 4 % of a read's
// instructions, docs/performance.md).
use mimalloc as _;

fn main() -> std::process::ExitCode {
    s3db_cli::main_entry(std::env::args_os())
}
