//! The scenario clock: sensors fire as discrete events in observation time,
//! and reports leave in arrival order.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;

use caveat_core::{Position, Report, ReportIdMint, SourceKind, VesselDescriptors, VesselType};
use time::{Duration, OffsetDateTime};

use crate::draw::Draw;
use crate::geo::normalize_deg;
use crate::motion::VesselState;
use crate::observe::{self, Observation, Origin, reported_speed, tip_position};
use crate::scenario::World;
use crate::traffic::Habit;
use crate::truth::VesselKind;

/// One simulated report with what the simulator alone knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimReport {
    /// The report as its originator submits it.
    pub report: Report,
    /// When it reaches the hub (at or after `report.observed_at`; tips hours later).
    pub arrival: OffsetDateTime,
    /// What truly caused it.
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Ais(usize),
    Radar(usize),
    Aircraft(usize),
    Cutter(usize),
}

/// Milliseconds after the start: integer, so the queues order exactly.
fn ms(t: f64) -> i64 {
    let x = (t * 1000.0).round();
    if x.is_finite() { format!("{x:.0}").parse::<i64>().unwrap_or(i64::MAX) } else { i64::MAX }
}

struct Pending {
    arrival_ms: i64,
    seq: u64,
    obs: Observation,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.arrival_ms, self.seq) == (other.arrival_ms, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.arrival_ms, self.seq).cmp(&(other.arrival_ms, other.seq))
    }
}

/// Per-vessel AIS state.
#[derive(Debug, Clone, Copy, Default)]
struct Transponder {
    gap_until: f64,
    last_static: Option<f64>,
}

/// Reports of a scenario in arrival order, generated lazily: the whole
/// scenario never has to sit in memory, so it serves both the demo server's
/// live replay and the scale benchmark. Deterministic: two streams of the same
/// scenario yield equal reports.
pub struct ReportStream {
    world: Arc<World>,
    events: BinaryHeap<Reverse<(i64, u64, Event)>>,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    frontier_ms: i64,
    end_ms: i64,
    draw: Draw,
    ids: Draw,
    mint: Option<(i64, ReportIdMint)>,
    transponders: Vec<Transponder>,
    cooperative_mmsis: Vec<caveat_core::Mmsi>,
    snapshot: (i64, Vec<Option<VesselState>>),
    scratch: Vec<Observation>,
}

const SENSOR_STREAM: u64 = 5 << 32;
const ID_STREAM: u64 = 6 << 32;
const TIP_STREAM: u64 = 7 << 32;

impl ReportStream {
    pub(crate) fn new(world: Arc<World>) -> Self {
        let seed = world.config.seed;
        let end_ms = ms(world.config.duration.as_seconds_f64());
        let n = world.truth.vessels().len();
        let cooperative_mmsis = world
            .truth
            .vessels()
            .iter()
            .filter(|v| v.kind == VesselKind::Cooperative)
            .filter_map(|v| v.identity.mmsi)
            .collect();
        let mut s = ReportStream {
            events: BinaryHeap::new(),
            pending: BinaryHeap::new(),
            seq: 0,
            frontier_ms: i64::MIN,
            end_ms,
            draw: Draw::new(seed, SENSOR_STREAM),
            ids: Draw::new(seed, ID_STREAM),
            mint: None,
            transponders: vec![Transponder::default(); n],
            cooperative_mmsis,
            snapshot: (i64::MIN, Vec::new()),
            scratch: Vec::new(),
            world,
        };
        let sensors = &s.world.config.sensors;
        let interval = sensors.ais.interval_s;
        let (radars, aircraft, cutters) = (sensors.coastal_radars.len(), sensors.aircraft.len(), sensors.cutters.len());
        for i in 0..n {
            let first = s.draw.uniform(0.0, interval);
            s.schedule(ms(first), Event::Ais(i));
        }
        for i in 0..radars {
            s.schedule(0, Event::Radar(i));
        }
        for i in 0..aircraft {
            s.schedule(0, Event::Aircraft(i));
        }
        for i in 0..cutters {
            s.schedule(0, Event::Cutter(i));
        }
        s.plant_tips();
        s
    }

    fn schedule(&mut self, t_ms: i64, e: Event) {
        if t_ms <= self.end_ms {
            self.seq += 1;
            self.events.push(Reverse((t_ms, self.seq, e)));
        }
    }

    fn emit(&mut self, obs: Observation) {
        self.seq += 1;
        self.pending.push(Reverse(Pending { arrival_ms: ms(obs.arrival), seq: self.seq, obs }));
    }

    /// Every vessel's state at `t_ms`, computed once for all sensors firing then.
    fn refresh(&mut self, t_ms: i64) {
        if self.snapshot.0 != t_ms {
            let t = t_ms as f64 / 1000.0;
            self.snapshot.1.clear();
            self.snapshot.1.extend(self.world.truth.vessels().iter().map(|v| v.state_s(t)));
            self.snapshot.0 = t_ms;
        }
    }

    fn fire(&mut self, t_ms: i64, e: Event) {
        let world = Arc::clone(&self.world);
        let t = t_ms as f64 / 1000.0;
        let sensors = &world.config.sensors;
        let vessels = world.truth.vessels();
        let mut out = std::mem::take(&mut self.scratch);
        match e {
            Event::Ais(i) => {
                let next = self.ais(i, t, &mut out);
                self.schedule(t_ms + ms(next), e);
            }
            Event::Radar(i) => {
                if let (Some(r), Some(&p)) = (sensors.coastal_radars.get(i), world.radar_partner.get(i)) {
                    self.refresh(t_ms);
                    observe::coastal_radar(r, p, t, vessels, &self.snapshot.1, &mut self.draw, &mut out);
                    self.schedule(t_ms + ms(r.scan_period_s.max(1.0)), e);
                }
            }
            Event::Aircraft(i) => {
                if let (Some(a), Some(&p), Some(route)) =
                    (sensors.aircraft.get(i), world.aircraft_partner.get(i), world.aircraft_routes.get(i))
                {
                    if let Some((elapsed, remaining)) = a.on_station(world.config.start + Duration::seconds_f64(t))
                        && let Some(at) = route.at(a.speed_kn * observe::KN * elapsed)
                    {
                        self.refresh(t_ms);
                        observe::aircraft(a, p, at, t, remaining, vessels, &self.snapshot.1, &mut self.draw, &mut out);
                    }
                    self.schedule(t_ms + ms(a.sweep_period_s.max(1.0)), e);
                }
            }
            Event::Cutter(i) => {
                if let (Some(c), Some(&p), Some(route)) =
                    (sensors.cutters.get(i), world.cutter_partner.get(i), world.cutter_routes.get(i))
                {
                    if let Some(at) = route.at(c.speed_kn * observe::KN * t) {
                        self.refresh(t_ms);
                        observe::cutter(c, p, at, t, vessels, &self.snapshot.1, &mut self.draw, &mut out);
                    }
                    self.schedule(t_ms + ms(c.sweep_period_s.max(1.0)), e);
                }
            }
        }
        for o in out.drain(..) {
            self.emit(o);
        }
        self.scratch = out;
    }

    /// One AIS transmission slot of vessel `i`; returns seconds to its next slot.
    #[expect(
        clippy::many_single_char_names,
        reason = "kinematics and assignment use their textbook names (t, v, p, c)"
    )]
    fn ais(&mut self, i: usize, t: f64, out: &mut Vec<Observation>) -> f64 {
        let world = Arc::clone(&self.world);
        let net = &world.config.sensors.ais;
        let Some(v) = world.truth.vessels().get(i) else { return f64::INFINITY };
        let transmits = v.kind == VesselKind::Cooperative || v.spoofed_mmsi.is_some();
        let Some(s) = v.state_s(t).filter(|_| transmits) else { return net.interval_s.max(0.1) * 10.0 };
        let slow = s.speed_kn < 0.5 || v.class_b || v.kind == VesselKind::Dark;
        let next =
            net.interval_s.max(0.1) * if slow { net.slow_interval_factor } else { 1.0 } * self.draw.uniform(0.9, 1.1);
        let Some(tp) = self.transponders.get_mut(i) else { return next };
        if t < tp.gap_until || !world.config.region.contains(Position { lat: s.lat, lon: s.lon }) {
            return next;
        }
        if self.draw.chance(next / net.mean_time_between_gaps_s.max(1.0)) {
            tp.gap_until = t + self.draw.exponential(net.mean_gap_s);
            return next;
        }
        let mut d = VesselDescriptors { mmsi: v.spoofed_mmsi.or(v.identity.mmsi), ..VesselDescriptors::default() };
        if tp.last_static.is_none_or(|l| t - l >= 360.0) {
            // Static and voyage data (message 5) every 6 minutes, ITU-R M.1371.
            tp.last_static = Some(t);
            if v.spoofed_mmsi.is_some() {
                d.ais_ship_type = Some(30);
                d.vessel_type = Some(VesselType::Fishing);
            } else {
                d = VesselDescriptors { mmsi: d.mmsi, engines: None, persons_on_board: None, ..v.identity.clone() };
            }
        }
        if self.draw.chance(net.spoof_probability)
            && let Some(&other) = self.cooperative_mmsis.get(self.draw.index(self.cooperative_mmsis.len()))
        {
            d = VesselDescriptors { mmsi: Some(other), ..VesselDescriptors::default() };
        }
        let sigma = net.position_sigma_m;
        let (lat, lon) = tip_position(&s, sigma, &mut self.draw);
        let mut o = Observation {
            t,
            arrival: t + self.draw.uniform(2.0, 20.0),
            partner: world.ais_partner,
            source: SourceKind::Ais,
            lat,
            lon,
            sigma_m: sigma,
            course: Some(normalize_deg(s.course_deg + self.draw.normal(1.0))),
            speed: Some(reported_speed(&s, &mut self.draw)),
            time_sigma_s: None,
            vessel: d,
            remarks: None,
            origin: Origin::Vessel(v.id),
        };
        if self.draw.chance(0.01) {
            // Satellite or store-and-forward path.
            o.arrival += self.draw.uniform(300.0, 3600.0);
        }
        out.push(o);
        next
    }

    /// Tips are decided up front: their subject's time is in the past when they arrive.
    fn plant_tips(&mut self) {
        let world = Arc::clone(&self.world);
        let tips = &world.config.sensors.tips;
        let end = world.config.duration.as_seconds_f64();
        let mut d = Draw::new(world.config.seed, TIP_STREAM);
        for v in world.truth.vessels() {
            let p = match v.habit {
                Habit::GoFast => tips.go_fast_probability,
                Habit::MotherShip => tips.mother_ship_probability,
                _ => continue,
            };
            if !d.chance(p) {
                continue;
            }
            let t_true = d.uniform(0.0, 0.6 * end);
            let Some(s) = v.state_s(t_true) else { continue };
            let sigma = d.uniform(tips.sigma_m.0, tips.sigma_m.1);
            let (lat, lon) = tip_position(&s, sigma, &mut d);
            let t_obs = (t_true + d.normal(tips.time_sigma_s)).max(0.0);
            let arrival = (t_true + d.uniform(tips.delay_s.0, tips.delay_s.1)).max(t_obs + 60.0);
            let looks = &v.identity;
            let (vessel, remarks) = if v.habit == Habit::GoFast {
                let engines = looks.engines.unwrap_or(2);
                let pob = looks.persons_on_board.unwrap_or(3);
                (
                    VesselDescriptors {
                        vessel_type: Some(VesselType::GoFast),
                        engines: looks.engines,
                        ..VesselDescriptors::default()
                    },
                    format!(
                        "Source reporting: go-fast, {engines} outboards, about {pob} persons, to meet a larger vessel."
                    ),
                )
            } else {
                (
                    VesselDescriptors { vessel_type: Some(VesselType::Fishing), ..VesselDescriptors::default() },
                    "Source reporting: fishing vessel loitering, suspected logistics support to go-fasts.".to_owned(),
                )
            };
            let course = (s.speed_kn > 5.0).then(|| normalize_deg(s.course_deg + d.normal(20.0)));
            self.emit(Observation {
                t: t_obs,
                arrival,
                partner: world.tip_partner,
                source: SourceKind::Tip,
                lat,
                lon,
                sigma_m: sigma,
                course,
                speed: None,
                time_sigma_s: Some(tips.time_sigma_s.max(3600.0)),
                vessel,
                remarks: Some(remarks),
                origin: Origin::Vessel(v.id),
            });
        }
        let r = world.config.region;
        for _ in 0..d.poisson(tips.false_tips) {
            let t_true = d.uniform(0.0, 0.6 * end);
            let sigma = d.uniform(tips.sigma_m.0, tips.sigma_m.1);
            self.emit(Observation {
                t: t_true,
                arrival: t_true + d.uniform(tips.delay_s.0, tips.delay_s.1),
                partner: world.tip_partner,
                source: SourceKind::Tip,
                lat: d.uniform(r.min_lat, r.max_lat),
                lon: d.uniform(r.min_lon, r.max_lon),
                sigma_m: sigma,
                course: None,
                speed: None,
                time_sigma_s: Some(tips.time_sigma_s.max(3600.0)),
                vessel: VesselDescriptors { vessel_type: Some(VesselType::GoFast), ..VesselDescriptors::default() },
                remarks: Some("Source reporting: go-fast departing, destination unknown.".to_owned()),
                origin: Origin::FalseTip,
            });
        }
    }

    fn make_report(&mut self, p: Pending) -> SimReport {
        let world = &self.world;
        let o = p.obs;
        let start = world.config.start;
        let arrival = start + Duration::milliseconds(p.arrival_ms);
        let unix_ms = u64::try_from(arrival.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let mint = match &mut self.mint {
            Some((m, mint)) if *m == p.arrival_ms => mint,
            slot => &mut slot.insert((p.arrival_ms, ReportIdMint::new(unix_ms, self.ids.bytes10()))).1,
        };
        let id = mint.next_id();
        let partner = world.partners.get(o.partner).or(world.partners.first());
        let (originator, marking) = match partner {
            Some(pt) => (pt.id.clone(), pt.marking_for(o.source).clone()),
            None => (crate::partners::pid("USA-USCG"), caveat_core::Marking::originator_only()),
        };
        let lon = (o.lon + 180.0).rem_euclid(360.0) - 180.0;
        let report = Report {
            id,
            originator,
            observed_at: start + Duration::milliseconds(ms(o.t)),
            time_uncertainty_s: o.time_sigma_s,
            position: Position { lat: micro(o.lat.clamp(-90.0, 90.0)), lon: micro(lon.clamp(-180.0, 180.0)) },
            uncertainty_m: (o.sigma_m.max(1.0) * 10.0).round() / 10.0,
            course_deg: o.course.map(|c| {
                let c = (c * 10.0).round() / 10.0;
                if c >= 360.0 { 0.0 } else { c }
            }),
            speed_kn: o.speed.map(|s| ((s * 10.0).round() / 10.0).clamp(0.0, 102.2)),
            source: o.source,
            vessel: o.vessel,
            remarks: o.remarks,
            marking,
            supersedes: None,
            station: None,
        };
        SimReport { report, arrival, origin: o.origin }
    }
}

/// Rounds to 1e-6 degrees (11 cm, finer than AIS's 1/10000 minute): short
/// decimals survive a JSON round trip exactly.
fn micro(deg: f64) -> f64 {
    (deg * 1e6).round() / 1e6
}

impl Iterator for ReportStream {
    type Item = SimReport;

    fn next(&mut self) -> Option<SimReport> {
        loop {
            let ready = match self.pending.peek() {
                Some(Reverse(p)) => p.arrival_ms <= self.frontier_ms || self.events.is_empty(),
                None => false,
            };
            if ready && let Some(Reverse(p)) = self.pending.pop() {
                return Some(self.make_report(p));
            }
            // Every later event fires at or after its time and reports at least a
            // second later, so nothing still to come can arrive before the frontier.
            let Reverse((t_ms, _, e)) = self.events.pop()?;
            self.frontier_ms = t_ms;
            self.fire(t_ms, e);
        }
    }
}
