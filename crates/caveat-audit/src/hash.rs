//! SHA-256 hashes and the RFC 9162 leaf and node hashing.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::Error;

/// A SHA-256 value: a leaf hash, a node hash, a tree root or a digest of ids.
///
/// Its text form (`Display`, `FromStr`, serde) is standard padded base64, the
/// form the checkpoint's root line uses (C2SP tlog-checkpoint).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash([u8; 32]);

impl Hash {
    /// From its 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Hash(bytes)
    }

    /// Its 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, for logs and test vectors.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| Error::BadHash { value: shorten(s) })?;
        Ok(Hash(out))
    }

    /// SHA-256 of `data`, without any RFC 9162 prefix.
    pub fn sha256(data: &[u8]) -> Self {
        Hash(Sha256::digest(data).into())
    }
}

/// The hash of a leaf: `SHA-256(0x00 || data)` (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// The root of the empty tree: `SHA-256()` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Hash::sha256(&[])
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&STANDARD.encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = Error;
    /// Strict padded base64 of exactly 32 bytes, so a hash has one text form.
    fn from_str(s: &str) -> Result<Self, Error> {
        let mut out = [0u8; 32];
        // 32 bytes are 44 base64 characters; anything else is refused before decoding.
        if s.len() != 44 {
            return Err(Error::BadHash { value: shorten(s) });
        }
        match STANDARD.decode_slice(s, &mut out) {
            Ok(32) => Ok(Hash(out)),
            _ => Err(Error::BadHash { value: shorten(s) }),
        }
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// At most 64 characters of an offending value, for error messages.
pub(crate) fn shorten(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_prefixes() {
        assert_eq!(empty_root().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        // RFC 6962 test vector: the leaf hash of the empty leaf.
        assert_eq!(leaf_hash(b"").to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    }

    #[test]
    fn text_forms_round_trip() {
        let h = leaf_hash(b"x");
        assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert!("AAAA".parse::<Hash>().is_err());
        // Non-zero trailing bits are a second spelling of the same bytes: refused.
        let mut s = h.to_string();
        s.replace_range(42..43, "B");
        assert!(s.parse::<Hash>().is_err() || s.parse::<Hash>().unwrap().to_string() == s);
    }
}
