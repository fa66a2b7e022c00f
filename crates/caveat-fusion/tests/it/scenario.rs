//! A small seeded synthetic scenario: vessels on straight or turning courses,
//! partners with sensors that see them now and then, clutter, and arrival in
//! any order. A stand-in for caveat-sim inside this crate's tests.

use caveat_core::{Marking, Mmsi, Purpose, Report, ReportId, SourceKind, VesselDescriptors};
use time::{Duration, OffsetDateTime, macros::datetime};

pub(crate) const T0: OffsetDateTime = datetime!(2026-11-23 11:00 UTC);
pub(crate) const PARTNERS: [&str; 4] = ["GBR", "CAN", "NLD", "USA-USCG"];

/// Cases per property: `PROPTEST_CASES` when set (scripts/fusion-properties
/// runs thousands to find rare failures), else `default`. A config literal
/// with its own `cases` would otherwise ignore the variable.
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// SplitMix64: tiny, seeded, good enough for fixtures.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) vessels: usize,
    pub(crate) minutes: i64,
    /// Seconds between a sensor's looks.
    pub(crate) period_s: i64,
    pub(crate) detection_probability: f64,
    pub(crate) clutter_per_look: f64,
    /// Random markings (else everything is released to everybody for every purpose).
    pub(crate) random_markings: bool,
    /// Side of the box the vessels start in, degrees (a small box makes
    /// vessels share clusters).
    pub(crate) spread_deg: f64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            vessels: 6,
            minutes: 4,
            period_s: 10,
            detection_probability: 0.85,
            clutter_per_look: 0.1,
            random_markings: true,
            spread_deg: 0.36,
        }
    }
}

/// A generated scenario: reports (in a random arrival order) and, per report, the
/// true vessel index (`None` for clutter).
pub(crate) struct Scenario {
    pub(crate) reports: Vec<Report>,
    pub(crate) truth: std::collections::HashMap<ReportId, Option<usize>>,
}

/// Metres to degrees near 18° N.
const M_LAT: f64 = 1.0 / 111_195.0;
fn m_lon(lat: f64) -> f64 {
    M_LAT / lat.to_radians().cos()
}

pub(crate) fn id(n: u64) -> ReportId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(1_795_000_000_000u64 << 16).to_be_bytes());
    b[8..].copy_from_slice(&n.to_be_bytes());
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    ReportId::from_bytes(b)
}

fn marking(rng: &mut Rng, random: bool) -> Marking {
    let purposes = [Purpose::Interdiction, Purpose::Monitoring, Purpose::SearchAndRescue];
    if !random {
        return Marking::builder().to(&PARTNERS).purposes(&purposes).build();
    }
    let to: Vec<&str> = PARTNERS.iter().copied().filter(|_| rng.unit() < 0.6).collect();
    let ps: Vec<Purpose> = purposes.iter().copied().filter(|_| rng.unit() < 0.6).collect();
    Marking::builder().to(&to).purposes(&ps).build()
}

pub(crate) fn generate(seed: u64, spec: &Spec) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut next = 0u64;
    let mut reports = Vec::new();
    let mut truth = std::collections::HashMap::new();
    // Vessels: start in a 40 km box, 3-20 m/s, some turning slowly.
    struct Vessel {
        lat: f64,
        lon: f64,
        speed: f64,
        course: f64,
        turn: f64,
        mmsi: Option<Mmsi>,
    }
    let mut vessels: Vec<Vessel> = (0..spec.vessels)
        .map(|k| Vessel {
            lat: 18.0 + rng.range(0.0, spec.spread_deg),
            lon: -65.0 + rng.range(0.0, spec.spread_deg * 1.05),
            speed: rng.range(3.0, 20.0),
            course: rng.range(0.0, 360.0),
            turn: if rng.unit() < 0.3 { rng.range(-0.3, 0.3) } else { 0.0 },
            mmsi: (rng.unit() < 0.5).then(|| Mmsi::new(338_000_000 + k as u32).unwrap()),
        })
        .collect();
    // Sensors: (partner, source, sigma, offset within the period).
    let sensors: Vec<(&str, SourceKind, f64, i64)> = PARTNERS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (source, sigma) = match i % 3 {
                0 => (SourceKind::CoastalRadar, 80.0),
                1 => (SourceKind::MpaRadar, 150.0),
                _ => (SourceKind::Vessel, 50.0),
            };
            (*p, source, sigma, (i as i64 * 3) % spec.period_s.max(1))
        })
        .collect();
    let total = spec.minutes * 60;
    for s in 0..total {
        for v in &mut vessels {
            v.course = (v.course + v.turn).rem_euclid(360.0);
            let (sin, cos) = v.course.to_radians().sin_cos();
            v.lat += v.speed * cos * M_LAT;
            v.lon += v.speed * sin * m_lon(v.lat);
        }
        for &(partner, source, sigma, offset) in &sensors {
            if (s - offset).rem_euclid(spec.period_s) != 0 {
                continue;
            }
            let at = T0 + Duration::seconds(s) + Duration::milliseconds(rng.below(900) as i64);
            for (k, v) in vessels.iter().enumerate() {
                if rng.unit() >= spec.detection_probability {
                    continue;
                }
                next += 1;
                let ais = v.mmsi.is_some() && partner == "USA-USCG";
                let sigma = if ais { 20.0 } else { sigma };
                let lat = v.lat + sigma * rng.normal() * M_LAT;
                let lon = v.lon + sigma * rng.normal() * m_lon(v.lat);
                let mut b = Report::builder()
                    .id(id(next))
                    .originator(partner)
                    .at(at)
                    .position(lat, lon)
                    .uncertainty_m(sigma)
                    .source(if ais { SourceKind::Ais } else { source })
                    .velocity(None, None)
                    .marking(marking(&mut rng, spec.random_markings));
                if ais {
                    b = b
                        .velocity(Some(v.course), Some(v.speed / (1852.0 / 3600.0)))
                        .vessel(VesselDescriptors { mmsi: v.mmsi, ..VesselDescriptors::default() });
                }
                reports.push(b.build());
                truth.insert(id(next), Some(k));
            }
            if rng.unit() < spec.clutter_per_look {
                next += 1;
                reports.push(
                    Report::builder()
                        .id(id(next))
                        .originator(partner)
                        .at(at)
                        .position(
                            18.0 + rng.range(0.0, spec.spread_deg * 1.1),
                            -65.0 + rng.range(0.0, spec.spread_deg * 1.1),
                        )
                        .uncertainty_m(sigma)
                        .source(source)
                        .velocity(None, None)
                        .marking(marking(&mut rng, spec.random_markings))
                        .build(),
                );
                truth.insert(id(next), None);
            }
        }
    }
    rng.shuffle(&mut reports);
    Scenario { reports, truth }
}
