//! Standing policies: an originator's own Cedar forbids, checked and scoped on upload.
//!
//! Soundness argument. An uploaded policy is accepted only if it is a static
//! `forbid` (no `permit`, no template slots) that validates against the schema
//! in strict mode. It is then rewritten: two clauses are appended to its
//! conditions,
//!
//! ```text
//! when   { resource.originator == Caveat::Partner::"X" }
//! unless { principal in Caveat::Partner::"X" }
//! ```
//!
//! where X is the uploader. Cedar's conditions are conjunctive and a forbid
//! can only turn a permit into a deny, so the rewritten policy can change a
//! decision only from permit to deny, and only for a report whose originator
//! is X requested by a partner other than X. It cannot grant anything, and it
//! cannot touch another originator's reports, whatever the uploaded text says.
//! A forbid whose evaluation fails counts as holding (see `Decision`), so an
//! error can only deny more.

use std::collections::BTreeSet;
use std::str::FromStr;

use caveat_core::PartnerId;
use cedar_policy as cedar;
use serde_json::Value;

use crate::Error;
use crate::error::shorten;

/// Largest upload, bytes.
pub const MAX_STANDING_BYTES: usize = 16 * 1024;
/// Most policies in one upload.
pub const MAX_STANDING_POLICIES: usize = 64;
/// Deepest bracket nesting in an upload.
pub const MAX_STANDING_DEPTH: usize = 16;
/// Most operator characters (`+-*!<>=&|.`) and keywords (`if in has like is`) in one policy.
///
/// Cedar's parser, validator and evaluator recurse once per level of an
/// expression; in a debug build on a 2 MiB thread stack a chain of about 400
/// `&&` overflows it. Bounding operators and nesting bounds the depth.
pub const MAX_STANDING_OPERATORS: usize = 96;

/// Report attributes that belong to the marking class: a policy reading only
/// these decides alike for every report of a class.
const CLASS_ATTRS: [&str; 6] = ["originator", "releasable_to", "purposes", "not_after", "requires_case", "no_export"];

/// An originator's standing policies, scoped and ready for the engine.
#[derive(Debug, Clone)]
pub(crate) struct Standing {
    pub(crate) policies: Vec<cedar::Policy>,
    /// Whether any policy reads more of a report than its marking class
    /// (position, time, source, id): then its reports are decided one by one.
    pub(crate) report_sensitive: bool,
}

/// Checks, scopes and validates `text` as `originator`'s standing policies.
pub(crate) fn compile(originator: &PartnerId, text: &str, schema: &cedar::Schema) -> Result<Standing, Error> {
    if text.len() > MAX_STANDING_BYTES {
        return Err(Error::TooLarge { originator: originator.clone(), bytes: text.len(), limit: MAX_STANDING_BYTES });
    }
    let shape = shape(text);
    if shape.depth > MAX_STANDING_DEPTH {
        return Err(Error::TooDeep { originator: originator.clone(), depth: shape.depth, limit: MAX_STANDING_DEPTH });
    }
    if shape.operators > MAX_STANDING_OPERATORS {
        return Err(Error::TooComplex {
            originator: originator.clone(),
            operators: shape.operators,
            limit: MAX_STANDING_OPERATORS,
        });
    }
    let set = cedar::PolicySet::from_str(text)
        .map_err(|e| Error::Parse { originator: originator.clone(), message: shorten(e) })?;
    if let Some(t) = set.templates().next() {
        let policy = t.annotation("id").map_or_else(|| "(template)".to_owned(), shorten);
        return Err(Error::OutOfScope {
            originator: originator.clone(),
            policy,
            part: "template slot (?principal or ?resource): standing policies must be static".into(),
        });
    }
    // Cedar names parsed policies policy0, policy1, ... in text order.
    let mut parsed: Vec<(usize, &cedar::Policy)> = set
        .policies()
        .map(|p| (p.id().to_string().trim_start_matches("policy").parse::<usize>().unwrap_or(usize::MAX), p))
        .collect();
    parsed.sort_by_key(|(n, _)| *n);
    if parsed.len() > MAX_STANDING_POLICIES {
        return Err(Error::TooManyPolicies {
            originator: originator.clone(),
            count: parsed.len(),
            limit: MAX_STANDING_POLICIES,
        });
    }
    let scope_text = format!(
        "when {{ resource.originator == {p}::\"{originator}\" }} unless {{ principal in {p}::\"{originator}\" }}",
        p = crate::encode::PARTNER
    );
    let scope_est = scope_conditions(&scope_text)?;
    let mut names = BTreeSet::new();
    let mut policies = Vec::new();
    let mut report_sensitive = false;
    for (position, (_, p)) in parsed.iter().enumerate() {
        let name = policy_name(originator, p, position)?;
        if !names.insert(name.clone()) {
            return Err(Error::PolicyName { originator: originator.clone(), name, reason: "used twice" });
        }
        let out_of_scope =
            |part: String| Error::OutOfScope { originator: originator.clone(), policy: name.clone(), part };
        if p.effect() == cedar::Effect::Permit {
            return Err(out_of_scope(
                "effect `permit`: a standing policy may only forbid; only a marking grants access".into(),
            ));
        }
        let est = p.to_json().map_err(|e| Error::Engine { what: "policy JSON", message: shorten(e) })?;
        if let Some(other) = foreign_originator(&est, originator) {
            return Err(out_of_scope(format!(
                "condition names reports of originator {other}; a standing policy of {originator} governs only {originator}'s reports"
            )));
        }
        report_sensitive |= reads_beyond_class(&est);
        let id = cedar::PolicyId::new(format!("standing/{originator}/{name}"));
        let scoped = scope(p, &est, id, &scope_text, &scope_est)?;
        policies.push(scoped);
    }
    validate(originator, &policies, schema)?;
    Ok(Standing { policies, report_sensitive })
}

/// The two clauses appended to every standing policy, in Cedar's JSON form.
fn scope_conditions(scope_text: &str) -> Result<Vec<Value>, Error> {
    let text = format!("forbid (principal, action, resource) {scope_text};");
    let policy = cedar::Policy::parse(None, text).map_err(|e| Error::Engine { what: "scope", message: shorten(e) })?;
    let est = policy.to_json().map_err(|e| Error::Engine { what: "scope JSON", message: shorten(e) })?;
    est.get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| Error::Engine { what: "scope JSON", message: "no conditions array".into() })
}

/// `p` with the scope clauses appended after its own conditions.
///
/// The clauses are appended to the policy's own text (Cedar keeps each parsed
/// policy's source) rather than built through Cedar's JSON form, whose
/// deserializer recurses too deeply for a debug build. The result is then
/// checked structurally: same effect, scope and annotations, and exactly the
/// original conditions followed by the two scope clauses. Anything else is refused.
fn scope(
    p: &cedar::Policy,
    est: &Value,
    id: cedar::PolicyId,
    scope_text: &str,
    scope_est: &[Value],
) -> Result<cedar::Policy, Error> {
    let source = p.to_string();
    let body = source.trim_end().strip_suffix(';').unwrap_or(source.trim_end());
    let scoped = cedar::Policy::parse(Some(id), format!("{body}\n{scope_text};"))
        .map_err(|e| Error::Engine { what: "scoped policy", message: shorten(e) })?;
    let mut expected = est.clone();
    if let Some(c) = expected.get_mut("conditions").and_then(Value::as_array_mut) {
        c.extend(scope_est.iter().cloned());
    }
    let got = scoped.to_json().map_err(|e| Error::Engine { what: "scoped JSON", message: shorten(e) })?;
    if got != expected || scoped.effect() != cedar::Effect::Forbid {
        return Err(Error::Engine { what: "scoped policy", message: "scoping changed the policy".into() });
    }
    Ok(scoped)
}

fn policy_name(originator: &PartnerId, p: &cedar::Policy, position: usize) -> Result<String, Error> {
    match p.annotation("id") {
        None => Ok(format!("#{}", position + 1)),
        Some(name) => {
            let ok = (1..=64).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
            if ok {
                Ok(name.to_owned())
            } else {
                Err(Error::PolicyName {
                    originator: originator.clone(),
                    name: shorten(name),
                    reason: "not 1-64 characters of a-z 0-9 - _ .",
                })
            }
        }
    }
}

fn validate(originator: &PartnerId, policies: &[cedar::Policy], schema: &cedar::Schema) -> Result<(), Error> {
    let set = cedar::PolicySet::from_policies(policies.iter().cloned())
        .map_err(|e| Error::Engine { what: "standing set", message: shorten(e) })?;
    let result = cedar::Validator::new(schema.clone()).validate(&set, cedar::ValidationMode::Strict);
    if let Some(e) = result.validation_errors().next() {
        let id = e.policy_id().to_string();
        let prefix = format!("standing/{originator}/");
        let policy = id.strip_prefix(&prefix).unwrap_or(&id).to_owned();
        return Err(Error::Schema { originator: originator.clone(), policy, message: shorten(e) });
    }
    Ok(())
}

/// What the pre-parse scan measures.
struct Shape {
    /// Deepest nesting of `(`, `[` and `{`.
    depth: usize,
    /// Most operator characters and keywords between two `;`.
    operators: usize,
}

/// Scans `text` outside string literals and comments.
fn shape(text: &str) -> Shape {
    let (mut depth, mut max_depth) = (0usize, 0usize);
    let (mut ops, mut max_ops) = (0usize, 0usize);
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    let end_word = |word: &mut String, ops: &mut usize| {
        if matches!(word.as_str(), "if" | "in" | "has" | "like" | "is") {
            *ops += 1;
        }
        word.clear();
    };
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        end_word(&mut word, &mut ops);
        match c {
            '"' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for s in chars.by_ref() {
                    if s == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                max_depth = max_depth.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ';' => {
                max_ops = max_ops.max(ops);
                ops = 0;
            }
            '+' | '-' | '*' | '!' | '<' | '>' | '=' | '&' | '|' | '.' => ops += 1,
            _ => {}
        }
    }
    end_word(&mut word, &mut ops);
    Shape { depth: max_depth, operators: max_ops.max(ops) }
}

fn is_resource_var(v: &Value) -> bool {
    v.get("Var").and_then(Value::as_str) == Some("resource")
}

/// Whether a policy (EST form) could decide differently for two reports of one
/// marking class: it constrains `resource` in its scope, reads an attribute
/// outside [`CLASS_ATTRS`], uses `resource` any other way, or names a report.
/// Conservative: anything not recognised as class-level counts as sensitive.
fn reads_beyond_class(est: &Value) -> bool {
    let scope_all = est.get("resource").and_then(|r| r.get("op")).and_then(Value::as_str) == Some("All");
    let mut uses = 0usize;
    let mut class_uses = 0usize;
    let mut names_report = false;
    walk(est.get("conditions").unwrap_or(&Value::Null), &mut |obj| {
        if obj.get("Var").and_then(Value::as_str) == Some("resource") {
            uses += 1;
        }
        for op in [".", "has"] {
            if let Some(inner) = obj.get(op)
                && inner.get("left").is_some_and(is_resource_var)
                && inner.get("attr").and_then(Value::as_str).is_some_and(|a| CLASS_ATTRS.contains(&a))
            {
                class_uses += 1;
            }
        }
        if let Some(e) = obj.get("__entity")
            && e.get("type").and_then(Value::as_str).is_none_or(|t| t.ends_with("Report"))
        {
            names_report = true;
        }
    });
    !scope_all || uses != class_uses || names_report
}

/// A partner other than `own` that the policy compares `resource.originator` with.
fn foreign_originator(est: &Value, own: &PartnerId) -> Option<String> {
    let mut found = None;
    walk(est, &mut |obj| {
        let Some(eq) = obj.get("==") else { return };
        let (Some(l), Some(r)) = (eq.get("left"), eq.get("right")) else { return };
        for (a, b) in [(l, r), (r, l)] {
            let is_originator = a.get(".").is_some_and(|d| {
                d.get("left").is_some_and(is_resource_var)
                    && d.get("attr").and_then(Value::as_str) == Some("originator")
            });
            let partner =
                b.get("Value").and_then(|v| v.get("__entity")).and_then(|e| e.get("id")).and_then(Value::as_str);
            if is_originator
                && let Some(p) = partner
                && p != own.as_str()
                && found.is_none()
            {
                found = Some(shorten(p));
            }
        }
    });
    found
}

fn walk(v: &Value, f: &mut impl FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(obj) => {
            f(obj);
            for child in obj.values() {
                walk(child, f);
            }
        }
        Value::Array(items) => {
            for child in items {
                walk(child, f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensitive(condition: &str) -> bool {
        let schema = crate::encode::schema().unwrap();
        let text = format!("forbid (principal, action, resource) {condition};");
        compile(&"GBR".parse().unwrap(), &text, &schema).unwrap().report_sensitive
    }

    #[test]
    fn marking_only_policies_are_decided_per_class() {
        assert!(!sensitive(""));
        assert!(!sensitive("when { resource.no_export && context.purpose == Caveat::Purpose::\"monitoring\" }"));
        assert!(!sensitive("when { resource has not_after && resource.not_after < context.time }"));
        assert!(!sensitive("when { Caveat::Partner::\"CAN\" in resource.releasable_to }"));
    }

    #[test]
    fn anything_reading_a_report_beyond_its_marking_is_decided_per_report() {
        assert!(sensitive("when { resource.position.lat.lessThan(decimal(\"10.0\")) }"));
        assert!(sensitive("when { resource.observed_at < datetime(\"2026-01-01\") }"));
        assert!(sensitive("when { resource.source == Caveat::Source::\"ais\" }"));
        assert!(sensitive("when { resource == Caveat::Report::\"019a5f0e-8c00-7000-8000-000000000001\" }"));
        assert!(sensitive("when { resource is Caveat::Report }"));
        assert!(sensitive(
            "when { Caveat::Report::\"019a5f0e-8c00-7000-8000-000000000001\".observed_at < datetime(\"2026-01-01\") }"
        ));
        let schema = crate::encode::schema().unwrap();
        let scoped =
            "forbid (principal, action, resource == Caveat::Report::\"019a5f0e-8c00-7000-8000-000000000001\");";
        assert!(compile(&"GBR".parse().unwrap(), scoped, &schema).unwrap().report_sensitive);
    }

    #[test]
    fn shape_skips_strings_and_comments() {
        let s = shape("// ((((( &&&&\nforbid (principal, action, resource) when { \"((&&\\\"((\" == \"x\" };");
        assert_eq!(s.depth, 1);
        assert_eq!(s.operators, 2);
        let s = shape(
            "forbid (principal, action, resource) when { context has case && principal in context.case.participants };",
        );
        assert_eq!(s.operators, 1 + 2 + 1 + 2);
    }
}
