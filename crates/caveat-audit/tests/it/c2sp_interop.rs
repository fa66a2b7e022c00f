//! Caveat's checkpoints, cosignatures and witness policies read by
//! independent implementations: Cloudflare's `signed_note` (c2sp.org/signed-note)
//! and Mullvad's `sigsum` (the Sigsum policy format and its quorum rule).

use caveat_audit::{
    AddCheckpoint, CosignerKey, MemoryStorage, MemoryWitnessStore, MerkleLog, SigningKey, Witness, WitnessPolicy,
};
use ed25519_dalek::Verifier as _;
use signed_note::{Note, StandardVerifier, Verifier, VerifierList};
use std::fmt::Write as _;

/// A c2sp.org/tlog-cosignature (`cosignature/v1`, type 0x04) verifier written from
/// the spec on `signed_note`'s trait: the note parsing, key ids and the choice of
/// signature line are `signed_note`'s.
struct CosignatureV1 {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl CosignatureV1 {
    fn new(name: &str, public: [u8; 32]) -> Self {
        let mut typed = vec![0x04];
        typed.extend_from_slice(&public);
        CosignatureV1 {
            name: name.to_owned(),
            id: signed_note::key_id(name, &typed),
            key: ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap(),
        }
    }
}

impl Verifier for CosignatureV1 {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((time, sig)) = sig.split_first_chunk::<8>() else { return false };
        let Ok(sig) = <[u8; 64]>::try_from(sig) else { return false };
        let mut signed = format!("cosignature/v1\ntime {}\n", u64::from_be_bytes(*time)).into_bytes();
        signed.extend_from_slice(msg);
        self.key.verify(&signed, &ed25519_dalek::Signature::from_bytes(&sig)).is_ok()
    }
}

#[test]
fn checkpoints_and_cosignatures_verify_with_signed_note() {
    let hub = SigningKey::from_seed("caveat.hub/audit", [1; 32]).unwrap();
    let wkey = CosignerKey::from_seed("witness.gbr.example", [2; 32]).unwrap();
    let wpub = wkey.verifier().public_key();
    let witness = Witness::new(wkey, vec![hub.verifier_key()], MemoryWitnessStore::default());
    let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
    log.append_batch(&[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]).unwrap();
    let cp = log.sign_checkpoint(&hub).unwrap();
    let req = AddCheckpoint { old_size: 0, proof: vec![], checkpoint: cp.to_string() };
    let line = witness.add_checkpoint(&req.to_string().parse().unwrap(), 1_764_547_200).unwrap();
    let cosigned = format!("{cp}{line}");

    // The hub's signature: signed_note's own Ed25519 verifier, from the vkey text Caveat prints.
    let hub_v = StandardVerifier::new(&hub.verifier_key().to_string()).unwrap();
    let both = VerifierList::new(vec![Box::new(hub_v), Box::new(CosignatureV1::new("witness.gbr.example", wpub))]);
    let note = Note::from_bytes(cosigned.as_bytes()).unwrap();
    let (verified, unverified) = note.verify(&both).unwrap();
    assert_eq!(verified.len(), 2);
    assert!(unverified.is_empty());
    assert_eq!(note.text(), cp.checkpoint().to_string().as_bytes());
    // The witness's key id is the spec's, and an altered checkpoint fails both.
    assert_eq!(witness.verifier().to_string().split('+').nth(1).unwrap(), format!("{:08x}", verified[1].id()));
    let tampered = cosigned.replacen("\n3\n", "\n4\n", 1);
    assert!(Note::from_bytes(tampered.as_bytes()).unwrap().verify(&both).is_err());
    // Caveat reads back what signed_note writes.
    let hub_only = StandardVerifier::new(&hub.verifier_key().to_string()).unwrap();
    assert!(
        Note::from_bytes(cosigned.as_bytes()).unwrap().verify(&VerifierList::new(vec![Box::new(hub_only)])).is_ok()
    );
}

#[test]
fn quorum_agrees_with_sigsum() {
    let hub = SigningKey::from_seed("caveat.hub/audit", [1; 32]).unwrap();
    let w: Vec<CosignerKey> = ["gbr", "can", "nld", "fra"]
        .iter()
        .enumerate()
        .map(|(i, n)| CosignerKey::from_seed(n, [20 + i as u8; 32]).unwrap())
        .collect();
    let mut text = format!("log {}\n", hex::encode(hub.verifier_key().public_key()));
    for k in &w {
        writeln!(text, "witness {} {}", k.name(), hex::encode(k.verifier().public_key())).unwrap();
    }
    text += "group five-eyes 2 gbr can nld\ngroup all-of-them all five-eyes fra\nquorum five-eyes\n";
    let ours: WitnessPolicy = text.parse().unwrap();
    let theirs = sigsum::Policy::parse(&text).unwrap();
    let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
    log.append_batch(&[b"a".to_vec()]).unwrap();
    let cp = log.sign_checkpoint(&hub).unwrap();
    // Every subset of witnesses cosigning: both implementations agree on the quorum.
    for mask in 0u32..16 {
        let mut note = cp.to_string();
        let mut hashes = Vec::new();
        for (i, k) in w.iter().enumerate() {
            if mask & (1 << i) != 0 {
                note += &k.cosign(cp.checkpoint(), 7).to_line();
                hashes.push(sigsum::Hash::new(k.verifier().public_key()));
            }
        }
        assert_eq!(ours.verify(&note).is_ok(), theirs.check_quorum(&hashes), "witnesses {mask:04b}");
    }
}
