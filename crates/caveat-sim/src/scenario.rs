//! Scenarios: configuration, the simulated world, and writing it out.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use caveat_core::{BoundingBox, Partner, PartnerId};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::sensors::{Route, SensorSet};
use crate::stream::{ReportStream, SimReport};
use crate::truth::{Truth, TruthVessel, VesselId, VesselKind};
use crate::{Error, Fleet, Habit, Origin, caribbean_partners};

/// What to simulate. Everything random follows from `seed`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioConfig {
    /// Seed of every random draw.
    pub seed: u64,
    /// Scenario start: the fleet's first fix is placed here.
    pub start: OffsetDateTime,
    /// How long, at most 7 days.
    pub duration: Duration,
    /// Vessels of the fleet whose first fix lies here are used; AIS covers it; dark vessels operate in it.
    pub region: BoundingBox,
    /// Number of cooperative vessels: `None` for every real vessel in the region,
    /// fewer for a seeded subset, more for clones of real tracks placed at random in the region.
    pub cooperative_vessels: Option<usize>,
    /// Number of go-fasts (each pair shares a mother ship).
    pub dark_vessels: usize,
    /// The partners and their default markings.
    pub partners: Vec<Partner>,
    /// The sensors.
    pub sensors: SensorSet,
}

/// Time of the shipped excerpt's first fix.
const SNAPSHOT_START: OffsetDateTime = time::macros::datetime!(2022-01-03 0:00 UTC);

impl ScenarioConfig {
    /// The demo: the real vessels around Puerto Rico, the Virgin Islands and
    /// the Leeward Islands (lat 15..20, lon -68..-60) for four hours from the
    /// snapshot's time, four go-fasts with two mother ships, every partner sensor.
    pub fn eastern_caribbean(seed: u64) -> Self {
        ScenarioConfig {
            seed,
            start: SNAPSHOT_START,
            duration: Duration::hours(4),
            region: BoundingBox { min_lat: 15.0, min_lon: -68.0, max_lat: 20.0, max_lon: -60.0 },
            cooperative_vessels: None,
            dark_vessels: 4,
            partners: caribbean_partners(),
            sensors: SensorSet::eastern_caribbean(),
        }
    }

    /// A load test: `vessels` cooperative vessels (real ones plus clones) whose
    /// AIS alone yields about `reports_per_minute` reports per minute of
    /// scenario time, plus the usual sensors and 20 go-fasts. Reception gaps
    /// are off and every vessel reports at the same rate, so the rate holds.
    pub fn scale(seed: u64, vessels: usize, reports_per_minute: usize) -> Self {
        let mut c = ScenarioConfig::eastern_caribbean(seed);
        c.cooperative_vessels = Some(vessels);
        c.dark_vessels = 20;
        c.duration = Duration::minutes(10);
        c.sensors.ais.interval_s = 60.0 * vessels as f64 / reports_per_minute.max(1) as f64;
        c.sensors.ais.slow_interval_factor = 1.0;
        c.sensors.ais.mean_time_between_gaps_s = f64::INFINITY;
        c
    }

    /// Checks ranges and that every sensor's partner is a scenario partner.
    pub fn validate(&self) -> Result<(), Error> {
        let d = self.duration.as_seconds_f64();
        if !(d > 0.0 && d <= 7.0 * 86_400.0) {
            return Err(Error::config("duration", self.duration, "must be more than 0 and at most 7 days"));
        }
        BoundingBox::new(self.region.min_lat, self.region.min_lon, self.region.max_lat, self.region.max_lon)
            .map_err(|_| Error::config("region", format!("{:?}", self.region), "not a valid box"))?;
        if self.dark_vessels > 10_000 {
            return Err(Error::config("dark_vessels", self.dark_vessels, "at most 10000"));
        }
        if self.cooperative_vessels.is_some_and(|n| n > 1_000_000) {
            return Err(Error::config(
                "cooperative_vessels",
                format!("{:?}", self.cooperative_vessels),
                "at most 1000000",
            ));
        }
        let ais = &self.sensors.ais;
        if !(ais.interval_s.is_finite() && ais.interval_s >= 0.1) {
            return Err(Error::config("sensors.ais.interval_s", ais.interval_s, "must be at least 0.1"));
        }
        if !(ais.slow_interval_factor.is_finite() && ais.slow_interval_factor >= 1.0) {
            return Err(Error::config(
                "sensors.ais.slow_interval_factor",
                ais.slow_interval_factor,
                "must be at least 1",
            ));
        }
        for p in &self.partners {
            p.validate().map_err(|source| Error::Partner { id: p.id.to_string(), source })?;
        }
        for id in self.sensor_partners() {
            if !self.partners.iter().any(|p| &p.id == id) {
                return Err(Error::config("sensors", id, "names a partner that is not in `partners`"));
            }
        }
        Ok(())
    }

    fn sensor_partners(&self) -> impl Iterator<Item = &PartnerId> {
        let s = &self.sensors;
        s.coastal_radars
            .iter()
            .map(|r| &r.partner)
            .chain(s.aircraft.iter().map(|a| &a.partner))
            .chain(s.cutters.iter().map(|c| &c.partner))
            .chain([&s.ais.partner, &s.tips.partner])
    }
}

/// The simulated world a stream runs over: config, truth and sensor platforms.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) config: ScenarioConfig,
    pub(crate) partners: Vec<Partner>,
    pub(crate) truth: Truth,
    pub(crate) radar_partner: Vec<usize>,
    pub(crate) aircraft_partner: Vec<usize>,
    pub(crate) cutter_partner: Vec<usize>,
    pub(crate) aircraft_routes: Vec<Route>,
    pub(crate) cutter_routes: Vec<Route>,
    pub(crate) ais_partner: usize,
    pub(crate) tip_partner: usize,
}

/// A planned scenario: truth, partners and sensors, with reports generated on demand.
///
/// [`ScenarioPlan::stream`] yields reports lazily in arrival order (for live
/// replay and for benchmarks too large to hold); [`ScenarioPlan::generate`]
/// collects them into a [`Scenario`].
#[derive(Debug, Clone)]
pub struct ScenarioPlan {
    world: Arc<World>,
}

impl ScenarioPlan {
    /// Plans the truth for `config` from `fleet`.
    pub fn new(config: ScenarioConfig, fleet: &Fleet) -> Result<Self, Error> {
        config.validate()?;
        let truth = Truth::plan(&config, fleet)?;
        let partners = config.partners.clone();
        let index = |id: &PartnerId| partners.iter().position(|p| &p.id == id).unwrap_or(0);
        let s = &config.sensors;
        let world = World {
            radar_partner: s.coastal_radars.iter().map(|r| index(&r.partner)).collect(),
            aircraft_partner: s.aircraft.iter().map(|a| index(&a.partner)).collect(),
            cutter_partner: s.cutters.iter().map(|c| index(&c.partner)).collect(),
            aircraft_routes: s.aircraft.iter().map(crate::sensors::PatrolAircraft::route).collect(),
            cutter_routes: s.cutters.iter().map(crate::sensors::Cutter::route).collect(),
            ais_partner: index(&s.ais.partner),
            tip_partner: index(&s.tips.partner),
            partners,
            truth,
            config,
        };
        Ok(ScenarioPlan { world: Arc::new(world) })
    }

    /// The configuration.
    pub fn config(&self) -> &ScenarioConfig {
        &self.world.config
    }

    /// The truth.
    pub fn truth(&self) -> &Truth {
        &self.world.truth
    }

    /// The partners, with their default markings.
    pub fn partners(&self) -> &[Partner] {
        &self.world.partners
    }

    /// The sensors.
    pub fn sensors(&self) -> &SensorSet {
        &self.world.config.sensors
    }

    /// Reports in arrival order, generated as the iterator advances.
    pub fn stream(&self) -> ReportStream {
        ReportStream::new(Arc::clone(&self.world))
    }

    /// Runs the stream to the end and keeps every report.
    pub fn generate(self) -> Scenario {
        let reports = self.stream().collect();
        Scenario { plan: self, reports }
    }
}

/// A generated scenario: truth, partners, sensors and every report in arrival order.
#[derive(Debug, Clone)]
pub struct Scenario {
    plan: ScenarioPlan,
    reports: Vec<SimReport>,
}

/// One line of `vessels.json`: a vessel's identity and behaviour.
#[derive(Serialize)]
struct VesselLine<'a> {
    id: VesselId,
    kind: VesselKind,
    habit: Habit,
    identity: &'a caveat_core::VesselDescriptors,
    #[serde(skip_serializing_if = "Option::is_none")]
    spoofed_mmsi: Option<caveat_core::Mmsi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rendezvous_with: Option<VesselId>,
}

/// One line of `origins.ndjson`: which vessel caused a report, and when it arrived.
#[derive(Serialize)]
struct OriginLine<'a> {
    report: caveat_core::ReportId,
    originator: &'a PartnerId,
    #[serde(with = "time::serde::rfc3339")]
    arrival: OffsetDateTime,
    origin: Origin,
}

/// `scenario.json`: the settings a reader needs to interpret the rest.
#[derive(Serialize)]
struct Summary<'a> {
    seed: u64,
    #[serde(with = "time::serde::rfc3339")]
    start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    end: OffsetDateTime,
    region: BoundingBox,
    vessels: usize,
    dark_vessels: usize,
    reports: usize,
    reports_per_partner: BTreeMap<&'a str, usize>,
    sensors: &'a SensorSet,
}

fn json_line<W: Write>(w: &mut W, what: &'static str, value: &impl Serialize) -> Result<(), Error> {
    serde_json::to_writer(&mut *w, value).map_err(|source| Error::Json { what, source })?;
    w.write_all(b"\n").map_err(|source| Error::Write { path: "-".into(), source })
}

impl Scenario {
    /// Plans and generates in one step.
    pub fn generate(config: ScenarioConfig, fleet: &Fleet) -> Result<Scenario, Error> {
        Ok(ScenarioPlan::new(config, fleet)?.generate())
    }

    /// The plan it came from (config, truth, partners, sensors, a fresh stream).
    pub fn plan(&self) -> &ScenarioPlan {
        &self.plan
    }

    /// The configuration.
    pub fn config(&self) -> &ScenarioConfig {
        self.plan.config()
    }

    /// The truth.
    pub fn truth(&self) -> &Truth {
        self.plan.truth()
    }

    /// The partners, with their default markings.
    pub fn partners(&self) -> &[Partner] {
        self.plan.partners()
    }

    /// The sensors.
    pub fn sensors(&self) -> &SensorSet {
        self.plan.sensors()
    }

    /// Every report, in arrival order.
    pub fn reports(&self) -> &[SimReport] {
        &self.reports
    }

    /// One partner's reports, in arrival order.
    pub fn reports_of<'a>(&'a self, partner: &'a PartnerId) -> impl Iterator<Item = &'a SimReport> + 'a {
        self.reports.iter().filter(move |r| &r.report.originator == partner)
    }

    /// The vessels' identities, one JSON object per line.
    fn vessel_lines(&self) -> impl Iterator<Item = VesselLine<'_>> {
        self.truth().vessels().iter().map(|v: &TruthVessel| VesselLine {
            id: v.id,
            kind: v.kind,
            habit: v.habit,
            identity: &v.identity,
            spoofed_mmsi: v.spoofed_mmsi,
            rendezvous_with: v.rendezvous_with,
        })
    }

    /// Writes one partner's reports as NDJSON, in arrival order: each line is
    /// `serde_json::to_string(&report)`, ready for `POST /v1/reports`.
    pub fn write_reports_ndjson<W: Write>(&self, partner: &PartnerId, mut w: W) -> Result<(), Error> {
        for r in self.reports_of(partner) {
            json_line(&mut w, "report", &r.report)?;
        }
        Ok(())
    }

    /// Writes the truth sampled every `interval` as NDJSON ([`crate::TruthSample`] per line).
    pub fn write_truth_ndjson<W: Write>(&self, interval: Duration, mut w: W) -> Result<(), Error> {
        for s in self.truth().samples(interval) {
            json_line(&mut w, "truth sample", &s)?;
        }
        Ok(())
    }

    /// Writes the scenario into `dir` (created if missing):
    /// - `reports/<PARTNER>.ndjson`: each partner's reports in arrival order;
    /// - `partners.json`: the partners with their default markings;
    /// - `truth.ndjson`: every vessel every 10 s;
    /// - `vessels.ndjson`: each vessel's id, kind, habit and true identity;
    /// - `origins.ndjson`: per report, its arrival time and the vessel (or clutter) behind it;
    /// - `scenario.json`: seed, times, region, counts and the sensors.
    pub fn write_to_dir(&self, dir: &Path) -> Result<(), Error> {
        let reports_dir = dir.join("reports");
        std::fs::create_dir_all(&reports_dir).map_err(|source| Error::Write { path: reports_dir.clone(), source })?;
        let file = |name: &Path| -> Result<std::io::BufWriter<std::fs::File>, Error> {
            std::fs::File::create(name)
                .map(std::io::BufWriter::new)
                .map_err(|source| Error::Write { path: name.to_path_buf(), source })
        };
        let finish = |mut w: std::io::BufWriter<std::fs::File>, path: &Path| {
            w.flush().map_err(|source| Error::Write { path: path.to_path_buf(), source })
        };
        let named = |path: std::path::PathBuf| {
            move |e: Error| match e {
                Error::Write { source, .. } => Error::Write { path: path.clone(), source },
                other => other,
            }
        };
        let mut counts = BTreeMap::new();
        for p in self.partners() {
            let path = reports_dir.join(format!("{}.ndjson", p.id));
            let mut w = file(&path)?;
            self.write_reports_ndjson(&p.id, &mut w).map_err(named(path.clone()))?;
            finish(w, &path)?;
            counts.insert(p.id.as_str(), self.reports_of(&p.id).count());
        }
        let path = dir.join("partners.json");
        let mut w = file(&path)?;
        serde_json::to_writer_pretty(&mut w, self.partners())
            .map_err(|source| Error::Json { what: "partners", source })?;
        finish(w, &path)?;
        let path = dir.join("truth.ndjson");
        let mut w = file(&path)?;
        self.write_truth_ndjson(Duration::seconds(10), &mut w).map_err(named(path.clone()))?;
        finish(w, &path)?;
        let path = dir.join("vessels.ndjson");
        let mut w = file(&path)?;
        for v in self.vessel_lines() {
            json_line(&mut w, "vessel", &v).map_err(named(path.clone()))?;
        }
        finish(w, &path)?;
        let path = dir.join("origins.ndjson");
        let mut w = file(&path)?;
        for r in &self.reports {
            let line = OriginLine {
                report: r.report.id,
                originator: &r.report.originator,
                arrival: r.arrival,
                origin: r.origin,
            };
            json_line(&mut w, "origin", &line).map_err(named(path.clone()))?;
        }
        finish(w, &path)?;
        let path = dir.join("scenario.json");
        let mut w = file(&path)?;
        let summary = Summary {
            seed: self.config().seed,
            start: self.truth().start(),
            end: self.truth().end(),
            region: self.config().region,
            vessels: self.truth().vessels().len(),
            dark_vessels: self.truth().vessels().iter().filter(|v| v.kind == VesselKind::Dark).count(),
            reports: self.reports.len(),
            reports_per_partner: counts,
            sensors: self.sensors(),
        };
        serde_json::to_writer_pretty(&mut w, &summary)
            .map_err(|source| Error::Json { what: "scenario summary", source })?;
        finish(w, &path)
    }
}
