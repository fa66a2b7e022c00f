//! Dependency direction is an architecture rule, enforced here (tessera's storage_test.go).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// For each crate, the workspace crates it may depend on (normal dependencies).
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("caveat-core", &[][..]),
        ("caveat-ais", &["caveat-core"][..]),
        ("caveat-policy", &["caveat-core"][..]),
        ("caveat-fusion", &["caveat-core"][..]),
        ("caveat-audit", &["caveat-core"][..]),
        ("caveat-sim", &["caveat-core", "caveat-ais"][..]),
        ("caveat-store", &["caveat-core", "caveat-audit", "caveat-policy"][..]),
    ])
}

#[test]
fn workspace_dependencies_point_down() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: BTreeSet<String> =
        meta["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    let rules = allowed();
    let mut violations = Vec::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let Some(ok) = rules.get(name) else { continue };
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            let normal = d["kind"].is_null();
            if normal && members.contains(dep) && !ok.contains(&dep) {
                violations.push(format!("{name} -> {dep}"));
            }
        }
    }
    assert!(violations.is_empty(), "forbidden dependency edges: {violations:?}");
}
