//! Piecewise-analytic trajectories: a vessel's truth is a list of legs, each a
//! straight run with constant acceleration or a constant-rate turn at constant
//! speed, so its state is exact at any instant and costs one binary search.

use serde::{Deserialize, Serialize};

use crate::geo::{MS_PER_KN, normalize_deg, offset};

/// A vessel's kinematic state at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VesselState {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Course over ground, degrees true in [0, 360).
    pub course_deg: f64,
    /// Speed over ground, knots.
    pub speed_kn: f64,
}

/// One leg, valid from `t0` (seconds after scenario start) until the next leg's `t0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Leg {
    pub(crate) t0: f64,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) course: f64,
    /// Metres per second.
    pub(crate) speed: f64,
    /// Degrees per second; non-zero only with `accel == 0`.
    pub(crate) turn: f64,
    /// Metres per second squared; the speed never goes below zero.
    pub(crate) accel: f64,
}

impl Leg {
    pub(crate) fn at(&self, t: f64) -> VesselState {
        let dt = (t - self.t0).max(0.0);
        if self.turn.abs() > 1e-9 {
            // Coordinated turn: de/dt = v sin(theta), dn/dt = v cos(theta), theta = theta0 + w t.
            let w = self.turn.to_radians();
            let th0 = self.course.to_radians();
            let th = th0 + w * dt;
            let r = self.speed / w;
            let east = r * (th0.cos() - th.cos());
            let north = r * (th.sin() - th0.sin());
            let (lat, lon) = offset(self.lat, self.lon, east, north);
            return VesselState {
                lat,
                lon,
                course_deg: normalize_deg(self.course + self.turn * dt),
                speed_kn: self.speed / MS_PER_KN,
            };
        }
        let (s, v) = if self.accel < 0.0 {
            let t_stop = -self.speed / self.accel;
            let tt = dt.min(t_stop);
            (self.speed * tt + 0.5 * self.accel * tt * tt, (self.speed + self.accel * tt).max(0.0))
        } else {
            (self.speed * dt + 0.5 * self.accel * dt * dt, self.speed + self.accel * dt)
        };
        let c = self.course.to_radians();
        let (lat, lon) = offset(self.lat, self.lon, s * c.sin(), s * c.cos());
        VesselState { lat, lon, course_deg: normalize_deg(self.course), speed_kn: v / MS_PER_KN }
    }

    /// The same leg moved by `east`/`north` metres: an escort keeping station.
    pub(crate) fn shifted(&self, east: f64, north: f64) -> Leg {
        let (lat, lon) = offset(self.lat, self.lon, east, north);
        Leg { lat, lon, ..*self }
    }
}

/// A truth trajectory over `[legs[0].t0, end]`, seconds after scenario start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trajectory {
    pub(crate) legs: Vec<Leg>,
    pub(crate) end: f64,
}

impl Trajectory {
    /// The state at `t`, or `None` outside the trajectory's span.
    pub(crate) fn state_at(&self, t: f64) -> Option<VesselState> {
        let first = self.legs.first()?;
        if t < first.t0 || t > self.end {
            return None;
        }
        let i = self.legs.partition_point(|l| l.t0 <= t).saturating_sub(1);
        self.legs.get(i).map(|l| l.at(t))
    }

    /// The legs covering `[from, to]`, each moved by `east`/`north` metres,
    /// the first one cut to start at `from`.
    pub(crate) fn escort(&self, from: f64, to: f64, east: f64, north: f64) -> Vec<Leg> {
        let mut out = Vec::new();
        let i = self.legs.partition_point(|l| l.t0 <= from).saturating_sub(1);
        for leg in self.legs.iter().skip(i) {
            if leg.t0 > to {
                break;
            }
            let cut = if leg.t0 < from {
                let s = leg.at(from);
                Leg {
                    t0: from,
                    lat: s.lat,
                    lon: s.lon,
                    course: leg.course + leg.turn * (from - leg.t0),
                    speed: (leg.speed + leg.accel * (from - leg.t0)).max(0.0),
                    ..*leg
                }
            } else {
                *leg
            };
            out.push(cut.shifted(east, north));
        }
        out
    }
}

/// Builds a trajectory by steering: each manoeuvre appends a leg and advances
/// the pilot's state. Every manoeuvre is cut at the scenario end.
#[derive(Debug, Clone)]
pub(crate) struct Pilot {
    legs: Vec<Leg>,
    pub(crate) t: f64,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) course: f64,
    /// Metres per second.
    pub(crate) speed: f64,
    end: f64,
}

impl Pilot {
    pub(crate) fn new(t: f64, lat: f64, lon: f64, course: f64, speed: f64, end: f64) -> Self {
        Pilot { legs: Vec::new(), t, lat, lon, course: normalize_deg(course), speed: speed.max(0.0), end }
    }

    /// Starts from already-built legs (the real part of a track), continuing at the given state.
    pub(crate) fn after(legs: Vec<Leg>, t: f64, state: VesselState, end: f64) -> Self {
        let mut p = Pilot::new(t, state.lat, state.lon, state.course_deg, state.speed_kn * MS_PER_KN, end);
        p.legs = legs;
        p
    }

    pub(crate) fn done(&self) -> bool {
        self.t >= self.end
    }

    fn push(&mut self, leg: Leg, duration: f64) {
        let duration = duration.min(self.end - self.t);
        if duration <= 0.0 || !duration.is_finite() {
            return;
        }
        self.legs.push(leg);
        self.t += duration;
        let s = leg.at(self.t);
        self.lat = s.lat;
        self.lon = s.lon;
        self.course = s.course_deg;
        self.speed = s.speed_kn * MS_PER_KN;
    }

    fn leg(&self) -> Leg {
        Leg { t0: self.t, lat: self.lat, lon: self.lon, course: self.course, speed: self.speed, turn: 0.0, accel: 0.0 }
    }

    /// Straight on at constant speed.
    pub(crate) fn cruise(&mut self, duration: f64) {
        let leg = self.leg();
        self.push(leg, duration);
    }

    /// Turns to `course` at `rate` degrees per second, keeping speed.
    pub(crate) fn turn_to(&mut self, course: f64, rate: f64) {
        let delta = crate::geo::angle_diff_deg(self.course, course);
        let rate = rate.abs().max(1e-3);
        if delta.abs() < 0.5 {
            self.course = normalize_deg(course);
            return;
        }
        let leg = Leg { turn: rate.copysign(delta), ..self.leg() };
        self.push(leg, delta.abs() / rate);
        if !self.done() {
            self.course = normalize_deg(course);
        }
    }

    /// Accelerates or decelerates to `speed` (m/s) at `rate` m/s², going straight.
    pub(crate) fn change_speed(&mut self, speed: f64, rate: f64) {
        let speed = speed.max(0.0);
        let dv = speed - self.speed;
        if dv.abs() < 1e-3 {
            return;
        }
        let accel = rate.abs().max(1e-3).copysign(dv);
        let leg = Leg { accel, ..self.leg() };
        self.push(leg, dv.abs() / accel.abs());
        if !self.done() {
            self.speed = speed;
        }
    }

    /// Runs straight to (lat, lon) in exactly `duration` seconds.
    pub(crate) fn run_to(&mut self, lat: f64, lon: f64, duration: f64) {
        let d = crate::geo::distance_m(self.lat, self.lon, lat, lon);
        let course = if d > 1.0 { crate::geo::bearing_deg(self.lat, self.lon, lat, lon) } else { self.course };
        let speed = if duration > 0.0 { d / duration } else { 0.0 };
        let leg = Leg { course, speed, ..self.leg() };
        self.push(leg, duration);
    }

    /// Appends legs built elsewhere (an escort), then continues from `state` at `t`.
    pub(crate) fn splice(&mut self, legs: Vec<Leg>, t: f64, state: VesselState) {
        if legs.is_empty() || t <= self.t {
            return;
        }
        self.legs.extend(legs);
        self.t = t.min(self.end);
        self.lat = state.lat;
        self.lon = state.lon;
        self.course = state.course_deg;
        self.speed = state.speed_kn * MS_PER_KN;
    }

    pub(crate) fn finish(mut self) -> Trajectory {
        if self.legs.is_empty() || self.t < self.end {
            let leg = self.leg();
            self.legs.push(leg);
        }
        Trajectory { legs: self.legs, end: self.end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::distance_m;

    #[test]
    fn straight_leg_covers_speed_times_time() {
        let leg = Leg { t0: 0.0, lat: 18.0, lon: -65.0, course: 90.0, speed: 10.0, turn: 0.0, accel: 0.0 };
        let s = leg.at(100.0);
        assert!((distance_m(18.0, -65.0, s.lat, s.lon) - 1000.0).abs() < 0.5);
        assert!((s.speed_kn - 10.0 / MS_PER_KN).abs() < 1e-9);
    }

    #[test]
    fn deceleration_stops_and_stays() {
        let leg = Leg { t0: 0.0, lat: 18.0, lon: -65.0, course: 0.0, speed: 10.0, turn: 0.0, accel: -1.0 };
        let a = leg.at(10.0);
        let b = leg.at(50.0);
        assert_eq!(a, b);
        assert!((distance_m(18.0, -65.0, a.lat, a.lon) - 50.0).abs() < 0.01);
    }

    #[test]
    fn full_circle_returns_home() {
        let leg = Leg { t0: 0.0, lat: 18.0, lon: -65.0, course: 0.0, speed: 10.0, turn: 3.0, accel: 0.0 };
        let s = leg.at(120.0);
        assert!(distance_m(18.0, -65.0, s.lat, s.lon) < 0.5);
        assert!((leg.at(30.0).course_deg - 90.0).abs() < 1e-9);
    }

    #[test]
    fn pilot_is_continuous() {
        let mut p = Pilot::new(0.0, 18.0, -65.0, 0.0, 10.0, 3600.0);
        p.cruise(300.0);
        p.turn_to(90.0, 1.0);
        p.change_speed(15.0, 0.1);
        p.cruise(600.0);
        let tr = p.finish();
        for w in tr.legs.windows(2) {
            if let [a, b] = w {
                let end = a.at(b.t0);
                assert!(distance_m(end.lat, end.lon, b.lat, b.lon) < 1e-3);
            }
        }
        assert!(tr.state_at(3600.0).is_some());
        assert!(tr.state_at(3601.0).is_none());
    }
}
