//! Ed25519 keys and signed notes in the C2SP signed-note format.
//!
//! A signed note is a text ending in a newline, a blank line, then signature lines
//! `— <key name> <base64(key id || signature)>`. Key ids are
//! `SHA-256(name || 0x0A || 0x01 || public key)[:4]` (c2sp.org/signed-note, Ed25519).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;

use crate::Error;
use crate::hash::{Hash, shorten};

/// The signature type byte for Ed25519 (c2sp.org/signed-note).
const ALG_ED25519: u8 = 0x01;
/// The prefix of a signature line: U+2014 em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// At most this many signature lines are read (the reference implementation's limit).
pub const MAX_NOTE_SIGNATURES: usize = 100;
/// At most this many bytes are read as one note.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

pub(crate) fn check_key_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        "must not be empty"
    } else if name.contains('+') {
        "must not contain '+'"
    } else if name.chars().any(char::is_whitespace) {
        "must not contain spaces"
    } else if name.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(Error::KeyName { name: shorten(name), reason })
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    key_id_for(name, ALG_ED25519, public)
}

/// `SHA-256(name || 0x0A || alg || public key)[:4]`, the key id of c2sp.org/signed-note.
pub(crate) fn key_id_for(name: &str, alg: u8, public: &[u8; 32]) -> u32 {
    let mut buf = Vec::with_capacity(name.len() + 34);
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(alg);
    buf.extend_from_slice(public);
    let digest = Hash::sha256(&buf);
    let (id, _) = digest.as_bytes().split_first_chunk::<4>().unwrap_or((&[0; 4], &[]));
    u32::from_be_bytes(*id)
}

/// The hub's Ed25519 signing key, with the key name it signs under.
///
/// Made from 32 bytes the caller draws from a secure random source (this crate
/// draws no randomness). `Debug` shows only the name and key id.
pub struct SigningKey {
    name: String,
    key_id: u32,
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A key named `name` (e.g. `caveat.example/audit`) from a 32-byte random seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, Error> {
        check_key_name(name)?;
        let inner = ed25519_dalek::SigningKey::from_bytes(&seed);
        let key_id = key_id(name, inner.verifying_key().as_bytes());
        Ok(SigningKey { name: name.to_owned(), key_id, inner })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// A 32-byte secret for `label`, derived from this key's seed (HMAC-SHA256
    /// keyed by the seed): a deployment then has one secret to keep, and a
    /// restart derives the same value. Distinct labels give independent secrets.
    pub fn derive_secret(&self, label: &str) -> [u8; 32] {
        crate::completeness::hmac_sha256(self.inner.as_bytes(), &[label.as_bytes()])
    }

    /// The public half, to print and give to partners.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey { name: self.name.clone(), key_id: self.key_id, inner: self.inner.verifying_key() }
    }

    /// The private key in the text form Go's `sumdb/note` reads:
    /// `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`. Secret: store it like a password.
    pub fn to_private_key_string(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.inner.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }

    /// Signs `text` (which must end in a newline and satisfy the note rules) as a new note.
    pub fn sign_note(&self, text: &str) -> Result<SignedNote, Error> {
        check_text(text)?;
        let note = SignedNote { text: text.to_owned(), signatures: vec![self.signature_for(text)] };
        // The note must re-read as itself, or another verifier would see a different text.
        check_note_chars(&note.to_string())?;
        Ok(note)
    }

    /// Adds this key's signature to an existing note (e.g. a second key during rotation).
    pub fn cosign(&self, note: &mut SignedNote) {
        note.signatures.push(self.signature_for(&note.text));
    }

    /// An Ed25519 signature of `message` itself: a JWS signing input (issue 21's
    /// export bindings). A JWS signing input is base64url with one dot and can
    /// never be a signed note's text, which always ends in a newline, so one
    /// key signing both cannot be tricked into a checkpoint.
    pub fn sign_detached(&self, message: &[u8]) -> [u8; 64] {
        self.inner.sign(message).to_bytes()
    }

    /// The same key again (the audit writer owns one; the export labeller another).
    pub fn duplicate(&self) -> SigningKey {
        SigningKey { name: self.name.clone(), key_id: self.key_id, inner: self.inner.clone() }
    }

    fn signature_for(&self, text: &str) -> NoteSignature {
        let sig = self.inner.sign(text.as_bytes());
        NoteSignature { name: self.name.clone(), key_id: self.key_id, signature: sig.to_bytes().to_vec() }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl FromStr for SigningKey {
    type Err = Error;
    /// Reads `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason| Error::Key { value: "PRIVATE+KEY+...".to_owned(), reason };
        let rest = s.strip_prefix("PRIVATE+KEY+").ok_or_else(|| bad("does not start with PRIVATE+KEY+"))?;
        let (name, id, raw) = split_key(rest).ok_or_else(|| bad("not <name>+<key id>+<key>"))?;
        let raw = decode_typed_key(raw).ok_or_else(|| bad("key is not base64 of 0x01 and 32 bytes"))?;
        let key = SigningKey::from_seed(name, raw)?;
        if key.key_id != id {
            return Err(bad("key id does not match the key"));
        }
        Ok(key)
    }
}

/// `<name>+<8 hex digits>+<base64>` into its parts.
fn split_key(s: &str) -> Option<(&str, u32, &str)> {
    let (name, rest) = s.split_once('+')?;
    let (id, raw) = rest.split_once('+')?;
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    Some((name, u32::from_str_radix(id, 16).ok()?, raw))
}

fn decode_typed_key(b64: &str) -> Option<[u8; 32]> {
    let raw = STANDARD.decode(b64).ok()?;
    let (&alg, key) = raw.split_first()?;
    if alg != ALG_ED25519 {
        return None;
    }
    key.try_into().ok()
}

/// A public key that verifies the hub's notes, in the C2SP vkey text form
/// `<name>+<hex key id>+<base64(0x01 || public key)>`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    inner: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    /// The verifier of key `name` whose Ed25519 public key is `public` (as a
    /// Sigsum policy names a log: a raw key; the name is the log's origin).
    pub fn from_ed25519(name: &str, public: [u8; 32]) -> Result<Self, Error> {
        check_key_name(name)?;
        let inner = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| Error::Key { value: shorten(name), reason: "not an Ed25519 public key" })?;
        Ok(VerifierKey { name: name.to_owned(), key_id: key_id(name, &public), inner })
    }

    /// Whether `signature` is this key's Ed25519 signature of `message` (see
    /// [`SigningKey::sign_detached`]). Strict verification: no malleable signatures.
    pub fn verify_detached(&self, message: &[u8], signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature).is_ok_and(|s| self.inner.verify_strict(message, &s).is_ok())
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Checks that `note` carries a valid signature by this key and returns its text.
    ///
    /// Signatures by other keys are ignored (c2sp.org/signed-note); a signature that
    /// matches this key's name and id but does not verify rejects the note.
    pub fn verify<'n>(&self, note: &'n SignedNote) -> Result<&'n str, Error> {
        let mut found = false;
        for sig in note.signatures.iter().filter(|s| s.name == self.name && s.key_id == self.key_id) {
            let bytes: [u8; 64] = sig.signature.as_slice().try_into().map_err(|_| self.bad())?;
            let signature = ed25519_dalek::Signature::from_bytes(&bytes);
            // Strict: rejects small-order keys and non-canonical signatures (RFC 8032 §5.1.7).
            self.inner.verify_strict(note.text.as_bytes(), &signature).map_err(|_| self.bad())?;
            found = true;
        }
        if found { Ok(&note.text) } else { Err(Error::NoSignature { name: self.name.clone(), key_id: self.key_id }) }
    }

    fn bad(&self) -> Error {
        Error::BadSignature { name: self.name.clone(), key_id: self.key_id }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.inner.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason| Error::Key { value: shorten(s), reason };
        let (name, id, raw) = split_key(s).ok_or_else(|| bad("not <name>+<key id>+<key>"))?;
        check_key_name(name)?;
        let raw = decode_typed_key(raw).ok_or_else(|| bad("key is not base64 of 0x01 and 32 bytes"))?;
        let inner = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| bad("not an Ed25519 public key"))?;
        if key_id(name, &raw) != id {
            return Err(bad("key id does not match the key"));
        }
        Ok(VerifierKey { name: name.to_owned(), key_id: id, inner })
    }
}

/// One signature line of a note, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    pub(crate) fn new(name: String, key_id: u32, signature: Vec<u8>) -> Self {
        NoteSignature { name, key_id, signature }
    }

    /// The signature bytes after the key id (for a cosignature: timestamp and signature).
    pub fn bytes(&self) -> &[u8] {
        &self.signature
    }

    /// The signature line, `— <name> <base64(key id || signature)>` and a newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }

    /// The signing key's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The signing key's id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
}

/// A text with its signature lines (c2sp.org/signed-note). Parsing checks the
/// syntax only; [`VerifierKey::verify`] checks a signature. `Display` writes the
/// note back byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// The signed text, final newline included. Untrusted until verified.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends signature lines (e.g. a witness's cosignature), each
    /// `— <name> <base64>` and a newline, checked for syntax only; a line of a
    /// key already present replaces that key's line.
    pub fn push_signature_line(&mut self, lines: &str) -> Result<(), Error> {
        let parsed: SignedNote = format!("x\n\n{lines}").parse()?;
        for sig in parsed.signatures {
            self.signatures.retain(|s| s.name != sig.name || s.key_id != sig.key_id);
            if self.signatures.len() == MAX_NOTE_SIGNATURES {
                return Err(Error::Note { line: 1, reason: "more than 100 signatures" });
            }
            self.signatures.push(sig);
        }
        Ok(())
    }

    /// Keeps only the signatures `keep` accepts.
    pub fn retain_signatures(&mut self, keep: impl Fn(&NoteSignature) -> bool) {
        self.signatures.retain(keep);
    }
}

fn check_note_chars(s: &str) -> Result<(), Error> {
    if s.len() > MAX_NOTE_BYTES {
        return Err(Error::Note { line: 1, reason: "note is over 1 MiB" });
    }
    for (i, line) in s.split('\n').enumerate() {
        if line.chars().any(|c| c < ' ') {
            return Err(Error::Note { line: i + 1, reason: "control character other than newline" });
        }
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), Error> {
    check_note_chars(text)?;
    if !text.ends_with('\n') {
        return Err(Error::Note { line: text.split('\n').count(), reason: "text must end with a newline" });
    }
    Ok(())
}

impl FromStr for SignedNote {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        check_note_chars(s)?;
        if !s.ends_with('\n') {
            return Err(Error::Note { line: s.split('\n').count(), reason: "note must end with a newline" });
        }
        // The text ends at the last blank line; what follows are signatures.
        let split = s.rfind("\n\n").ok_or(Error::Note { line: 1, reason: "no blank line before the signatures" })?;
        let (text, rest) = s.split_at(split + 1);
        let sig_block = rest.strip_prefix('\n').unwrap_or(rest);
        let first_sig_line = text.split('\n').count() + 1;
        let mut signatures = Vec::new();
        for (i, line) in sig_block.split_terminator('\n').enumerate() {
            let line_no = first_sig_line + i;
            if signatures.len() == MAX_NOTE_SIGNATURES {
                return Err(Error::Note { line: line_no, reason: "more than 100 signatures" });
            }
            let bad = |reason| Error::Note { line: line_no, reason };
            let body = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| bad("signature line must start with an em dash and a space"))?;
            let (name, b64) = body.split_once(' ').ok_or_else(|| bad("signature line is not <name> <signature>"))?;
            check_key_name(name).map_err(|_| bad("bad key name"))?;
            let raw = STANDARD.decode(b64).map_err(|_| bad("signature is not canonical base64"))?;
            let (id, sig) = raw.split_first_chunk::<4>().ok_or_else(|| bad("signature shorter than a key id"))?;
            if sig.is_empty() {
                return Err(bad("empty signature"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes(*id),
                signature: sig.to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(Error::Note { line: first_sig_line, reason: "no signature lines" });
        }
        Ok(SignedNote { text: text.to_owned(), signatures })
    }
}

impl fmt::Display for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.to_line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of Go's golang.org/x/mod/sumdb/note documentation.
    const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIGNED: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn matches_the_reference_example_byte_for_byte() {
        let key: SigningKey = SKEY.parse().unwrap();
        assert_eq!(key.to_private_key_string(), SKEY);
        assert_eq!(key.verifier_key().to_string(), VKEY);
        let note = key.sign_note(TEXT).unwrap();
        assert_eq!(note.to_string(), SIGNED);
        let vkey: VerifierKey = VKEY.parse().unwrap();
        let parsed: SignedNote = SIGNED.parse().unwrap();
        assert_eq!(vkey.verify(&parsed).unwrap(), TEXT);
    }

    #[test]
    fn unknown_keys_are_ignored_and_bad_signatures_reject() {
        let peter: SigningKey = SKEY.parse().unwrap();
        let other = SigningKey::from_seed("other.example/log", [9; 32]).unwrap();
        let mut note = peter.sign_note(TEXT).unwrap();
        other.cosign(&mut note);
        peter.verifier_key().verify(&note).unwrap();
        other.verifier_key().verify(&note).unwrap();
        let impostor = SigningKey::from_seed("PeterNeumann", [1; 32]).unwrap();
        let only_impostor = impostor.sign_note(TEXT).unwrap();
        assert!(matches!(peter.verifier_key().verify(&only_impostor), Err(Error::NoSignature { .. })));
        let tampered: SignedNote = SIGNED.replace("problem,", "problem;").parse().unwrap();
        assert!(matches!(peter.verifier_key().verify(&tampered), Err(Error::BadSignature { .. })));
    }

    #[test]
    fn malformed_notes_and_keys() {
        for bad in [
            "",
            "text\n",
            "text\n\n",
            "text\n\n\u{2014} k\n",
            "text\n\n- k AAAAAAA=\n",
            "text\n\n\u{2014} k AAAA\n",
            "a\tb\n\n\u{2014} k AAAAAAA=\n",
            "text\n\n\u{2014} k AAAAAAA=",
        ] {
            assert!(bad.parse::<SignedNote>().is_err(), "{bad:?}");
        }
        for bad in [
            "",
            "a+b",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(bad.parse::<VerifierKey>().is_err(), "{bad:?}");
        }
        assert!(SigningKey::from_seed("a+b", [0; 32]).is_err());
        assert!(SigningKey::from_seed("", [0; 32]).is_err());
        assert!(SigningKey::from_seed("x", [0; 32]).unwrap().sign_note("no newline").is_err());
    }
}
