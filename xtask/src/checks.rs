//! `cargo xtask msrv` and `cargo xtask deps`: checks of what the workspace promises about its
//! dependencies. Both only run cargo (`metadata`, `tree`, `run`), so CI runs them with
//! `cargo run -p xtask --no-default-features`, which builds no s3db crate for the xtask.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// A failure, as text (this is a tool, not a library).
pub type Result<T> = std::result::Result<T, String>;

/// The workspace root (the xtask crate's parent directory).
fn workspace_root() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().map(PathBuf::from).unwrap_or(xtask)
}

/// Runs cargo with `args` in the workspace root and returns its output (any exit status).
fn cargo(args: &[&str]) -> Result<Output> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("cannot run {cargo} {}: {e}", args.join(" ")))
}

/// Runs cargo with `args` and returns its stdout; a failed run is an error with its stderr.
fn cargo_stdout(args: &[&str]) -> Result<String> {
    let output = cargo(args)?;
    if !output.status.success() {
        return Err(format!(
            "cargo {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("cargo {}: {e}", args.join(" ")))
}

/// A `rust-version` as numbers (`1.94.1` → `[1, 94, 1]`, `1.85` → `[1, 85, 0]`).
fn parse_version(text: &str) -> Result<[u64; 3]> {
    let mut parts = [0; 3];
    let fields: Vec<&str> = text.split('.').collect();
    if fields.is_empty() || fields.len() > 3 {
        return Err(format!("rust-version {text:?} is not MAJOR.MINOR[.PATCH]"));
    }
    for (slot, field) in parts.iter_mut().zip(&fields) {
        *slot = field
            .parse()
            .map_err(|_| format!("rust-version {text:?} is not MAJOR.MINOR[.PATCH]"))?;
    }
    Ok(parts)
}

/// One package of the locked graph and the Rust it declares it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Needs {
    version: [u64; 3],
    text: String,
    package: String,
}

/// From `cargo metadata` JSON: the workspace members' `rust-version` (all must agree) and
/// every other package of the resolved graph that declares one.
fn rust_versions(metadata: &Value) -> Result<(Needs, Vec<Needs>)> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let resolved: Vec<&str> = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("cargo metadata has no resolve graph")?
        .iter()
        .filter_map(|node| node["id"].as_str())
        .collect();
    let mut workspace: Option<Needs> = None;
    let mut dependencies = Vec::new();
    for package in metadata["packages"].as_array().ok_or("no packages")? {
        let id = package["id"].as_str().unwrap_or_default();
        let name = format!(
            "{} {}",
            package["name"].as_str().unwrap_or("?"),
            package["version"].as_str().unwrap_or("?")
        );
        let declared = package["rust_version"].as_str();
        if members.contains(&id) {
            // The xtask is a tool of this repository, not part of what users build.
            if package["name"] == "xtask" {
                continue;
            }
            let text = declared.ok_or(format!("workspace member {name} has no rust-version"))?;
            let needs = Needs {
                version: parse_version(text)?,
                text: text.to_owned(),
                package: name,
            };
            match &workspace {
                Some(first) if first.version != needs.version => {
                    return Err(format!(
                        "workspace members disagree: {} has rust-version {}, {} has {}",
                        first.package, first.text, needs.package, needs.text
                    ));
                }
                Some(_) => {}
                None => workspace = Some(needs),
            }
        } else if let Some(text) = declared.filter(|_| resolved.contains(&id)) {
            dependencies.push(Needs {
                version: parse_version(text)?,
                text: text.to_owned(),
                package: name,
            });
        }
    }
    let workspace = workspace.ok_or("no workspace member declares a rust-version")?;
    Ok((workspace, dependencies))
}

/// `cargo xtask msrv`: the workspace's `rust-version` must be at least every locked
/// dependency's (all features, all platforms), so it is the oldest Rust that builds it.
pub fn msrv() -> Result<()> {
    let json = cargo_stdout(&[
        "metadata",
        "--format-version",
        "1",
        "--all-features",
        "--locked",
    ])?;
    let metadata: Value =
        serde_json::from_str(&json).map_err(|e| format!("cargo metadata: {e}"))?;
    let (workspace, dependencies) = rust_versions(&metadata)?;
    let mut newer: Vec<&Needs> = dependencies
        .iter()
        .filter(|d| d.version > workspace.version)
        .collect();
    if !newer.is_empty() {
        newer.sort_by(|a, b| b.version.cmp(&a.version).then(a.package.cmp(&b.package)));
        let list: Vec<String> = newer
            .iter()
            .map(|d| format!("  {} needs {}", d.package, d.text))
            .collect();
        return Err(format!(
            "the workspace declares rust-version {} but locked dependencies need more; raise \
             `rust-version` in Cargo.toml to {}:\n{}",
            workspace.text,
            newer[0].text,
            list.join("\n")
        ));
    }
    let highest = dependencies.iter().max_by_key(|d| d.version);
    match highest {
        Some(d) => println!(
            "rust-version {} covers every locked dependency (highest: {} needs {})",
            workspace.text, d.package, d.text
        ),
        None => println!(
            "rust-version {}: no dependency declares one",
            workspace.text
        ),
    }
    Ok(())
}

/// Crates `s3db` without default features must not pull in: the AWS SDK and the clients of
/// the replicator's targets (tokio-postgres, mysql_async, rusqlite, reqwest).
fn heavy(krate: &str) -> bool {
    krate.starts_with("aws-")
        || ["tokio-postgres", "mysql_async", "rusqlite", "reqwest"].contains(&krate)
}

/// The second crypto stack that the SDK's default HTTPS client brings (aws-lc, a C build).
fn aws_lc(krate: &str) -> bool {
    krate.starts_with("aws-lc-")
}

/// Unique crate names of `cargo tree --prefix none` output (`name vX.Y.Z (path)`, `(*)`).
fn crates_of(tree: &str) -> Vec<String> {
    let mut names: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `cargo xtask deps`: `s3db` without default features has neither the AWS SDK nor a
/// replicator target client (tokio-postgres, mysql_async, rusqlite, reqwest); no feature set
/// compiles aws-lc (one crypto stack: ring); the CLI built without `s3` refuses an `s3://`
/// string with an error naming the feature.
pub fn deps() -> Result<()> {
    let lean = cargo_stdout(&[
        "tree",
        "--locked",
        "-p",
        "s3db",
        "--no-default-features",
        "-e",
        "normal",
        "--prefix",
        "none",
    ])?;
    let lean_crates = crates_of(&lean);
    let found: Vec<&String> = lean_crates.iter().filter(|c| heavy(c)).collect();
    if !found.is_empty() {
        return Err(format!(
            "`s3db` without default features depends on {found:?}; gate them behind a feature"
        ));
    }
    let full = cargo_stdout(&[
        "tree",
        "--locked",
        "--workspace",
        "--all-features",
        "-e",
        "normal",
        "--prefix",
        "none",
    ])?;
    let full_crates = crates_of(&full);
    let found: Vec<&String> = full_crates.iter().filter(|c| aws_lc(c)).collect();
    if !found.is_empty() {
        return Err(format!(
            "the workspace depends on {found:?}: some AWS crate enables its default HTTPS \
             client (rustls on aws-lc); keep `default-https-client` off and use \
             s3db-storage's rustls-on-ring client"
        ));
    }
    println!(
        "s3db without default features: {} crates, none of the AWS SDK or target clients; \
         the workspace with all features: {} crates, no aws-lc",
        lean_crates.len(),
        full_crates.len()
    );
    cli_without_s3()
}

/// The CLI built without `s3` runs, and refuses `s3://` with the feature's name.
fn cli_without_s3() -> Result<()> {
    let args = [
        "run",
        "--quiet",
        "--locked",
        "-p",
        "s3db-cli",
        "--no-default-features",
        "--",
        "--connection",
        "s3://some-bucket/app",
        "resources",
    ];
    let output = cargo(&args)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || !stderr.contains("feature `s3`") {
        return Err(format!(
            "`s3db --connection s3://…` built without `s3` should fail naming the feature; \
             exit {:?}, stderr:\n{stderr}",
            output.status.code()
        ));
    }
    println!(
        "s3db-cli without `s3` refuses s3:// strings: {}",
        stderr.trim()
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        assert_eq!(parse_version("1.85").unwrap(), [1, 85, 0]);
        assert!(parse_version("1.100").unwrap() > parse_version("1.94.1").unwrap());
        assert!(parse_version("1.x").is_err());
        assert!(parse_version("1.2.3.4").is_err());
    }

    #[test]
    fn only_resolved_dependencies_count_and_members_must_agree() {
        let metadata = serde_json::json!({
            "workspace_members": ["a", "x"],
            "resolve": {"nodes": [{"id": "a"}, {"id": "d1"}, {"id": "x"}]},
            "packages": [
                {"id": "a", "name": "s3db", "version": "0.1.0", "rust_version": "1.90"},
                {"id": "x", "name": "xtask", "version": "0.1.0", "rust_version": null},
                {"id": "d1", "name": "dep", "version": "1.0.0", "rust_version": "1.94.1"},
                {"id": "d2", "name": "unlocked", "version": "1.0.0", "rust_version": "1.99"},
            ]
        });
        let (workspace, deps) = rust_versions(&metadata).unwrap();
        assert_eq!(workspace.text, "1.90");
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].package, "dep 1.0.0");

        let mut split = metadata.clone();
        split["workspace_members"] = serde_json::json!(["a", "d1"]);
        assert!(rust_versions(&split).unwrap_err().contains("disagree"));
    }

    #[test]
    fn tree_lines_become_unique_crate_names() {
        let tree =
            "s3db v0.1.0 (/w/crates/s3db)\nbytes v1.11.0\naws-types v1.7.0\nbytes v1.11.0 (*)\n\n";
        let crates = crates_of(tree);
        assert_eq!(crates, ["aws-types", "bytes", "s3db"]);
        assert!(heavy("aws-types") && heavy("tokio-postgres") && !heavy("tokio"));
        assert!(heavy("mysql_async") && heavy("rusqlite") && heavy("reqwest"));
        assert!(aws_lc("aws-lc-sys") && aws_lc("aws-lc-rs") && !aws_lc("aws-types"));
    }
}
