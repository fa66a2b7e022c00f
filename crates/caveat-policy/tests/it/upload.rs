//! Standing policy uploads: what is accepted, what is refused and why.

use caveat_policy::{Error, MAX_STANDING_BYTES, MAX_STANDING_DEPTH, MAX_STANDING_OPERATORS, Policies, PolicyId};

use crate::fixture::*;

#[test]
fn accepted_policies_are_named_and_scoped() {
    let mut policies = Policies::new().unwrap();
    let text = r#"
@id("no-fra") forbid (principal in Caveat::Partner::"FRA", action, resource);
forbid (principal, action == Caveat::Action::"export", resource);
"#;
    let ids = policies.check_standing(&p("GBR"), text).unwrap();
    assert_eq!(ids.iter().map(PolicyId::as_str).collect::<Vec<_>>(), ["standing/GBR/no-fra", "standing/GBR/#2"]);
    assert_eq!(policies.version().get(), 0, "check changes nothing");
    let change = policies.upload(&p("GBR"), text, NOW).unwrap();
    assert_eq!(change.version().get(), 1);
    let scoped = policies.policy_text(&ids[0]).unwrap();
    assert!(scoped.contains(r#"resource.originator == Caveat::Partner::"GBR""#), "{scoped}");
    assert!(scoped.contains(r#"principal in Caveat::Partner::"GBR""#), "{scoped}");
    assert!(!policies.reads_report_details(&p("GBR")));
    assert_eq!(policies.state().standing(&p("GBR")).unwrap().text, text);
}

#[test]
fn empty_text_clears() {
    let mut policies = Policies::new().unwrap();
    policies.upload(&p("GBR"), r#"@id("x") forbid (principal, action, resource);"#, NOW).unwrap();
    policies.upload(&p("GBR"), "  ", NOW).unwrap();
    assert!(policies.state().standing(&p("GBR")).is_none());
    assert!(
        policies
            .policy_text(
                &policies.check_standing(&p("GBR"), r#"@id("x") forbid (principal, action, resource);"#).unwrap()[0]
            )
            .is_none()
    );
    assert_eq!(policies.version().get(), 2);
}

#[test]
fn refusals_name_the_policy_and_the_part() {
    let policies = Policies::new().unwrap();
    let gbr = p("GBR");
    let cases: [(&str, &str); 5] = [
        ("forbid (principal, action, resource", "Parse"),
        ("@id(\"t\") forbid (principal, action, resource == ?resource);", "OutOfScope"),
        ("@id(\"Bad Name\") forbid (principal, action, resource);", "PolicyName"),
        (
            "@id(\"a\") forbid (principal, action, resource);\n@id(\"a\") forbid (principal, action, resource);",
            "PolicyName",
        ),
        ("forbid (principal, action, resource) when { context.time > 3 };", "Schema"),
    ];
    for (text, kind) in cases {
        let err = policies.check_standing(&gbr, text).unwrap_err();
        assert!(format!("{err:?}").starts_with(kind), "{text}: {err:?}");
        assert!(err.to_string().contains("GBR"), "{err}");
    }
    let t = policies.check_standing(&gbr, "@id(\"t\") forbid (principal, action, resource == ?resource);").unwrap_err();
    assert!(t.to_string().contains("template"), "{t}");
}

#[test]
fn size_and_depth_limits() {
    let policies = Policies::new().unwrap();
    let big = format!("forbid (principal, action, resource);{}", " ".repeat(MAX_STANDING_BYTES));
    assert!(matches!(policies.check_standing(&p("GBR"), &big), Err(Error::TooLarge { .. })));
    let deep = format!("forbid (principal, action, resource) when {{ {}true{} }};", "(".repeat(100), ")".repeat(100));
    assert!(matches!(policies.check_standing(&p("GBR"), &deep), Err(Error::TooDeep { depth: 101, .. })));
    // Brackets inside strings and comments do not count.
    let quoted = format!(
        "// {}\nforbid (principal, action, resource) when {{ \"{}\" == \"x\" }};",
        "(".repeat(100),
        "[".repeat(100)
    );
    assert!(policies.check_standing(&p("GBR"), &quoted).is_ok());
}

#[test]
fn long_flat_expressions_are_refused_before_cedar_sees_them() {
    let policies = Policies::new().unwrap();
    for op in [" + ", " && ", " || ", "."] {
        let chain = vec!["1"; 500].join(op);
        let text = format!("forbid (principal, action, resource) when {{ {chain} }};");
        assert!(matches!(policies.check_standing(&p("GBR"), &text), Err(Error::TooComplex { .. })), "{op}");
    }
}

#[test]
fn the_most_complex_accepted_policy_validates_and_decides() {
    let mut policies = Policies::new().unwrap();
    // 15 brackets deep (the condition's braces make 16), 96 operator characters.
    let chain = vec!["context.purpose == Caveat::Purpose::\"prosecution\""; 19].join(" && ");
    assert_eq!(chain.matches(['.', '=', '&']).count(), 19 * 3 + 18 * 2);
    let text = format!(
        "forbid (principal, action, resource) when {{ {}{chain}{} }};",
        "(".repeat(MAX_STANDING_DEPTH - 1),
        ")".repeat(MAX_STANDING_DEPTH - 1)
    );
    policies.upload(&p("GBR"), &text, NOW).unwrap();
    let report = caveat_core::Report::builder().build();
    assert_permitted(&ask("CAN").decide(&policies, &report));
    let chain = vec!["true"; MAX_STANDING_OPERATORS / 2 + 2].join(" && ");
    let text = format!("forbid (principal, action, resource) when {{ {chain} }};");
    assert!(matches!(policies.check_standing(&p("GBR"), &text), Err(Error::TooComplex { .. })));
}

/// The fuzz target's property on a hand-made corpus: an accepted upload can
/// only turn permits on the uploader's reports for other partners into denies.
#[test]
fn accepted_uploads_only_deny_and_only_over_the_uploaders_reports() {
    use caveat_core::{Marking, Purpose, Report};
    use caveat_policy::{Action, Effect};
    let corpus = [
        "forbid (principal, action, resource);",
        "forbid (principal, action, resource) unless { resource.originator == Caveat::Partner::\"GBR\" };",
        "forbid (principal, action, resource) unless { principal in Caveat::Partner::\"GBR\" };",
        "forbid (principal, action, resource) when { !(resource.originator == Caveat::Partner::\"GBR\") };",
        "forbid (principal in Caveat::Partner::\"GBR\", action, resource);",
        "forbid (principal, action, resource) when { resource.source == Caveat::Source::\"vessel\" || context.time > datetime(\"2000-01-01\") };",
        "forbid (principal, action, resource) when { context has case && context.case.lead == Caveat::Partner::\"CAN\" };",
    ];
    let marking = Marking::builder().to(&["CAN", "NLD", "GBR"]).purposes(&Purpose::ALL).build();
    let reports: Vec<Report> = ["GBR", "CAN", "NLD"]
        .iter()
        .map(|o| Report::builder().originator(o).marking(marking.clone()).build())
        .collect();
    let before = Policies::new().unwrap();
    for text in corpus {
        let mut after = Policies::new().unwrap();
        after.upload(&p("GBR"), text, NOW).unwrap();
        for asker in ["GBR", "CAN", "NLD"] {
            for action in Action::ALL {
                let a = ask(asker).action(action).case(case(5, "CAN", &["NLD", "GBR"], true));
                let (was, is) =
                    (before.decide(&a.request(), &reports).unwrap(), after.decide(&a.request(), &reports).unwrap());
                for (i, r) in reports.iter().enumerate() {
                    let (w, n) = (was.get(i).unwrap(), is.get(i).unwrap());
                    if r.originator.as_str() == "GBR" && asker != "GBR" {
                        assert!(
                            n.effect == w.effect || n.effect == Effect::Deny,
                            "{text}: granted {action} to {asker}"
                        );
                    } else {
                        assert_eq!(n, w, "{text}: changed {asker} {action} on {}", r.originator);
                    }
                }
            }
        }
    }
}
