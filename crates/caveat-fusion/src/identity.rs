//! Identity fusion: what a track's reports say about who the vessel is.
//!
//! Identity never decides association on its own. A report must first pass
//! the kinematic gate; only then do matching or conflicting descriptors make
//! the assignment cheaper or dearer. So a spoofed MMSI far from the vessel
//! that really owns it starts a new track instead of merging the two, and a
//! vessel that changes its MMSI mid-track keeps its track but is flagged.

use caveat_core::{Flag, Imo, Mmsi, VesselDescriptors, VesselType};

/// A track's fused identity.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Identity {
    /// The MMSI most of its reports carried (ties: the smaller).
    pub mmsi: Option<Mmsi>,
    /// Every MMSI its reports carried, with how many reports carried it, by MMSI.
    /// More than one is a sign of spoofing or of an MMSI read wrongly.
    pub mmsis: Vec<(Mmsi, u32)>,
    /// The latest IMO number reported.
    pub imo: Option<Imo>,
    /// The latest name reported.
    pub name: Option<String>,
    /// The latest call sign reported.
    pub call_sign: Option<String>,
    /// The latest flag reported.
    pub flag: Option<Flag>,
    /// The latest vessel type reported.
    pub vessel_type: Option<VesselType>,
    /// Mean of the lengths reported, metres.
    pub length_m: Option<f64>,
    /// How many reports gave a length.
    pub length_reports: u32,
    /// The latest engine count reported.
    pub engines: Option<u8>,
    /// The latest persons-on-board count reported.
    pub persons_on_board: Option<u16>,
}

impl Identity {
    /// Whether its reports named more than one MMSI.
    pub fn has_mmsi_conflict(&self) -> bool {
        self.mmsis.len() > 1
    }

    /// Folds in one report's descriptors.
    pub(crate) fn absorb(&mut self, v: &VesselDescriptors) {
        if let Some(m) = v.mmsi {
            match self.mmsis.binary_search_by_key(&m, |(x, _)| *x) {
                Ok(i) => {
                    if let Some(e) = self.mmsis.get_mut(i) {
                        e.1 = e.1.saturating_add(1);
                    }
                }
                Err(i) => self.mmsis.insert(i, (m, 1)),
            }
            // Most reports wins; `max_by_key` keeps the last maximum, so iterate
            // in reverse to prefer the smaller MMSI on ties.
            self.mmsi = self.mmsis.iter().rev().max_by_key(|(_, n)| *n).map(|(m, _)| *m);
        }
        if v.imo.is_some() {
            self.imo = v.imo;
        }
        if v.name.is_some() {
            self.name.clone_from(&v.name);
        }
        if v.call_sign.is_some() {
            self.call_sign.clone_from(&v.call_sign);
        }
        if v.flag.is_some() {
            self.flag = v.flag;
        }
        if v.vessel_type.is_some() {
            self.vessel_type = v.vessel_type;
        }
        if let Some(l) = v.length_m {
            let n = f64::from(self.length_reports);
            self.length_m = Some(self.length_m.map_or(l, |m| (m * n + l) / (n + 1.0)));
            self.length_reports = self.length_reports.saturating_add(1);
        }
        if v.engines.is_some() {
            self.engines = v.engines;
        }
        if v.persons_on_board.is_some() {
            self.persons_on_board = v.persons_on_board;
        }
    }

    /// What the descriptors add to a kinematically gated association cost
    /// (in squared-Mahalanobis units): negative when they agree, positive when
    /// they conflict. Bounded, so it can never bring in a report from outside the gate.
    pub(crate) fn association_cost(&self, v: &VesselDescriptors) -> f64 {
        let mut cost = 0.0;
        if let (Some(mine), Some(theirs)) = (self.mmsi, v.mmsi) {
            let established = self.mmsis.iter().any(|(m, n)| *m == mine && *n >= 2);
            if mine == theirs {
                cost -= 3.0;
            } else if established {
                cost += 6.0;
            }
        }
        if let (Some(a), Some(b)) = (self.vessel_type, v.vessel_type)
            && a != b
        {
            cost += if small_craft(a) == small_craft(b) { 1.0 } else { 6.0 };
        }
        if let (Some(a), Some(b)) = (self.length_m, v.length_m) {
            let ratio = a.max(b) / a.min(b).max(1.0);
            if ratio > 2.0 {
                cost += 6.0;
            } else if ratio > 1.4 {
                cost += 2.0;
            }
        }
        if let (Some(a), Some(b)) = (self.engines, v.engines)
            && a != b
        {
            cost += 1.0;
        }
        cost
    }
}

/// Go-fasts, semi-submersibles, pleasure and fishing craft look alike from the
/// air; confusing one with a cargo ship does not happen.
fn small_craft(t: VesselType) -> bool {
    matches!(
        t,
        VesselType::GoFast
            | VesselType::SemiSubmersible
            | VesselType::Pleasure
            | VesselType::Fishing
            | VesselType::Sailing
            | VesselType::Other
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_mmsi(m: u32) -> VesselDescriptors {
        VesselDescriptors { mmsi: Some(Mmsi::new(m).unwrap()), ..VesselDescriptors::default() }
    }

    #[test]
    fn majority_mmsi_and_conflict() {
        let mut id = Identity::default();
        id.absorb(&with_mmsi(338_000_001));
        id.absorb(&with_mmsi(338_000_002));
        assert_eq!(id.mmsi, Some(Mmsi::new(338_000_001).unwrap()), "tie goes to the smaller");
        id.absorb(&with_mmsi(338_000_002));
        assert_eq!(id.mmsi, Some(Mmsi::new(338_000_002).unwrap()));
        assert!(id.has_mmsi_conflict());
    }

    #[test]
    fn descriptors_shift_cost_within_bounds() {
        let mut id = Identity::default();
        id.absorb(&with_mmsi(338_000_001));
        id.absorb(&with_mmsi(338_000_001));
        assert!(id.association_cost(&with_mmsi(338_000_001)) < 0.0);
        assert!(id.association_cost(&with_mmsi(338_000_009)) > 0.0);
        let mut ship = Identity::default();
        ship.absorb(&VesselDescriptors {
            vessel_type: Some(VesselType::Cargo),
            length_m: Some(180.0),
            ..VesselDescriptors::default()
        });
        let gofast =
            VesselDescriptors { vessel_type: Some(VesselType::GoFast), length_m: Some(12.0), ..Default::default() };
        assert!((ship.association_cost(&gofast) - 12.0).abs() < 1e-9);
    }
}
