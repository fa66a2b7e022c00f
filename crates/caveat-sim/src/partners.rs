//! The partners of the eastern Caribbean scenario and their default markings.

use std::collections::BTreeSet;

use caveat_core::{Marking, Partner, PartnerId, Purpose};

/// Every partner id the scenario uses.
pub const PARTNER_IDS: [&str; 6] = ["CAN", "FRA", "GBR", "JIATFS", "NLD", "USA-USCG"];

pub(crate) fn pid(s: &str) -> PartnerId {
    #[expect(clippy::expect_used, reason = "literal ids of PARTNER_IDS, all valid; a unit test parses each")]
    s.parse().expect("literal partner id")
}

fn marking(to: &[&str], purposes: &[Purpose], no_export: bool) -> Marking {
    Marking {
        releasable_to: to.iter().map(|p| pid(p)).collect::<BTreeSet<_>>(),
        purposes: purposes.iter().copied().collect(),
        not_after: None,
        requires_case: false,
        no_export,
    }
}

/// The six partners, with plausible standing markings:
///
/// | partner | releasable to | purposes | export |
/// | --- | --- | --- | --- |
/// | GBR | CAN FRA JIATFS NLD USA-USCG | interdiction, SAR, maritime-safety | yes |
/// | NLD | FRA GBR JIATFS USA-USCG (not CAN) | interdiction, SAR, maritime-safety, monitoring | yes |
/// | FRA | GBR JIATFS NLD USA-USCG | interdiction, SAR | no |
/// | CAN | FRA GBR JIATFS NLD USA-USCG | interdiction, SAR, monitoring | yes |
/// | USA-USCG | everyone | interdiction, SAR, maritime-safety, prosecution; its AIS feed: every purpose | yes |
/// | JIATFS | everyone | interdiction only | no |
///
/// So a CAN analyst with purpose `interdiction` sees GBR's radar, and with
/// `monitoring` does not; CAN never sees NLD's radar; tips are for interdiction only.
pub fn caribbean_partners() -> Vec<Partner> {
    use Purpose::{Interdiction, MaritimeSafety, Monitoring, Prosecution, SearchAndRescue};
    let everyone_but = |me: &str| PARTNER_IDS.iter().copied().filter(move |p| *p != me).collect::<Vec<_>>();
    vec![
        Partner {
            id: pid("GBR"),
            name: "Royal Navy and UK Overseas Territories (United Kingdom)".into(),
            default_marking: marking(&everyone_but("GBR"), &[Interdiction, SearchAndRescue, MaritimeSafety], false),
            ais_marking: None,
        },
        Partner {
            id: pid("NLD"),
            name: "Dutch Caribbean Coast Guard (Kingdom of the Netherlands)".into(),
            default_marking: marking(
                &["FRA", "GBR", "JIATFS", "USA-USCG"],
                &[Interdiction, SearchAndRescue, MaritimeSafety, Monitoring],
                false,
            ),
            ais_marking: None,
        },
        Partner {
            id: pid("FRA"),
            name: "Forces armées aux Antilles (France)".into(),
            default_marking: marking(&["GBR", "JIATFS", "NLD", "USA-USCG"], &[Interdiction, SearchAndRescue], true),
            ais_marking: None,
        },
        Partner {
            id: pid("CAN"),
            name: "Royal Canadian Air Force, Operation CARIBBE (Canada)".into(),
            default_marking: marking(&everyone_but("CAN"), &[Interdiction, SearchAndRescue, Monitoring], false),
            ais_marking: None,
        },
        Partner {
            id: pid("USA-USCG"),
            name: "United States Coast Guard, District Seven".into(),
            default_marking: marking(
                &everyone_but("USA-USCG"),
                &[Interdiction, SearchAndRescue, MaritimeSafety, Prosecution],
                false,
            ),
            ais_marking: Some(marking(&everyone_but("USA-USCG"), &Purpose::ALL, false)),
        },
        Partner {
            id: pid("JIATFS"),
            name: "Joint Interagency Task Force South".into(),
            default_marking: marking(&everyone_but("JIATFS"), &[Interdiction], true),
            ais_marking: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use caveat_core::SourceKind;
    use time::macros::datetime;

    #[test]
    fn ids_parse_and_partners_validate() {
        for p in PARTNER_IDS {
            assert!(p.parse::<PartnerId>().is_ok(), "{p}");
        }
        let partners = caribbean_partners();
        assert_eq!(partners.len(), PARTNER_IDS.len());
        for p in &partners {
            p.validate().unwrap();
            assert!(!p.default_marking.releasable_to.contains(&p.id), "{} releases to itself", p.id);
        }
    }

    #[test]
    fn can_sees_gbr_for_interdiction_only() {
        let partners = caribbean_partners();
        let gbr = partners.iter().find(|p| p.id.as_str() == "GBR").unwrap();
        let m = gbr.marking_for(SourceKind::CoastalRadar);
        let t = datetime!(2022-01-03 1:00 UTC);
        assert!(m.grants(&pid("CAN"), Purpose::Interdiction, t));
        assert!(!m.grants(&pid("CAN"), Purpose::Monitoring, t));
        let uscg = partners.iter().find(|p| p.id.as_str() == "USA-USCG").unwrap();
        assert!(uscg.marking_for(SourceKind::Ais).grants(&pid("CAN"), Purpose::Monitoring, t));
    }
}
