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

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
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
/// `Authorization: Basic …` or `Authorization: Bearer JWT`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthConfig {
    /// API keys (`X-API-Key` header).
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    /// HTTP Basic users.
    #[serde(default)]
    pub basic: Vec<BasicUser>,
    /// JWT bearer tokens (`Authorization: Bearer …`).
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
}

impl AuthConfig {
    /// Parses the JSON form (see the module example). Unknown fields are refused.
    pub fn from_json(text: &str) -> Result<AuthConfig, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Whether any credential is configured (else the server is open).
    pub fn is_enabled(&self) -> bool {
        !self.api_keys.is_empty() || !self.basic.is_empty() || self.jwt.is_some()
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

/// How bearer tokens are verified: the algorithm and key, and the claim holding the
/// principal's permissions.
///
/// A token's `sub` names the principal; its permissions are the claim named
/// [`JwtConfig::permissions_claim`] (`s3db` unless set), an object
/// `{"read": [...], "write": [...]}` like [`Permissions`] (absent: no access). `exp` is
/// required and checked; `iss` and `aud` when configured.
///
/// In the JSON form: `{"algorithm": "HS256", "secret": "..."}` or
/// `{"algorithm": "RS256" | "ES256", "publicKeyFile": "key.pem"}`, plus optional `issuer`,
/// `audience` and `permissionsClaim`.
#[derive(Clone, Deserialize)]
#[serde(try_from = "RawJwt")]
pub struct JwtConfig {
    key: DecodingKey,
    validation: Validation,
    /// The claim holding `{"read": [...], "write": [...]}`.
    pub permissions_claim: String,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("JwtConfig")
            .field("algorithms", &self.validation.algorithms)
            .field("permissions_claim", &self.permissions_claim)
            .finish_non_exhaustive()
    }
}

impl JwtConfig {
    /// HS256 tokens signed with `secret`.
    pub fn hs256(secret: &[u8]) -> Self {
        JwtConfig::with(DecodingKey::from_secret(secret), Algorithm::HS256)
    }

    /// RS256 tokens, verified with an RSA public key in PEM.
    pub fn rs256_pem(pem: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(JwtConfig::with(
            DecodingKey::from_rsa_pem(pem)?,
            Algorithm::RS256,
        ))
    }

    /// ES256 tokens, verified with a P-256 public key in PEM.
    pub fn es256_pem(pem: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(JwtConfig::with(
            DecodingKey::from_ec_pem(pem)?,
            Algorithm::ES256,
        ))
    }

    fn with(key: DecodingKey, algorithm: Algorithm) -> Self {
        JwtConfig {
            key,
            validation: Validation::new(algorithm),
            permissions_claim: "s3db".into(),
        }
    }

    /// Only tokens of this issuer (`iss`).
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self
    }

    /// Only tokens for this audience (`aud`).
    pub fn audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self
    }

    /// The verified claims of `token`.
    pub(crate) fn verify(
        &self,
        token: &str,
    ) -> Result<serde_json::Value, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<serde_json::Value>(token, &self.key, &self.validation)
            .map(|t| t.claims)
    }
}

/// The JSON form of [`JwtConfig`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawJwt {
    algorithm: String,
    secret: Option<String>,
    public_key_file: Option<std::path::PathBuf>,
    issuer: Option<String>,
    audience: Option<String>,
    permissions_claim: Option<String>,
}

impl TryFrom<RawJwt> for JwtConfig {
    type Error = String;

    fn try_from(raw: RawJwt) -> Result<Self, String> {
        let pem = || -> Result<Vec<u8>, String> {
            let path = raw.public_key_file.as_ref().ok_or_else(|| {
                format!(
                    "jwt: algorithm {} needs publicKeyFile (a PEM public key)",
                    raw.algorithm
                )
            })?;
            std::fs::read(path)
                .map_err(|e| format!("jwt: cannot read publicKeyFile {}: {e}", path.display()))
        };
        let bad_key = |e: jsonwebtoken::errors::Error| {
            format!(
                "jwt: publicKeyFile is not a {} public key in PEM: {e}",
                raw.algorithm
            )
        };
        let mut config = match raw.algorithm.as_str() {
            "HS256" => {
                let secret = raw
                    .secret
                    .as_deref()
                    .ok_or("jwt: algorithm HS256 needs secret")?;
                JwtConfig::hs256(secret.as_bytes())
            }
            "RS256" => JwtConfig::rs256_pem(&pem()?).map_err(bad_key)?,
            "ES256" => JwtConfig::es256_pem(&pem()?).map_err(bad_key)?,
            other => {
                return Err(format!(
                    "jwt: algorithm {other:?} is not supported: use HS256, RS256 or ES256"
                ));
            }
        };
        if let Some(issuer) = &raw.issuer {
            config = config.issuer(issuer);
        }
        if let Some(audience) = &raw.audience {
            config = config.audience(audience);
        }
        if let Some(claim) = raw.permissions_claim {
            config.permissions_claim = claim;
        }
        Ok(config)
    }
}
