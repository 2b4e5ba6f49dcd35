//! The objects of the counters plugin and their keys: transactions, the per-record state,
//! analytics contributions.
//!
//! Everything consolidation needs is in the keys, so it lists and never reads transaction
//! bodies:
//! - `tx/<record id>/<ms, 13 digits>-<random>~<field>~<op>~<value>`: one transaction;
//! - `state/<record id>`: [`State`], the consolidated values ([`crate::coord::CasDoc`]);
//! - `rollup/<field>/<YYYY-MM-DDTHH>/<record id>~<rev>~<count>~<sum>`: what one
//!   consolidation added to one hour of one field (empty body).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Prefix of the transactions.
pub(crate) const TX: &str = "tx/";
/// Prefix of the per-record states.
pub(crate) const STATE: &str = "state/";
/// Prefix of the analytics contributions.
pub(crate) const ROLLUP: &str = "rollup/";

/// What a transaction does to its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Adds the value.
    Add,
    /// Subtracts the value.
    Sub,
    /// Replaces the field's value.
    Set,
}

impl Op {
    /// s3db.js's name of it (`add`, `sub`, `set`).
    pub fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Set => "set",
        }
    }

    fn parse(name: &str) -> Option<Op> {
        match name {
            "add" => Some(Op::Add),
            "sub" => Some(Op::Sub),
            "set" => Some(Op::Set),
            _ => None,
        }
    }
}

/// One transaction, as its key names it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tx {
    /// The key's last segment (unique; sorts by time).
    pub name: String,
    /// Epoch milliseconds it was written at.
    pub at_ms: i64,
    pub field: String,
    pub op: Op,
    pub value: f64,
}

impl Tx {
    /// The name of a new transaction (`random` makes it unique).
    pub fn name(at_ms: i64, random: &str, field: &str, op: Op, value: f64) -> String {
        format!(
            "{:013}-{random}~{field}~{}~{value}",
            at_ms.max(0),
            op.name()
        )
    }

    /// Reads a transaction name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Tx> {
        let mut parts = name.splitn(4, '~');
        let (stamp, field, op, value) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let at_ms = stamp.split_once('-')?.0.parse().ok()?;
        let value: f64 = value.parse().ok()?;
        Some(Tx {
            name: name.to_owned(),
            at_ms,
            field: field.to_owned(),
            op: Op::parse(op)?,
            value: value.is_finite().then_some(value)?,
        })
    }

    /// The change to a rollup's sum: adds count up, subs down, sets not at all.
    fn signed(&self) -> f64 {
        match self.op {
            Op::Add => self.value,
            Op::Sub => -self.value,
            Op::Set => 0.0,
        }
    }
}

/// The consolidated values of one record, changed only by compare-and-swap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Bumped by every write, so a version never repeats (no ABA on the ETag).
    pub rev: u64,
    /// Each field's consolidated value.
    pub values: BTreeMap<String, f64>,
    /// Transactions already folded into `values` whose deletion may not have happened yet:
    /// never folded again; dropped from here once a listing no longer shows them.
    pub applied: Vec<String>,
    /// The analytics contributions of the write that made this version, rewritten
    /// (idempotently) by whoever reads it, so a crash right after the write loses none.
    #[serde(default)]
    pub outbox: Vec<String>,
}

/// Applies `txs` (in key order, i.e. time order) to `values`.
pub(crate) fn fold<'a>(values: &mut BTreeMap<String, f64>, txs: impl IntoIterator<Item = &'a Tx>) {
    for tx in txs {
        let slot = values.entry(tx.field.clone()).or_insert(0.0);
        *slot = match tx.op {
            Op::Set => tx.value,
            _ => *slot + tx.signed(),
        };
    }
}

/// The UTC hour cohort (`YYYY-MM-DDTHH`) of epoch milliseconds.
pub(crate) fn hour_of(at_ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour()
    )
}

/// The analytics contribution keys of a batch of `txs` consolidated into `rev` of record `id`.
pub(crate) fn contributions<'a>(
    id: &str,
    rev: u64,
    txs: impl IntoIterator<Item = &'a Tx>,
) -> Vec<String> {
    let mut cells: BTreeMap<(String, String), (u64, f64)> = BTreeMap::new();
    for tx in txs {
        let cell = cells
            .entry((tx.field.clone(), hour_of(tx.at_ms)))
            .or_insert((0, 0.0));
        cell.0 += 1;
        cell.1 += tx.signed();
    }
    cells
        .into_iter()
        .map(|((field, hour), (count, sum))| {
            format!("{ROLLUP}{field}/{hour}/{id}~{rev}~{count}~{sum}")
        })
        .collect()
}

/// A contribution key's hour, transaction count and sum.
pub(crate) fn parse_contribution(key_after_field: &str) -> Option<(String, u64, f64)> {
    let (hour, rest) = key_after_field.split_once('/')?;
    let mut parts = rest.rsplitn(3, '~');
    let (sum, count) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    Some((hour.to_owned(), count, sum))
}

/// A number as JSON: an integer when it is one (exactly representable), else a float.
pub(crate) fn number(value: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if value.fract() == 0.0 && value.abs() < EXACT {
        #[allow(clippy::cast_possible_truncation)]
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_fold_in_order() {
        let names = [
            Tx::name(1_000, "a", "clicks", Op::Add, 2.5),
            Tx::name(1_001, "b", "clicks", Op::Set, 10.0),
            Tx::name(1_002, "c", "clicks", Op::Sub, 3.0),
            Tx::name(1_003, "d", "views", Op::Add, -1.0),
        ];
        assert!(names.windows(2).all(|w| w[0] < w[1]), "time order");
        let txs: Vec<Tx> = names.iter().map(|n| Tx::parse(n).unwrap()).collect();
        assert_eq!(
            (txs[2].op, txs[2].value, txs[2].at_ms),
            (Op::Sub, 3.0, 1_002)
        );
        let mut values = BTreeMap::from([("clicks".to_owned(), 100.0)]);
        fold(&mut values, &txs);
        assert_eq!(values["clicks"], 7.0);
        assert_eq!(values["views"], -1.0);
        assert_eq!(Tx::parse("junk"), None);
        assert_eq!(Tx::parse("0000000001000-a~f~mul~2"), None);
        assert_eq!(Tx::parse("0000000001000-a~f~add~NaN"), None);
    }

    #[test]
    fn contributions_group_by_field_and_hour() {
        let hour = 3_600_000;
        let txs: Vec<Tx> = [
            Tx::name(0, "a", "clicks", Op::Add, 2.0),
            Tx::name(10, "b", "clicks", Op::Sub, 1.0),
            Tx::name(hour, "c", "clicks", Op::Set, 5.0),
        ]
        .iter()
        .map(|n| Tx::parse(n).unwrap())
        .collect();
        let keys = contributions("r1", 7, &txs);
        assert_eq!(
            keys,
            [
                "rollup/clicks/1970-01-01T00/r1~7~2~1",
                "rollup/clicks/1970-01-01T01/r1~7~1~0"
            ]
        );
        let after_field = keys[0].strip_prefix("rollup/clicks/").unwrap();
        assert_eq!(
            parse_contribution(after_field),
            Some(("1970-01-01T00".to_owned(), 2, 1.0))
        );
        assert_eq!(number(3.0), Value::from(3));
        assert_eq!(number(0.5), Value::from(0.5));
    }
}
