//! Checkpoints, signed notes, verifier keys, proofs and bundles are outside input to
//! the offline verifier. Properties:
//! - parsing never panics, and whatever parses prints back byte for byte;
//! - a valid signed checkpoint or proof with any byte changed no longer verifies.

use std::sync::OnceLock;

use caveat_audit::{
    AuditBundle, Checkpoint, InclusionProof, MemoryStorage, MerkleLog, SignedCheckpoint, SignedNote, SigningKey,
    VerifierKey, leaf_hash, verify_bundle,
};

struct Fixture {
    key: SigningKey,
    note: String,
    proof: InclusionProof,
    leaf: caveat_audit::Hash,
    root: caveat_audit::Hash,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = SigningKey::from_seed("caveat.example/audit", [42; 32]).unwrap();
        let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
        let leaves: Vec<Vec<u8>> = (0u32..37).map(|i| i.to_be_bytes().to_vec()).collect();
        log.append_batch(&leaves).unwrap();
        let note = log.sign_checkpoint(&key).unwrap().to_string();
        let proof = log.inclusion_proof(21, 37).unwrap();
        Fixture { key, note, proof, leaf: leaf_hash(&21u32.to_be_bytes()), root: log.root() }
    })
}

/// Seed inputs for this target, made from the fixture: the signed checkpoint, its
/// checkpoint body, the verifier key, the inclusion proof and a bundle, each
/// as the text the verifier reads. (`cargo run --example checkpoint_seeds`
/// writes them to `corpus/checkpoint_and_proof/`.)
pub fn checkpoint_seeds() -> Vec<(&'static str, String)> {
    let f = fixture();
    let vkey = f.key.verifier_key();
    let signed = SignedCheckpoint::open(&f.note, &vkey).unwrap();
    let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
    let leaves: Vec<Vec<u8>> = (0u32..37).map(|i| i.to_be_bytes().to_vec()).collect();
    log.append_batch(&leaves[..30]).unwrap();
    log.append_batch(&leaves[30..]).unwrap();
    let bundle = AuditBundle::build(&log, &signed, Some(30), &[3, 21, 36]).unwrap();
    vec![
        ("signed-checkpoint.note", f.note.clone()),
        ("checkpoint.txt", signed.checkpoint().to_string()),
        ("verifier-key.txt", vkey.to_string()),
        ("inclusion-proof.json", serde_json::to_string(&f.proof).unwrap()),
        ("bundle.json", bundle.to_json().unwrap()),
    ]
}

/// The property; see the module's documentation.
pub fn checkpoint_and_proof(data: &[u8]) {
    let f = fixture();
    let vkey = f.key.verifier_key();

    // Mutation: data[0..2] picks a byte of the note, data[2] is the change.
    if let [hi, lo, change, ..] = *data {
        let mut note = f.note.clone().into_bytes();
        let at = usize::from(u16::from_be_bytes([hi, lo])) % note.len();
        if change != 0 {
            note[at] ^= change;
            if let Ok(text) = std::str::from_utf8(&note) {
                assert!(SignedCheckpoint::open(text, &vkey).is_err(), "mutated checkpoint verified");
            }
            // The same change applied to a proof hash.
            let mut proof = f.proof.clone();
            let i = at % proof.path.len();
            let mut h = *proof.path[i].as_bytes();
            h[at % 32] ^= change;
            proof.path[i] = caveat_audit::Hash::from_bytes(h);
            assert!(proof.verify(&f.leaf, &f.root).is_err(), "mutated proof verified");
        }
    }

    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(note) = text.parse::<SignedNote>() {
        assert_eq!(note.to_string(), text);
        let _ = vkey.verify(&note);
    }
    if let Ok(cp) = text.parse::<Checkpoint>() {
        assert_eq!(cp.to_string(), text);
    }
    if let Ok(k) = text.parse::<VerifierKey>() {
        assert_eq!(k.to_string(), text);
    }
    if let Ok(p) = serde_json::from_str::<InclusionProof>(text) {
        let again: InclusionProof = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(again, p);
        // For the fixture's index and size, only the one true path leads to the root.
        if p.leaf_index == 21 && p.tree_size == 37 && p.path != f.proof.path {
            assert!(p.verify(&f.leaf, &f.root).is_err(), "forged path verified");
        }
    }
    if let Ok(bundle) = AuditBundle::from_json(text) {
        let _ = verify_bundle(Some(&f.note), &vkey, &bundle);
    }
}
