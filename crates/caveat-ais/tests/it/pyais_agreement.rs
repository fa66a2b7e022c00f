//! Every field of every supported message in the shipped real recordings is
//! compared with pyais's decoding (`tests/data/pyais_expected.tsv.gz`, see
//! `tests/data/provenance.md`). Disagreements are listed by sentence; the only
//! ones allowed are in `tests/data/known_disagreements.tsv`, each with the
//! clause of ITU-R M.1371-5 that makes pyais's answer wrong.

use std::collections::{BTreeMap, BTreeSet};

use caveat_ais::{Error, FeedConfig, FeedDecoder, Message, RateOfTurn, Type24Tail};

use crate::fixture::{data_dir, gunzip, lines, recordings};

fn b(v: bool) -> String {
    u8::from(v).to_string()
}

/// pyais's ROT presentation: ±127 and -128 as they are, otherwise the rate
/// rounded (half to even) to whole degrees per minute, as a float.
fn turn(r: RateOfTurn) -> String {
    match r {
        RateOfTurn::RightOver5PerHalfMinute => "127.0".into(),
        RateOfTurn::LeftOver5PerHalfMinute => "-127.0".into(),
        RateOfTurn::NotAvailable => "-128.0".into(),
        RateOfTurn::DegreesPerMinute(x) => format!("{:.1}", x.round_ties_even()),
    }
}

/// Our decoding in the fixture's column order (see bench/ais/gen_expected.py).
fn columns(m: &Message) -> Vec<String> {
    let dims = |d: caveat_ais::ShipDimensions| {
        vec![d.to_bow.to_string(), d.to_stern.to_string(), d.to_port.to_string(), d.to_starboard.to_string()]
    };
    let mut v: Vec<String> = vec![m.mmsi().to_string()];
    match m {
        Message::Position(p) => v.extend([
            p.nav_status.to_string(),
            turn(p.rate_of_turn()),
            p.sog_raw.to_string(),
            b(p.accuracy),
            p.coordinates.lon_raw.to_string(),
            p.coordinates.lat_raw.to_string(),
            p.cog_raw.to_string(),
            p.heading_raw.to_string(),
            p.second.to_string(),
            p.maneuver.to_string(),
            b(p.raim),
            p.radio.to_string(),
        ]),
        Message::BaseStation(p) => v.extend([
            p.year.to_string(),
            p.month.to_string(),
            p.day.to_string(),
            p.hour.to_string(),
            p.minute.to_string(),
            p.second.to_string(),
            b(p.accuracy),
            p.coordinates.lon_raw.to_string(),
            p.coordinates.lat_raw.to_string(),
            p.epfd.to_string(),
            b(p.raim),
            p.radio.to_string(),
        ]),
        Message::StaticVoyage(s) => {
            v.extend([
                s.ais_version.to_string(),
                s.imo.to_string(),
                s.call_sign.to_string(),
                s.name.to_string(),
                s.ship_type.to_string(),
            ]);
            v.extend(dims(s.dimensions));
            v.extend([
                s.epfd.to_string(),
                s.eta_month.to_string(),
                s.eta_day.to_string(),
                s.eta_hour.to_string(),
                s.eta_minute.to_string(),
                s.draught_raw.to_string(),
                s.destination.to_string(),
                b(s.dte),
            ]);
        }
        Message::ClassBPosition(p) => v.extend([
            p.reserved_1.to_string(),
            p.sog_raw.to_string(),
            b(p.accuracy),
            p.coordinates.lon_raw.to_string(),
            p.coordinates.lat_raw.to_string(),
            p.cog_raw.to_string(),
            p.heading_raw.to_string(),
            p.second.to_string(),
            p.reserved_2.to_string(),
            b(p.cs),
            b(p.display),
            b(p.dsc),
            b(p.band),
            b(p.msg22),
            b(p.assigned),
            b(p.raim),
            p.radio.to_string(),
        ]),
        Message::ClassBExtended(p) => {
            v.extend([
                p.reserved_1.to_string(),
                p.sog_raw.to_string(),
                b(p.accuracy),
                p.coordinates.lon_raw.to_string(),
                p.coordinates.lat_raw.to_string(),
                p.cog_raw.to_string(),
                p.heading_raw.to_string(),
                p.second.to_string(),
                p.reserved_2.to_string(),
                p.name.to_string(),
                p.ship_type.to_string(),
            ]);
            v.extend(dims(p.dimensions));
            v.extend([p.epfd.to_string(), b(p.raim), b(p.dte), b(p.assigned)]);
        }
        Message::AidToNavigation(a) => {
            v.extend([
                a.aid_type.to_string(),
                a.name.to_string(),
                b(a.accuracy),
                a.coordinates.lon_raw.to_string(),
                a.coordinates.lat_raw.to_string(),
            ]);
            v.extend(dims(a.dimensions));
            v.extend([
                a.epfd.to_string(),
                a.second.to_string(),
                b(a.off_position),
                a.reserved_1.to_string(),
                b(a.raim),
                b(a.virtual_aid),
                b(a.assigned),
                a.name_extension.to_string(),
            ]);
        }
        Message::StaticDataA(a) => v.extend(["A".to_string(), a.name.to_string()]),
        Message::StaticDataB(p) => {
            v.extend([
                "B".to_string(),
                p.ship_type.to_string(),
                p.vendor_id.to_string(),
                p.model.to_string(),
                p.serial.to_string(),
                p.call_sign.to_string(),
            ]);
            match p.tail {
                Type24Tail::MothershipMmsi(m) => v.extend(["M".to_string(), m.to_string()]),
                Type24Tail::Dimensions(d) => {
                    v.push("D".to_string());
                    v.extend(dims(d));
                }
            }
        }
        Message::LongRange(p) => v.extend([
            b(p.accuracy),
            b(p.raim),
            p.nav_status.to_string(),
            p.coordinates.lon_raw.to_string(),
            p.coordinates.lat_raw.to_string(),
            p.sog_raw.to_string(),
            p.cog_raw.to_string(),
            b(p.gnss),
        ]),
    }
    v
}

/// What one side said about the message completed on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Decoded { msg_type: String, bits: String, fields: Vec<String> },
    Unsupported(String),
    Refused(String),
}

fn expected() -> BTreeMap<(String, u64), Outcome> {
    let text = String::from_utf8(gunzip("pyais_expected.tsv.gz")).unwrap();
    let mut map = BTreeMap::new();
    for row in text.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = row.split('\t').collect();
        let key = (cols[0].to_string(), cols[1].parse().unwrap());
        let outcome = match cols[2] {
            "E" => Outcome::Refused(cols[4].to_string()),
            t if t.starts_with('U') => Outcome::Unsupported(t[1..].to_string()),
            t => Outcome::Decoded {
                msg_type: t.to_string(),
                bits: cols[3].to_string(),
                fields: cols[4..].iter().map(|s| (*s).to_string()).collect(),
            },
        };
        map.insert(key, outcome);
    }
    map
}

fn ours() -> BTreeMap<(String, u64), Outcome> {
    let mut map = BTreeMap::new();
    for (name, data) in recordings() {
        let mut feed = FeedDecoder::new(FeedConfig::default());
        for line in lines(&data) {
            let before = feed.stats().unsupported_by_type;
            let result = feed.push_line(line);
            let key = (name.clone(), feed.stats().lines);
            match result {
                Ok(Some(d)) => {
                    map.insert(
                        key,
                        Outcome::Decoded {
                            msg_type: d.message.msg_type().to_string(),
                            bits: String::new(),
                            fields: columns(&d.message),
                        },
                    );
                }
                Ok(None) => {
                    let after = feed.stats().unsupported_by_type;
                    if let Some(t) = (0..64).find(|&t| after[t] != before[t]) {
                        map.insert(key, Outcome::Unsupported(t.to_string()));
                    }
                }
                Err(e @ (Error::TooShort { .. } | Error::Type24Part { .. })) => {
                    map.insert(key, Outcome::Refused(e.to_string()));
                }
                Err(_) => {}
            }
        }
    }
    map
}

fn field_names(msg_type: &str) -> &'static [&'static str] {
    match msg_type {
        "1" | "2" | "3" => &[
            "mmsi", "status", "turn", "speed", "accuracy", "lon", "lat", "course", "heading", "second", "maneuver",
            "raim", "radio",
        ],
        "4" => &[
            "mmsi", "year", "month", "day", "hour", "minute", "second", "accuracy", "lon", "lat", "epfd", "raim",
            "radio",
        ],
        "5" => &[
            "mmsi",
            "ais_version",
            "imo",
            "callsign",
            "shipname",
            "ship_type",
            "to_bow",
            "to_stern",
            "to_port",
            "to_starboard",
            "epfd",
            "month",
            "day",
            "hour",
            "minute",
            "draught",
            "destination",
            "dte",
        ],
        _ => &[],
    }
}

fn describe(key: &(String, u64), theirs: Option<&Outcome>, mine: Option<&Outcome>) -> String {
    if let (Some(Outcome::Decoded { msg_type, fields: t, .. }), Some(Outcome::Decoded { fields: m, .. })) =
        (theirs, mine)
    {
        let names = field_names(msg_type);
        let diffs: Vec<String> = t
            .iter()
            .zip(m)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("{}: pyais {a:?} caveat {b:?}", names.get(i).copied().unwrap_or("col")))
            .collect();
        return format!("{}:{} type {msg_type}: {}", key.0, key.1, diffs.join("; "));
    }
    format!("{}:{}: pyais {theirs:?} caveat {mine:?}", key.0, key.1)
}

fn known() -> BTreeSet<(String, u64)> {
    let text = std::fs::read_to_string(data_dir().join("known_disagreements.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[0].to_string(), c[1].parse().unwrap())
        })
        .collect()
}

#[test]
fn every_field_agrees_with_pyais_except_documented_cases() {
    let theirs = expected();
    let mine = ours();
    assert!(theirs.len() > 34_000, "fixture has {} messages", theirs.len());
    let keys: BTreeSet<&(String, u64)> = theirs.keys().chain(mine.keys()).collect();
    let mut disagreements = BTreeMap::new();
    let mut compared_fields = 0usize;
    for key in keys {
        let (t, m) = (theirs.get(key), mine.get(key));
        let same = match (t, m) {
            (
                Some(Outcome::Decoded { msg_type: a, fields: fa, .. }),
                Some(Outcome::Decoded { msg_type: b, fields: fb, .. }),
            ) => {
                compared_fields += fa.len();
                a == b && fa == fb
            }
            (Some(Outcome::Unsupported(a)), Some(Outcome::Unsupported(b))) => a == b,
            // pyais raises on an invalid type 24 part number or an unknown type; we refuse or count it unsupported.
            (Some(Outcome::Refused(_)), Some(Outcome::Refused(_) | Outcome::Unsupported(_))) => true,
            _ => false,
        };
        if !same {
            disagreements.insert(key.clone(), describe(key, t, m));
        }
    }
    assert!(compared_fields > 400_000, "compared {compared_fields} fields");
    eprintln!(
        "pyais agreement: {} messages, {compared_fields} fields compared, {} disagreements (all documented)",
        theirs.len(),
        disagreements.len()
    );
    let found: BTreeSet<(String, u64)> = disagreements.keys().cloned().collect();
    let allowed = known();
    let unexplained: Vec<&String> =
        disagreements.iter().filter(|(k, _)| !allowed.contains(*k)).map(|(_, v)| v).collect();
    let stale: Vec<&(String, u64)> = allowed.difference(&found).collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "{} unexplained disagreements:\n{}\nlisted but no longer disagreeing: {stale:?}",
        unexplained.len(),
        unexplained.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
}
