//! The repository's nginx/podium.conf, run by Debian's nginx in front of
//! the real server: HTTPS and HTTP/2, the redirect from HTTP, pages from
//! web/ served by nginx, the API, the live room's WebSocket and WHIP/WHEP
//! signalling proxied, and the client address Podium's limits see is the
//! one nginx forwards. The certificate is made by the test. Then
//! nginx/cluster.conf in front of three nodes: requests and sockets spread
//! over them, and a chat reaches every node's socket.

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use crate::kit;
use crate::kit::{sdp, Api};

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
/// upstream in place of the deployment's: one node, or several through
/// nginx/cluster.conf's upstream.
fn start_nginx(upstreams: &[String], cert_pem: &str, key_pem: &str) -> Nginx {
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
    let site = std::fs::read_to_string(root.join("nginx/podium.conf")).unwrap();
    let site = match upstreams {
        [one] => site.replace("server 127.0.0.1:8080;", &format!("server {one};")),
        nodes => {
            let mut cluster = std::fs::read_to_string(root.join("nginx/cluster.conf")).unwrap();
            let placeholders = ["10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080"];
            assert_eq!(
                nodes.len(),
                placeholders.len(),
                "cluster.conf names three nodes"
            );
            for (placeholder, node) in placeholders.iter().zip(nodes) {
                cluster = cluster.replace(placeholder, node);
            }
            let start = site.find("upstream podium {").unwrap();
            let end = start + site[start..].find('}').unwrap() + 1;
            let upstream = cluster.find("upstream podium {").unwrap();
            format!("{}{}{}", &site[..start], &cluster[upstream..], &site[end..])
        }
    };
    let site = site
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
        .replace("/srv/podium/web", root.join("web").to_str().unwrap());
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
        &[upstream],
        &made.cert.pem(),
        &made.signing_key.serialize_pem(),
    );
    let cert = made.cert.der().clone();
    let base = format!("https://127.0.0.1:{}", nginx.https);
    let tls = client(&cert, "127.0.0.2");
    let one = Api::with_client(base.clone(), tls.clone());

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
        let r = one.get(path, None).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("server").unwrap().starts_with("nginx"));
        assert!(r
            .header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'"));
        assert_eq!(r.header("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(r.header("cache-control").unwrap(), "no-cache");
        assert!(r.text.contains(marker), "{path}");
    }
    let js = one.get("/js/live.js", None).await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").unwrap().contains("javascript"));
    let metrics = one.get("/metrics", None).await;
    assert_eq!(metrics.status, 404, "metrics are not public");

    // The API through nginx: create, join; the limit is per forwarded IP.
    let room = |title: &str| json!({"title": title, "presenter_name": "Ada"});
    let created = one.create_room(room("One")).await;
    let r = one.post("/api/rooms", None, &room("Two")).await;
    assert_eq!(r.status, 201);
    let r = one.post("/api/rooms", None, &room("Three")).await;
    assert_eq!(r.status, 429, "the third from 127.0.0.2: {}", r.body);
    let other = Api::with_client(base.clone(), client(&cert, "127.0.0.3"));
    let r = other.post("/api/rooms", None, &room("Four")).await;
    assert_eq!(
        r.status, 201,
        "another client behind the same nginx is not limited"
    );

    let slug = created.slug.clone();
    let presenter = created.presenter().await;

    // The live room's WebSocket through nginx: hello, welcome, chat back.
    let (_, mut ws) = tls
        .ws(format!(
            "wss://127.0.0.1:{}/api/rooms/{slug}/ws",
            nginx.https
        ))
        .connect()
        .await
        .expect("WebSocket upgrade through nginx");
    ws.send(Message::Text(
        json!({"type": "hello", "token": presenter.token})
            .to_string()
            .into(),
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
    let (status, location, answer) = presenter
        .post_sdp("/whip?kind=camera", sdp::offer(&sdp::AV_SEND))
        .await;
    assert_eq!(status, 201);
    let location = location.unwrap();
    assert!(answer.starts_with("v=0"));
    let (status, _, _) = presenter.post_sdp("/whep", sdp::offer(&sdp::AV_RECV)).await;
    assert_eq!(status, 201);
    let r = one.delete(&location, Some(&presenter.token)).await;
    assert_eq!(r.status, 200);
}

#[actix_rt::test]
async fn three_nodes_behind_the_repositorys_cluster_config() {
    let nodes = kit::nodes::Nodes::start(3);
    let upstreams: Vec<String> = nodes.servers.iter().map(|s| s.addr.clone()).collect();
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let nginx = start_nginx(
        &upstreams,
        &made.cert.pem(),
        &made.signing_key.serialize_pem(),
    );
    let cert = made.cert.der().clone();
    let base = format!("https://127.0.0.1:{}", nginx.https);
    let tls = client(&cert, "127.0.0.2");
    let api = Api::with_client(base.clone(), tls.clone());

    // Requests spread over every node.
    let mut answered = std::collections::BTreeSet::new();
    for _ in 0..9 {
        let r = api.get("/api/health", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        answered.insert(r.body["node"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        answered.into_iter().collect::<Vec<_>>(),
        ["node-a", "node-b", "node-c"],
        "round robin over the three"
    );

    // Three sockets through nginx land on the nodes in turn, and a chat
    // message from one reaches all.
    let room = api.room().await;
    let mut sockets = Vec::new();
    for i in 0..3 {
        let who = room.attendee(&format!("P{i}")).await;
        let (_, mut ws) = tls
            .ws(format!(
                "wss://127.0.0.1:{}/api/rooms/{}/ws",
                nginx.https, room.slug
            ))
            .connect()
            .await
            .expect("WebSocket upgrade through nginx");
        ws.send(Message::Text(
            json!({"type": "hello", "token": who.token})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        // Its welcome first: the chat below comes after it.
        loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Frame::Text(t)))) => {
                    let v: Value = serde_json::from_slice(&t).unwrap();
                    if v["type"] == "welcome" {
                        break;
                    }
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("socket {i} got no welcome: {other:?}"),
            }
        }
        sockets.push(ws);
    }
    let (_, mut first) = (0, sockets.remove(0));
    first
        .send(Message::Text(
            json!({"type": "chat.send", "body": "to every node"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    sockets.push(first);
    for (i, ws) in sockets.iter_mut().enumerate() {
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Frame::Text(t)))) => {
                    let v: Value = serde_json::from_slice(&t).unwrap();
                    seen.push(v.to_string().chars().take(160).collect::<String>());
                    if v["type"] == "chat.message" {
                        assert_eq!(v["message"]["body"], "to every node");
                        break;
                    }
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("socket {i} ended before the chat: {other:?} after {seen:#?}"),
            }
        }
    }
    // One node runs the room; each of the other two holds one socket for it.
    let mut held = Vec::new();
    for server in &nodes.servers {
        let r = Api::new(server.base()).get("/metrics", None).await;
        let Value::String(text) = r.body else {
            panic!("metrics text")
        };
        let sample = |name: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or(0.0)
        };
        held.push((
            sample("podium_cluster_home_rooms"),
            sample("podium_cluster_remote_members"),
        ));
    }
    held.sort_by(|a, b| b.partial_cmp(a).unwrap());
    assert_eq!(
        held,
        [(1.0, 0.0), (0.0, 1.0), (0.0, 1.0)],
        "(home rooms, members for other homes) per node"
    );
}
