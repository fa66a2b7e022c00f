//! Checkpoints: a log's origin, size and root as a signed note (c2sp.org/tlog-checkpoint).

use std::fmt;
use std::str::FromStr;

use crate::Error;
use crate::hash::{Hash, shorten};
use crate::log::TreeHead;
use crate::note::{SignedNote, SigningKey, VerifierKey};

/// The note text of a checkpoint: origin line, tree size, base64 root, optional
/// extension lines. Parsing is strict, so a checkpoint has exactly one text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    head: TreeHead,
    extensions: Vec<String>,
}

fn check_line(line_no: usize, line: &str, what: &'static str) -> Result<(), Error> {
    if line.is_empty() {
        return Err(Error::Checkpoint { line: line_no, reason: what, value: String::new() });
    }
    if line.chars().any(|c| c < ' ') {
        return Err(Error::Checkpoint { line: line_no, reason: "control character", value: shorten(line) });
    }
    Ok(())
}

impl Checkpoint {
    /// A checkpoint of `head` for the log named `origin` (non-empty, one line).
    pub fn new(origin: &str, head: TreeHead) -> Result<Self, Error> {
        check_line(1, origin, "origin must not be empty")?;
        Ok(Checkpoint { origin: origin.to_owned(), head, extensions: Vec::new() })
    }

    /// The log's identity, e.g. `caveat.example/audit`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.head.size
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.head.root
    }

    /// Size and root.
    pub fn tree_head(&self) -> TreeHead {
        self.head
    }

    /// Extension lines (opaque; Caveat writes none).
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(f, "{}", self.head.size)?;
        writeln!(f, "{}", self.head.root)?;
        for e in &self.extensions {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl FromStr for Checkpoint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let body = s.strip_suffix('\n').ok_or(Error::Checkpoint {
            line: s.split('\n').count(),
            reason: "must end with a newline",
            value: String::new(),
        })?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        check_line(1, origin, "origin must not be empty")?;
        let size_line = lines.next().unwrap_or_default();
        // ASCII decimal, no sign, no leading zero unless the tree is empty.
        let canonical = !size_line.is_empty()
            && size_line.bytes().all(|b| b.is_ascii_digit())
            && (size_line == "0" || !size_line.starts_with('0'));
        let size = size_line.parse::<u64>().ok().filter(|_| canonical).ok_or_else(|| Error::Checkpoint {
            line: 2,
            reason: "tree size is not a decimal number",
            value: shorten(size_line),
        })?;
        let root_line = lines.next().unwrap_or_default();
        let root = root_line.parse::<Hash>().map_err(|_| Error::Checkpoint {
            line: 3,
            reason: "root is not base64 of 32 bytes",
            value: shorten(root_line),
        })?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            check_line(i + 4, line, "extension lines must not be empty")?;
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint { origin: origin.to_owned(), head: TreeHead { size, root }, extensions })
    }
}

/// A checkpoint whose signature by the hub's key has been made or checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: SignedNote,
}

impl SignedCheckpoint {
    /// Signs `checkpoint` with `key`.
    pub fn sign(checkpoint: Checkpoint, key: &SigningKey) -> Result<Self, Error> {
        let note = key.sign_note(&checkpoint.to_string())?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Reads a signed checkpoint note and checks it is signed by `key`.
    pub fn open(note_text: &str, key: &VerifierKey) -> Result<Self, Error> {
        let note: SignedNote = note_text.parse()?;
        let checkpoint = key.verify(&note)?.parse()?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note.
    pub fn note(&self) -> &SignedNote {
        &self.note
    }
}

impl fmt::Display for SignedCheckpoint {
    /// The full note text, as saved by partners and fed back to the verifier.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.note, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn text_form_round_trips_and_is_strict() {
        let cp = Checkpoint::new("caveat.example/audit", TreeHead { size: 20_852_163, root: leaf_hash(b"x") }).unwrap();
        let text = cp.to_string();
        assert_eq!(text.parse::<Checkpoint>().unwrap(), cp);
        // The spec's example body parses.
        let ex = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(ex.parse::<Checkpoint>().unwrap().to_string(), ex);
        for bad in [
            "",
            "o\n1\n",
            "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n+1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        ] {
            assert!(bad.parse::<Checkpoint>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signed_by_the_right_key_only() {
        let key = SigningKey::from_seed("caveat.example/audit", [3; 32]).unwrap();
        let other = SigningKey::from_seed("caveat.example/audit", [4; 32]).unwrap();
        let cp = Checkpoint::new(key.name(), TreeHead { size: 5, root: leaf_hash(b"r") }).unwrap();
        let signed = SignedCheckpoint::sign(cp.clone(), &key).unwrap();
        let text = signed.to_string();
        assert_eq!(SignedCheckpoint::open(&text, &key.verifier_key()).unwrap().checkpoint(), &cp);
        assert!(matches!(SignedCheckpoint::open(&text, &other.verifier_key()), Err(Error::NoSignature { .. })));
    }
}
