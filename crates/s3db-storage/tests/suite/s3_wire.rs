//! What the S3 backend puts on the wire and how it reads answers, against a scripted
//! HTTP server: metadata keys with `_` (which moto cannot receive), conditional headers,
//! and the mapping of throttling and server errors.

use s3db_storage::{ErrorKind, PutMode, PutPayload, S3Config, S3Credentials, S3Storage, Storage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Serves `responses` in order (one per request, any connection); sends each request's
/// head (request line and headers, lower-cased) to the returned channel.
async fn scripted_server(responses: Vec<String>) -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut responses = responses.into_iter();
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            loop {
                // Read one request: head, then Content-Length bytes of body.
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(i + 4);
                    }
                    let mut chunk = [0u8; 4096];
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break None,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let Some(head_end) = head_end else { break };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                let body_len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                while buf.len() < head_end + body_len {
                    let mut chunk = [0u8; 4096];
                    let n = socket.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                buf.drain(..head_end + body_len);
                tx.send(head).unwrap();
                let Some(response) = responses.next() else {
                    return;
                };
                socket.write_all(response.as_bytes()).await.unwrap();
            }
        }
    });
    (endpoint, rx)
}

async fn store(endpoint: String) -> S3Storage {
    let config = S3Config {
        endpoint: Some(endpoint),
        force_path_style: true,
        credentials: Some(S3Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "SECRET".into(),
        }),
        ..S3Config::new("bucket")
    };
    S3Storage::connect(&config).await.unwrap()
}

/// An S3 XML error response with a correct Content-Length.
fn s3_error(status: &str, code: &str) -> String {
    let body = format!("<Error><Code>{code}</Code><Message>scripted</Message></Error>");
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const OK_PUT: &str = "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 0\r\n\r\n";

#[tokio::test]
async fn underscore_metadata_keys_go_out_and_come_back() {
    const HEAD: &str = "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 2\r\n\
        Last-Modified: Sat, 21 Nov 2026 10:00:00 GMT\r\nContent-Type: application/json\r\n\
        x-amz-meta-_v: v1\r\nx-amz-meta-a-long-key_with.dots: x y\r\n\r\n";
    let (endpoint, mut requests) =
        scripted_server(vec![OK_PUT.to_string(), HEAD.to_string()]).await;
    let store = store(endpoint).await;
    let payload = PutPayload {
        metadata: [("_v", "v1"), ("a-long-key_with.dots", "x y")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: "{}".into(),
        content_type: Some("application/json".into()),
    };
    let etag = store
        .put("users/1", payload.clone(), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(etag, "\"abc\"");
    let put = requests.recv().await.unwrap();
    assert!(put.starts_with("put /bucket/users/1?"), "{put}");
    assert!(put.contains("\r\nx-amz-meta-_v: v1\r\n"), "{put}");
    assert!(
        put.contains("\r\nx-amz-meta-a-long-key_with.dots: x y\r\n"),
        "{put}"
    );
    assert!(put.contains("\r\nif-none-match: *\r\n"), "{put}");

    let head = store.head("users/1").await.unwrap();
    assert_eq!(head.metadata, payload.metadata.to_map());
    assert_eq!(head.content_type.as_deref(), Some("application/json"));
    assert_eq!(head.meta.size, 2);
}

#[tokio::test]
async fn if_match_is_sent_and_412_maps_by_mode() {
    let failed = s3_error("412 Precondition Failed", "PreconditionFailed");
    let (endpoint, mut requests) = scripted_server(vec![failed.clone(), failed]).await;
    let store = store(endpoint).await;
    let err = store
        .put(
            "k",
            PutPayload::default(),
            PutMode::IfMatch("\"e1\"".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(
        requests
            .recv()
            .await
            .unwrap()
            .contains("\r\nif-match: \"e1\"\r\n")
    );
    let err = store
        .put("k", PutPayload::default(), PutMode::Create)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retryable() {
    let responses = vec![
        s3_error("503 Slow Down", "SlowDown"),
        "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n".to_string(),
        s3_error("500 Internal Server Error", "InternalError"),
        s3_error("409 Conflict", "ConditionalRequestConflict"),
    ];
    let (endpoint, _requests) = scripted_server(responses).await;
    let store = store(endpoint).await;
    let put = || store.put("k", PutPayload::default(), PutMode::Overwrite);
    for expected in [
        ErrorKind::Throttled,
        ErrorKind::Throttled,
        ErrorKind::Unavailable,
        ErrorKind::Unavailable,
    ] {
        let err = put().await.unwrap_err();
        assert_eq!(err.kind(), expected, "{err}");
        assert!(err.is_retryable());
    }
}

/// The SDK's default HTTPS client (rustls on aws-lc) is left out; s3db-storage gives the
/// SDK its own, rustls on ring. An `https://` endpoint must get it: the first bytes sent are a
/// TLS handshake record, not an HTTP request, and a server that hangs up is `Unavailable`.
#[tokio::test]
async fn https_endpoints_get_a_tls_client() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("https://{}", listener.local_addr().unwrap());
    let first_bytes = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut first = [0u8; 3];
        socket.read_exact(&mut first).await.unwrap();
        first
    });
    let store = store(endpoint).await;
    let err = store.head("k").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let [content_type, major, _] = first_bytes.await.unwrap();
    assert_eq!(
        (content_type, major),
        (0x16, 0x03),
        "a TLS handshake record (ClientHello)"
    );
}
