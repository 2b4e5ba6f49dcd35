//! Project automation for s3db: `cargo xtask bench` (not yet implemented).

fn main() {
    eprintln!("usage: cargo xtask bench");
    std::process::exit(2);
}
