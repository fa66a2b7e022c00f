//! The hub's audit signing key: made at `caveat init`, kept beside the database.

use std::path::Path;

use anyhow::{Context, bail};
use caveat_audit::SigningKey;

/// The key's name in signed checkpoints (the log's origin line).
pub(crate) const ORIGIN: &str = "caveat.hub/audit";

/// Reads the key, or makes one when `create` and none exists.
pub(crate) fn load(db: &crate::db::Db, create: bool) -> anyhow::Result<SigningKey> {
    let path = db.key_path();
    if !path.exists() {
        if !create {
            bail!("no audit key at {}; run `caveat init`", path.display());
        }
        let seed: [u8; 32] = rand::random();
        let text = format!("caveat-audit-key v1\n{ORIGIN}\n{}\n", hex_encode(&seed));
        write_private(&path, &text)?;
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let (Some("caveat-audit-key v1"), Some(name), Some(seed)) = (lines.next(), lines.next(), lines.next()) else {
        bail!("{}: not a caveat audit key file", path.display());
    };
    let seed = hex_decode(seed).with_context(|| format!("{}: bad seed line", path.display()))?;
    SigningKey::from_seed(name, seed).with_context(|| format!("{}: bad key", path.display()))
}

fn hex_encode(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::with_capacity(b.len() * 2), |mut s, x| {
        let _infallible = write!(s, "{x:02x}");
        s
    })
}

fn hex_decode(s: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        bail!("expected 64 hex digits");
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let pair = s.get(2 * i..2 * i + 2).context("short")?;
        *o = u8::from_str_radix(pair, 16).context("not hex")?;
    }
    Ok(out)
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    f.sync_all().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
