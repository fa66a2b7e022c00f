//! Property tests: generated proofs equal the RFC 9162 recursive definitions, verify,
//! and stop verifying when mutated.

use std::sync::OnceLock;

use caveat_audit::{
    ConsistencyProof, Hash, InclusionProof, MemoryStorage, MerkleLog, empty_root, leaf_hash, node_hash,
};
use proptest::prelude::*;

const N: u64 = 600;

fn leaves() -> &'static (Vec<Hash>, MerkleLog<MemoryStorage>) {
    static LOG: OnceLock<(Vec<Hash>, MerkleLog<MemoryStorage>)> = OnceLock::new();
    LOG.get_or_init(|| {
        let data: Vec<Vec<u8>> = (0..N).map(|i| format!("leaf {i}").into_bytes()).collect();
        let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
        // Batch sizes 1, 2, 3, ... so batch edges fall everywhere.
        let mut start = 0usize;
        let mut len = 1usize;
        while start < data.len() {
            let end = (start + len).min(data.len());
            log.append_batch(&data[start..end]).unwrap();
            start = end;
            len += 1;
        }
        (data.iter().map(|d| leaf_hash(d)).collect(), log)
    })
}

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH (RFC 9162 §2.1.1), straight from the definition.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// PATH (RFC 9162 §2.1.3.1).
fn path(index: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return vec![];
    }
    let k = k_of(leaves.len());
    let (mut out, sibling) = if index < k {
        (path(index, &leaves[..k]), mth(&leaves[k..]))
    } else {
        (path(index - k, &leaves[k..]), mth(&leaves[..k]))
    };
    out.push(sibling);
    out
}

/// SUBPROOF (RFC 9162 §2.1.4.1).
fn subproof(old: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    if old == leaves.len() {
        return if whole { vec![] } else { vec![mth(leaves)] };
    }
    let k = k_of(leaves.len());
    let (mut out, sibling) = if old <= k {
        (subproof(old, &leaves[..k], whole), mth(&leaves[k..]))
    } else {
        (subproof(old - k, &leaves[k..], false), mth(&leaves[..k]))
    };
    out.push(sibling);
    out
}

fn flip(h: Hash, byte: usize, bit: u8) -> Hash {
    let mut b = *h.as_bytes();
    b[byte % 32] ^= 1 << (bit % 8);
    Hash::from_bytes(b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_round_trip((size, index) in (1..=N).prop_flat_map(|n| (Just(n), 0..n)), pick: usize, byte: usize, bit: u8) {
        let (hashes, log) = leaves();
        let d = &hashes[..size as usize];
        let proof = log.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(&proof.path, &path(index as usize, d));
        let root = mth(d);
        prop_assert_eq!(log.root_at(size).unwrap(), root);
        let leaf = hashes[index as usize];
        prop_assert!(proof.verify(&leaf, &root).is_ok());
        // Mutations fail: a flipped bit, a dropped or extra hash, another index.
        if !proof.path.is_empty() {
            let mut p = proof.clone();
            let i = pick % p.path.len();
            p.path[i] = flip(p.path[i], byte, bit);
            prop_assert!(p.verify(&leaf, &root).is_err());
            let mut p = proof.clone();
            p.path.remove(pick % proof.path.len());
            prop_assert!(p.verify(&leaf, &root).is_err());
        }
        let mut p = proof.clone();
        p.path.push(root);
        prop_assert!(p.verify(&leaf, &root).is_err());
        let other = InclusionProof { leaf_index: (index + 1 + pick as u64 % size) % size, ..proof.clone() };
        if other.leaf_index != index {
            prop_assert!(other.verify(&leaf, &root).is_err());
        }
        prop_assert!(proof.verify(&flip(leaf, byte, bit), &root).is_err());
    }

    #[test]
    fn consistency_round_trip((new, old) in (1..=N).prop_flat_map(|n| (Just(n), 1..=n)), pick: usize, byte: usize, bit: u8) {
        let (hashes, log) = leaves();
        let proof = log.consistency_proof(old, new).unwrap();
        let want = if old == new { vec![] } else { subproof(old as usize, &hashes[..new as usize], true) };
        prop_assert_eq!(&proof.path, &want);
        let (r1, r2) = (mth(&hashes[..old as usize]), mth(&hashes[..new as usize]));
        prop_assert!(proof.verify(&r1, &r2).is_ok());
        if !proof.path.is_empty() {
            let mut p = proof.clone();
            let i = pick % p.path.len();
            p.path[i] = flip(p.path[i], byte, bit);
            prop_assert!(p.verify(&r1, &r2).is_err());
            let mut p = proof.clone();
            p.path.remove(pick % proof.path.len());
            prop_assert!(p.verify(&r1, &r2).is_err());
            prop_assert!(proof.verify(&flip(r1, byte, bit), &r2).is_err());
            prop_assert!(proof.verify(&r1, &flip(r2, byte, bit)).is_err());
            let wrong_old = ConsistencyProof { old_size: old - 1, ..proof.clone() };
            if old > 1 {
                prop_assert!(wrong_old.verify(&r1, &r2).is_err());
            }
        }
    }

    #[test]
    fn proofs_survive_json(size in 1..=N, index: u64) {
        let (_, log) = leaves();
        let proof = log.inclusion_proof(index % size, size).unwrap();
        let json = serde_json::to_string(&proof).unwrap();
        prop_assert_eq!(serde_json::from_str::<InclusionProof>(&json).unwrap(), proof);
    }
}

#[test]
fn proof_requests_out_of_range_are_errors() {
    let (_, log) = leaves();
    assert!(log.inclusion_proof(N, N).is_err());
    assert!(log.inclusion_proof(0, N + 1).is_err());
    assert!(log.consistency_proof(5, 4).is_err());
    assert!(log.consistency_proof(1, N + 1).is_err());
    assert!(log.consistency_proof(0, N).unwrap().path.is_empty());
}
