//! The JSON Schema in `schemas/report.schema.json` describes what the parser accepts.

use caveat_core::{Marking, Report, VesselDescriptors, VesselType};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let text = include_str!("../../../../schemas/report.schema.json");
    let schema: Value = serde_json::from_str(text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

#[test]
fn shipped_examples_match_the_schema() {
    let v = validator();
    let examples = include_str!("../../../../examples/reports.ndjson");
    for (n, line) in examples.lines().enumerate() {
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(errors(&v, &value), Vec::<String>::new(), "examples/reports.ndjson line {}", n + 1);
    }
}

#[test]
fn stored_reports_match_the_schema() {
    let v = validator();
    let full = Report::builder()
        .vessel(VesselDescriptors {
            mmsi: Some("338123456".parse().unwrap()),
            imo: Some("9074729".parse().unwrap()),
            name: Some("SEA ROVER".into()),
            flag: Some("PA".parse().unwrap()),
            vessel_type: Some(VesselType::GoFast),
            engines: Some(3),
            ..VesselDescriptors::default()
        })
        .remarks("seen twice")
        .marking(Marking::builder().to(&["CAN"]).no_export().requires_case().build())
        .build();
    let corrected = Report::builder().supersedes(full.id).build();
    for r in [full, corrected] {
        let value = serde_json::to_value(&r).unwrap();
        assert_eq!(errors(&v, &value), Vec::<String>::new(), "{value}");
    }
}

#[test]
fn schema_rejects_what_the_parser_rejects() {
    let v = validator();
    let bad = [
        r#"{"observed_at":"2026-11-20T03:14:00Z","position":{"lat":91,"lon":0},"uncertainty_m":1,"source":"ais"}"#,
        r#"{"observed_at":"2026-11-20T03:14:00Z","position":{"lat":1,"lon":0},"uncertainty_m":0,"source":"ais"}"#,
        r#"{"observed_at":"2026-11-20T03:14:00Z","position":{"lat":1,"lon":0},"uncertainty_m":1,"source":"sonar"}"#,
        r#"{"observed_at":"2026-11-20T03:14:00Z","position":{"lat":1,"lon":0},"uncertainty_m":1,"source":"ais","vessel":{"mmsi":"12345"}}"#,
        r#"{"observed_at":"2026-11-20T03:14:00Z","position":{"lat":1,"lon":0},"uncertainty_m":1,"source":"ais","colour":"red"}"#,
        r#"{"position":{"lat":1,"lon":0},"uncertainty_m":1,"source":"ais"}"#,
    ];
    for line in bad {
        let value: Value = serde_json::from_str(line).unwrap();
        assert!(!v.is_valid(&value), "schema accepted {line}");
    }
}
