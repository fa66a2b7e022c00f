//! `caveat ingest` refuses bad input clearly and stores nothing from it.

use crate::{Hub, line, stderr, stdout};

#[test]
fn one_bad_line_among_100_000_stores_nothing() {
    let hub = Hub::new();
    let mut text = String::new();
    for n in 1..=100_000u64 {
        if n == 61_234 {
            text.push_str(&line(n, None).replace(r#""uncertainty_m":120"#, r#""uncertainty_m":-3"#));
        } else {
            text.push_str(&line(n, None));
        }
        text.push('\n');
    }
    let file = hub.write("big.ndjson", &text);
    let out = hub.run(&["ingest", "--as", "GBR", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("line 61234: field `uncertainty_m`: must be greater than 0"), "{err}");
    assert!(err.contains("(got -3)") && err.contains("nothing from this file was stored"), "{err}");
    assert_eq!(hub.count(&[]), 0);

    // The same file without the bad line goes in whole.
    let good = text.replace(r#""uncertainty_m":-3"#, r#""uncertainty_m":3"#);
    let file = hub.write("good.ndjson", good);
    let out = hub.run(&["ingest", "--as", "GBR", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ingested 100000 reports from"), "{}", stdout(&out));
    assert_eq!(hub.count(&[]), 100_000);
}

/// Each bad input: non-zero exit, a message naming what and where, nothing stored.
#[test]
fn bad_inputs_are_clear_errors_and_store_nothing() {
    let hub = Hub::new();
    let ok = hub.write("ok.ndjson", format!("{}\n{}\n", line(1, None), line(2, None)));
    assert!(hub.run(&["ingest", "--as", "GBR", ok.to_str().unwrap()]).status.success());
    let before = hub.count(&[]);

    let full = line(10, None);
    let dup_message = format!("line 2: field `id`: already stored (as {})", crate::stored_id(1, "GBR"));
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("empty", Vec::new(), "GBR", "no reports in the file"),
        ("blank", b"\n\n  \n".to_vec(), "GBR", "no reports in the file"),
        (
            "truncated",
            format!("{}\n{}", line(11, None), &full[..full.len() - 20]).into_bytes(),
            "GBR",
            "line 2: truncated JSON",
        ),
        (
            "not-utf8",
            [line(12, None).as_bytes(), b"\n{\"remarks\":\"\xc3\x28\"}\n"].concat(),
            "GBR",
            "line 2: not valid UTF-8",
        ),
        (
            "mismatch",
            format!("{}\n", line(13, Some("CAN"))).into_bytes(),
            "GBR",
            "line 1: field `originator`: report says CAN but it is submitted as GBR",
        ),
        (
            "dup-in-file",
            format!("{}\n{}\n{}\n", line(14, None), line(15, None), line(14, None)).into_bytes(),
            "GBR",
            "line 3: field `id`",
        ),
        ("dup-in-store", format!("{}\n{}\n", line(16, None), line(1, None)).into_bytes(), "GBR", &dup_message),
        ("unknown-partner", format!("{}\n", line(17, None)).into_bytes(), "XYZ", "unknown partner XYZ"),
        ("bad-partner-id", format!("{}\n", line(18, None)).into_bytes(), "gbr", "partner ids are"),
        (
            "unknown-field",
            line(19, None).replace("\"source\"", "\"sauce\"").into_bytes(),
            "GBR",
            "unknown field `sauce`",
        ),
    ];
    for (name, contents, who, want) in cases {
        let file = hub.write(&format!("{name}.ndjson"), contents);
        let out = hub.run(&["ingest", "--as", who, file.to_str().unwrap()]);
        assert!(!out.status.success(), "{name} succeeded");
        let err = stderr(&out);
        assert!(err.contains(want), "{name}: {err:?} should contain {want:?}");
        assert_eq!(hub.count(&[]), before, "{name} stored something");
    }
    let out = hub.run(&["ingest", "--as", "GBR", "missing.ndjson"]);
    assert!(stderr(&out).contains("reading missing.ndjson"), "{}", stderr(&out));
}

#[test]
fn reports_filters_by_area_and_originator() {
    let hub = Hub::new();
    let gbr = hub.write("g.ndjson", (1..=50).map(|n| line(n, None) + "\n").collect::<String>());
    let can = hub.write("c.ndjson", (51..=60).map(|n| line(n, Some("CAN")) + "\n").collect::<String>());
    assert!(hub.run(&["ingest", "--as", "GBR", gbr.to_str().unwrap()]).status.success());
    assert!(hub.run(&["ingest", "--as", "CAN", can.to_str().unwrap()]).status.success());
    assert_eq!(hub.count(&[]), 60);
    assert_eq!(hub.count(&["--originator", "CAN"]), 10);
    // lat = 15 + n/100: n in 1..=50 gives 15.01..15.50; 15.2..15.3 holds n = 20..=30.
    assert_eq!(hub.count(&["--bbox", "-65,15.195,-64,15.305"]), 11);
    let out = hub.run(&["reports", "--json", "--originator", "CAN", "--limit", "3"]);
    assert_eq!(stdout(&out).lines().count(), 3);
    let out = hub.run(&["reports", "--bbox", "1,2,3"]);
    assert!(stderr(&out).contains("expected 4 numbers"), "{}", stderr(&out));
}

#[test]
fn nmea_feeds_become_ais_reports_with_a_summary() {
    let hub = Hub::new();
    let feed = concat!(
        "\\c:1641168000*54\\!AIVDM,2,1,0,A,533WmR02D3w<tphD000<j0<tq@TLt00000000016;AJ@@4000IP000000000,0*37\n",
        "\\c:1641168000*54\\!AIVDM,2,2,0,A,00000000000,2*24\n",
        "\\c:1641168000*54\\!AIVDM,1,1,,A,133WmR0P1aISghtA8Mh6dmL1P000,0*50\n",
        "!AIVDM,1,1,,A,133WmR0P1aISghtA8Mh6dmL1P000,0*51\n",
        "garbage line\n",
    );
    let file = hub.write("feed.nmea", feed);
    let out = hub.run(&["ingest", "--as", "GBR", "--format", "nmea", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("type 1: 1") && err.contains("type 5: 1") && err.contains("1 bad checksum"), "{err}");
    assert_eq!(hub.count(&["--source", "ais"]), 1);
    let json = stdout(&hub.run(&["reports", "--json"]));
    let report: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(report["observed_at"], "2022-01-03T00:00:00Z");
    assert_eq!(report["vessel"]["mmsi"], "205125000");
    assert!(report["vessel"]["name"].is_string(), "identity from the type 5 message: {report}");
}

#[test]
fn transparency_report_lists_uses_of_an_originators_data() {
    let hub = Hub::new();
    let file = hub.write("g.ndjson", (1..=3).map(|n| line(n, None) + "\n").collect::<String>());
    assert!(hub.run(&["ingest", "--as", "GBR", file.to_str().unwrap()]).status.success());
    let check = hub.run(&["policy", "check", "--as", "FRA", "--purpose", "monitoring", &crate::stored_id(1, "GBR")]);
    assert!(stdout(&check).contains("DENY"), "{}", stdout(&check));
    let out = hub.run(&["report", "transparency", "--partner", "GBR", "--out", "t.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("transparency report for GBR"), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(hub.path("t.json")).unwrap()).unwrap();
    assert!(json["proof"]["checkpoint"].is_string());
    // The operator's check was a decision too, and FRA's denied use is listed.
    assert!(json["denied"].as_array().unwrap().iter().any(|l| l["partner"] == "FRA"), "{json}");
}

/// `caveat reports --json | head -1`: the reader leaves early, and the command
/// stops quietly with success instead of panicking on the closed pipe.
#[test]
fn a_reader_that_stops_early_ends_the_listing_quietly() {
    use std::io::Read as _;
    let hub = Hub::new();
    let text: String = (1..=3_000u64).map(|n| line(n, None) + "\n").collect();
    let file = hub.write("some.ndjson", &text);
    assert!(hub.run(&["ingest", "--as", "GBR", file.to_str().unwrap()]).status.success());
    for args in [&["reports", "--json", "--limit", "3000"][..], &["reports", "--limit", "3000"][..]] {
        let mut child = hub
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe closes
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
