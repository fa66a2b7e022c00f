//! `caveat cert`: a self-signed certificate and key for a node's release
//! listener or a hub's federation client (issue 17). Federation pins each
//! side's exact certificate (docs/federation.md), so no CA is needed: a
//! partner makes its own pair and hands the certificate (never the key) to
//! the other side. Made with rcgen, locally; nothing is downloaded.

use std::path::PathBuf;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to write the certificate (PEM); refused if it exists.
    #[arg(long)]
    cert: PathBuf,
    /// Where to write the private key (PEM, readable by its owner only); refused if it exists.
    #[arg(long)]
    key: PathBuf,
    /// A DNS name or IP address the certificate names (repeatable; default
    /// localhost and 127.0.0.1). Pinning ignores names; TLS clients still want one.
    #[arg(long = "name")]
    names: Vec<String>,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let names =
        if args.names.is_empty() { vec!["localhost".to_owned(), "127.0.0.1".to_owned()] } else { args.names.clone() };
    let key = rcgen::KeyPair::generate().context("making a key pair")?;
    let params = rcgen::CertificateParams::new(names).context("certificate names")?;
    let cert = params.self_signed(&key).context("signing the certificate")?;
    if args.cert.exists() {
        anyhow::bail!("{} exists: not overwritten", args.cert.display());
    }
    crate::audit_key::write_private(&args.key, &key.serialize_pem())?;
    std::fs::write(&args.cert, cert.pem()).with_context(|| format!("writing {}", args.cert.display()))?;
    eprintln!("wrote {} and {}", args.cert.display(), args.key.display());
    Ok(())
}
