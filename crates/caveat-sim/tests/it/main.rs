//! Integration tests of caveat-sim through its public API only.

mod metrics;
mod scenario;

use caveat_sim::{Fleet, Scenario, ScenarioConfig};

/// The demo scenario, shortened: the fixture every scenario test starts from.
#[expect(clippy::unwrap_used, reason = "test fixture: a failure here is a failed test")]
pub(crate) fn demo(seed: u64, minutes: i64) -> Scenario {
    let mut c = ScenarioConfig::eastern_caribbean(seed);
    c.duration = time::Duration::minutes(minutes);
    Scenario::generate(c, &Fleet::eastern_caribbean().unwrap()).unwrap()
}
