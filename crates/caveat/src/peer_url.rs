//! The `scheme://host:port` addresses of peers in the configuration (a
//! node, a witness, the hub): one reading of them, so every peer refuses the
//! same mistakes (a path, no port) with the same words; and one plain-HTTP
//! request to such a peer, with its answer's size bounded.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper_util::rt::TokioIo;

/// `url`'s `host:port`, and its host without IPv6 brackets, if it is
/// `scheme://host:port` with an optional trailing slash and nothing else.
pub(crate) fn authority<'a>(url: &'a str, scheme: &str) -> anyhow::Result<(&'a str, &'a str)> {
    let rest = url.strip_prefix(scheme).and_then(|r| r.strip_prefix("://"));
    let rest = rest.with_context(|| format!("url must start with {scheme}://"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains('/') {
        bail!("url must be {scheme}://host:port (no path)");
    }
    let (host, port) = authority.rsplit_once(':').context("url must name a port")?;
    port.parse::<u16>().context("url: bad port")?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    Ok((authority, host))
}

/// Why [`exchange`] got no answer.
#[derive(Debug)]
pub(crate) enum NoAnswer {
    /// Not reached, or the connection failed.
    Unreachable(String),
    /// The answer was larger than the limit.
    TooLarge,
}

/// Sends `request` to `authority` over one HTTP/1.1 connection of its own and
/// reads the answer's status and at most `limit` bytes of its body.
pub(crate) async fn exchange(
    authority: &str,
    request: hyper::Request<Full<Bytes>>,
    limit: usize,
) -> Result<(u16, Bytes), NoAnswer> {
    let unreachable = |e: &dyn std::fmt::Display| NoAnswer::Unreachable(e.to_string());
    let tcp = tokio::net::TcpStream::connect(authority).await.map_err(|e| unreachable(&e))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(|e| unreachable(&e))?;
    let driver = tokio::spawn(conn);
    let result = async {
        let response = sender.send_request(request).await.map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        match Limited::new(response.into_body(), limit).collect().await {
            Ok(b) => Ok((status, b.to_bytes())),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(NoAnswer::TooLarge),
            Err(e) => Err(unreachable(&e)),
        }
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::authority;

    #[test]
    fn only_scheme_host_and_port_are_taken() {
        assert_eq!(authority("http://127.0.0.1:8080/", "http").unwrap(), ("127.0.0.1:8080", "127.0.0.1"));
        assert_eq!(authority("https://[::1]:8443", "https").unwrap(), ("[::1]:8443", "::1"));
        for bad in
            ["https://h:1", "http://", "http://h:1/v1", "http://h", "http://h:port", "http://h:70000", "httpx://h:1"]
        {
            assert!(authority(bad, "http").is_err(), "{bad}");
        }
    }
}
