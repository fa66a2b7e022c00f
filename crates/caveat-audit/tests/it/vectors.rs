//! Known answers: the RFC 6962 test tree used by Certificate Transparency and
//! transparency-dev/merkle (`proof/verify_test.go`), whose hashing RFC 9162 keeps.

use caveat_audit::{ConsistencyProof, Hash, InclusionProof, MemoryStorage, MerkleLog, leaf_hash};

const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, path), leaf index 0-based.
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, path).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

fn vector_log() -> MerkleLog<MemoryStorage> {
    let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
    let leaves: Vec<Vec<u8>> = LEAVES.iter().map(|l| hex::decode(l).unwrap()).collect();
    log.append_batch(&leaves[..3]).unwrap();
    log.append_batch(&leaves[3..]).unwrap();
    log
}

#[test]
fn roots_match() {
    let log = vector_log();
    for (i, root) in ROOTS.iter().enumerate() {
        assert_eq!(log.root_at(i as u64 + 1).unwrap(), h(root), "size {}", i + 1);
    }
    assert_eq!(log.root_at(0).unwrap().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn inclusion_proofs_match_and_verify() {
    let log = vector_log();
    for (index, size, path) in INCLUSION {
        let proof = log.inclusion_proof(index, size).unwrap();
        let want: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        assert_eq!(proof.path, want, "leaf {index} size {size}");
        let leaf = leaf_hash(&hex::decode(LEAVES[index as usize]).unwrap());
        let root = h(ROOTS[size as usize - 1]);
        proof.verify(&leaf, &root).unwrap();
        // The probes of transparency-dev/merkle: each must fail.
        let mut probes = vec![
            InclusionProof { leaf_index: index.wrapping_sub(1), ..proof.clone() },
            InclusionProof { leaf_index: index + 1, ..proof.clone() },
            InclusionProof { leaf_index: index ^ 2, ..proof.clone() },
            InclusionProof { tree_size: size * 2, ..proof.clone() },
            InclusionProof { tree_size: size / 2, ..proof.clone() },
        ];
        let mut extended = proof.clone();
        extended.path.push(root);
        probes.push(extended);
        let mut prepended = proof.clone();
        prepended.path.insert(0, root);
        probes.push(prepended);
        for i in 0..proof.path.len() {
            let mut flipped = proof.clone();
            let mut bytes = *flipped.path[i].as_bytes();
            bytes[0] ^= 8;
            flipped.path[i] = Hash::from_bytes(bytes);
            probes.push(flipped);
        }
        if !proof.path.is_empty() {
            let mut short = proof.clone();
            short.path.pop();
            probes.push(short);
        }
        for p in probes {
            assert!(p.verify(&leaf, &root).is_err(), "{p:?} verified");
        }
        assert!(proof.verify(&leaf_hash(b"WrongLeaf"), &root).is_err());
        assert!(proof.verify(&leaf, &caveat_audit::empty_root()).is_err());
    }
}

#[test]
fn consistency_proofs_match_and_verify() {
    let log = vector_log();
    for (old, new, path) in CONSISTENCY {
        let proof = log.consistency_proof(old, new).unwrap();
        let want: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        assert_eq!(proof.path, want, "{old} -> {new}");
        let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
        proof.verify(&r1, &r2).unwrap();
        if proof.path.is_empty() {
            continue;
        }
        let mut probes = vec![
            ConsistencyProof { old_size: old - 1, ..proof.clone() },
            ConsistencyProof { old_size: old + 1, ..proof.clone() },
            ConsistencyProof { old_size: old ^ 2, ..proof.clone() },
            ConsistencyProof { new_size: new * 2, ..proof.clone() },
            ConsistencyProof { new_size: new / 2, ..proof.clone() },
            ConsistencyProof { path: vec![], ..proof.clone() },
        ];
        for extra in [r1, r2, proof.path[0]] {
            let mut p = proof.clone();
            p.path.push(extra);
            probes.push(p);
            let mut p = proof.clone();
            p.path.insert(0, extra);
            probes.push(p);
        }
        let mut short = proof.clone();
        short.path.pop();
        probes.push(short);
        for i in 0..proof.path.len() {
            let mut flipped = proof.clone();
            let mut bytes = *flipped.path[i].as_bytes();
            bytes[0] ^= 16;
            flipped.path[i] = Hash::from_bytes(bytes);
            probes.push(flipped);
        }
        for p in probes {
            assert!(p.verify(&r1, &r2).is_err(), "{p:?} verified");
        }
        assert!(proof.verify(&r2, &r1).is_err(), "swapped roots");
    }
}
