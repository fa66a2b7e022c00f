//! Versioned state: serialization, replay in another process, refusals.

use caveat_core::Purpose;
use caveat_policy::{Error, Policies, PolicyState, SuspensionId};

use crate::fixture::*;

fn busy_policies() -> (Policies, Vec<caveat_policy::PolicyChange>) {
    let mut policies = Policies::new().unwrap();
    let mut log = Vec::new();
    log.push(
        policies
            .upload(&p("GBR"), r#"@id("no-fra") forbid (principal in Caveat::Partner::"FRA", action, resource);"#, NOW)
            .unwrap(),
    );
    let (id, change) =
        policies.suspend(&p("NLD"), None, Some([Purpose::Prosecution].into()), "court order", NOW).unwrap();
    log.push(change);
    log.push(policies.suspend(&p("GBR"), Some(partners(&["CAN"])), None, "leak", NOW).unwrap().1);
    log.push(policies.resume(&p("NLD"), id, NOW).unwrap());
    (policies, log)
}

#[test]
fn every_change_bumps_the_version_by_one() {
    let (policies, log) = busy_policies();
    let versions: Vec<u64> = log.iter().map(|c| c.version().get()).collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    assert_eq!(policies.version().get(), 4);
    assert_eq!(policies.state().active_suspensions().count(), 1);
    assert_eq!(policies.state().suspensions().count(), 2);
}

#[test]
fn state_round_trips_through_json() {
    let (policies, _) = busy_policies();
    let json = serde_json::to_string(policies.state()).unwrap();
    let state: PolicyState = serde_json::from_str(&json).unwrap();
    let reloaded = Policies::from_state(state).unwrap();
    assert_eq!(reloaded.state(), policies.state());
    assert!(reloaded.state().is_suspended(&p("GBR"), &p("CAN"), Purpose::Interdiction));
}

#[test]
fn another_process_replays_the_change_log() {
    let (policies, log) = busy_policies();
    let mut other = Policies::new().unwrap();
    for change in &log {
        let json = serde_json::to_string(change).unwrap();
        other.apply(&serde_json::from_str(&json).unwrap()).unwrap();
    }
    assert_eq!(other.state(), policies.state());
    // Replaying a change twice, or skipping one, is refused.
    assert!(matches!(other.apply(&log[3]), Err(Error::VersionGap { .. })));
    let mut fresh = Policies::new().unwrap();
    assert!(matches!(fresh.apply(&log[1]), Err(Error::VersionGap { .. })));
    assert_eq!(fresh.version().get(), 0);
}

#[test]
fn resume_refusals() {
    let (mut policies, _) = busy_policies();
    assert!(matches!(policies.resume(&p("GBR"), SuspensionId::from(99), NOW), Err(Error::UnknownSuspension { .. })));
    assert!(matches!(policies.resume(&p("CAN"), SuspensionId::from(3), NOW), Err(Error::NotYourSuspension { .. })));
    assert!(matches!(policies.resume(&p("NLD"), SuspensionId::from(2), NOW), Err(Error::AlreadyResumed { .. })));
    assert!(matches!(
        policies.suspend(&p("GBR"), Some(partners(&[])), None, "x", NOW),
        Err(Error::EmptySuspension { .. })
    ));
    assert!(matches!(policies.suspend(&p("GBR"), None, None, "", NOW), Err(Error::Reason { .. })));
    assert_eq!(policies.version().get(), 4);
}

#[test]
fn a_tampered_state_is_refused_on_load() {
    let (policies, _) = busy_policies();
    let mut json: serde_json::Value = serde_json::to_value(policies.state()).unwrap();
    json["standing"]["GBR"]["text"] = serde_json::Value::String("permit (principal, action, resource);".into());
    let state: PolicyState = serde_json::from_value(json).unwrap();
    assert!(matches!(Policies::from_state(state), Err(Error::OutOfScope { .. })));
}

#[test]
fn policies_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Policies>();
    shareable::<PolicyState>();
}

#[test]
fn a_state_whose_version_is_behind_its_suspensions_is_refused() {
    let (policies, _) = busy_policies();
    let mut json: serde_json::Value = serde_json::to_value(policies.state()).unwrap();
    json["version"] = serde_json::Value::from(1);
    let state: PolicyState = serde_json::from_value(json).unwrap();
    assert!(matches!(Policies::from_state(state), Err(Error::Engine { .. })));
}
