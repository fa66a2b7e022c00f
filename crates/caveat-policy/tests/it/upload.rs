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
