//! The cache is no loophole: the marking-class answer equals a fresh Cedar call for every report.

use caveat_policy::Policies;
use proptest::prelude::*;

use crate::model::{Model, scenario};

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn cached_answer_equals_fresh_cedar_call(s in scenario()) {
        let mut policies = Policies::new().unwrap();
        let mut model = Model::default();
        for op in &s.ops {
            model.apply(op, &mut policies);
        }
        for a in &s.asks {
            let request = a.request();
            let decisions = policies.decide(&request, &s.reports).unwrap();
            prop_assert_eq!(decisions.len(), s.reports.len());
            for (i, r) in s.reports.iter().enumerate() {
                let fresh = policies.decide_one(&request, r).unwrap();
                prop_assert_eq!(decisions.get(i), Some(&fresh), "report {} of {:?}", i, a);
            }
        }
    }
}
