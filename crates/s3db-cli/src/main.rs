//! The `s3db` command-line tool; all logic lives in the `s3db_cli` library.

/// mimalloc for the binary: records are many small maps and strings, and the allocator is a
/// quarter of an operation's instructions with the system one. Set here, not in the
/// libraries, so applications embedding s3db choose their own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    s3db_cli::main_entry(std::env::args_os())
}
