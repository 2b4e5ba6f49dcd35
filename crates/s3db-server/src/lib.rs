#![doc = include_str!("../README.md")]

/// The user guide, `docs/server.md` (its Rust example is compiled by the doc tests).
#[doc = include_str!("../../../docs/server.md")]
pub mod guide {}

mod auth;
mod config;
mod openapi;
mod problem;
mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use s3db_core::Database;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use auth::Principal;
pub use config::{ApiKey, AuthConfig, BasicUser, JwtConfig, Permissions, RateLimit, ServerConfig};
pub use problem::ApiError;

use crate::problem::REQUEST_ID;
use crate::routes::App;

/// The request id header: echoed when the client sends one, generated otherwise.
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The REST API over `db` as an axum router, to serve or to mount in an application's own
/// router (`Router::new().merge(s3db_server::router(db, config))`).
///
/// Routes (under [`ServerConfig::base_path`]): `GET /health`, `GET /ready`,
/// `GET /openapi.json`, and per resource `GET|POST /{resource}`,
/// `GET|HEAD|PUT|PATCH|DELETE /{resource}/{id}`, `POST /{resource}/query`,
/// `GET /{resource}/count`. See `docs/server.md`.
pub fn router(db: Database, config: ServerConfig) -> Router {
    let config = Arc::new(config);
    let app = App {
        db,
        config: config.clone(),
    };
    let gate = auth::Gate {
        auth: Arc::new(config.auth.clone()),
        limiter: config
            .rate_limit
            .map(|limit| Arc::new(auth::Limiter::new(limit))),
    };
    let resources = Router::new()
        .route("/{resource}", get(routes::list).post(routes::insert))
        .route("/{resource}/count", get(routes::count))
        .route("/{resource}/query", post(routes::query))
        .route(
            "/{resource}/{id}",
            get(routes::get)
                .put(routes::replace)
                .patch(routes::patch)
                .delete(routes::delete),
        )
        .layer(middleware::from_fn_with_state(gate, auth::gate));
    let api = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/openapi.json", get(openapi::serve))
        .merge(resources)
        .fallback(not_found)
        .with_state(app)
        .layer(DefaultBodyLimit::max(config.body_limit));
    let api = match config.base_path.trim_end_matches('/') {
        "" => api,
        base => Router::new().nest(base, api).fallback(not_found),
    };
    let api = api.layer(middleware::from_fn(request_context));
    match cors(&config.cors_origins) {
        Some(cors) => api.layer(cors),
        None => api,
    }
}

/// The CORS layer of the configured origins (none: no layer).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                HeaderName::from_static("x-api-key"),
                REQUEST_ID_HEADER,
            ])
            .expose_headers([
                header::ETAG,
                header::LOCATION,
                header::RETRY_AFTER,
                REQUEST_ID_HEADER,
                HeaderName::from_static("x-next-cursor"),
            ]),
    )
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight
/// finish. Client addresses are passed to the router (per-address rate limits).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM: the `shutdown` of [`serve`].
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

/// Gives the request an id (the client's `X-Request-ID` or a new one), echoes it, logs the
/// access line, and turns any error answer that is not yet problem+json (an unknown route,
/// a method not allowed, a malformed path) into one.
async fn request_context(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map_or_else(|| nanoid::nanoid!(), str::to_owned);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), async move {
            let response = next.run(request).await;
            as_problem(response).await
        })
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    tracing::info!(
        request_id = %id,
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// An error response that is not problem+json, as problem+json (its text as the detail).
async fn as_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let kind = match status {
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
        StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLarge",
        s if s.is_server_error() => "Internal",
        _ => "InvalidInput",
    };
    let detail = match detail.is_empty() {
        true => status.canonical_reason().unwrap_or("error").to_owned(),
        false => detail,
    };
    let mut problem = ApiError::new(status, kind, detail).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}

/// Any path no route serves.
async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such route")
}

/// `GET /health`: the process answers.
async fn health() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// `GET /ready`: the database's storage answers (its definitions are re-read).
async fn ready(State(app): State<App>) -> Result<Response, ApiError> {
    app.db.reload().await?;
    Ok(axum::Json(serde_json::json!({
        "status": "ready",
        "resources": app.db.list_resources(),
    }))
    .into_response())
}
