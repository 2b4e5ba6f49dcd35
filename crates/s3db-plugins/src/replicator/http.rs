//! What the HTTP targets (webhook, BigQuery) share: a lazily built client and the reading of
//! a response.

use std::sync::OnceLock;
use std::time::Duration;

use crate::{Error, Result};

/// The longest part of a refused response's body quoted in the error.
const BODY_IN_ERROR: usize = 300;

/// A reqwest client (rustls on ring), built on first use with the configured timeout.
#[derive(Debug)]
pub(crate) struct Http {
    timeout: Duration,
    client: OnceLock<reqwest::Client>,
}

impl Http {
    /// A client whose requests time out after 30 s.
    pub(crate) fn new() -> Http {
        Http::with_timeout(Duration::from_secs(30))
    }

    pub(crate) fn with_timeout(timeout: Duration) -> Http {
        Http {
            timeout,
            client: OnceLock::new(),
        }
    }

    /// The client; an error names `target` when it cannot be built (no TLS roots…).
    pub(crate) fn client(&self, target: &str) -> Result<&reqwest::Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| Error::target(target, "cannot build the HTTP client", e))?;
        Ok(self.client.get_or_init(|| client))
    }

    /// Sends `request`; the body of a 2xx response, else an error with the status and the
    /// start of the body. `what` names the call in errors (never the URL, which may hold a
    /// token).
    pub(crate) async fn send(
        &self,
        target: &str,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, bytes::Bytes)> {
        let response = request
            .send()
            .await
            .map_err(|e| Error::target(target, format!("{what}: {e}"), e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::target(target, format!("{what}: reading the response: {e}"), e))?;
        Ok((status, body))
    }
}

/// The error of a response a target refused: `what: HTTP 500 Internal Server Error: <body>`.
pub(crate) fn refused(target: &str, what: &str, status: reqwest::StatusCode, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(body);
    let mut quoted: String = text.chars().take(BODY_IN_ERROR).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    Error::Target {
        target: target.to_owned(),
        reason: format!("{what}: HTTP {status}: {}", quoted.trim()),
        source: None,
    }
}
