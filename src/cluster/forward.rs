//! The home side of a forwarded WHIP/WHEP request: served by this node's
//! own HTTP listener, exactly as a request that came here (the guard, the
//! handlers, the media engine that runs the room's sessions).

use std::net::SocketAddr;
use std::time::Duration;

use super::wire::{Answer, HttpAnswer, HttpAsk};

/// The most a forwarded answer may carry (an SDP answer is a few KiB).
const MAX_BODY: u64 = 1 << 20;

pub(super) async fn serve(local: SocketAddr, ask: HttpAsk) -> Answer {
    match tokio::task::spawn_blocking(move || call(local, ask)).await {
        Ok(Ok(answer)) => Answer::Http(answer),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cluster: forwarded request failed here");
            Answer::NotHome
        }
        Err(_) => Answer::NotHome,
    }
}

fn call(local: SocketAddr, ask: HttpAsk) -> Result<HttpAnswer, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // The home's own answer, whatever its status, goes back as it is.
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut request = ureq::http::Request::builder()
        .method(ask.method.as_str())
        .uri(format!("http://{local}{}", ask.path));
    for (name, value) in &ask.headers {
        request = request.header(name, value);
    }
    let request = request
        .body(ask.body)
        .map_err(|e| ureq::Error::BadUri(e.to_string()))?;
    let mut response = agent.run(request)?;
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()?;
    Ok(HttpAnswer {
        status,
        headers,
        body,
    })
}
