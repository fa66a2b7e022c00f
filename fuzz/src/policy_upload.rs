//! Property: any uploaded text is either refused with a typed error, or accepted
//! as policies that can only deny, and only over the uploader's own reports:
//! for every probe request and report, a decision with the upload differs from
//! the decision without it only by turning a permit on a GBR report by another
//! partner into a deny.

use std::collections::BTreeSet;

use caveat_core::{
    CaseId, Marking, PartnerId, Position, Purpose, Report, ReportIdMint, SourceKind, User, VesselDescriptors, ViewKey,
};
use caveat_policy::{Action, CaseFacts, Effect, Policies, Request};
use time::macros::datetime;

fn pid(s: &str) -> PartnerId {
    s.parse().unwrap()
}

thread_local! {
    /// The policies before any upload, made once per process: `Policies::new`
    /// is the same every time and parsing its schema and base policies was
    /// most of a run's time (about 23 runs a second here without this).
    static FRESH: Policies = Policies::new().unwrap();
}

/// The property; see the module's documentation.
pub fn policy_upload(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = datetime!(2026-11-23 12:00 UTC);
    let before = FRESH.with(Policies::clone);
    let mut after = before.clone();
    if after.upload(&pid("GBR"), text, now).is_err() {
        assert_eq!(after.version(), before.version(), "a refused upload changed the state");
        return;
    }
    let mut mint = ReportIdMint::new(1_795_000_000_000, [3; 10]);
    let open_marking = Marking {
        releasable_to: ["CAN", "NLD", "GBR"].iter().map(|p| pid(p)).collect(),
        purposes: Purpose::ALL.into_iter().collect(),
        not_after: None,
        requires_case: false,
        no_export: false,
    };
    let reports: Vec<Report> = ["GBR", "CAN", "NLD"]
        .iter()
        .map(|o| Report {
            id: mint.next_id(),
            originator: pid(o),
            observed_at: datetime!(2026-11-23 11:00 UTC),
            time_uncertainty_s: None,
            position: Position { lat: 18.45, lon: -64.6 },
            uncertainty_m: 100.0,
            course_deg: None,
            speed_kn: None,
            source: SourceKind::Vessel,
            vessel: VesselDescriptors::default(),
            remarks: None,
            marking: open_marking.clone(),
            supersedes: None,
            station: None,
        })
        .collect();
    let case = CaseFacts {
        id: CaseId::from_bytes([1; 16]),
        open: true,
        lead: pid("CAN"),
        participants: BTreeSet::from([pid("GBR"), pid("NLD")]),
    };
    for asker in ["GBR", "CAN", "NLD"] {
        let user = User { id: "fuzz@hub".parse().unwrap(), partner: pid(asker), roles: BTreeSet::new() };
        for action in Action::ALL {
            for purpose in [Purpose::Interdiction, Purpose::Prosecution] {
                let view = ViewKey::new(pid(asker), purpose, Some(case.id));
                let request = Request::new(&user, view, action, Some(case.clone()), now).unwrap();
                let was = before.decide(&request, &reports).unwrap();
                let is = after.decide(&request, &reports).unwrap();
                for (i, r) in reports.iter().enumerate() {
                    let (w, n) = (was.get(i).unwrap(), is.get(i).unwrap());
                    let own_by_other = r.originator.as_str() == "GBR" && asker != "GBR";
                    if own_by_other {
                        assert!(n.effect == w.effect || n.effect == Effect::Deny, "upload granted {action} to {asker}");
                    } else {
                        assert_eq!(
                            n, w,
                            "upload changed a decision outside its scope: {asker} {action} on {}",
                            r.originator
                        );
                    }
                    assert_eq!(n, &after.decide_one(&request, r).unwrap(), "cache disagrees with Cedar");
                }
            }
        }
    }
}
