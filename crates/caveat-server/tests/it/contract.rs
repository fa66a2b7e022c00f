//! The HTTP contract is one: the OpenAPI document is generated from the
//! code, the checked-in copy (`docs/openapi.json`, which the web app's types
//! are generated from) is that document, responses conform to it, and every
//! list of purposes says exactly `Purpose::ALL`.

use std::sync::LazyLock;

use caveat_core::Purpose;
use caveat_server::{ApiError, ErrorCode};
use serde_json::{Value, json};

/// The document as the server serves it.
static DOC: LazyLock<Value> = LazyLock::new(|| serde_json::from_str(&caveat_server::openapi_json()).unwrap());

fn repo_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Fails unless `body` is what the document says `method path` answers with
/// `status` (that status's response, else `default`), as JSON.
pub(crate) fn check(method: &str, path: &str, status: u16, body: &Value) {
    let responses = &DOC["paths"][path][method]["responses"];
    assert!(responses.is_object(), "the document has no operation {method} {path}");
    let mut response = responses.get(status.to_string()).unwrap_or(&responses["default"]).clone();
    if let Some(r) = response["$ref"].as_str() {
        let name = r.strip_prefix("#/components/responses/").unwrap();
        response = DOC["components"]["responses"][name].clone();
    }
    let content = response["content"].as_object().cloned().unwrap_or_default();
    let json = content.iter().find(|(media, _)| *media == "application/json" || media.ends_with("+json"));
    let schema =
        &json.unwrap_or_else(|| panic!("{method} {path} {status}: the document gives no JSON body")).1["schema"];
    let root = json!({ "components": DOC["components"], "allOf": [schema] });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap();
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{method} {path} {status} does not conform to the document: {errors:#?}\n{body:#}");
}

/// `docs/openapi.json` is what the code generates. Regenerate it with
/// `cargo run -q -p caveat-server --example openapi > docs/openapi.json`
/// (then `npm run gen:api` in web/ for the web app's types).
#[test]
fn the_checked_in_document_is_the_generated_one() {
    let checked_in = repo_file("docs/openapi.json");
    assert!(
        checked_in == caveat_server::openapi_json(),
        "docs/openapi.json is stale: run `cargo run -q -p caveat-server --example openapi > docs/openapi.json` \
         and `npm run gen:api` in web/, and commit both"
    );
}

/// Every `$ref` of the document names something in it (a schema only a
/// parameter uses is not collected with the routes: it must be listed in
/// `openapi.rs`).
#[test]
fn every_reference_resolves() {
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                for (k, x) in map {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(x, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&DOC, &mut all);
    assert!(all.len() > 100);
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{r}: not a local reference"));
        assert!(DOC.pointer(pointer).is_some(), "{r} resolves to nothing");
    }
}

fn names(purposes: impl IntoIterator<Item = Purpose>) -> Vec<String> {
    purposes.into_iter().map(|p| p.as_str().to_owned()).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}")).iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

/// Adding a purpose touches `Purpose` and the Cedar schema; everything else
/// that lists purposes is derived from `Purpose::ALL` or fails here.
#[test]
fn every_list_of_purposes_is_purpose_all() {
    let all = names(Purpose::ALL);
    // The JSON Schema of a report (hand-written): a marking's purposes.
    let schema: Value = serde_json::from_str(&repo_file("schemas/report.schema.json")).unwrap();
    assert_eq!(
        strings(&schema["$defs"]["marking"]["properties"]["purposes"]["items"]["enum"]),
        all,
        "report.schema.json"
    );
    // The OpenAPI document: the Purpose schema, which the Caveat-Purpose header and markings use.
    assert_eq!(strings(&DOC["components"]["schemas"]["Purpose"]["enum"]), all, "openapi Purpose");
    let tracks = DOC["paths"]["/v1/tracks"]["get"]["parameters"].as_array().unwrap();
    let header = tracks.iter().find(|p| p["name"] == "Caveat-Purpose").unwrap();
    assert_eq!(header["schema"]["$ref"], "#/components/schemas/Purpose");
    assert_eq!(header["in"], "header");
    let marking = &DOC["components"]["schemas"]["Marking"]["properties"]["purposes"]["items"]["$ref"];
    assert_eq!(marking, "#/components/schemas/Purpose");
    // The checked-in copy too (the web app's types come from it).
    let checked_in: Value = serde_json::from_str(&repo_file("docs/openapi.json")).unwrap();
    assert_eq!(strings(&checked_in["components"]["schemas"]["Purpose"]["enum"]), all, "docs/openapi.json");
    // The error a request without a purpose gets: "...: a, b, c or d".
    let message = ApiError::PurposeRequired.to_string();
    let (_, list) = message.rsplit_once(": ").unwrap();
    let listed: Vec<String> = list.replace(" or ", ", ").split(", ").map(str::to_owned).collect();
    assert_eq!(listed, all, "{message}");
    // The Cedar schema's Purpose entity (caveat-policy), written by hand like the JSON Schema.
    let cedar = repo_file("crates/caveat-policy/src/caveat.cedarschema");
    let line = cedar.lines().find(|l| l.trim_start().starts_with("entity Purpose enum")).unwrap();
    let list = line.split_once('[').unwrap().1.split_once(']').unwrap().0;
    let cedar: Vec<String> = list.split(',').map(|s| s.trim().trim_matches('"').to_owned()).collect();
    assert_eq!(cedar, all, "caveat.cedarschema");
}

/// The document lists exactly the codes the server sends, and each code its one status.
#[test]
fn the_documented_error_codes_are_the_servers() {
    let codes: Vec<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(strings(&DOC["components"]["schemas"]["ErrorCode"]["enum"]), codes);
    for code in ErrorCode::ALL {
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
    }
}
