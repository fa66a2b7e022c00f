//! TLS for `caveat serve`, and mutual TLS for partner systems: with a client
//! CA configured, only clients presenting a certificate issued by it can even
//! open a connection; API tokens still say which user and partner is asking.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// Where the server's certificate, key and (for mutual TLS) client CA are.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsFiles {
    /// PEM certificate chain of the server.
    pub(crate) cert: Option<PathBuf>,
    /// PEM private key of the server.
    pub(crate) key: Option<PathBuf>,
    /// PEM CA certificates whose client certificates are accepted (mutual TLS).
    pub(crate) client_ca: Option<PathBuf>,
}

fn certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: not PEM certificates", path.display()))?;
    if certs.is_empty() {
        bail!("{}: no certificate in it", path.display());
    }
    Ok(certs)
}

/// The rustls configuration, or `None` when TLS is not configured.
pub(crate) fn server_config(files: &TlsFiles) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    let (Some(cert), Some(key)) = (&files.cert, &files.key) else {
        if files.cert.is_some() || files.key.is_some() || files.client_ca.is_some() {
            bail!("TLS needs both a certificate and a key (--tls-cert, --tls-key)");
        }
        return Ok(None);
    };
    // One process-wide crypto provider; a second install is harmless.
    let _already = rustls::crypto::ring::default_provider().install_default().is_err();
    let chain = certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("{}: not a PEM private key", key.display()))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca)? {
                roots.add(c).with_context(|| format!("{}: unusable CA certificate", ca.display()))?;
            }
            let verifier =
                WebPkiClientVerifier::builder(Arc::new(roots)).build().context("client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).context("the server certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}
