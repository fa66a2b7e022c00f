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
        let text = format!("caveat-audit-key v1\n{ORIGIN}\n{}\n", hex::encode(seed));
        write_private(&path, &text)?;
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let (Some("caveat-audit-key v1"), Some(name), Some(seed)) = (lines.next(), lines.next(), lines.next()) else {
        bail!("{}: not a caveat audit key file", path.display());
    };
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(seed.trim(), &mut bytes)
        .with_context(|| format!("{}: bad seed line: expected 64 hex digits", path.display()))?;
    SigningKey::from_seed(name, bytes).with_context(|| format!("{}: bad key", path.display()))
}

/// Writes a file only its owner can read.
pub(crate) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
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
