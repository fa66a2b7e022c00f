//! Mutual TLS for partner systems: with a client CA configured, a client
//! without a certificate from it cannot connect at all; one with it reaches the API.

use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Hub;

pub(crate) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub(crate) pem: String,
    pub(crate) der: CertificateDer<'static>,
}

pub(crate) fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca { pem: cert.pem(), der: cert.der().clone(), issuer: Issuer::new(params, key) }
}

/// A leaf certificate signed by `ca`: (cert PEM, key PEM, cert DER, key DER).
pub(crate) fn leaf(ca: &Ca, client: bool) -> (String, String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    params.extended_key_usages =
        vec![if client { ExtendedKeyUsagePurpose::ClientAuth } else { ExtendedKeyUsagePurpose::ServerAuth }];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let key_der = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().clone(), key_der)
}

/// A running `caveat serve`, killed when dropped.
pub(crate) struct Server(pub(crate) Child);
impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// GET /healthz over TLS, optionally presenting a client certificate.
async fn healthz(
    port: u16,
    root: &CertificateDer<'static>,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Result<String, String> {
    let _already = rustls::crypto::ring::default_provider().install_default().is_err();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
    let mut tls =
        connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.map_err(|e| e.to_string())?;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    tls.read_to_string(&mut out).await.map_err(|e| e.to_string())?;
    Ok(out)
}

#[test]
fn mutual_tls_admits_only_clients_with_a_partner_certificate() {
    let hub = Hub::new();
    let (hub_ca, other_ca) = (ca("Caveat hub CA"), ca("Somebody else"));
    let (server_pem, server_key, _, _) = leaf(&hub_ca, false);
    let (_, _, partner_cert, partner_key) = leaf(&hub_ca, true);
    let (_, _, stranger_cert, stranger_key) = leaf(&other_ca, true);
    let cert = hub.write("server.pem", server_pem);
    let key = hub.write("server.key", server_key);
    let client_ca = hub.write("clients.pem", &hub_ca.pem);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let child = hub
        .command(&[
            "serve",
            "--listen",
            &listen,
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--client-ca",
            client_ca.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the hub did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ok = rt.block_on(healthz(port, &hub_ca.der, Some((partner_cert, partner_key)))).unwrap();
    assert!(ok.starts_with("HTTP/1.1 200") && ok.ends_with("ok"), "{ok}");
    assert!(rt.block_on(healthz(port, &hub_ca.der, None)).is_err(), "a client without a certificate got in");
    assert!(
        rt.block_on(healthz(port, &hub_ca.der, Some((stranger_cert, stranger_key)))).is_err(),
        "a foreign certificate got in"
    );
}
