//! The issue's adversarial cases: every one must deny.

use caveat_core::{Marking, Purpose, Report};
use caveat_policy::{Action, Effect, Error, Policies};
use time::Duration;

use crate::fixture::*;

fn gbr_report(marking: Marking) -> Report {
    Report::builder().originator("GBR").marking(marking).build()
}

fn releasable_to_can() -> Marking {
    Marking::builder().to(&["CAN"]).purposes(&[Purpose::Interdiction]).build()
}

#[test]
fn baseline_marking_permits_exactly_its_grant() {
    let policies = Policies::new().unwrap();
    let d = ask("CAN").decide(&policies, &gbr_report(releasable_to_can()));
    assert_permitted(&d);
    assert_eq!(why(&d), ["marking"]);
}

#[test]
fn purpose_not_granted() {
    let policies = Policies::new().unwrap();
    let d = ask("CAN").purpose(Purpose::Prosecution).decide(&policies, &gbr_report(releasable_to_can()));
    assert_denied_by(&d, "marking/purpose");
}

#[test]
fn partner_not_in_releasable_to() {
    let policies = Policies::new().unwrap();
    let d = ask("FRA").decide(&policies, &gbr_report(releasable_to_can()));
    assert_denied_by(&d, "marking/releasable-to");
}

#[test]
fn marking_expired_a_second_ago() {
    let policies = Policies::new().unwrap();
    let expired = Marking { not_after: Some(NOW - Duration::seconds(1)), ..releasable_to_can() };
    assert_denied_by(&ask("CAN").decide(&policies, &gbr_report(expired)), "marking/not-after");
    let at_the_instant = Marking { not_after: Some(NOW), ..releasable_to_can() };
    assert_denied_by(&ask("CAN").decide(&policies, &gbr_report(at_the_instant)), "marking/not-after");
    let a_millisecond_left = Marking { not_after: Some(NOW + Duration::milliseconds(1)), ..releasable_to_can() };
    assert_permitted(&ask("CAN").decide(&policies, &gbr_report(a_millisecond_left)));
}

#[test]
fn sub_millisecond_expiry_rounds_towards_deny() {
    let policies = Policies::new().unwrap();
    // not-after 0.4 ms after now: Cedar sees both at the same millisecond, so denies.
    let m = Marking { not_after: Some(NOW + Duration::microseconds(400)), ..releasable_to_can() };
    assert_denied_by(&ask("CAN").decide(&policies, &gbr_report(m)), "marking/not-after");
}

#[test]
fn suspension_between_two_requests_of_one_session() {
    let mut policies = Policies::new().unwrap();
    let reports: Vec<Report> = (0..10).map(|_| gbr_report(releasable_to_can())).collect();
    let session = ask("CAN");
    let first = policies.decide(&session.request(), &reports).unwrap();
    assert_eq!(first.permitted().count(), 10);

    let (id, change) = policies.suspend(&p("GBR"), Some(partners(&["CAN"])), None, "possible leak", NOW).unwrap();
    assert_eq!(change.version(), policies.version());
    let second = policies.decide(&session.request(), &reports).unwrap();
    assert_eq!(second.permitted().count(), 0);
    assert_denied_by(second.get(9).unwrap(), &format!("suspension/{id}"));

    policies.resume(&p("GBR"), id, NOW).unwrap();
    assert_eq!(policies.decide(&session.request(), &reports).unwrap().permitted().count(), 10);
}

#[test]
fn suspension_by_purpose_spares_other_purposes() {
    let mut policies = Policies::new().unwrap();
    let m = Marking::builder().to(&["CAN"]).purposes(&[Purpose::Interdiction, Purpose::SearchAndRescue]).build();
    let r = gbr_report(m);
    policies.suspend(&p("GBR"), None, Some([Purpose::Interdiction].into()), "legal review", NOW).unwrap();
    assert_eq!(ask("CAN").decide(&policies, &r).effect, Effect::Deny);
    assert_permitted(&ask("CAN").purpose(Purpose::SearchAndRescue).decide(&policies, &r));
}

#[test]
fn requires_case_with_no_case_a_closed_case_or_another_partners_case() {
    let policies = Policies::new().unwrap();
    let r =
        gbr_report(Marking::builder().to(&["CAN", "NLD"]).purposes(&[Purpose::Interdiction]).requires_case().build());
    assert_denied_by(&ask("CAN").decide(&policies, &r), "marking/requires-case");
    let closed = case(1, "CAN", &[], false);
    assert_denied_by(&ask("CAN").case(closed).decide(&policies, &r), "marking/requires-case");
    let nld_case = case(2, "NLD", &["USA-USCG"], true);
    assert_denied_by(&ask("CAN").case(nld_case.clone()).decide(&policies, &r), "marking/requires-case");
    // The same open case permits its participants.
    assert_permitted(&ask("NLD").case(nld_case).decide(&policies, &r));
    assert_permitted(&ask("CAN").case(case(3, "NLD", &["CAN"], true)).decide(&policies, &r));
}

#[test]
fn standing_policy_that_tries_to_permit_another_originators_reports() {
    let mut policies = Policies::new().unwrap();
    let text = r#"@id("open-can")
permit (principal, action, resource) when { resource.originator == Caveat::Partner::"CAN" };"#;
    let err = policies.upload(&p("GBR"), text, NOW).unwrap_err();
    match &err {
        Error::OutOfScope { originator, policy, part } => {
            assert_eq!(originator.as_str(), "GBR");
            assert_eq!(policy, "open-can");
            assert!(part.contains("permit"), "{part}");
        }
        other => panic!("wrong error {other:?}"),
    }
    assert_eq!(policies.version().get(), 0, "a rejected upload changes nothing");
    // And CAN's originator-only report stays denied to GBR.
    let can_report = Report::builder().originator("CAN").marking(Marking::originator_only()).build();
    assert_denied_by(&ask("GBR").decide(&policies, &can_report), "marking/releasable-to");
}

#[test]
fn standing_forbid_naming_another_originator_is_rejected() {
    let mut policies = Policies::new().unwrap();
    let text = r#"forbid (principal, action, resource) when { resource.originator == Caveat::Partner::"CAN" };"#;
    let err = policies.upload(&p("GBR"), text, NOW).unwrap_err();
    assert!(
        matches!(&err, Error::OutOfScope { policy, part, .. } if policy == "#1" && part.contains("CAN")),
        "{err:?}"
    );
}

#[test]
fn a_blanket_standing_forbid_touches_only_the_uploaders_reports() {
    let mut policies = Policies::new().unwrap();
    policies.upload(&p("GBR"), r#"@id("nothing") forbid (principal, action, resource);"#, NOW).unwrap();
    let gbr = gbr_report(releasable_to_can());
    let nld = Report::builder().originator("NLD").marking(releasable_to_can()).build();
    assert_denied_by(&ask("CAN").decide(&policies, &gbr), "standing/GBR/nothing");
    assert_permitted(&ask("CAN").decide(&policies, &nld));
    // GBR itself still uses its own reports.
    assert_eq!(why(&ask("GBR").decide(&policies, &gbr)), ["originator"]);
}

#[test]
fn user_of_one_partner_acting_as_another() {
    let policies = Policies::new().unwrap();
    let r = gbr_report(releasable_to_can());
    // FRA's user claims to act for CAN, which the marking would permit.
    let d = ask("FRA").acting_for("CAN").decide(&policies, &r);
    assert_denied_by(&d, "acting-as");
    // Even a GBR user acting for CAN cannot use GBR's own report as CAN.
    assert_denied_by(&ask("GBR").acting_for("CAN").decide(&policies, &r), "acting-as");
}

#[test]
fn export_of_a_no_export_report() {
    let policies = Policies::new().unwrap();
    let r = gbr_report(Marking::builder().to(&["CAN"]).purposes(&[Purpose::Interdiction]).no_export().build());
    assert_denied_by(&ask("CAN").action(Action::Export).decide(&policies, &r), "marking/no-export");
    assert_permitted(&ask("CAN").action(Action::Read).decide(&policies, &r));
    assert_permitted(&ask("GBR").action(Action::Export).decide(&policies, &r));
}

#[test]
fn policy_text_with_unknown_attributes_is_rejected_on_upload() {
    let mut policies = Policies::new().unwrap();
    let text = r#"@id("ok") forbid (principal in Caveat::Partner::"FRA", action, resource);
@id("typo") forbid (principal, action, resource) when { resource.classification == "secret" };"#;
    let err = policies.upload(&p("GBR"), text, NOW).unwrap_err();
    match &err {
        Error::Schema { policy, message, .. } => {
            assert_eq!(policy, "typo");
            assert!(message.contains("classification"), "{message}");
        }
        other => panic!("wrong error {other:?}"),
    }
    let misspelt_purpose =
        r#"forbid (principal, action, resource) when { context.purpose == Caveat::Purpose::"strike" };"#;
    assert!(matches!(policies.upload(&p("GBR"), misspelt_purpose, NOW), Err(Error::Schema { .. })));
    assert_eq!(policies.version().get(), 0);
}

#[test]
fn cite_needs_an_open_case_and_audit_is_the_originators() {
    let policies = Policies::new().unwrap();
    let r = gbr_report(releasable_to_can());
    assert_denied_by(&ask("CAN").action(Action::Cite).decide(&policies, &r), "cite/requires-case");
    assert_permitted(&ask("CAN").action(Action::Cite).case(case(4, "CAN", &[], true)).decide(&policies, &r));
    assert_denied_by(&ask("CAN").action(Action::Audit).decide(&policies, &r), "audit/originator-only");
    assert_permitted(&ask("GBR").action(Action::Audit).decide(&policies, &r));
}

#[test]
fn originator_keeps_its_own_reports_through_its_own_suspension() {
    let mut policies = Policies::new().unwrap();
    policies.suspend(&p("GBR"), None, None, "all sharing paused", NOW).unwrap();
    let r = gbr_report(Marking::originator_only());
    assert_eq!(why(&ask("GBR").action(Action::Export).decide(&policies, &r)), ["originator"]);
    assert!(matches!(
        policies.suspend(&p("GBR"), Some(partners(&["GBR"])), None, "x", NOW),
        Err(Error::SelfSuspension { .. })
    ));
}

#[test]
fn region_policy_is_decided_per_report_not_per_class() {
    let mut policies = Policies::new().unwrap();
    let text = r#"@id("bvi")
forbid (principal, action, resource) when {
  resource.position.lat.greaterThanOrEqual(decimal("18.0")) && resource.position.lat.lessThanOrEqual(decimal("19.0")) &&
  resource.position.lon.greaterThanOrEqual(decimal("-65.0")) && resource.position.lon.lessThanOrEqual(decimal("-64.0"))
};"#;
    policies.upload(&p("GBR"), text, NOW).unwrap();
    assert!(policies.reads_report_details(&p("GBR")));
    let m = releasable_to_can();
    let inside = Report::builder().marking(m.clone()).position(18.45, -64.6).build();
    let outside = Report::builder().marking(m).position(12.0, -70.0).build();
    let request = ask("CAN").request();
    let decisions = policies.decide(&request, &[outside.clone(), inside, outside]).unwrap();
    assert_eq!(decisions.permitted().collect::<Vec<_>>(), [0, 2]);
    assert_denied_by(decisions.get(1).unwrap(), "standing/GBR/bvi");
    assert_eq!(decisions.cedar_evaluations(), 3);
}

#[test]
fn one_cedar_evaluation_per_marking_class() {
    let policies = Policies::new().unwrap();
    let a = releasable_to_can();
    let b = Marking::builder().to(&["CAN"]).purposes(&[Purpose::Interdiction]).no_export().build();
    let reports: Vec<Report> = (0..100).map(|i| gbr_report(if i % 3 == 0 { a.clone() } else { b.clone() })).collect();
    let decisions = policies.decide(&ask("CAN").request(), &reports).unwrap();
    assert_eq!(decisions.len(), 100);
    assert_eq!(decisions.cedar_evaluations(), 2);
    assert_eq!(decisions.permitted().count(), 100);
}

#[test]
fn unrepresentable_report_is_denied_alone() {
    let policies = Policies::new().unwrap();
    let good = gbr_report(releasable_to_can());
    let mut bad = good.clone();
    bad.position.lat = f64::NAN;
    let decisions = policies.decide(&ask("CAN").request(), &[bad.clone(), good.clone()]).unwrap();
    assert_denied_by(decisions.get(0).unwrap(), "report/unrepresentable");
    assert!(decisions.is_permitted(1));
    assert_eq!(policies.decide_one(&ask("CAN").request(), &bad).unwrap(), *decisions.get(0).unwrap());
}
