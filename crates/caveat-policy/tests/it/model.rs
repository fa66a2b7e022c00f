//! A small reference model: the rules read as plain Rust, and the scenario
//! generator that the property tests share.

use std::collections::{BTreeMap, BTreeSet};

use caveat_core::{Marking, PartnerId, Purpose, Report};
use caveat_policy::{Action, CaseFacts, Policies, SuspensionId};
use proptest::prelude::*;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::fixture::*;

pub(crate) const PARTNERS: [&str; 4] = ["GBR", "CAN", "NLD", "FRA"];
pub(crate) const PURPOSES: [Purpose; 3] = [Purpose::Interdiction, Purpose::SearchAndRescue, Purpose::Monitoring];

/// One standing forbid from a family whose meaning the model knows.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    Partner(usize),
    Purpose(usize),
    Region { lat0: i32, lat1: i32, lon0: i32, lon1: i32 },
    ObservedBefore(i64),
    RequestFrom(i64),
    Action(Action),
    NoExportMarked,
}

impl Rule {
    fn text(&self) -> String {
        let head = "forbid (principal, action, resource)";
        match self {
            Rule::Partner(i) => {
                format!("forbid (principal in Caveat::Partner::\"{}\", action, resource);", PARTNERS[*i])
            }
            Rule::Purpose(i) => format!("{head} when {{ context.purpose == Caveat::Purpose::\"{}\" }};", PURPOSES[*i]),
            Rule::Region { lat0, lat1, lon0, lon1 } => format!(
                "{head} when {{ resource.position.lat.greaterThanOrEqual(decimal(\"{lat0}.0\")) && \
                 resource.position.lat.lessThanOrEqual(decimal(\"{lat1}.0\")) && \
                 resource.position.lon.greaterThanOrEqual(decimal(\"{lon0}.0\")) && \
                 resource.position.lon.lessThanOrEqual(decimal(\"{lon1}.0\")) }};"
            ),
            Rule::ObservedBefore(h) => {
                format!(
                    "{head} when {{ resource.observed_at < datetime(\"{}\") }};",
                    rfc3339(NOW - Duration::hours(*h))
                )
            }
            Rule::RequestFrom(m) => {
                format!("{head} when {{ context.time >= datetime(\"{}\") }};", rfc3339(NOW + Duration::minutes(*m)))
            }
            Rule::Action(a) => format!("forbid (principal, action == Caveat::Action::\"{a}\", resource);"),
            Rule::NoExportMarked => format!("{head} when {{ resource.no_export }};"),
        }
    }

    fn forbids(&self, partner: &PartnerId, purpose: Purpose, action: Action, at: OffsetDateTime, r: &Report) -> bool {
        match self {
            Rule::Partner(i) => partner.as_str() == PARTNERS[*i],
            Rule::Purpose(i) => purpose == PURPOSES[*i],
            Rule::Region { lat0, lat1, lon0, lon1 } => {
                (f64::from(*lat0)..=f64::from(*lat1)).contains(&r.position.lat)
                    && (f64::from(*lon0)..=f64::from(*lon1)).contains(&r.position.lon)
            }
            Rule::ObservedBefore(h) => r.observed_at < NOW - Duration::hours(*h),
            Rule::RequestFrom(m) => at >= NOW + Duration::minutes(*m),
            Rule::Action(a) => action == *a,
            Rule::NoExportMarked => r.marking.no_export,
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// A state change the scenario applies.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Upload(usize, Vec<Rule>),
    Suspend(usize, Option<Vec<usize>>, Option<Vec<usize>>),
    /// Resume the n-th suspension still active (modulo how many are).
    Resume(usize),
}

/// (id, originator, partners, purposes, active)
type ModelSuspension = (SuspensionId, PartnerId, Option<BTreeSet<PartnerId>>, Option<BTreeSet<Purpose>>, bool);

#[derive(Debug, Default)]
pub(crate) struct Model {
    standing: BTreeMap<PartnerId, Vec<Rule>>,
    suspensions: Vec<ModelSuspension>,
}

impl Model {
    /// Applies `op` to both the model and the real policies.
    pub(crate) fn apply(&mut self, op: &Op, policies: &mut Policies) {
        match op {
            Op::Upload(o, rules) => {
                let text: Vec<String> = rules.iter().map(Rule::text).collect();
                policies.upload(&p(PARTNERS[*o]), &text.join("\n"), NOW).unwrap();
                self.standing.insert(p(PARTNERS[*o]), rules.clone());
            }
            Op::Suspend(o, who, what) => {
                let originator = p(PARTNERS[*o]);
                let who: Option<BTreeSet<PartnerId>> = who
                    .as_ref()
                    .map(|w| w.iter().map(|i| p(PARTNERS[*i])).filter(|x| x != &originator).collect())
                    .filter(|s: &BTreeSet<PartnerId>| !s.is_empty());
                let what: Option<BTreeSet<Purpose>> = what.as_ref().map(|w| w.iter().map(|i| PURPOSES[*i]).collect());
                let (id, _) = policies.suspend(&originator, who.clone(), what.clone(), "scenario", NOW).unwrap();
                self.suspensions.push((id, originator, who, what, true));
            }
            Op::Resume(n) => {
                let active: Vec<usize> = (0..self.suspensions.len()).filter(|i| self.suspensions[*i].4).collect();
                if !active.is_empty() {
                    let s = &mut self.suspensions[active[n % active.len()]];
                    policies.resume(&s.1, s.0, NOW).unwrap();
                    s.4 = false;
                }
            }
        }
    }

    /// The rules, read plainly.
    pub(crate) fn permits(&self, a: &Ask, r: &Report) -> bool {
        let partner = &a.user.partner;
        if &a.acting_for != partner {
            return false;
        }
        let case_ok = a.case.as_ref().is_some_and(|c: &CaseFacts| c.open && c.takes_part(partner));
        if a.action == Action::Cite && !case_ok {
            return false;
        }
        if &r.originator == partner {
            return true;
        }
        let m: &Marking = &r.marking;
        let ms = |t: OffsetDateTime| t.unix_timestamp_nanos().div_euclid(1_000_000);
        let grant = a.action != Action::Audit
            && m.releasable_to.contains(partner)
            && m.purposes.contains(&a.purpose)
            && m.not_after.is_none_or(|t| ms(a.at) < ms(t))
            && (!m.requires_case || case_ok)
            && !(a.action == Action::Export && m.no_export);
        let suspended = self.suspensions.iter().any(|(_, o, who, what, active)| {
            *active
                && o == &r.originator
                && who.as_ref().is_none_or(|w| w.contains(partner))
                && what.as_ref().is_none_or(|w| w.contains(&a.purpose))
        });
        let standing = self
            .standing
            .get(&r.originator)
            .is_some_and(|rules| rules.iter().any(|x| x.forbids(partner, a.purpose, a.action, a.at, r)));
        grant && !suspended && !standing
    }
}

fn subset<T: Copy>(items: &[T], mask: u8) -> Vec<T> {
    items.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, x)| *x).collect()
}

fn rule() -> impl Strategy<Value = Rule> {
    prop_oneof![
        (0..4usize).prop_map(Rule::Partner),
        (0..3usize).prop_map(Rule::Purpose),
        (10..18i32, 0..4i32, -70..-62i32, 0..4i32).prop_map(|(lat0, dl, lon0, dn)| Rule::Region {
            lat0,
            lat1: lat0 + dl,
            lon0,
            lon1: lon0 + dn
        }),
        (0..48i64).prop_map(Rule::ObservedBefore),
        (-3..3i64).prop_map(Rule::RequestFrom),
        prop::sample::select(Action::ALL.to_vec()).prop_map(Rule::Action),
        Just(Rule::NoExportMarked),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let idx = |n: usize| prop::collection::vec(0..n, 1..3);
    prop_oneof![
        (0..4usize, prop::collection::vec(rule(), 0..3)).prop_map(|(o, r)| Op::Upload(o, r)),
        (0..4usize, prop::option::of(idx(4)), prop::option::of(idx(3))).prop_map(|(o, w, u)| Op::Suspend(o, w, u)),
        (0..8usize).prop_map(Op::Resume),
    ]
}

fn marking() -> impl Strategy<Value = Marking> {
    (0..16u8, 0..8u8, prop::option::of(-180_000..180_000i64), any::<bool>(), any::<bool>()).prop_map(
        |(to, purposes, not_after_ms, requires_case, no_export)| Marking {
            releasable_to: subset(&PARTNERS, to).into_iter().map(p).collect(),
            purposes: subset(&PURPOSES, purposes).into_iter().collect(),
            // Sometimes a sub-millisecond offset, to probe rounding.
            not_after: not_after_ms.map(|ms| NOW + Duration::milliseconds(ms) + Duration::microseconds(ms % 3 * 300)),
            requires_case,
            no_export,
        },
    )
}

fn report(markings: usize) -> impl Strategy<Value = (usize, usize, i32, i32, i64)> {
    (0..4usize, 0..markings, 0..20i32, 0..20i32, 0..48i64)
}

fn ask_strategy() -> impl Strategy<Value = Ask> {
    (
        0..4usize,
        prop::option::weighted(0.1, 0..4usize),
        0..3usize,
        prop::sample::select(Action::ALL.to_vec()),
        prop::option::of((0..4usize, 0..16u8, any::<bool>())),
        -4..4i64,
    )
        .prop_map(|(u, other, purpose, action, c, minutes)| {
            let mut a = ask(PARTNERS[u]).purpose(PURPOSES[purpose]).action(action).at(NOW + Duration::minutes(minutes));
            if let Some(o) = other {
                a = a.acting_for(PARTNERS[o]);
            }
            if let Some((lead, mask, open)) = c {
                a = a.case(case(7, PARTNERS[lead], &subset(&PARTNERS, mask), open));
            }
            a
        })
}

/// Random state changes, a few reports sharing a few marking classes, and requests.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) ops: Vec<Op>,
    pub(crate) reports: Vec<Report>,
    pub(crate) asks: Vec<Ask>,
}

impl std::fmt::Debug for Ask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}->{} {} {} case={:?} at={}",
            self.user.partner, self.acting_for, self.purpose, self.action, self.case, self.at
        )
    }
}

pub(crate) fn scenario() -> impl Strategy<Value = Scenario> {
    (prop::collection::vec(marking(), 1..6), prop::collection::vec(op(), 0..6)).prop_flat_map(|(markings, ops)| {
        let n = markings.len();
        (
            Just(ops),
            prop::collection::vec(report(n), 1..24).prop_map(move |rs| {
                rs.into_iter()
                    .map(|(o, m, lat, lon, h)| {
                        Report::builder()
                            .originator(PARTNERS[o])
                            .marking(markings[m].clone())
                            .position(10.0 + f64::from(lat) * 0.5, -70.0 + f64::from(lon) * 0.5)
                            .at(NOW - Duration::hours(h))
                            .build()
                    })
                    .collect::<Vec<_>>()
            }),
            prop::collection::vec(ask_strategy(), 1..4),
        )
            .prop_map(|(ops, reports, asks)| Scenario { ops, reports, asks })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every decision, after every state change, equals the plain reading of the rules.
    #[test]
    fn decisions_match_the_reference_model(s in scenario()) {
        let mut policies = Policies::new().unwrap();
        let mut model = Model::default();
        for op in &s.ops {
            model.apply(op, &mut policies);
            // The next request after each change sees it (no stale permit).
            let a = &s.asks[0];
            let decisions = policies.decide(&a.request(), &s.reports).unwrap();
            for (i, r) in s.reports.iter().enumerate() {
                prop_assert_eq!(decisions.is_permitted(i), model.permits(a, r), "after {:?}: {:?} on {:?}", op, a, r.marking);
            }
        }
        for a in &s.asks {
            let decisions = policies.decide(&a.request(), &s.reports).unwrap();
            for (i, r) in s.reports.iter().enumerate() {
                prop_assert_eq!(decisions.is_permitted(i), model.permits(a, r), "{:?} on {:?} at {:?}", a, r.marking, r.position);
            }
        }
    }
}
