//! The data hooks and middleware receive: one typed enum for every operation.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::Record;

/// The data of an operation as hooks and middleware see it: a hook's input and output, a
/// middleware's arguments and a method's result.
///
/// Which variant each hook point and operation uses is listed in the [module
/// docs](crate::extend). A hook must hand back the variant it received (it may change the
/// contents); the `into_*` methods take the expected variant out and report a
/// [`PayloadMismatch`] otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Nothing: operations without arguments, `()` results, absent content.
    None,
    /// One record (a candidate or a stored record).
    Record(Record),
    /// Several records (list, query, get-many results; insert-many arguments).
    Records(Vec<Record>),
    /// One record id.
    Id(String),
    /// Several record ids.
    Ids(Vec<String>),
    /// Changes (or a whole replacement) for the record `id`.
    Change {
        /// The record id.
        id: String,
        /// The changes, or the whole record for `replace`.
        record: Record,
    },
    /// A number of records (count, deleted-many results).
    Count(usize),
    /// A yes/no answer (exists, has-content results).
    Flag(bool),
    /// A JSON object: list/query/count options, a resource config, the `s3db.json` document.
    Options(Map<String, Value>),
    /// A resource name (database hooks).
    Name(String),
    /// Binary content of the record `id`.
    Content {
        /// The record id.
        id: String,
        /// The bytes.
        body: Bytes,
        /// The content type, when known.
        content_type: Option<String>,
    },
}

/// A payload was not of the expected kind (for example a hook replaced a record by a list
/// of ids, or a middleware rewrote `get`'s id into a record).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} payload, found {found}")]
pub struct PayloadMismatch {
    /// The payload kind the operation needs (`"record"`).
    pub expected: &'static str,
    /// The payload kind that was given.
    pub found: &'static str,
}

/// `into_*` accessors: take the contents of one variant out, or report the mismatch.
macro_rules! take {
    ($(#[$doc:meta] $name:ident -> $ty:ty = $kind:literal, $pat:pat => $value:expr;)+) => {
        $(
            #[$doc]
            pub fn $name(self) -> Result<$ty, PayloadMismatch> {
                match self {
                    $pat => Ok($value),
                    other => Err(PayloadMismatch {
                        expected: $kind,
                        found: other.kind(),
                    }),
                }
            }
        )+
    };
}

impl Payload {
    /// The kind of payload, for messages (`"record"`, `"ids"`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::None => "no",
            Payload::Record(_) => "record",
            Payload::Records(_) => "records",
            Payload::Id(_) => "id",
            Payload::Ids(_) => "ids",
            Payload::Change { .. } => "change",
            Payload::Count(_) => "count",
            Payload::Flag(_) => "flag",
            Payload::Options(_) => "options",
            Payload::Name(_) => "name",
            Payload::Content { .. } => "content",
        }
    }

    /// The record of a [`Payload::Record`] or [`Payload::Change`], to edit in place.
    pub fn record_mut(&mut self) -> Option<&mut Record> {
        match self {
            Payload::Record(record) | Payload::Change { record, .. } => Some(record),
            _ => None,
        }
    }

    /// Checks that this is [`Payload::None`].
    pub fn into_none(self) -> Result<(), PayloadMismatch> {
        match self {
            Payload::None => Ok(()),
            other => Err(PayloadMismatch {
                expected: Payload::None.kind(),
                found: other.kind(),
            }),
        }
    }

    take! {
        /// The record of a [`Payload::Record`].
        into_record -> Record = "record", Payload::Record(record) => record;
        /// The records of a [`Payload::Records`].
        into_records -> Vec<Record> = "records", Payload::Records(records) => records;
        /// The id of a [`Payload::Id`].
        into_id -> String = "id", Payload::Id(id) => id;
        /// The ids of a [`Payload::Ids`].
        into_ids -> Vec<String> = "ids", Payload::Ids(ids) => ids;
        /// The id and record of a [`Payload::Change`].
        into_change -> (String, Record) = "change", Payload::Change { id, record } => (id, record);
        /// The number of a [`Payload::Count`].
        into_count -> usize = "count", Payload::Count(count) => count;
        /// The answer of a [`Payload::Flag`].
        into_flag -> bool = "flag", Payload::Flag(flag) => flag;
        /// The object of a [`Payload::Options`].
        into_options -> Map<String, Value> = "options", Payload::Options(options) => options;
        /// The name of a [`Payload::Name`].
        into_name -> String = "name", Payload::Name(name) => name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_take_their_variant_and_name_both_kinds_otherwise() {
        let samples = [
            Payload::Record(Record::new()),
            Payload::Records(vec![]),
            Payload::Id("a".into()),
            Payload::Ids(vec![]),
            Payload::Change {
                id: "a".into(),
                record: Record::new(),
            },
            Payload::Count(1),
            Payload::Flag(true),
            Payload::Options(Map::new()),
            Payload::Name("n".into()),
        ];
        type Take = fn(Payload) -> Option<PayloadMismatch>;
        let takers: [Take; 9] = [
            |p| p.into_record().err(),
            |p| p.into_records().err(),
            |p| p.into_id().err(),
            |p| p.into_ids().err(),
            |p| p.into_change().err(),
            |p| p.into_count().err(),
            |p| p.into_flag().err(),
            |p| p.into_options().err(),
            |p| p.into_name().err(),
        ];
        for (i, take) in takers.iter().enumerate() {
            for (j, sample) in samples.iter().enumerate() {
                match take(sample.clone()) {
                    None => assert_eq!(i, j),
                    Some(mismatch) => {
                        assert_ne!(i, j);
                        assert_eq!(mismatch.expected, samples[i].kind());
                        assert_eq!(mismatch.found, sample.kind());
                    }
                }
            }
        }
        assert_eq!(Payload::None.into_none(), Ok(()));
        assert_eq!(
            Payload::Flag(false).into_none(),
            Err(PayloadMismatch {
                expected: "no",
                found: "flag"
            })
        );
    }

    #[test]
    fn record_mut_reaches_records_and_changes_only() {
        let mut change = Payload::Change {
            id: "a".into(),
            record: Record::new(),
        };
        change
            .record_mut()
            .map(|r| r.insert("x".into(), Value::from(1)));
        assert_eq!(change.into_change().map(|(_, r)| r.len()), Ok(1));
        assert!(Payload::Id("a".into()).record_mut().is_none());
    }
}
