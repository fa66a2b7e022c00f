//! `Picture::tracks_shared` with a memo returns exactly what `tracks` does,
//! read after read, whatever the arrival order and however many reports are
//! late, removed or re-inserted between reads.

use caveat_fusion::{FusionConfig, Picture, TrackMemo};
use proptest::prelude::*;

use crate::scenario::{self, Spec};

proptest! {
    #![proptest_config(ProptestConfig { cases: scenario::cases(16), ..ProptestConfig::default() })]

    #[test]
    fn shared_tracks_equal_fresh_tracks_at_every_read(
        seed in any::<u64>(),
        shuffle in any::<u64>(),
        read_every in 3usize..60,
        remove_every in 0usize..40,
    ) {
        let sc = scenario::generate(seed, &Spec { vessels: 5, minutes: 3, ..Spec::default() });
        let mut reports = sc.reports.clone();
        // A deterministic shuffle of part of the stream: some reports arrive late.
        let mut x = shuffle | 1;
        for i in (1..reports.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 4 == 0 {
                reports.swap(i, (x as usize) % (i + 1));
            }
        }
        let cfg = FusionConfig::default();
        let mut picture = Picture::new(cfg.clone());
        let mut memo = TrackMemo::default();
        for (k, r) in reports.iter().enumerate() {
            picture.insert(r).unwrap();
            if remove_every > 0 && k % remove_every == remove_every - 1 {
                let victim = reports[k / 2].id;
                picture.remove(&victim);
                if k % 2 == 0 {
                    picture.insert(&reports[k / 2]).unwrap();
                }
            }
            if k % read_every == 0 {
                let shared: Vec<_> = picture.tracks_shared(&mut memo).into_iter().map(|t| (*t).clone()).collect();
                prop_assert_eq!(shared, picture.tracks());
            }
        }
        let shared: Vec<_> = picture.tracks_shared(&mut memo).into_iter().map(|t| (*t).clone()).collect();
        prop_assert_eq!(shared, picture.tracks());
    }
}
