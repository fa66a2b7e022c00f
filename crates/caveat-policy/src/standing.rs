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
use time::OffsetDateTime;

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
    /// The instants at which a decision under these policies may change with
    /// the request time alone (each `context.time` comparison with a literal
    /// `T` flips at `T` or `T + 1 ms`): a view decided before one of them is
    /// valid only until it.
    pub(crate) moments: BTreeSet<OffsetDateTime>,
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
    let mut moments = BTreeSet::new();
    let mut checked_later = Vec::new();
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
        checked_later.push((name.clone(), est.clone()));
        report_sensitive |= reads_beyond_class(&est);
        let id = cedar::PolicyId::new(format!("standing/{originator}/{name}"));
        let scoped = scope(p, &est, id, &scope_text, &scope_est)?;
        policies.push(scoped);
    }
    validate(originator, &policies, schema)?;
    // After validation, so a type error is reported as one.
    for (name, est) in &checked_later {
        if let Some(user) = names_user(est) {
            return Err(Error::OutOfScope {
                originator: originator.clone(),
                policy: name.clone(),
                part: format!(
                    "names the user {user}; a standing policy may distinguish partners (`principal in Caveat::Partner::\"X\"`), \
                         not users, because every user of a partner shares that partner's view (its tracks are fused once per \
                         partner, purpose and case)"
                ),
            });
        }
        time_moments(est.get("conditions").unwrap_or(&Value::Null), &mut moments)
            .map_err(|part| Error::OutOfScope { originator: originator.clone(), policy: name.clone(), part })?;
    }
    Ok(Standing { policies, report_sensitive, moments })
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

/// The first user entity a policy (EST form) names, in its scope or conditions.
///
/// A decision may depend only on what a view key carries (partner, purpose,
/// case) and time: the hub fuses one picture per view key and serves it to
/// every user of the partner. A policy about one user could only be honoured
/// by fusing per user, so it is refused at upload instead.
fn names_user(est: &Value) -> Option<String> {
    let mut found = None;
    walk(est, &mut |obj| {
        if found.is_none()
            && let (Some(t), Some(id)) =
                (obj.get("type").and_then(Value::as_str), obj.get("id").and_then(Value::as_str))
            && (t == "User" || t.ends_with("::User"))
        {
            found = Some(format!("{t}::{:?}", shorten(id)));
        }
    });
    found
}

fn is_context_time(v: &Value) -> bool {
    v.get(".").is_some_and(|d| {
        d.get("left").and_then(|l| l.get("Var")).and_then(Value::as_str) == Some("context")
            && d.get("attr").and_then(Value::as_str) == Some("time")
    })
}

/// The literal of `datetime("...")` in EST form.
fn datetime_literal(v: &Value) -> Option<&str> {
    match v.get("datetime").and_then(Value::as_array).map(Vec::as_slice) {
        Some([arg]) => arg.get("Value").and_then(Value::as_str),
        _ => None,
    }
}

fn is_resource_not_after(v: &Value) -> bool {
    v.get(".").is_some_and(|d| {
        d.get("left").is_some_and(is_resource_var) && d.get("attr").and_then(Value::as_str) == Some("not_after")
    })
}

/// Collects the instants at which the conditions' truth may change with the
/// request time alone, and refuses any use of `context.time` whose change
/// cannot be foreseen.
///
/// Accepted: `context.time` compared (`< <= > >= == !=`) with a `datetime`
/// literal, or with `resource.not_after` (a marking's own expiry, which views
/// already track). Anything else (`context.time.offset(..)`, `.toTime()`,
/// comparison with a report's observation time) would make a decision change
/// at instants no view could know in advance, so it is refused at upload
/// rather than silently ignored by views built earlier.
fn time_moments(v: &Value, moments: &mut BTreeSet<OffsetDateTime>) -> Result<(), String> {
    const COMPARISONS: [&str; 6] = ["<", "<=", ">", ">=", "==", "!="];
    match v {
        Value::Object(obj) => {
            if is_context_time(v) {
                return Err("uses `context.time` other than in a comparison with a datetime literal \
                            (e.g. `context.time > datetime(\"2026-12-01T00:00:00Z\")`) or with \
                            `resource.not_after`: views must know in advance when a decision changes"
                    .into());
            }
            for op in [".", "has"] {
                if let Some(inner) = obj.get(op)
                    && inner.get("left").and_then(|l| l.get("Var")).and_then(Value::as_str) == Some("context")
                {
                    // `context.purpose`, `context has case`, ...: not the time.
                    return Ok(());
                }
            }
            if obj.get("Var").and_then(Value::as_str) == Some("context") {
                return Err("uses `context` as a whole; use its attributes (purpose, acting_for, time, case)".into());
            }
            for op in COMPARISONS {
                let Some(cmp) = obj.get(op) else { continue };
                let (Some(l), Some(r)) = (cmp.get("left"), cmp.get("right")) else { continue };
                for (a, b) in [(l, r), (r, l)] {
                    if !is_context_time(a) {
                        continue;
                    }
                    if is_resource_not_after(b) {
                        return Ok(());
                    }
                    let Some(text) = datetime_literal(b) else { continue };
                    let t = cedar_datetime(text)
                        .ok_or_else(|| format!("datetime literal {:?} is not one the hub can read", shorten(text)))?;
                    moments.insert(t);
                    moments.insert(t + time::Duration::milliseconds(1));
                    return Ok(());
                }
            }
            obj.values().try_for_each(|child| time_moments(child, moments))
        }
        Value::Array(items) => items.iter().try_for_each(|child| time_moments(child, moments)),
        _ => Ok(()),
    }
}

/// A Cedar datetime literal: `YYYY-MM-DD`, or that with `Thh:mm:ss`, optional
/// `.SSS`, and `Z` or `+hhmm`/`-hhmm` (Cedar's RFC: datetime extension).
fn cedar_datetime(text: &str) -> Option<OffsetDateTime> {
    use time::macros::format_description;
    let date = time::Date::parse(text.get(..10)?, format_description!("[year]-[month]-[day]")).ok()?;
    let rest = text.get(10..)?;
    if rest.is_empty() {
        return Some(date.midnight().assume_utc());
    }
    let rest = rest.strip_prefix('T')?;
    let clock = time::Time::parse(rest.get(..8)?, format_description!("[hour]:[minute]:[second]")).ok()?;
    let mut rest = rest.get(8..)?;
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.get(..3)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        millis = digits.parse().ok()?;
        rest = frac.get(3..)?;
    }
    let offset = if rest == "Z" {
        time::UtcOffset::UTC
    } else {
        let sign = match rest.get(..1)? {
            "+" => 1,
            "-" => -1,
            _ => return None,
        };
        let digits = rest.get(1..)?;
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i8 = digits.get(..2)?.parse().ok()?;
        let minutes: i8 = digits.get(2..)?.parse().ok()?;
        time::UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
    };
    Some(time::PrimitiveDateTime::new(date, clock).assume_offset(offset) + time::Duration::milliseconds(millis))
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
    use time::macros::datetime;

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

    fn compiled(text: &str) -> Result<Standing, Error> {
        let schema = crate::encode::schema().unwrap();
        compile(&"GBR".parse().unwrap(), text, &schema)
    }

    /// Issue 14, leak 2: a forbid naming a user would need per-user views; it is refused.
    #[test]
    fn regression_14_policies_naming_a_user_are_refused() {
        for text in [
            "forbid (principal == Caveat::User::\"ana@can\", action, resource);",
            "forbid (principal in Caveat::User::\"ana@can\", action, resource);",
            "forbid (principal, action, resource) when { principal == Caveat::User::\"ana@can\" };",
            "forbid (principal is Caveat::User in Caveat::User::\"x\", action, resource);",
        ] {
            let e = compiled(text).unwrap_err();
            assert!(e.to_string().contains("names the user Caveat::User::"), "{text}: {e}");
        }
        assert!(compiled("forbid (principal in Caveat::Partner::\"CAN\", action, resource);").is_ok());
        assert!(compiled("forbid (principal is Caveat::User, action, resource);").is_ok());
    }

    /// Issue 14, leak 3: time conditions are known instants, or refused.
    #[test]
    fn regression_14_time_conditions_give_their_instants() {
        let s = compiled(
            "forbid (principal, action, resource) when { context.time > datetime(\"2026-12-01T10:00:00.250Z\") };\n\
             forbid (principal, action, resource) when { datetime(\"2026-12-02\") <= context.time };\n\
             forbid (principal, action, resource) when { context.time < datetime(\"2026-12-03T01:00:00+0100\") };\n\
             forbid (principal, action, resource) when { resource has not_after && resource.not_after < context.time };",
        )
        .unwrap();
        let ms = time::Duration::milliseconds(1);
        let want =
            [datetime!(2026-12-01 10:00:00.25 UTC), datetime!(2026-12-02 00:00 UTC), datetime!(2026-12-03 00:00 UTC)];
        let expected: BTreeSet<OffsetDateTime> = want.iter().flat_map(|t| [*t, *t + ms]).collect();
        assert_eq!(s.moments, expected);
        for text in [
            "forbid (principal, action, resource) when { context.time.offset(duration(\"1h\")) > datetime(\"2026-12-01\") };",
            "forbid (principal, action, resource) when { context.time > resource.observed_at };",
            "forbid (principal, action, resource) when { context.time.toTime() > duration(\"18h\") };",
        ] {
            let e = compiled(text).unwrap_err();
            assert!(e.to_string().contains("context.time"), "{text}: {e}");
        }
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
