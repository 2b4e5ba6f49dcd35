//! Relation definitions: the four kinds, delete policies, and the foreign-key references
//! they imply.

use std::collections::BTreeMap;

use serde_json::Value;

use super::SLUG;
use crate::{Error, Result};

/// The kind of a relation, in s3db.js's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// One related record holds the owner's key in its foreign key (`users.profile`).
    HasOne,
    /// Many related records hold the owner's key in their foreign key (`users.posts`).
    HasMany,
    /// The owner holds the related record's key in its foreign key (`posts.author`).
    BelongsTo,
    /// Rows of a junction resource pair the owner's key (foreign key) with a related
    /// record's id (other key) (`posts.tags` through `postTags`).
    BelongsToMany,
}

impl Kind {
    /// The s3db.js name (`hasOne`, `hasMany`, `belongsTo`, `belongsToMany`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::HasOne => "hasOne",
            Kind::HasMany => "hasMany",
            Kind::BelongsTo => "belongsTo",
            Kind::BelongsToMany => "belongsToMany",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        [
            Kind::HasOne,
            Kind::HasMany,
            Kind::BelongsTo,
            Kind::BelongsToMany,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// What deleting a referenced record does to the records referencing it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// Nothing: references are left dangling (`check` reports them).
    #[default]
    NoAction,
    /// The delete is refused while a referencing record exists; nothing is deleted.
    Restrict,
    /// Referencing records are deleted first (and theirs, recursively).
    Cascade,
    /// The referencing records' foreign key is set to null first (it must be optional).
    SetNull,
}

impl OnDelete {
    /// The s3db.js spelling (`no action`, `restrict`, `cascade`, `set null`).
    pub fn name(self) -> &'static str {
        match self {
            OnDelete::NoAction => "no action",
            OnDelete::Restrict => "restrict",
            OnDelete::Cascade => "cascade",
            OnDelete::SetNull => "set null",
        }
    }

    fn parse(name: &str) -> Option<OnDelete> {
        let name = name.to_ascii_lowercase().replace(['_', '-'], " ");
        [
            OnDelete::NoAction,
            OnDelete::Restrict,
            OnDelete::Cascade,
            OnDelete::SetNull,
        ]
        .into_iter()
        .find(|p| p.name() == name || (name == "setnull" && *p == OnDelete::SetNull))
    }
}

/// One relation declared on an owner resource.
///
/// In every kind the foreign key lives on the "child" side and the local key on the
/// "parent" side: `hasOne`/`hasMany` — `related.foreignKey = owner.localKey`; `belongsTo` —
/// `owner.foreignKey = related.localKey`; `belongsToMany` — `through.foreignKey =
/// owner.localKey` and `through.otherKey = related.id`. The local key defaults to `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The kind.
    pub kind: Kind,
    /// The related resource.
    pub resource: String,
    /// The field holding the reference (top level).
    pub foreign_key: String,
    /// The referenced field (default `id`).
    pub local_key: String,
    /// The junction resource of a `belongsToMany`.
    pub through: Option<String>,
    /// The junction's field holding the related record's id (`belongsToMany`).
    pub other_key: Option<String>,
    /// What deleting the referenced record does.
    pub on_delete: OnDelete,
    /// Refuse inserts and updates whose foreign key names no existing record.
    pub check: bool,
}

impl Relation {
    fn new(kind: Kind, resource: &str, foreign_key: &str) -> Relation {
        Relation {
            kind,
            resource: resource.to_owned(),
            foreign_key: foreign_key.to_owned(),
            local_key: "id".to_owned(),
            through: None,
            other_key: None,
            on_delete: OnDelete::NoAction,
            check: false,
        }
    }

    /// `resource.foreign_key` holds the owner's key; at most one such record is expected.
    pub fn has_one(resource: &str, foreign_key: &str) -> Relation {
        Relation::new(Kind::HasOne, resource, foreign_key)
    }

    /// `resource.foreign_key` holds the owner's key.
    pub fn has_many(resource: &str, foreign_key: &str) -> Relation {
        Relation::new(Kind::HasMany, resource, foreign_key)
    }

    /// The owner's `foreign_key` holds a `resource` record's key.
    pub fn belongs_to(resource: &str, foreign_key: &str) -> Relation {
        Relation::new(Kind::BelongsTo, resource, foreign_key)
    }

    /// Rows of `through` pair the owner's key (`foreign_key`) with a `resource` id
    /// (`other_key`).
    pub fn belongs_to_many(
        resource: &str,
        through: &str,
        foreign_key: &str,
        other_key: &str,
    ) -> Relation {
        Relation {
            through: Some(through.to_owned()),
            other_key: Some(other_key.to_owned()),
            ..Relation::new(Kind::BelongsToMany, resource, foreign_key)
        }
    }

    /// The referenced field, instead of `id`.
    pub fn local_key(mut self, field: &str) -> Relation {
        self.local_key = field.to_owned();
        self
    }

    /// What deleting the referenced record does.
    pub fn on_delete(mut self, policy: OnDelete) -> Relation {
        self.on_delete = policy;
        self
    }

    /// Checks on insert and update that the referenced record exists.
    pub fn checked(mut self) -> Relation {
        self.check = true;
        self
    }

    /// The foreign-key references this relation implies (two for `belongsToMany`).
    pub(super) fn references(&self, owner: &str, name: &str) -> Vec<Reference> {
        let reference = |child: &str, field: &str, parent: &str, key: &str| Reference {
            child: child.to_owned(),
            field: field.to_owned(),
            parent: parent.to_owned(),
            key: key.to_owned(),
            on_delete: self.on_delete,
            check: self.check,
            declared: format!("{owner}.{name}"),
        };
        match (self.kind, &self.through, &self.other_key) {
            (Kind::HasOne | Kind::HasMany, _, _) => vec![reference(
                &self.resource,
                &self.foreign_key,
                owner,
                &self.local_key,
            )],
            (Kind::BelongsTo, _, _) => vec![reference(
                owner,
                &self.foreign_key,
                &self.resource,
                &self.local_key,
            )],
            (Kind::BelongsToMany, Some(through), Some(other)) => vec![
                reference(through, &self.foreign_key, owner, &self.local_key),
                reference(through, other, &self.resource, "id"),
            ],
            // Rejected by `RelationsConfig::validate`.
            (Kind::BelongsToMany, _, _) => Vec::new(),
        }
    }
}

/// A foreign key: `child.field` holds the value of `parent.key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reference {
    pub child: String,
    pub field: String,
    pub parent: String,
    pub key: String,
    pub on_delete: OnDelete,
    pub check: bool,
    /// The relation that declared it first (`owner.name`), for messages.
    pub declared: String,
}

impl Reference {
    fn same_key(&self, other: &Reference) -> bool {
        (&self.child, &self.field, &self.parent, &self.key)
            == (&other.child, &other.field, &other.parent, &other.key)
    }
}

/// The relations of every resource (see the [module docs](super)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelationsConfig {
    /// owner resource → relation name → relation.
    pub(super) relations: BTreeMap<String, BTreeMap<String, Relation>>,
}

impl RelationsConfig {
    /// No relations yet.
    pub fn new() -> RelationsConfig {
        RelationsConfig::default()
    }

    /// Declares `relation` on `owner` under `name` (the field `include` fills).
    pub fn relation(mut self, owner: &str, name: &str, relation: Relation) -> RelationsConfig {
        self.relations
            .entry(owner.to_owned())
            .or_default()
            .insert(name.to_owned(), relation);
        self
    }

    /// Reads s3db.js's `relations` option: `{owner: {name: {type, resource, foreignKey,
    /// localKey?, through?, otherKey?, onDelete?, check?}}}`. [`Error::Config`] names the
    /// entry and the field that is wrong.
    pub fn from_json(value: &Value) -> Result<RelationsConfig> {
        let invalid = |at: String, reason: &str| config(format!("relations.{at}: {reason}"));
        let owners = value
            .as_object()
            .ok_or_else(|| config("relations must be an object {owner: {name: {...}}}".into()))?;
        let mut out = RelationsConfig::new();
        for (owner, relations) in owners {
            let relations = relations
                .as_object()
                .ok_or_else(|| invalid(owner.clone(), "must be an object of relations"))?;
            for (name, def) in relations {
                let at = format!("{owner}.{name}");
                let text = |field: &str| def.get(field).and_then(Value::as_str);
                let required = |field: &str| {
                    text(field)
                        .ok_or_else(|| invalid(format!("{at}.{field}"), "is required (a string)"))
                };
                let kind = Kind::parse(required("type")?).ok_or_else(|| {
                    invalid(
                        format!("{at}.type"),
                        "must be hasOne, hasMany, belongsTo or belongsToMany",
                    )
                })?;
                let resource = required("resource")?;
                let foreign_key = required("foreignKey")?;
                let mut relation = match kind {
                    Kind::BelongsToMany => Relation::belongs_to_many(
                        resource,
                        required("through")?,
                        foreign_key,
                        required("otherKey")?,
                    ),
                    _ => Relation::new(kind, resource, foreign_key),
                };
                if let Some(local) = text("localKey") {
                    relation = relation.local_key(local);
                }
                if let Some(policy) = def.get("onDelete") {
                    relation.on_delete =
                        policy.as_str().and_then(OnDelete::parse).ok_or_else(|| {
                            invalid(
                                format!("{at}.onDelete"),
                                "must be \"cascade\", \"restrict\", \"set null\" or \"no action\"",
                            )
                        })?;
                }
                relation.check = def.get("check").and_then(Value::as_bool).unwrap_or(false);
                out = out.relation(owner, name, relation);
            }
        }
        Ok(out)
    }

    /// The relation `name` of `owner`.
    pub(super) fn get(&self, owner: &str, name: &str) -> Result<&Relation> {
        self.relations
            .get(owner)
            .and_then(|r| r.get(name))
            .ok_or_else(|| {
                let declared: Vec<&String> = self
                    .relations
                    .get(owner)
                    .map(|r| r.keys().collect())
                    .unwrap_or_default();
                config(format!(
                    "resource {owner:?} has no relation {name:?} (declared: {declared:?})"
                ))
            })
    }

    /// Checks the definitions and returns the distinct references they imply. Two relations
    /// describing the same foreign key (`users.posts` and `posts.author`) make one
    /// reference; their delete policies must agree unless one is `no action`.
    pub(super) fn validate(&self) -> Result<Vec<Reference>> {
        let mut references: Vec<Reference> = Vec::new();
        for (owner, relations) in &self.relations {
            for (name, relation) in relations {
                let at = format!("relation {owner}.{name}");
                let many = relation.kind == Kind::BelongsToMany;
                if many != (relation.through.is_some() && relation.other_key.is_some()) {
                    return Err(config(format!(
                        "{at}: through and otherKey belong to belongsToMany, which needs both"
                    )));
                }
                let fields = [
                    Some(&relation.foreign_key),
                    Some(&relation.local_key),
                    relation.other_key.as_ref(),
                ];
                if let Some(bad) = fields
                    .into_iter()
                    .flatten()
                    .find(|f| f.is_empty() || f.contains('.'))
                {
                    return Err(config(format!(
                        "{at}: key field {bad:?} must be a top-level field name"
                    )));
                }
                for reference in relation.references(owner, name) {
                    match references.iter_mut().find(|r| r.same_key(&reference)) {
                        None => references.push(reference),
                        Some(known) => merge(known, reference)?,
                    }
                }
            }
        }
        Ok(references)
    }
}

/// Folds a second declaration of the same foreign key into the first.
fn merge(known: &mut Reference, other: Reference) -> Result<()> {
    known.check |= other.check;
    match (known.on_delete, other.on_delete) {
        (a, b) if a == b => {}
        (_, OnDelete::NoAction) => {}
        (OnDelete::NoAction, policy) => {
            known.on_delete = policy;
            known.declared = other.declared;
        }
        (a, b) => {
            return Err(config(format!(
                "{} and {} describe the same foreign key {}.{} with different onDelete \
                 ({} and {}); declare it on one of them",
                known.declared,
                other.declared,
                known.child,
                known.field,
                a.name(),
                b.name()
            )));
        }
    }
    Ok(())
}

pub(super) fn config(reason: String) -> Error {
    Error::Config {
        plugin: SLUG,
        reason,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_matches_the_builder() {
        let parsed = RelationsConfig::from_json(&json!({
            "users": {"posts": {"type": "hasMany", "resource": "posts", "foreignKey": "userId",
                                "onDelete": "cascade"}},
            "posts": {"tags": {"type": "belongsToMany", "resource": "tags", "through": "postTags",
                               "foreignKey": "postId", "otherKey": "tagId", "onDelete": "set null",
                               "check": true}}
        }))
        .unwrap();
        let built = RelationsConfig::new()
            .relation(
                "users",
                "posts",
                Relation::has_many("posts", "userId").on_delete(OnDelete::Cascade),
            )
            .relation(
                "posts",
                "tags",
                Relation::belongs_to_many("tags", "postTags", "postId", "tagId")
                    .on_delete(OnDelete::SetNull)
                    .checked(),
            );
        assert_eq!(parsed, built);
        assert_eq!(built.validate().unwrap().len(), 3);
    }

    #[test]
    fn bad_definitions_name_the_field() {
        let err = RelationsConfig::from_json(&json!({"users": {"posts": {"type": "hasMany",
            "resource": "posts"}}}))
        .unwrap_err();
        assert!(err.to_string().contains("users.posts.foreignKey"), "{err}");
        let err = RelationsConfig::from_json(&json!({"users": {"posts": {"type": "many",
            "resource": "posts", "foreignKey": "userId"}}}))
        .unwrap_err();
        assert!(err.to_string().contains("users.posts.type"), "{err}");
        let clash = RelationsConfig::new()
            .relation(
                "users",
                "posts",
                Relation::has_many("posts", "userId").on_delete(OnDelete::Cascade),
            )
            .relation(
                "posts",
                "author",
                Relation::belongs_to("users", "userId").on_delete(OnDelete::Restrict),
            );
        let err = clash.validate().unwrap_err();
        assert!(err.to_string().contains("posts.userId"), "{err}");
        let agree = RelationsConfig::new()
            .relation(
                "users",
                "posts",
                Relation::has_many("posts", "userId").on_delete(OnDelete::Cascade),
            )
            .relation(
                "posts",
                "author",
                Relation::belongs_to("users", "userId").checked(),
            );
        let references = agree.validate().unwrap();
        assert_eq!(references.len(), 1);
        assert!(references[0].check);
        assert_eq!(references[0].on_delete, OnDelete::Cascade);
    }
}
