//! CSV columns of a resource: the importer's [`ColumnKinds`], shared by `export` and
//! `import` so records convert to rows and back the same way.

pub use s3db::plugins::importer::{ColumnKinds, Kind};
