//! Which part of a database a storage key belongs to.

/// The group of `s3db.json`.
pub(crate) const DATABASE: &str = "database";
/// The group of keys outside every resource, plugin area and `s3db.json`.
const OTHER: &str = "other";
/// Prefix of a resource's group name.
pub(crate) const RESOURCE: &str = "resource=";
/// Prefix of a database-wide plugin area's group name.
pub(crate) const PLUGIN: &str = "plugin=";

/// The group a key (or a listing prefix) is billed to: `resource=<name>` for anything under
/// a `resource=<name>/` segment (records, partition references, the resource's plugin areas),
/// `plugin=<slug>` for a database-wide plugin area, `database` for `s3db.json`, `other`
/// otherwise. Segments before them (a connection prefix) are skipped.
pub(crate) fn group_of(key: &str) -> String {
    let mut segments = key.split('/');
    let last = key.rsplit('/').next().unwrap_or_default();
    for segment in segments.by_ref() {
        if segment.starts_with(RESOURCE) || segment.starts_with(PLUGIN) {
            return segment.to_owned();
        }
    }
    if last == "s3db.json" {
        DATABASE.to_owned()
    } else {
        OTHER.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::group_of;

    #[test]
    fn keys_are_grouped_by_their_resource_plugin_area_or_database_file() {
        assert_eq!(group_of("resource=users/data/id=1"), "resource=users");
        assert_eq!(
            group_of("resource=users/partition=byCity/city=Lx/id=1"),
            "resource=users"
        );
        assert_eq!(group_of("resource=users/"), "resource=users");
        assert_eq!(group_of("resource=users/plugin=ttl/x"), "resource=users");
        assert_eq!(group_of("plugin=cache/users/1"), "plugin=cache");
        assert_eq!(group_of("s3db.json"), "database");
        assert_eq!(group_of("tenants/a/s3db.json"), "database");
        assert_eq!(group_of("tenants/a/resource=x/data/id=1"), "resource=x");
        assert_eq!(group_of(""), "other");
        assert_eq!(group_of("stray.txt"), "other");
    }
}
