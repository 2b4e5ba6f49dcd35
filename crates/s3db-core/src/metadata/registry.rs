//! `schemaRegistry`: the per-resource, append-only assignment of short-key indices to
//! attribute paths. Indices are never reused: removed paths are burned.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `schemaRegistry` entry of a resource in `s3db.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaRegistry {
    /// The next unused index.
    #[serde(rename = "nextIndex", default)]
    pub next_index: u64,
    /// Attribute path → index (short key = base36 of the index).
    #[serde(default)]
    pub mapping: IndexMap<String, u64>,
    /// Indices of removed attributes; never handed out again.
    #[serde(default)]
    pub burned: Vec<BurnedAttribute>,
}

/// An index retired because its attribute was removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnedAttribute {
    /// The retired index.
    pub index: u64,
    /// The attribute path that had it.
    pub attribute: String,
    /// When it was retired (ISO 8601).
    #[serde(rename = "burnedAt", default)]
    pub burned_at: String,
    /// Why (`"removed"`).
    #[serde(default)]
    pub reason: String,
    /// Fields this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SchemaRegistry {
    /// Assigns an index to every path in `paths` (existing ones keep theirs, new ones get
    /// `next_index++` in order) and burns mapped paths that are no longer present, stamping
    /// them with `now`. Returns the index of each path, in `paths` order, and whether the
    /// registry changed.
    pub fn assign(&mut self, paths: &[String], now: &str) -> (Vec<(String, u64)>, bool) {
        let mut changed = false;
        let max_used = self
            .mapping
            .values()
            .copied()
            .chain(self.burned.iter().map(|b| b.index))
            .max();
        if let Some(max) = max_used
            && self.next_index <= max
        {
            self.next_index = max + 1;
            changed = true;
        }
        let mut assigned = Vec::with_capacity(paths.len());
        for path in paths {
            let index = match self.mapping.get(path) {
                Some(index) => *index,
                None => {
                    let index = self.next_index;
                    self.next_index += 1;
                    self.mapping.insert(path.clone(), index);
                    changed = true;
                    index
                }
            };
            assigned.push((path.clone(), index));
        }
        let removed: Vec<(String, u64)> = self
            .mapping
            .iter()
            .filter(|(attr, _)| !paths.contains(attr))
            .map(|(attr, index)| (attr.clone(), *index))
            .collect();
        for (attribute, index) in removed {
            if !self.burned.iter().any(|b| b.index == index) {
                self.burned.push(BurnedAttribute {
                    index,
                    attribute: attribute.clone(),
                    burned_at: now.to_owned(),
                    reason: "removed".into(),
                    extra: Map::new(),
                });
            }
            self.mapping.shift_remove(&attribute);
            changed = true;
        }
        (assigned, changed)
    }

    /// Adds a legacy `map` (attribute → base36 key) of an old version: its indices are taken
    /// for attributes the registry does not know yet, and `next_index` moves past them.
    pub fn absorb_legacy_map(&mut self, legacy: &[(String, u64)]) {
        for (attribute, index) in legacy {
            if !self.mapping.contains_key(attribute) {
                self.mapping.insert(attribute.clone(), *index);
            }
            self.next_index = self.next_index.max(index + 1);
        }
        if let Some(max) = self.burned.iter().map(|b| b.index).max() {
            self.next_index = self.next_index.max(max + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn new_paths_get_next_indices_and_removed_ones_are_burned() {
        let mut reg = SchemaRegistry::default();
        let (first, changed) = reg.assign(&paths(&["title", "views", "legacyCode"]), "t0");
        assert!(changed);
        assert_eq!(first[2], ("legacyCode".into(), 2));
        let (second, changed) = reg.assign(&paths(&["title", "views", "tags", "published"]), "t1");
        assert!(changed);
        assert_eq!(second[2], ("tags".into(), 3));
        assert_eq!(second[3], ("published".into(), 4));
        assert_eq!(reg.next_index, 5);
        assert_eq!(reg.burned.len(), 1);
        assert_eq!(reg.burned[0].index, 2);
        assert_eq!(reg.burned[0].attribute, "legacyCode");
        // Re-adding a burned attribute gets a fresh index.
        let (third, _) = reg.assign(&paths(&["title", "legacyCode"]), "t2");
        assert_eq!(third[1], ("legacyCode".into(), 5));
    }

    #[test]
    fn unchanged_paths_do_not_change_the_registry() {
        let mut reg = SchemaRegistry::default();
        reg.assign(&paths(&["a", "b"]), "t0");
        let (_, changed) = reg.assign(&paths(&["a", "b"]), "t1");
        assert!(!changed);
    }
}
