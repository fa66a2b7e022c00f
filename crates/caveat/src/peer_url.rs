//! The `scheme://host:port` addresses of peers in the configuration (a
//! node, a witness, the hub): one reading of them, so every peer refuses the
//! same mistakes (a path, no port) with the same words.

use anyhow::{Context, bail};

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
