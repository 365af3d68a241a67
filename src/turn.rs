//! TURN servers handed to WebRTC clients, with credentials in coturn's
//! `use-auth-secret` scheme (the TURN REST API): the username is
//! `<expiry unix time>:<who>`, the password base64(HMAC-SHA1(secret,
//! username)). The TURN server checks both with the same secret and no
//! database; a leaked pair stops working at its expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// TURN URLs and the secret shared with their server.
#[derive(Clone)]
pub struct TurnServers {
    urls: Vec<String>,
    secret: String,
    ttl: Duration,
}

impl std::fmt::Debug for TurnServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("TurnServers")
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// One ICE server as a client is told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    pub url: String,
    pub username: String,
    pub credential: String,
}

impl IceServer {
    /// RFC 9725 §4.6: `<url>; rel="ice-server"; username=…; credential=…`.
    pub fn link(&self) -> String {
        format!(
            "<{}>; rel=\"ice-server\"; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
            self.url, self.username, self.credential
        )
    }
}

/// Checks a `--turn-url`: `turn:` or `turns:`, a host, and nothing a Link
/// header could not carry.
pub fn parse_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("turns:")
        .or_else(|| s.strip_prefix("turn:"))
        .ok_or_else(|| format!("{s:?}: a TURN URL starts with turn: or turns:"))?;
    let host = rest.split(['?', ':']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{s:?}: the TURN URL names no host"));
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','))
    {
        return Err(format!("{s:?}: not a TURN URL"));
    }
    Ok(s.to_owned())
}

impl TurnServers {
    pub fn new(urls: Vec<String>, secret: String, ttl: Duration) -> Self {
        Self { urls, secret, ttl }
    }

    /// Fresh credentials for `who` (any label: it only shows in the TURN
    /// server's logs), valid for the configured time from now.
    pub fn for_session(&self, who: &str) -> Vec<IceServer> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.at(now + self.ttl, who)
    }

    fn at(&self, expiry: Duration, who: &str) -> Vec<IceServer> {
        let username = format!("{}:{who}", expiry.as_secs());
        let mut mac =
            Hmac::<Sha1>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key");
        mac.update(username.as_bytes());
        let credential = STANDARD.encode(mac.finalize().into_bytes());
        self.urls
            .iter()
            .map(|url| IceServer {
                url: url.clone(),
                username: username.clone(),
                credential: credential.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_turn_rest_scheme() {
        // Expected values computed independently (Python's hmac module).
        let t = TurnServers::new(
            vec![
                "turn:turn.example.net:3478".into(),
                "turns:turn.example.net:443?transport=tcp".into(),
            ],
            "north".into(),
            Duration::from_secs(3600),
        );
        let servers = t.at(Duration::from_secs(1_433_895_918_506), "my_username");
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, "1433895918506:my_username");
        assert_eq!(servers[0].credential, "Gx/rOncp1ZXBdeBo0S3RrYQnHDA=");
        assert_eq!(
            servers[1].link(),
            "<turns:turn.example.net:443?transport=tcp>; rel=\"ice-server\"; \
             username=\"1433895918506:my_username\"; credential=\"Gx/rOncp1ZXBdeBo0S3RrYQnHDA=\"; \
             credential-type=\"password\""
        );
    }

    #[test]
    fn fresh_credentials_expire_after_the_ttl() {
        let t = TurnServers::new(
            vec!["turn:t.example".into()],
            "s".into(),
            Duration::from_secs(600),
        );
        let s = &t.for_session("7")[0];
        let (expiry, who) = s.username.split_once(':').unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let expiry: u64 = expiry.parse().unwrap();
        assert!((now + 599..=now + 601).contains(&expiry));
        assert_eq!(who, "7");
    }

    #[test]
    fn turn_urls_are_checked() {
        assert!(parse_url("turn:turn.example.net:3478?transport=udp").is_ok());
        assert!(parse_url("turns:turn.example.net:443?transport=tcp").is_ok());
        for bad in [
            "stun:x",
            "http://x",
            "turn:",
            "turn:?transport=udp",
            "turn:a b",
            "turn:a>",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
