//! From decoded AIS messages to caveat-core reports, with the identity learnt
//! from static messages attached to later position reports.

use std::collections::HashMap;

use caveat_core::{Imo, IngestContext, Mmsi, Position, Report, ReportDraft, SourceKind, VesselDescriptors, VesselType};
use time::OffsetDateTime;

use crate::Error;
use crate::armor::AisText;
use crate::feed::Decoded;
use crate::message::{Coordinates, Message, ShipDimensions};

/// One-sigma position uncertainty for a high-accuracy fix (accuracy flag 1:
/// better than 10 m, ITU-R M.1371-5 Table 46 "position accuracy").
pub(crate) const HIGH_ACCURACY_M: f64 = 10.0;
/// One-sigma position uncertainty for a low-accuracy fix (flag 0: worse than 10 m, typically GNSS without DGNSS).
pub(crate) const LOW_ACCURACY_M: f64 = 100.0;
/// Type 27 positions are on a 1/10-minute grid (about 185 m of latitude).
pub(crate) const LONG_RANGE_M: f64 = 200.0;
/// Identities remembered at most; a feed with more MMSIs keeps the first ones.
pub(crate) const MAX_IDENTITIES: usize = 200_000;

/// What static messages (types 5, 19, 24) said about one MMSI.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VesselIdentity {
    /// Name.
    pub name: Option<String>,
    /// Call sign.
    pub call_sign: Option<String>,
    /// IMO number, when it passes the check digit.
    pub imo: Option<Imo>,
    /// AIS ship-and-cargo type, 1-99.
    pub ais_ship_type: Option<u8>,
    /// Length overall, metres.
    pub length_m: Option<f64>,
    /// Beam, metres.
    pub beam_m: Option<f64>,
}

/// Turns decoded messages into reports for the partner that feeds them.
///
/// Position messages (types 1, 2, 3, 18, 19, 27) become reports; static
/// messages (5, 19, 24) update the identity remembered for their MMSI, which
/// later reports of that MMSI carry. Base stations (4) and aids to navigation
/// (21) are not vessels and yield nothing.
#[derive(Debug, Default)]
pub struct ReportConverter {
    identities: HashMap<u32, VesselIdentity>,
}

impl ReportConverter {
    /// An empty converter.
    pub fn new() -> Self {
        ReportConverter::default()
    }

    /// The identity learnt so far for `mmsi`.
    pub fn identity(&self, mmsi: u32) -> Option<&VesselIdentity> {
        self.identities.get(&mmsi)
    }

    /// Converts one message. `ctx.submitter` is the feed's partner (originator;
    /// marking = its marking for AIS), `ctx.mint` mints the id, and
    /// `received_at` is the observation time when the tag block has no `c:` time.
    ///
    /// `Ok(None)`: a static message (remembered), a non-vessel, or a position
    /// that is not available (lon 181 / lat 91).
    ///
    /// # Errors
    /// [`Error::Report`] when caveat-core refuses the report (for example a tag
    /// block time before 2000 or in the future).
    pub fn convert(
        &mut self,
        decoded: &Decoded,
        received_at: OffsetDateTime,
        ctx: &mut IngestContext<'_>,
    ) -> Result<Option<Report>, Error> {
        let m = &decoded.message;
        self.learn(m);
        let (coords, accurate, course, speed) = match m {
            Message::Position(p) => (p.coordinates, p.accuracy, p.course_deg(), p.speed_kn()),
            Message::ClassBPosition(p) => (p.coordinates, p.accuracy, p.course_deg(), p.speed_kn()),
            Message::ClassBExtended(p) => (p.coordinates, p.accuracy, p.course_deg(), p.speed_kn()),
            Message::LongRange(p) => (p.coordinates, p.accuracy, p.course_deg(), p.speed_kn()),
            _ => return Ok(None),
        };
        let Some(position) = position(coords) else { return Ok(None) };
        let uncertainty_m = match (m, accurate) {
            (Message::LongRange(_), _) => LONG_RANGE_M,
            (_, true) => HIGH_ACCURACY_M,
            (_, false) => LOW_ACCURACY_M,
        };
        let observed_at =
            decoded.tag.unix_time.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()).unwrap_or(received_at);
        let mut vessel = VesselDescriptors { mmsi: Mmsi::new(m.mmsi()).ok(), ..VesselDescriptors::default() };
        if let Some(id) = self.identities.get(&m.mmsi()) {
            vessel.name.clone_from(&id.name);
            vessel.call_sign.clone_from(&id.call_sign);
            vessel.imo = id.imo;
            vessel.ais_ship_type = id.ais_ship_type;
            vessel.vessel_type = id.ais_ship_type.and_then(vessel_type);
            vessel.length_m = id.length_m;
            vessel.beam_m = id.beam_m;
        }
        let draft = ReportDraft {
            id: None,
            originator: None,
            observed_at,
            time_uncertainty_s: None,
            position,
            uncertainty_m,
            course_deg: course,
            speed_kn: speed,
            source: SourceKind::Ais,
            vessel,
            remarks: None,
            marking: None,
            supersedes: None,
            // A tag block's `s:` that is no valid station id (control bytes were
            // already replaced, so only blank or over-long ones) is dropped, not the report.
            station: decoded.tag.source.and_then(|s| s.as_str().trim().parse().ok()),
        };
        draft.validate(ctx).map(Some).map_err(|source| Error::Report { line: decoded.line, source })
    }

    fn learn(&mut self, m: &Message) {
        let mmsi = m.mmsi();
        let update = |id: &mut VesselIdentity| match m {
            Message::StaticVoyage(s) => {
                set_text(&mut id.name, s.name);
                set_text(&mut id.call_sign, s.call_sign);
                if let Ok(imo) = Imo::new(s.imo) {
                    id.imo = Some(imo);
                }
                set_type(&mut id.ais_ship_type, s.ship_type);
                set_dimensions(id, s.dimensions);
            }
            Message::StaticDataA(s) => set_text(&mut id.name, s.name),
            Message::StaticDataB(s) => {
                set_text(&mut id.call_sign, s.call_sign);
                set_type(&mut id.ais_ship_type, s.ship_type);
                if let Some(d) = s.dimensions() {
                    set_dimensions(id, d);
                }
            }
            Message::ClassBExtended(s) => {
                set_text(&mut id.name, s.name);
                set_type(&mut id.ais_ship_type, s.ship_type);
                set_dimensions(id, s.dimensions);
            }
            _ => {}
        };
        if !matches!(
            m,
            Message::StaticVoyage(_) | Message::StaticDataA(_) | Message::StaticDataB(_) | Message::ClassBExtended(_)
        ) {
            return;
        }
        if let Some(id) = self.identities.get_mut(&mmsi) {
            update(id);
        } else if self.identities.len() < MAX_IDENTITIES {
            let mut id = VesselIdentity::default();
            update(&mut id);
            self.identities.insert(mmsi, id);
        }
    }
}

fn position(c: Coordinates) -> Option<Position> {
    let (lat, lon) = c.lat_lon()?;
    Position::new(lat, lon).ok()
}

fn set_text(slot: &mut Option<String>, t: AisText) {
    if !t.is_empty() {
        *slot = Some(t.as_str().to_owned());
    }
}

fn set_type(slot: &mut Option<u8>, t: u8) {
    // 0 = not available; 100-199 reserved for regional use, 200-255 future use (Table 53).
    if (1..=99).contains(&t) {
        *slot = Some(t);
    }
}

fn set_dimensions(id: &mut VesselIdentity, d: ShipDimensions) {
    if let Some(l) = d.length_m().filter(|l| *l <= 500.0) {
        id.length_m = Some(l);
    }
    if let Some(b) = d.beam_m().filter(|b| *b <= 100.0) {
        id.beam_m = Some(b);
    }
}

/// ITU-R M.1371-5 Table 53 ship type → Caveat's observed vessel type.
fn vessel_type(code: u8) -> Option<VesselType> {
    Some(match code {
        30 => VesselType::Fishing,
        31 | 32 | 52 => VesselType::Tug,
        35 => VesselType::Military,
        36 => VesselType::Sailing,
        37 => VesselType::Pleasure,
        55 => VesselType::LawEnforcement,
        50 | 51 | 53 | 54 | 56..=59 | 33 | 34 => VesselType::Service,
        60..=69 => VesselType::Passenger,
        70..=79 => VesselType::Cargo,
        80..=89 => VesselType::Tanker,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ship_types_map_to_observed_types() {
        assert_eq!(vessel_type(30), Some(VesselType::Fishing));
        assert_eq!(vessel_type(55), Some(VesselType::LawEnforcement));
        assert_eq!(vessel_type(37), Some(VesselType::Pleasure));
        assert_eq!(vessel_type(84), Some(VesselType::Tanker));
        assert_eq!(vessel_type(0), None);
        assert_eq!(vessel_type(99), None);
    }

    #[test]
    fn dimensions_outside_core_limits_are_not_kept() {
        let mut id = VesselIdentity::default();
        set_dimensions(&mut id, ShipDimensions { to_bow: 511, to_stern: 100, to_port: 63, to_starboard: 63 });
        assert_eq!((id.length_m, id.beam_m), (None, None));
        set_dimensions(&mut id, ShipDimensions { to_bow: 10, to_stern: 5, to_port: 2, to_starboard: 3 });
        assert_eq!((id.length_m, id.beam_m), (Some(15.0), Some(5.0)));
        let mut t = None;
        set_type(&mut t, 150);
        assert_eq!(t, None);
    }
}
