//! The resource operations extension points are attached to.

use std::fmt;

/// A resource operation, named as s3db.js names the method (`getMany`, `listIds`…).
///
/// Hooks, middleware and events all refer to operations with this one enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `insert`.
    Insert,
    /// `update` (merge changes into the stored record).
    Update,
    /// `patch`.
    Patch,
    /// `replace` (write a whole record).
    Replace,
    /// `upsert` (insert or update).
    Upsert,
    /// `delete`.
    Delete,
    /// `get`.
    Get,
    /// `exists`.
    Exists,
    /// `list`.
    List,
    /// `listIds`.
    ListIds,
    /// `getAll`.
    GetAll,
    /// `count`.
    Count,
    /// `page`.
    Page,
    /// `query`.
    Query,
    /// `getMany`.
    GetMany,
    /// `insertMany`.
    InsertMany,
    /// `deleteMany`.
    DeleteMany,
    /// `deleteAll`.
    DeleteAll,
    /// `content` (read binary content).
    Content,
    /// `hasContent`.
    HasContent,
    /// `setContent`.
    SetContent,
    /// `deleteContent`.
    DeleteContent,
    /// `getFromPartition`.
    GetFromPartition,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 23] = [
        Operation::Insert,
        Operation::Update,
        Operation::Patch,
        Operation::Replace,
        Operation::Upsert,
        Operation::Delete,
        Operation::Get,
        Operation::Exists,
        Operation::List,
        Operation::ListIds,
        Operation::GetAll,
        Operation::Count,
        Operation::Page,
        Operation::Query,
        Operation::GetMany,
        Operation::InsertMany,
        Operation::DeleteMany,
        Operation::DeleteAll,
        Operation::Content,
        Operation::HasContent,
        Operation::SetContent,
        Operation::DeleteContent,
        Operation::GetFromPartition,
    ];

    /// Whether the operation writes (creates, changes or deletes records or content).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Operation::Insert
                | Operation::Update
                | Operation::Patch
                | Operation::Replace
                | Operation::Upsert
                | Operation::Delete
                | Operation::InsertMany
                | Operation::DeleteMany
                | Operation::DeleteAll
                | Operation::SetContent
                | Operation::DeleteContent
        )
    }

    /// The s3db.js method name (`"getMany"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Patch => "patch",
            Operation::Replace => "replace",
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
            Operation::Get => "get",
            Operation::Exists => "exists",
            Operation::List => "list",
            Operation::ListIds => "listIds",
            Operation::GetAll => "getAll",
            Operation::Count => "count",
            Operation::Page => "page",
            Operation::Query => "query",
            Operation::GetMany => "getMany",
            Operation::InsertMany => "insertMany",
            Operation::DeleteMany => "deleteMany",
            Operation::DeleteAll => "deleteAll",
            Operation::Content => "content",
            Operation::HasContent => "hasContent",
            Operation::SetContent => "setContent",
            Operation::DeleteContent => "deleteContent",
            Operation::GetFromPartition => "getFromPartition",
        }
    }

    /// The operation of an s3db.js method name, if there is one.
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// This operation's bit in a registration mask (declaration order).
    pub(crate) fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bits_are_distinct() {
        let mut mask = 0u64;
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.as_str()), Some(op));
            assert_eq!(mask & op.bit(), 0, "{op}");
            mask |= op.bit();
        }
        assert_eq!(Operation::from_name("nope"), None);
    }
}
