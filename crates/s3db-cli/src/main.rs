//! The `s3db` command-line tool.

fn main() {
    println!("s3db {}", env!("CARGO_PKG_VERSION"));
}
