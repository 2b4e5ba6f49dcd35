//! Starts a server over a fresh file:// database with two resources.

use reqwest::Method;
use s3db_core::{Database, ResourceConfig};
use s3db_server::ServerConfig;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A running server; stopped (gracefully) when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT` plus the base path.
    pub base: String,
    /// The client.
    pub http: reqwest::Client,
    /// The database served.
    pub db: Database,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

impl Server {
    /// The URL of `path` (relative to the base path).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request of `method` on `path`; `.await` sends it and returns the response.
    pub fn call(&self, method: Method, path: &str) -> Call {
        Call(self.http.request(method, self.url(path)))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Call {
        self.call(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> Call {
        self.call(Method::POST, path)
    }

    /// `PUT path`.
    pub fn put(&self, path: &str) -> Call {
        self.call(Method::PUT, path)
    }

    /// `PATCH path`.
    pub fn patch(&self, path: &str) -> Call {
        self.call(Method::PATCH, path)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Call {
        self.call(Method::DELETE, path)
    }
}

/// A request being built; awaiting it sends it (a failure to send fails the test).
pub struct Call(reqwest::RequestBuilder);

impl Call {
    /// Adds a header.
    pub fn header(self, name: &str, value: impl AsRef<str>) -> Call {
        Call(self.0.header(name, value.as_ref()))
    }

    /// Sets a JSON body.
    pub fn json(self, body: &Value) -> Call {
        Call(self.0.json(body))
    }

    /// Sets a raw body.
    pub fn body(self, body: impl Into<reqwest::Body>) -> Call {
        Call(self.0.body(body))
    }

    /// Adds query parameters.
    pub fn query(self, pairs: &[(&str, &str)]) -> Call {
        Call(self.0.query(pairs))
    }
}

impl IntoFuture for Call {
    type Output = reqwest::Response;
    type IntoFuture = std::pin::Pin<Box<dyn Future<Output = reqwest::Response> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.0.send().await.unwrap() })
    }
}

/// `users` (name, email, age, role; partition byRole) and `notes` (title, body).
pub async fn start(config: ServerConfig) -> Server {
    let dir = TempDir::new().unwrap();
    let db = Database::connect(&format!("file://{}", dir.path().display()))
        .await
        .unwrap();
    db.create_resource(
        ResourceConfig::new("users")
            .attribute("name", "string|min:2|max:50")
            .attribute("email", "email")
            .attribute("age", "number|optional|min:0|integer:true")
            .attribute("role", "string|optional")
            .partition("byRole", [("role", "string")]),
    )
    .await
    .unwrap();
    db.create_resource(
        ResourceConfig::new("notes")
            .attribute("title", "string")
            .attribute("tags", "array|items:string|optional"),
    )
    .await
    .unwrap();
    let base_path = config.base_path.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let router = s3db_server::router(db.clone(), config);
    tokio::spawn(s3db_server::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    Server {
        base: format!("http://{addr}{base_path}"),
        http: reqwest::Client::new(),
        db,
        _dir: dir,
        _stop: stop,
    }
}

/// An open server at the root path.
pub async fn open() -> Server {
    start(ServerConfig::default()).await
}

/// The JSON body of a response.
pub async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// Asserts a problem+json response of `status` and `kind`, with a request id; returns it.
pub async fn problem(response: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let header_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let problem = body(response).await;
    assert_eq!(problem["status"], status, "{problem}");
    assert_eq!(problem["kind"], kind, "{problem}");
    assert_eq!(problem["requestId"], header_id.as_str(), "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:s3db:problem:")
    );
    assert!(!problem["detail"].as_str().unwrap().is_empty());
    problem
}
