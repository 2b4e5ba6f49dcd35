//! Authentication (API key, HTTP Basic) and per-principal rate limiting, as one middleware
//! that puts the request's [`Principal`] in its extensions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::config::{AuthConfig, Permissions, RateLimit};
use crate::problem::ApiError;

/// Who made a request and what it may do.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The key name, user name, or `anonymous`.
    pub name: String,
    /// What it may read and write.
    pub permissions: Permissions,
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"s3db\", Bearer realm=\"s3db\""),
    )
}

/// The principal presenting `headers`' credentials; open servers admit everyone.
fn authenticate(auth: &AuthConfig, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if !auth.is_enabled() {
        return Ok(Principal {
            name: "anonymous".into(),
            permissions: Permissions::all(),
        });
    }
    if let Some(value) = headers.get("x-api-key") {
        let presented = value.to_str().unwrap_or_default();
        return auth
            .api_keys
            .iter()
            .enumerate()
            .find(|(_, k)| same_secret(&k.key, presented))
            .map(|(i, k)| Principal {
                name: k.name.clone().unwrap_or_else(|| format!("key-{}", i + 1)),
                permissions: k.permissions.clone(),
            })
            .ok_or_else(|| unauthorized("the X-API-Key is not valid"));
    }
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "credentials required: send X-API-Key, or Authorization: Basic or Bearer",
        ));
    };
    let authorization = authorization.to_str().unwrap_or_default();
    if let Some(token) = authorization.strip_prefix("Bearer ") {
        return bearer(auth, token.trim());
    }
    let basic = Some(authorization)
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .ok_or_else(|| unauthorized("the Authorization header is not valid Basic credentials"))?;
    let (user, password) = basic.split_once(':').unwrap_or((&basic, ""));
    auth.basic
        .iter()
        .find(|u| u.username == user && same_secret(&u.password, password))
        .map(|u| Principal {
            name: u.username.clone(),
            permissions: u.permissions.clone(),
        })
        .ok_or_else(|| unauthorized("unknown user or wrong password"))
}

/// The principal of a bearer token: its `sub`, with the permissions of its permissions claim.
fn bearer(auth: &AuthConfig, token: &str) -> Result<Principal, ApiError> {
    let jwt = auth
        .jwt
        .as_ref()
        .ok_or_else(|| unauthorized("bearer tokens are not accepted by this server"))?;
    let claims = jwt
        .verify(token)
        .map_err(|e| unauthorized(&format!("the bearer token is not valid: {e}")))?;
    let permissions = match claims.get(&jwt.permissions_claim) {
        None => Permissions::default(),
        Some(claim) => serde_json::from_value(claim.clone()).map_err(|e| {
            unauthorized(&format!(
                "the token's {:?} claim must be {{\"read\": [...], \"write\": [...]}}: {e}",
                jwt.permissions_claim
            ))
        })?,
    };
    Ok(Principal {
        name: claims
            .get("sub")
            .and_then(|s| s.as_str())
            .unwrap_or("jwt")
            .to_owned(),
        permissions,
    })
}

/// Token buckets by principal.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `who`'s bucket, or says how many seconds until one is there.
    fn take(&self, who: &str) -> Result<(), u64> {
        let burst = f64::from(self.limit.burst.max(1));
        let per_second = burst / self.limit.period.as_secs_f64().max(f64::EPSILON);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets.entry(who.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * per_second).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Shared state of the auth middleware.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    pub(crate) auth: Arc<AuthConfig>,
    pub(crate) limiter: Option<Arc<Limiter>>,
}

/// Authenticates, rate-limits, and hands the [`Principal`] to the handlers.
pub(crate) async fn gate(
    State(gate): State<Gate>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let principal = authenticate(&gate.auth, request.headers())?;
    if let Some(limiter) = &gate.limiter {
        // Anonymous callers share nothing: each client address has its own bucket.
        let who = match (principal.name.as_str(), request.extensions().get()) {
            ("anonymous", Some(ConnectInfo(addr))) => {
                let addr: &SocketAddr = addr;
                format!("ip:{}", addr.ip())
            }
            (name, _) => format!("principal:{name}"),
        };
        limiter.take(&who).map_err(|seconds| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RateLimited",
                format!("rate limit exceeded for {who}; retry in {seconds} s"),
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
        })?;
    }
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}
