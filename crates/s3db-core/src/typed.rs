//! A typed facade over a [`Resource`]: records as your own `Serialize + DeserializeOwned`
//! types.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::resource::{Record, Resource};

/// A resource whose records are `T`. Conversion failures are [`Error::Serialization`];
/// a secret that cannot be decrypted is [`Error::Decryption`], never garbage in a field.
///
/// `T` should have an `id` field (or accept one via `#[serde(default)]`) to see record ids.
#[derive(Debug)]
pub struct TypedResource<T> {
    inner: Resource,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for TypedResource<T> {
    fn clone(&self) -> Self {
        TypedResource {
            inner: self.inner.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> TypedResource<T> {
    /// Wraps a resource.
    pub fn new(inner: Resource) -> Self {
        TypedResource {
            inner,
            _type: PhantomData,
        }
    }

    /// The untyped resource.
    pub fn untyped(&self) -> &Resource {
        &self.inner
    }

    /// Inserts a record (see [`Resource::insert`]).
    pub async fn insert(&self, value: &T) -> Result<T> {
        let record = self.encode_record(value)?;
        self.decode_record(self.inner.insert(record).await?)
    }

    /// Reads a record (see [`Resource::get`]).
    pub async fn get(&self, id: &str) -> Result<T> {
        self.decode_record(self.inner.get(id).await?)
    }

    /// Merges the non-`null` fields of `changes` into the stored record (see
    /// [`Resource::update`]).
    pub async fn update(&self, id: &str, changes: &T) -> Result<T> {
        let mut record = self.encode_record(changes)?;
        record.retain(|k, v| !v.is_null() && k != "id");
        self.decode_record(self.inner.update(id, record).await?)
    }

    /// Replaces a record (see [`Resource::replace`]).
    pub async fn replace(&self, id: &str, value: &T) -> Result<T> {
        let record = self.encode_record(value)?;
        self.decode_record(self.inner.replace(id, record).await?)
    }

    /// Deletes a record (see [`Resource::delete`]).
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.inner.delete(id).await
    }

    /// Every record, in id order.
    pub async fn get_all(&self) -> Result<Vec<T>> {
        self.inner
            .get_all()
            .await?
            .into_iter()
            .map(|r| self.decode_record(r))
            .collect()
    }

    fn encode_record(&self, value: &T) -> Result<Record> {
        match serde_json::to_value(value) {
            Ok(Value::Object(record)) => Ok(record),
            Ok(other) => {
                Err(self.conversion(format!("a record must serialize to an object, not {other}")))
            }
            Err(e) => Err(self.conversion(e.to_string())),
        }
    }

    fn decode_record(&self, record: Record) -> Result<T> {
        serde_json::from_value(Value::Object(record)).map_err(|e| self.conversion(e.to_string()))
    }

    fn conversion(&self, reason: String) -> Error {
        Error::Serialization {
            resource: self.inner.name().to_owned(),
            reason,
        }
    }
}

impl Resource {
    /// This resource as records of type `T`.
    pub fn typed<T: Serialize + DeserializeOwned>(&self) -> TypedResource<T> {
        TypedResource::new(self.clone())
    }
}
