//! Property: any byte string, read as a watch rule, is refused with a
//! `BadRequest` naming what is at fault (a field or the body), or read; a rule
//! read is then accepted or refused by the checks create and update make, the
//! same way twice, and reading is deterministic. Never a panic, whatever the
//! polygon.

use std::collections::BTreeSet;

use caveat_core::{PartnerId, UserId};
use caveat_hub::{Error, parse_rule, validate_rule};
use caveat_store::RuleOwner;

/// The property; see the module's documentation.
pub fn watch_rule(data: &[u8]) {
    let partner: PartnerId = "GBR".parse().unwrap();
    let user: UserId = "ana@gbr".parse().unwrap();
    let users: BTreeSet<UserId> = [user.clone(), "bob@gbr".parse().unwrap()].into();
    let owner = RuleOwner::User(user);
    let named = |e: &Error| match e {
        Error::BadRequest(m) => assert!(m.starts_with("field `") || m.starts_with("body: "), "{m}"),
        other => panic!("not a bad request: {other:?}"),
    };
    let spec = match parse_rule(data) {
        Ok(spec) => spec,
        Err(e) => return named(&e),
    };
    let verdict = validate_rule(&spec, &partner, &owner, &users);
    let twice = validate_rule(&spec, &partner, &owner, &users);
    assert_eq!(format!("{verdict:?}"), format!("{twice:?}"));
    assert_eq!(parse_rule(data).ok().as_ref(), Some(&spec));
    if let Err(e) = verdict {
        named(&e);
    }
}
