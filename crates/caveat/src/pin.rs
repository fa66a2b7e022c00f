//! Certificate pinning for federation (issue 17): the hub and a node each
//! accept exactly the other's certificate, named in their configuration.
//!
//! A pin is stricter than a CA: no other certificate the CA ever issued, and
//! no name check that a mis-issued certificate could pass, gets a connection.
//! The handshake signature is still verified, so only the holder of the
//! pinned certificate's private key gets in. Validity dates are not checked:
//! an operator replaces a pin in the configuration to rotate it (or to end a
//! partner's access at once), which is the point of pinning.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// The pinned certificates (DER) and the algorithms handshakes are checked with.
#[derive(Debug)]
pub(crate) struct Pinned {
    certs: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    /// The certificates of a PEM file (at least one).
    pub(crate) fn from_file(path: &Path) -> anyhow::Result<Pinned> {
        let certs = certs(path)?;
        Ok(Pinned { certs, algorithms: provider().signature_verification_algorithms })
    }

    fn check(&self, presented: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if self.certs.iter().any(|c| c.as_ref() == presented.as_ref()) {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
        }
    }
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The certificates of a PEM file.
pub(crate) fn certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: not PEM certificates", path.display()))?;
    if certs.is_empty() {
        bail!("{}: no certificate in it", path.display());
    }
    Ok(certs)
}

/// A PEM private key.
pub(crate) fn key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).with_context(|| format!("{}: not a PEM private key", path.display()))
}

impl ClientCertVerifier for Pinned {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity).map(|()| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The pin replaces the name check: only this certificate is the node.
        self.check(end_entity).map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The node's server configuration: its certificate, and only the pinned
/// hub certificate as a client.
pub(crate) fn node_server(cert: &Path, key_file: &Path, hub: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let _already = provider().install_default().is_err();
    let pinned = Arc::new(Pinned::from_file(hub)?);
    let mut config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(pinned)
        .with_single_cert(certs(cert)?, key(key_file)?)
        .context("the node certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The hub's client configuration towards one node: the hub's client
/// certificate, and only the pinned node certificate as a server.
pub(crate) fn hub_client(
    client_cert: &[CertificateDer<'static>],
    client_key: &PrivateKeyDer<'static>,
    node: &Path,
) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let _already = provider().install_default().is_err();
    let pinned = Arc::new(Pinned::from_file(node)?);
    let mut config = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(pinned)
        .with_client_auth_cert(client_cert.to_vec(), client_key.clone_key())
        .context("the hub's client certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
