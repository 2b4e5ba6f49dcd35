#![doc = include_str!("../README.md")]

pub mod base62;
pub mod budget;
pub mod calendar;
pub mod error;
pub mod meta;
pub mod nonce;
pub mod secret;
pub mod value;

pub use error::CodecError;
