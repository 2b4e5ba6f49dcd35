//! Record ⇄ mapped entries: flattening, short keys, per-kind value encoding, secrets, and the
//! reverse path that reads every object state s3db.js produces.
//!
//! Writing: record → flatten (objects of leaf fields stay whole) → short key per path (base36
//! of the registry index; unknown paths keep their name) → `value::encode` by field kind →
//! entries with `_v` first. A behavior then places them and the resource layer applies the
//! client metadata encoding. Reading undoes the same steps; see [`decode`].

pub mod decode;
mod direct;
pub mod encode;
pub mod entries;
pub mod keymap;

pub use decode::{Ciphertexts, decode_direct, unmap_object};
pub use encode::map_record;
pub use entries::Entries;
pub use keymap::KeyMap;
