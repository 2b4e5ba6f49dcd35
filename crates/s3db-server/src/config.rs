//! What the server is configured with: base path, credentials and their permissions,
//! read-only mode, limits, CORS.
//!
//! The credentials part can be loaded from a JSON file ([`AuthConfig::from_json`], the
//! `--auth-config` option of `s3db serve`):
//!
//! ```
//! use s3db_server::AuthConfig;
//!
//! let auth = AuthConfig::from_json(r#"{
//!     "apiKeys": [
//!         {"name": "ci", "key": "k-ci", "read": ["*"], "write": ["orders"]},
//!         {"name": "dashboard", "key": "k-dash", "read": ["orders", "users"]}
//!     ],
//!     "basic": [{"username": "admin", "password": "s3cret", "read": ["*"], "write": ["*"]}]
//! }"#).unwrap();
//! assert_eq!(auth.api_keys.len(), 2);
//! assert!(auth.api_keys[1].permissions.can_read("users"));
//! assert!(!auth.api_keys[1].permissions.can_write("users"));
//! ```

use std::time::Duration;

use serde::Deserialize;

/// How a [`crate::router`] behaves. `ServerConfig::default()` is an open, read-write server
/// at the root path with a 1 MiB body limit and no rate limit.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Prefix of every route (`/v1`), or empty for the root.
    pub base_path: String,
    /// Refuse every write (403, kind `ReadOnly`).
    pub read_only: bool,
    /// Credentials; with none configured every request is allowed as `anonymous`.
    pub auth: AuthConfig,
    /// The largest request body accepted, in bytes (larger: 413).
    pub body_limit: usize,
    /// Requests allowed per principal (API key name, user, or client address).
    pub rate_limit: Option<RateLimit>,
    /// Origins allowed by CORS (`*` for any); empty: no CORS headers.
    pub cors_origins: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_path: String::new(),
            read_only: false,
            auth: AuthConfig::default(),
            body_limit: 1024 * 1024,
            rate_limit: None,
            cors_origins: Vec::new(),
        }
    }
}

/// A token bucket per principal: `burst` requests at once, refilled at `burst` per `period`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Requests a principal may make at once (the bucket size).
    pub burst: u32,
    /// The time in which a whole bucket refills.
    pub period: Duration,
}

/// The credentials the server accepts. A request presents one: `X-API-Key: KEY`,
/// `Authorization: Basic …`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthConfig {
    /// API keys (`X-API-Key` header).
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    /// HTTP Basic users.
    #[serde(default)]
    pub basic: Vec<BasicUser>,
}

impl AuthConfig {
    /// Parses the JSON form (see the module example). Unknown fields are refused.
    pub fn from_json(text: &str) -> Result<AuthConfig, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Whether any credential is configured (else the server is open).
    pub fn is_enabled(&self) -> bool {
        !self.api_keys.is_empty() || !self.basic.is_empty()
    }
}

/// One API key and what it may do.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKey {
    /// The principal's name (logs, rate limiting); defaults to `key-N`.
    #[serde(default)]
    pub name: Option<String>,
    /// The secret value sent in `X-API-Key`.
    pub key: String,
    /// What the key may read and write.
    #[serde(flatten)]
    pub permissions: Permissions,
}

impl ApiKey {
    /// A key allowed to read and write every resource.
    pub fn full_access(key: impl Into<String>) -> Self {
        ApiKey {
            name: None,
            key: key.into(),
            permissions: Permissions::all(),
        }
    }
}

/// One HTTP Basic user and what it may do.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicUser {
    /// The user name (also the principal's name).
    pub username: String,
    /// The password.
    pub password: String,
    /// What the user may read and write.
    #[serde(flatten)]
    pub permissions: Permissions,
}

/// Resources a principal may read and write: names, or `*` for all. Writing does not imply
/// reading.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    /// Resources it may list, get, query and count.
    #[serde(default)]
    pub read: Vec<String>,
    /// Resources it may insert, replace, update and delete in.
    #[serde(default)]
    pub write: Vec<String>,
}

impl Permissions {
    /// Read and write on every resource.
    pub fn all() -> Self {
        Permissions {
            read: vec!["*".into()],
            write: vec!["*".into()],
        }
    }

    /// Whether `resource` may be read.
    pub fn can_read(&self, resource: &str) -> bool {
        covers(&self.read, resource)
    }

    /// Whether `resource` may be written.
    pub fn can_write(&self, resource: &str) -> bool {
        covers(&self.write, resource)
    }
}

fn covers(list: &[String], resource: &str) -> bool {
    list.iter().any(|r| r == "*" || r == resource)
}
