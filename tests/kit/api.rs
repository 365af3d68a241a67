//! A client for the server's HTTP API, wherever the server runs (in the
//! test's runtime or as a child process), and the responses it reads.

use std::time::Duration;

use awc::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::Room;

/// The server's base URL and an HTTP client for it.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    client: awc::Client,
}

/// A response: status, headers, and the body parsed as JSON (a string
/// when it is not JSON, Null when empty) and as text.
pub struct Resp {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
    pub text: String,
    /// The body as sent (a file, say).
    pub raw: Vec<u8>,
}

impl Resp {
    /// The contract's error code, asserting the error shape on the way.
    pub fn code(&self) -> &str {
        let message = self.body["error"]["message"].as_str().unwrap_or("");
        assert!(
            !message.is_empty(),
            "{} error without message: {} (headers {:?})",
            self.status,
            self.body,
            self.headers
        );
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl Api {
    pub fn new(base: String) -> Api {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish();
        Api::with_client(base, client)
    }

    /// The API at `base` through `client` (a proxy's TLS, say).
    pub fn with_client(base: String, client: awc::Client) -> Api {
        Api { base, client }
    }

    pub async fn send(&self, req: awc::ClientRequest, body: Option<&Value>) -> Resp {
        let res = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        read(res.expect("request reaches the server")).await
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> awc::ClientRequest {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        req
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.request(Method::GET, path, token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send(self.request(Method::POST, path, token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.request(Method::DELETE, path, token), None)
            .await
    }

    /// POST with a raw body and content type, for malformed-input tests.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
        self.send_body(self.request(Method::POST, path, None), content_type, body)
            .await
    }

    /// Sends `req` with a raw body of `content_type`.
    pub async fn send_body(
        &self,
        req: awc::ClientRequest,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Resp {
        let req = req.insert_header(("Content-Type", content_type));
        read(
            req.send_body(body.into())
                .await
                .expect("request reaches the server"),
        )
        .await
    }

    pub async fn create_room(&self, body: Value) -> Room {
        let r = self.post("/api/rooms", None, &body).await;
        assert_eq!(r.status, 201, "create room: {}", r.body);
        Room::created(self, &r.body)
    }

    /// A room with no password and the default limits.
    pub async fn room(&self) -> Room {
        self.create_room(json!({"title": "Rust at Scale", "presenter_name": "Ada"}))
            .await
    }
}

async fn read<S>(mut res: awc::ClientResponse<S>) -> Resp
where
    S: futures_core::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.body().limit(1 << 20).await.expect("response body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(text.clone()))
    };
    Resp {
        status,
        headers,
        body,
        text,
        raw: bytes.to_vec(),
    }
}
