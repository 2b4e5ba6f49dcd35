//! The `s3db` command-line tool; all logic lives in the `s3db_cli` library.

fn main() -> std::process::ExitCode {
    s3db_cli::main_entry(std::env::args_os())
}
