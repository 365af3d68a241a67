//! The repository's nginx/podium.conf, run by Debian's nginx in front of
//! the real server: HTTPS and HTTP/2, the redirect from HTTP, pages from
//! web/ served by nginx, the API, the live room's WebSocket and WHIP/WHEP
//! signalling proxied, and the client address Podium's limits see is the
//! one nginx forwards. The certificate is made by the test.

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

use crate::kit;

const NGINX: &str = "/usr/sbin/nginx";

struct Nginx {
    child: Child,
    dir: PathBuf,
    https: u16,
    http: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The repo's config with this test's ports, certificate, web root and
/// upstream in place of the deployment's.
fn start_nginx(upstream: &str, cert_pem: &str, key_pem: &str) -> Nginx {
    assert!(
        Path::new(NGINX).exists(),
        "nginx is required for this test: apt-get install -y nginx (tests/run does)"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!(
        "podium-nginx-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(dir.join("cert.pem"), cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), key_pem).unwrap();
    let (https, http) = (free_port(), free_port());
    let site = std::fs::read_to_string(root.join("nginx/podium.conf"))
        .unwrap()
        .replace("listen [::]:80;", "")
        .replace("listen [::]:443 ssl http2;", "")
        .replace("listen 80;", &format!("listen 127.0.0.1:{http};"))
        .replace(
            "listen 443 ssl http2;",
            &format!("listen 127.0.0.1:{https} ssl http2;"),
        )
        .replace(
            "/etc/letsencrypt/live/podium.example.org/fullchain.pem",
            dir.join("cert.pem").to_str().unwrap(),
        )
        .replace(
            "/etc/letsencrypt/live/podium.example.org/privkey.pem",
            dir.join("key.pem").to_str().unwrap(),
        )
        .replace("/srv/podium/web", root.join("web").to_str().unwrap())
        .replace("server 127.0.0.1:8080;", &format!("server {upstream};"));
    std::fs::write(dir.join("podium.conf"), site).unwrap();
    let d = dir.display();
    let main = format!(
        "user root;\ndaemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n  access_log off;\n\
         client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;\n\
         uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n  include {d}/podium.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let check = Command::new(NGINX)
        .args(["-t", "-p"])
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(NGINX)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", https)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nginx did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Nginx {
        child,
        dir,
        https,
        http,
    }
}

/// An HTTPS client that trusts only the test's certificate and connects
/// from `local` (loopback has every 127.x address).
fn client(cert: &rustls::pki_types::CertificateDer<'static>, local: &str) -> awc::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = awc::Connector::new()
        .rustls_0_23(Arc::new(config))
        .local_address(local.parse::<IpAddr>().unwrap());
    awc::Client::builder()
        .connector(connector)
        .timeout(Duration::from_secs(20))
        .finish()
}

async fn json_of(
    mut res: awc::ClientResponse<
        impl futures_core::Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin,
    >,
) -> (u16, Value) {
    let status = res.status().as_u16();
    let body = res.body().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn offer(media: &[(MediaKind, Direction)]) -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    rtc.add_local_candidate(Candidate::host("127.0.0.1:40000".parse().unwrap(), "udp").unwrap());
    let mut api = rtc.sdp_api();
    for (kind, dir) in media {
        api.add_media(*kind, *dir, None, None, None);
    }
    api.apply().unwrap().0.to_sdp_string()
}

#[actix_rt::test]
async fn podium_behind_the_repositorys_nginx_config() {
    let app = kit::spawn_app_with(|c| {
        c.trusted_proxy = vec!["127.0.0.1".parse().unwrap()];
        c.limits.create_per_minute = 2;
    })
    .await;
    let upstream = app.base.trim_start_matches("http://").to_owned();
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let nginx = start_nginx(
        &upstream,
        &made.cert.pem(),
        &made.signing_key.serialize_pem(),
    );
    let cert = made.cert.der().clone();
    let base = format!("https://127.0.0.1:{}", nginx.https);
    let one = client(&cert, "127.0.0.2");

    // HTTP goes to HTTPS; HTTPS speaks HTTP/2 to clients that ask.
    let res = awc::Client::builder()
        .disable_redirects()
        .finish()
        .get(format!("http://127.0.0.1:{}/r/abc", nginx.http))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 301);
    assert_eq!(
        res.headers().get("location").unwrap(),
        "https://127.0.0.1/r/abc"
    );
    let curl = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            "--http2",
            "--cacert",
        ])
        .arg(nginx.dir.join("cert.pem"))
        .arg(format!("{base}/"))
        .output()
        .expect("curl is required for this test (tests/run installs it)");
    assert_eq!(
        String::from_utf8_lossy(&curl.stdout),
        "2",
        "HTTP/2 over TLS"
    );

    // Pages come from nginx (web/ on disk), with the security headers.
    for (path, marker) in [
        ("/", "/js/landing.js"),
        ("/r/some-room-abc", "/js/app.js"),
        ("/r/some-room-abc/present", "/js/app.js"),
    ] {
        let mut res = one.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let headers = res.headers().clone();
        assert!(headers
            .get("server")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("nginx"));
        assert!(headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(headers.get("cache-control").unwrap(), "no-cache");
        let body = res.body().await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains(marker), "{path}");
    }
    let js = one.get(format!("{base}/js/live.js")).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(js
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("javascript"));
    let metrics = one.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 404, "metrics are not public");

    // The API through nginx: create, join; the limit is per forwarded IP.
    let room = |title: &str| json!({"title": title, "presenter_name": "Ada"});
    let (status, created) = json_of(
        one.post(format!("{base}/api/rooms"))
            .send_json(&room("One"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = json_of(
        one.post(format!("{base}/api/rooms"))
            .send_json(&room("Two"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, refused) = json_of(
        one.post(format!("{base}/api/rooms"))
            .send_json(&room("Three"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 429, "the third from 127.0.0.2: {refused}");
    let other = client(&cert, "127.0.0.3");
    let (status, _) = json_of(
        other
            .post(format!("{base}/api/rooms"))
            .send_json(&room("Four"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status, 201,
        "another client behind the same nginx is not limited"
    );

    let slug = created["slug"].as_str().unwrap().to_owned();
    let (status, joined) = json_of(
        one.post(format!("{base}/api/rooms/{slug}/join"))
            .send_json(&json!({"name": "Ada", "key": created["host_key"]}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{joined}");
    let token = joined["token"].as_str().unwrap().to_owned();

    // The live room's WebSocket through nginx: hello, welcome, chat back.
    let (_, mut ws) = one
        .ws(format!(
            "wss://127.0.0.1:{}/api/rooms/{slug}/ws",
            nginx.https
        ))
        .connect()
        .await
        .expect("WebSocket upgrade through nginx");
    ws.send(Message::Text(
        json!({"type": "hello", "token": token}).to_string().into(),
    ))
    .await
    .unwrap();
    ws.send(Message::Text(
        json!({"type": "chat.send", "body": "through nginx"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let mut seen = Vec::new();
    while !seen.iter().any(|t: &String| t == "chat.message") {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Frame::Text(t)))) => {
                let v: Value = serde_json::from_slice(&t).unwrap();
                seen.push(v["type"].as_str().unwrap_or_default().to_owned());
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("socket ended before the chat came back: {other:?}; saw {seen:?}"),
        }
    }
    assert_eq!(seen[0], "welcome");

    // WHIP and WHEP signalling through nginx.
    let send = offer(&[
        (MediaKind::Audio, Direction::SendOnly),
        (MediaKind::Video, Direction::SendOnly),
    ]);
    let mut res = one
        .post(format!("{base}/api/rooms/{slug}/whip?kind=camera"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .content_type("application/sdp")
        .send_body(send)
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(String::from_utf8_lossy(&res.body().await.unwrap()).starts_with("v=0"));
    let recv = offer(&[
        (MediaKind::Audio, Direction::RecvOnly),
        (MediaKind::Video, Direction::RecvOnly),
    ]);
    let res = one
        .post(format!("{base}/api/rooms/{slug}/whep"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .content_type("application/sdp")
        .send_body(recv)
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = one
        .delete(format!("{base}{location}"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
