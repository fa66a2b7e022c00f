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
        // Events are derived from tracks, beside fusion and below the hub.
        ("caveat-events", &["caveat-core", "caveat-fusion"][..]),
        ("caveat-sim", &["caveat-core", "caveat-ais"][..]),
        ("caveat-store", &["caveat-core", "caveat-audit", "caveat-policy"][..]),
        (
            "caveat-hub",
            &["caveat-core", "caveat-store", "caveat-policy", "caveat-fusion", "caveat-audit", "caveat-events"][..],
        ),
        // The HTTP adapter sits on the hub: it never reaches past it to fusion.
        ("caveat-server", &["caveat-core", "caveat-hub", "caveat-store", "caveat-policy", "caveat-audit"][..]),
        // The CLI calls the hub's use-cases and starts the server; never the server's internals.
        (
            "caveat",
            &[
                "caveat-core",
                "caveat-hub",
                "caveat-server",
                "caveat-store",
                "caveat-policy",
                "caveat-audit",
                "caveat-ais",
                "caveat-sim",
            ][..],
        ),
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

/// Every Rust source file under `dir`.
fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Issue 15: an audit entry is shaped in one place. Outside the audit crate
/// (which defines them) only the hub's use-cases build entries; the server
/// and the CLI call them, so the same action cannot be recorded two ways.
#[test]
fn only_the_hub_shapes_audit_entries() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for c in ["caveat", "caveat-server", "caveat-store", "caveat-policy", "caveat-fusion", "caveat-core"] {
        sources(&crates.join(c).join("src"), &mut files);
    }
    let shaping: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines().any(|l| {
                let l = l.trim_start();
                !l.starts_with("//") && l.contains("AuditEntry::") && !l.contains("AuditEntry::from_bytes")
            })
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(shaping.is_empty(), "audit entries shaped outside caveat-hub: {shaping:?}");
}
