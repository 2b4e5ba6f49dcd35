//! Which resources go to a target, under which name, through which transform.

use std::fmt;
use std::sync::Arc;

use s3db_core::Record;

/// A function applied to each record before it goes to a target: `None` skips the change.
pub type Transform = Arc<dyn Fn(Record) -> Option<Record> + Send + Sync>;

/// Sends the writes of one resource (or of every resource) to a target, optionally under
/// another name and through a [`Transform`].
///
/// ```
/// use s3db_plugins::replicator::Route;
///
/// // `users` goes to the table `app_users`, without its `password` field.
/// let route = Route::resource("users").rename("app_users").transform(|mut record| {
///     record.shift_remove("password");
///     Some(record)
/// });
/// assert!(route.matches("users"));
/// assert_eq!(route.target_name("users"), "app_users");
/// // Every resource under its own name.
/// assert_eq!(Route::all().target_name("orders"), "orders");
/// ```
#[derive(Clone)]
pub struct Route {
    resource: Option<String>,
    rename: Option<String>,
    transform: Option<Transform>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("resource", &self.resource)
            .field("rename", &self.rename)
            .field("transform", &self.transform.is_some())
            .finish()
    }
}

impl Route {
    /// The writes of the resource `name`.
    pub fn resource(name: impl Into<String>) -> Route {
        Route {
            resource: Some(name.into()),
            rename: None,
            transform: None,
        }
    }

    /// The writes of every resource, each under its own name.
    pub fn all() -> Route {
        Route {
            resource: None,
            rename: None,
            transform: None,
        }
    }

    /// Writes under this table or resource name in the target (meaningful with
    /// [`Route::resource`]; with [`Route::all`] every resource would share the name).
    pub fn rename(mut self, name: impl Into<String>) -> Route {
        self.rename = Some(name.into());
        self
    }

    /// Passes each upserted record through `transform` (it receives the record with its
    /// `id`); `None` skips the change. Deletes are not transformed. The id cannot be changed.
    pub fn transform<F>(mut self, transform: F) -> Route
    where
        F: Fn(Record) -> Option<Record> + Send + Sync + 'static,
    {
        self.transform = Some(Arc::new(transform));
        self
    }

    /// Whether writes to `resource` follow this route.
    pub fn matches(&self, resource: &str) -> bool {
        self.resource.as_deref().is_none_or(|name| name == resource)
    }

    /// The name `resource`'s writes take in the target.
    pub fn target_name<'a>(&'a self, resource: &'a str) -> &'a str {
        self.rename.as_deref().unwrap_or(resource)
    }

    /// Applies the transform (identity without one).
    pub(crate) fn apply(&self, record: Record) -> Option<Record> {
        match &self.transform {
            Some(transform) => transform(record),
            None => Some(record),
        }
    }
}
