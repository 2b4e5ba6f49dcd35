//! A tiny HTTP endpoint serving the Prometheus text at `GET /metrics` on the address you
//! choose (crate feature `metrics-http`).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use metrics_exporter_prometheus::PrometheusHandle;

use super::CONTENT_TYPE;
use crate::error::{Error, Result};

/// Largest request head read; longer requests are answered 431.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A running metrics endpoint; stopped by [`MetricsServer::shutdown`] or when dropped.
///
/// ```
/// use s3db_plugins::metrics::{MetricsServer, prometheus_recorder};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let recorder = prometheus_recorder();
/// metrics::with_local_recorder(&recorder, || metrics::counter!("jobs_total").increment(2));
/// let addr = "127.0.0.1:0".parse().unwrap(); // port 0: any free port
/// let server = MetricsServer::bind(recorder.handle(), addr).await?;
/// let mut conn = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
/// conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
/// let mut response = String::new();
/// conn.read_to_string(&mut response).await.unwrap();
/// assert!(response.starts_with("HTTP/1.1 200 OK"));
/// assert!(response.contains("jobs_total 2"));
/// server.shutdown();
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Serves what `metrics` renders on `addr` (port `0` picks a free one, see
    /// [`MetricsServer::local_addr`]; `127.0.0.1` keeps it local, `0.0.0.0` opens it to
    /// the network). Must be called inside a Tokio runtime.
    pub async fn bind(metrics: PrometheusHandle, addr: SocketAddr) -> Result<MetricsServer> {
        let wanted = addr;
        let io = |source| Error::Io {
            path: wanted.to_string(),
            source,
        };
        let listener = TcpListener::bind(wanted).await.map_err(io)?;
        let addr = listener.local_addr().map_err(io)?;
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((conn, _)) => {
                        tokio::spawn(answer(conn, metrics.clone()));
                    }
                    Err(error) => tracing::warn!(%error, "metrics endpoint: accept failed"),
                }
            }
        });
        Ok(MetricsServer { addr, task })
    }

    /// The address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request and answers it, then closes the connection.
async fn answer(mut conn: TcpStream, metrics: PrometheusHandle) {
    let response = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut conn)).await {
        Ok(Ok(Some(head))) => respond(&head, &metrics),
        Ok(Ok(None)) => status(431, "Request Header Fields Too Large", ""),
        Ok(Err(_)) | Err(_) => return,
    };
    if let Err(error) = conn.write_all(response.as_bytes()).await {
        tracing::debug!(%error, "metrics endpoint: client went away");
    }
    let _ = conn.shutdown().await;
}

/// The request head (up to the blank line), `None` if it exceeds [`MAX_HEAD`].
async fn read_head(conn: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(String::from_utf8_lossy(&head).into_owned()))
}

/// The response to a request head.
fn respond(head: &str, metrics: &PrometheusHandle) -> String {
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default();
    let target = request_line.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") => {
            let body = metrics.render();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        (_, "/metrics") => status(405, "Method Not Allowed", "Allow: GET\r\n"),
        _ => status(404, "Not Found", ""),
    }
}

/// A response without body.
fn status(code: u16, reason: &str, headers: &str) -> String {
    format!("HTTP/1.1 {code} {reason}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n")
}
