//! Witness policies in the Sigsum policy format and quorum verification of
//! cosigned checkpoints; comparing two checkpoints of one log for a split view.
//!
//! The format (sigsum-go `doc/policy.md`): `log <hex key> [url]`, `witness <name>
//! <hex key> [url]`, `group <name> <k|all|any> <member>...` and one `quorum
//! <name|none>`; `#` starts a comment. A log's signature is looked for under the
//! checkpoint's origin (the log key's name, c2sp.org/tlog-checkpoint); a witness's
//! cosignature under its name in the policy (c2sp.org/tlog-cosignature).

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::Error;
use crate::bundle::{AuditBundle, VerifiedBundle, verify_bundle};
use crate::checkpoint::Checkpoint;
use crate::hash::shorten;
use crate::note::{SignedNote, VerifierKey};
use crate::proof::ConsistencyProof;
use crate::witness::CosignerVerifier;

/// The most lines a policy may have.
const MAX_POLICY_LINES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Witness(CosignerVerifier),
    Group { k: usize, members: Vec<String> },
}

/// A trust policy: the log keys, the witnesses, groups of k of n, and the quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessPolicy {
    logs: Vec<[u8; 32]>,
    nodes: BTreeMap<String, Node>,
    quorum: Option<String>,
}

fn hex_key(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

impl FromStr for WitnessPolicy {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        let mut logs = Vec::new();
        let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
        let mut quorum = None;
        let mut quorum_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            if line_no > MAX_POLICY_LINES {
                return Err(Error::TooLarge { what: "policy lines", len: line_no, limit: MAX_POLICY_LINES });
            }
            let bad = |reason: String| Error::Policy { line: line_no, reason };
            let line = raw.split('#').next().unwrap_or_default();
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                ["log", key, rest @ ..] if rest.len() <= 1 => {
                    logs.push(
                        hex_key(key).ok_or_else(|| bad(format!("log key {:?} is not 64 hex digits", shorten(key))))?,
                    );
                }
                ["witness", name, key, rest @ ..] if rest.len() <= 1 => {
                    if *name == "none" || nodes.contains_key(*name) {
                        return Err(bad(format!("name {name:?} is reserved or already defined")));
                    }
                    let raw = hex_key(key)
                        .ok_or_else(|| bad(format!("witness key {:?} is not 64 hex digits", shorten(key))))?;
                    let v = CosignerVerifier::from_ed25519(name, raw).map_err(|e| bad(e.to_string()))?;
                    nodes.insert((*name).to_owned(), Node::Witness(v));
                }
                ["group", name, threshold, members @ ..] if !members.is_empty() => {
                    if *name == "none" || nodes.contains_key(*name) {
                        return Err(bad(format!("name {name:?} is reserved or already defined")));
                    }
                    for m in members {
                        if !nodes.contains_key(*m) {
                            return Err(bad(format!("group member {m:?} is not a witness or group defined above")));
                        }
                        if members.iter().filter(|x| *x == m).count() > 1 {
                            return Err(bad(format!("group member {m:?} is listed twice")));
                        }
                    }
                    let n = members.len();
                    let k = match *threshold {
                        "all" => n,
                        "any" => 1,
                        t => t
                            .parse::<usize>()
                            .ok()
                            .filter(|k| (1..=n).contains(k))
                            .ok_or_else(|| bad(format!("threshold {t:?} is not all, any or 1 to {n}")))?,
                    };
                    nodes.insert(
                        (*name).to_owned(),
                        Node::Group { k, members: members.iter().map(|m| (*m).to_owned()).collect() },
                    );
                }
                ["quorum", name] => {
                    if quorum_seen {
                        return Err(bad("a second quorum line".into()));
                    }
                    quorum_seen = true;
                    if *name != "none" {
                        if !nodes.contains_key(*name) {
                            return Err(bad(format!("quorum {name:?} is not a witness or group defined above")));
                        }
                        quorum = Some((*name).to_owned());
                    }
                }
                [keyword, ..] => return Err(bad(format!("cannot read a {:?} line here", shorten(keyword)))),
            }
        }
        if logs.is_empty() {
            return Err(Error::Policy { line: 0, reason: "no log line".into() });
        }
        if !quorum_seen {
            return Err(Error::Policy { line: 0, reason: "no quorum line".into() });
        }
        Ok(WitnessPolicy { logs, nodes, quorum })
    }
}

/// A checkpoint the log signed and a quorum of witnesses cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The log key that signed it (named by the origin).
    pub log_key: VerifierKey,
    /// The policy's witnesses with a valid cosignature, and its timestamp.
    pub cosigners: Vec<(String, u64)>,
    /// The policy's witnesses with a cosignature line that does not verify (not counted).
    pub invalid: Vec<String>,
}

impl WitnessPolicy {
    fn satisfied(&self, name: &str, signed: &[&str]) -> bool {
        match self.nodes.get(name) {
            Some(Node::Witness(_)) => signed.contains(&name),
            Some(Node::Group { k, members }) => members.iter().filter(|m| self.satisfied(m, signed)).count() >= *k,
            None => false,
        }
    }

    /// Checks a signed checkpoint note: a log key of the policy signed it, and its
    /// valid cosignatures satisfy the quorum. Fails naming who cosigned and what
    /// the quorum needs.
    pub fn verify(&self, note_text: &str) -> Result<QuorumCheckpoint, Error> {
        let note: SignedNote = note_text.parse()?;
        let checkpoint: Checkpoint = note.text().parse()?;
        let mut log_key = None;
        let mut last_err = None;
        for raw in &self.logs {
            let key = VerifierKey::from_ed25519(checkpoint.origin(), *raw)?;
            match key.verify(&note) {
                Ok(_) => {
                    log_key = Some(key);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let log_key = match (log_key, last_err) {
            (Some(k), _) => k,
            (None, Some(e)) => return Err(e),
            (None, None) => return Err(Error::Policy { line: 0, reason: "no log line".into() }),
        };
        let mut cosigners = Vec::new();
        let mut invalid = Vec::new();
        for (name, node) in &self.nodes {
            if let Node::Witness(v) = node {
                match v.verify(&note) {
                    Ok(t) => cosigners.push((name.clone(), t)),
                    Err(Error::NoSignature { .. }) => {}
                    Err(_) => invalid.push(name.clone()),
                }
            }
        }
        if let Some(q) = &self.quorum {
            let signed: Vec<&str> = cosigners.iter().map(|(n, _)| n.as_str()).collect();
            if !self.satisfied(q, &signed) {
                return Err(Error::NoQuorum {
                    size: checkpoint.size(),
                    quorum: self.describe(q),
                    cosigned: signed.iter().map(|s| (*s).to_owned()).collect(),
                    invalid,
                });
            }
        }
        Ok(QuorumCheckpoint { checkpoint, log_key, cosigners, invalid })
    }

    fn describe(&self, name: &str) -> String {
        match self.nodes.get(name) {
            Some(Node::Group { k, members }) => {
                let inner: Vec<String> = members.iter().map(|m| self.describe(m)).collect();
                format!("{k} of ({})", inner.join(", "))
            }
            _ => name.to_owned(),
        }
    }
}

/// [`verify_bundle`] with a checkpoint accepted only when `policy`'s quorum cosigned it.
pub fn verify_bundle_quorum(
    saved: Option<&str>,
    policy: &WitnessPolicy,
    bundle: &AuditBundle,
) -> Result<(VerifiedBundle, QuorumCheckpoint), Error> {
    let q = policy.verify(&bundle.checkpoint)?;
    let verified = verify_bundle(saved, &q.log_key, bundle)?;
    Ok((verified, q))
}

/// Checks that two checkpoints can be of one append-only log: same origin, and
/// either the same root at the same size or a consistency proof from the smaller
/// to the larger. A checkpoint gossiped between partners exposes a split view here.
pub fn compare_checkpoints(a: &Checkpoint, b: &Checkpoint, proof: Option<&ConsistencyProof>) -> Result<(), Error> {
    if a.origin() != b.origin() {
        return Err(Error::OriginMismatch { expected: a.origin().to_owned(), found: b.origin().to_owned() });
    }
    let (small, large) = if a.size() <= b.size() { (a, b) } else { (b, a) };
    if small.size() == large.size() {
        if small.root() == large.root() {
            return Ok(());
        }
        return Err(Error::SplitView {
            what: format!(
                "two checkpoints of {} at size {} have different roots ({} and {}): the log was shown differently to different parties",
                a.origin(),
                a.size(),
                a.root(),
                b.root()
            ),
        });
    }
    let Some(p) = proof.filter(|p| p.old_size == small.size() && p.new_size == large.size()) else {
        return Err(Error::MissingConsistencyProof { old_size: small.size(), new_size: large.size() });
    };
    p.verify(&small.root(), &large.root()).map_err(|_| Error::SplitView {
        what: format!(
            "the checkpoint of {} at size {} is not a prefix of the one at size {}: the log was shown differently to different parties",
            a.origin(),
            small.size(),
            large.size()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::MerkleLog;
    use crate::note::SigningKey;
    use crate::storage::MemoryStorage;
    use crate::witness::CosignerKey;
    use std::fmt::Write as _;

    fn keys() -> (SigningKey, Vec<CosignerKey>) {
        let hub = SigningKey::from_seed("caveat.hub/audit", [1; 32]).unwrap();
        let w = (0..4u8).map(|i| CosignerKey::from_seed(&format!("w{i}"), [10 + i; 32]).unwrap()).collect();
        (hub, w)
    }

    fn policy(hub: &SigningKey, w: &[CosignerKey], group: &str) -> WitnessPolicy {
        let mut text = format!("# test\nlog {}\n", hex::encode(hub.verifier_key().public_key()));
        for k in w {
            writeln!(text, "witness {} {} http://127.0.0.1:1", k.name(), hex::encode(k.verifier().public_key()))
                .unwrap();
        }
        writeln!(text, "group partners {group} w0 w1 w2\ngroup all-of-it all partners w3\nquorum partners").unwrap();
        text.parse().unwrap()
    }

    #[test]
    fn quorum_counts_only_valid_cosignatures() {
        let (hub, w) = keys();
        let p = policy(&hub, &w, "2");
        let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
        log.append_batch(&[b"a".to_vec()]).unwrap();
        let cp = log.sign_checkpoint(&hub).unwrap();
        let mut note: SignedNote = cp.to_string().parse().unwrap();
        let e = p.verify(&note.to_string()).unwrap_err();
        assert!(e.to_string().contains("2 of (w0, w1, w2)"), "{e}");
        note.push_signature_line(&w[0].cosign(cp.checkpoint(), 5).to_line()).unwrap();
        assert!(matches!(p.verify(&note.to_string()), Err(Error::NoQuorum { .. })));
        // A cosignature of another checkpoint does not count.
        let mut other = log.sign_checkpoint(&hub).unwrap().checkpoint().clone();
        log.append_batch(&[b"b".to_vec()]).unwrap();
        other = Checkpoint::new(other.origin(), log.tree_head()).unwrap();
        note.push_signature_line(&w[1].cosign(&other, 5).to_line()).unwrap();
        let e = p.verify(&note.to_string()).unwrap_err();
        assert!(matches!(&e, Error::NoQuorum { invalid, .. } if invalid == &["w1".to_owned()]), "{e}");
        note.push_signature_line(&w[2].cosign(cp.checkpoint(), 6).to_line()).unwrap();
        let q = p.verify(&note.to_string()).unwrap();
        assert_eq!(q.cosigners, vec![("w0".to_owned(), 5), ("w2".to_owned(), 6)]);
        // Not the policy's log key.
        let stranger = SigningKey::from_seed("caveat.hub/audit", [9; 32]).unwrap();
        let p2 = policy(&stranger, &w, "any");
        assert!(matches!(p2.verify(&note.to_string()), Err(Error::NoSignature { .. })));
    }

    #[test]
    fn malformed_policies_name_the_line() {
        let k = "00".repeat(32);
        let good_w = hex::encode(CosignerKey::from_seed("w", [1; 32]).unwrap().verifier().public_key());
        for (text, line) in [
            (format!("log {k}\nquorum none\nquorum none\n"), 3),
            ("log zz\nquorum none\n".to_owned(), 1),
            (format!("log {k}\nwitness w {good_w}\ngroup g 2 w\nquorum g\n"), 3),
            (format!("log {k}\ngroup g any nobody\nquorum g\n"), 2),
            (format!("log {k}\nwitness w {good_w}\nwitness w {good_w}\nquorum w\n"), 3),
            (format!("log {k}\nfrobnicate\nquorum none\n"), 2),
        ] {
            let e = text.parse::<WitnessPolicy>().unwrap_err();
            assert!(matches!(e, Error::Policy { line: l, .. } if l == line), "{text}: {e}");
        }
        assert!(format!("log {k}\n").parse::<WitnessPolicy>().is_err());
    }

    #[test]
    fn compare_catches_forks() {
        let mut a = MerkleLog::open(MemoryStorage::new()).unwrap();
        let mut b = MerkleLog::open(MemoryStorage::new()).unwrap();
        a.append_batch(&[b"1".to_vec(), b"2".to_vec()]).unwrap();
        b.append_batch(&[b"1".to_vec(), b"X".to_vec()]).unwrap();
        let cp = |l: &MerkleLog<MemoryStorage>| Checkpoint::new("o", l.tree_head()).unwrap();
        let e = compare_checkpoints(&cp(&a), &cp(&b), None).unwrap_err();
        assert!(e.to_string().contains("different roots"), "{e}");
        let a2 = cp(&a);
        a.append_batch(&[b"3".to_vec()]).unwrap();
        let proof = a.consistency_proof(2, 3).unwrap();
        compare_checkpoints(&a2, &cp(&a), Some(&proof)).unwrap();
        let e = compare_checkpoints(&cp(&b), &cp(&a), Some(&proof)).unwrap_err();
        assert!(e.to_string().contains("not a prefix"), "{e}");
    }
}
