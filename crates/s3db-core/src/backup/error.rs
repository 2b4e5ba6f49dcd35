//! What can go wrong while writing or reading a backup directory.

use std::path::PathBuf;

/// A backup or restore refused or failed; each variant names the directory or file at
/// fault and, where there is one, what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The target directory already holds files and `overwrite` was not asked for.
    #[error(
        "backup directory {} is not empty (it holds {}); pass overwrite (`--overwrite`) to \
         replace the backup in it, or choose an empty directory",
        dir.display(), entries.join(", ")
    )]
    NotEmpty {
        /// The target directory.
        dir: PathBuf,
        /// Some of the names found there.
        entries: Vec<String>,
    },
    /// `overwrite` only replaces a backup: the directory holds something a backup does not
    /// (a sub-directory or a file not named `s3db.json`, `*.jsonl` or `*.jsonl.gz`).
    #[error(
        "backup directory {} holds {entry:?}, which is not part of a backup; overwrite \
         refuses to delete it (move it away, or choose another directory)",
        dir.display()
    )]
    ForeignEntry {
        /// The target directory.
        dir: PathBuf,
        /// The entry that is not a backup file.
        entry: String,
    },
    /// A resource or file name that cannot be used as a file name inside the directory
    /// (empty, `.`, `..`, or containing `/`, `\` or NUL).
    #[error("{name:?} cannot be used as a file name inside a backup directory")]
    UnsafeName {
        /// The name.
        name: String,
    },
    /// `resources` names a resource the source does not have.
    #[error("{place} has no resource {name:?}")]
    NoSuchResource {
        /// Where it was looked for (the database, or the backup in some directory).
        place: String,
        /// The name asked for.
        name: String,
    },
    /// A resource of the backup carries no schema and the database does not define it.
    #[error(
        "resource {resource:?} does not exist and the backup has no schema for it (create it \
         first, or restore from a backup made with schemas)"
    )]
    NoSchema {
        /// The resource.
        resource: String,
    },
    /// `s3db.json` is missing or cannot be understood.
    #[error("{} is not a usable backup description: {reason}", path.display())]
    Manifest {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file the manifest names does not exist.
    #[error("backup file {} of resource {resource:?} is missing", file.display())]
    MissingFile {
        /// The resource.
        resource: String,
        /// The missing file.
        file: PathBuf,
    },
    /// A file's SHA-256 differs from the manifest's: it was changed or damaged.
    #[error(
        "backup file {} is damaged or was changed: its sha256 is {actual}, the manifest says \
         {expected}",
        file.display()
    )]
    ChecksumMismatch {
        /// The file.
        file: PathBuf,
        /// The manifest's checksum (hex).
        expected: String,
        /// The file's checksum (hex).
        actual: String,
    },
    /// A file holds a different number of records than the manifest says.
    #[error(
        "backup file {} holds {actual} records, the manifest says {expected} (truncated or \
         changed)",
        file.display()
    )]
    CountMismatch {
        /// The file.
        file: PathBuf,
        /// The manifest's `recordCount`.
        expected: u64,
        /// Records found in the file.
        actual: u64,
    },
    /// A file cannot be read as (gzipped) JSON lines of records.
    #[error("backup file {} is corrupt: {reason}", file.display())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// What is wrong (with the line number when it is one line).
        reason: String,
    },
    /// The file system refused an operation.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done (`create`, `read`, `rename`…).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl BackupError {
    /// A [`BackupError::Io`] of `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| BackupError::Io {
            action,
            path,
            source,
        }
    }
}
