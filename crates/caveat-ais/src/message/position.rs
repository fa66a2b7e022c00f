//! Position-bearing messages: types 1-3, 4, 18, 19 and 27 (ITU-R M.1371-5
//! Annex 8 Tables 46, 47 (type 4), 66 (18), 67 (19), 85 (27)).

use super::static_data::ShipDimensions;
use crate::armor::{AisBits, AisText};

pub(crate) const POSITION_BITS: usize = 168;
pub(crate) const BASE_STATION_BITS: usize = 168;
pub(crate) const CLASS_B_BITS: usize = 168;
/// Type 19's last field (assigned mode) ends at bit 308; the 4 spare bits are optional.
pub(crate) const CLASS_B_EXTENDED_BITS: usize = 308;
/// Type 27's last field (GNSS status) ends at bit 95; the spare bit is optional.
pub(crate) const LONG_RANGE_BITS: usize = 95;

/// A latitude/longitude pair as transmitted, in 1/10,000 minute (or 1/10 minute
/// for type 27, see [`Coordinates::per_degree`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coordinates {
    /// Longitude, signed; 181° means not available.
    pub lon_raw: i32,
    /// Latitude, signed; 91° means not available.
    pub lat_raw: i32,
    /// Raw units per degree: 600,000 (1/10,000 min) or 600 (1/10 min, type 27).
    pub per_degree: i32,
}

impl Coordinates {
    pub(crate) fn read(
        bits: &AisBits,
        lon_at: usize,
        lon_width: u32,
        lat_at: usize,
        lat_width: u32,
        per_degree: i32,
    ) -> Self {
        Coordinates { lon_raw: bits.int(lon_at, lon_width), lat_raw: bits.int(lat_at, lat_width), per_degree }
    }

    /// Longitude in degrees, as transmitted (181 when not available).
    pub fn lon_deg(&self) -> f64 {
        f64::from(self.lon_raw) / f64::from(self.per_degree)
    }

    /// Latitude in degrees, as transmitted (91 when not available).
    pub fn lat_deg(&self) -> f64 {
        f64::from(self.lat_raw) / f64::from(self.per_degree)
    }

    /// `(lat, lon)` in degrees, or `None` when not available (lon 181, lat 91)
    /// or outside ±90/±180, which the standard does not allow either.
    pub fn lat_lon(&self) -> Option<(f64, f64)> {
        let (lat, lon) = (self.lat_deg(), self.lon_deg());
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
    }
}

/// Rate of turn (ITU-R M.1371-5 Table 48, ROT field).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateOfTurn {
    /// Degrees per minute, positive to starboard: (raw / 4.733)² with raw's sign.
    DegreesPerMinute(f64),
    /// Raw +127: turning right at more than 5°/30 s, no turn indicator.
    RightOver5PerHalfMinute,
    /// Raw -127: turning left at more than 5°/30 s, no turn indicator.
    LeftOver5PerHalfMinute,
    /// Raw -128: not available.
    NotAvailable,
}

fn speed_kn(raw: u16) -> Option<f64> {
    // 1023 = not available; 1022 = 102.2 knots or more.
    (raw < 1023).then(|| f64::from(raw) / 10.0)
}

fn course_deg(raw: u16) -> Option<f64> {
    // 3600 = not available; 3601-4095 must not be used.
    (raw < 3600).then(|| f64::from(raw) / 10.0)
}

fn heading_deg(raw: u16) -> Option<u16> {
    // 511 = not available.
    (raw < 360).then_some(raw)
}

macro_rules! narrow {
    ($bits:expr, $at:expr, $w:expr, $t:ty) => {
        <$t>::try_from($bits.uint($at, $w)).unwrap_or(<$t>::MAX)
    };
}
pub(crate) use narrow;

/// Types 1, 2, 3: class A position report (Table 46).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PositionReport {
    /// 1, 2 or 3.
    pub msg_type: u8,
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// Navigational status, 0-15 (15 = not defined).
    pub nav_status: u8,
    /// Rate of turn as transmitted, see [`PositionReport::rate_of_turn`].
    pub rot_raw: i8,
    /// Speed over ground in 1/10 knot; 1023 = not available.
    pub sog_raw: u16,
    /// Position accuracy flag: true = high (≤ 10 m, DGNSS).
    pub accuracy: bool,
    /// Position.
    pub coordinates: Coordinates,
    /// Course over ground in 1/10 degree; 3600 = not available.
    pub cog_raw: u16,
    /// True heading in degrees; 511 = not available.
    pub heading_raw: u16,
    /// UTC second of the report; 60-63 mean not available / manual / dead reckoning / inoperative.
    pub second: u8,
    /// Special manoeuvre indicator, 0-2.
    pub maneuver: u8,
    /// RAIM flag.
    pub raim: bool,
    /// Communication state, 19 bits.
    pub radio: u32,
}

impl PositionReport {
    pub(crate) fn decode(b: &AisBits) -> Self {
        PositionReport {
            msg_type: b.msg_type(),
            repeat: narrow!(b, 6, 2, u8),
            mmsi: b.uint(8, 30),
            nav_status: narrow!(b, 38, 4, u8),
            rot_raw: i8::try_from(b.int(42, 8)).unwrap_or(i8::MIN),
            sog_raw: narrow!(b, 50, 10, u16),
            accuracy: b.flag(60),
            coordinates: Coordinates::read(b, 61, 28, 89, 27, 600_000),
            cog_raw: narrow!(b, 116, 12, u16),
            heading_raw: narrow!(b, 128, 9, u16),
            second: narrow!(b, 137, 6, u8),
            maneuver: narrow!(b, 143, 2, u8),
            raim: b.flag(148),
            radio: b.uint(149, 19),
        }
    }

    /// Speed over ground in knots; `None` when not available (102.2 means 102.2 or more).
    pub fn speed_kn(&self) -> Option<f64> {
        speed_kn(self.sog_raw)
    }

    /// Course over ground in degrees, [0, 360); `None` when not available.
    pub fn course_deg(&self) -> Option<f64> {
        course_deg(self.cog_raw)
    }

    /// True heading in degrees, 0-359; `None` when not available.
    pub fn heading_deg(&self) -> Option<u16> {
        heading_deg(self.heading_raw)
    }

    /// Rate of turn (ITU-R M.1371-5 Table 48).
    pub fn rate_of_turn(&self) -> RateOfTurn {
        match self.rot_raw {
            -128 => RateOfTurn::NotAvailable,
            127 => RateOfTurn::RightOver5PerHalfMinute,
            -127 => RateOfTurn::LeftOver5PerHalfMinute,
            r => {
                let x = f64::from(r) / 4.733;
                RateOfTurn::DegreesPerMinute((x * x).copysign(f64::from(r)))
            }
        }
    }
}

/// Type 4: base station report (Table 47).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BaseStationReport {
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// UTC year, 1-9999; 0 = not available.
    pub year: u16,
    /// UTC month, 1-12; 0 = not available.
    pub month: u8,
    /// UTC day, 1-31; 0 = not available.
    pub day: u8,
    /// UTC hour, 0-23; 24 = not available.
    pub hour: u8,
    /// UTC minute, 0-59; 60 = not available.
    pub minute: u8,
    /// UTC second, 0-59; 60 = not available.
    pub second: u8,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Position.
    pub coordinates: Coordinates,
    /// Type of electronic position fixing device, 0-15.
    pub epfd: u8,
    /// RAIM flag.
    pub raim: bool,
    /// Communication state, 19 bits.
    pub radio: u32,
}

impl BaseStationReport {
    pub(crate) fn decode(b: &AisBits) -> Self {
        BaseStationReport {
            repeat: narrow!(b, 6, 2, u8),
            mmsi: b.uint(8, 30),
            year: narrow!(b, 38, 14, u16),
            month: narrow!(b, 52, 4, u8),
            day: narrow!(b, 56, 5, u8),
            hour: narrow!(b, 61, 5, u8),
            minute: narrow!(b, 66, 6, u8),
            second: narrow!(b, 72, 6, u8),
            accuracy: b.flag(78),
            coordinates: Coordinates::read(b, 79, 28, 107, 27, 600_000),
            epfd: narrow!(b, 134, 4, u8),
            raim: b.flag(148),
            radio: b.uint(149, 19),
        }
    }
}

/// Type 18: standard class B CS position report (Table 66).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
#[expect(clippy::struct_excessive_bools, reason = "one field per flag bit of the standard's message table")]
pub struct ClassBPositionReport {
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// Regional reserved, 8 bits.
    pub reserved_1: u8,
    /// Speed over ground in 1/10 knot; 1023 = not available.
    pub sog_raw: u16,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Position.
    pub coordinates: Coordinates,
    /// Course over ground in 1/10 degree; 3600 = not available.
    pub cog_raw: u16,
    /// True heading; 511 = not available.
    pub heading_raw: u16,
    /// UTC second.
    pub second: u8,
    /// Regional reserved, 2 bits.
    pub reserved_2: u8,
    /// Class B unit flag (true = CS).
    pub cs: bool,
    /// Display flag.
    pub display: bool,
    /// DSC flag.
    pub dsc: bool,
    /// Band flag.
    pub band: bool,
    /// Message 22 flag.
    pub msg22: bool,
    /// Assigned mode flag.
    pub assigned: bool,
    /// RAIM flag.
    pub raim: bool,
    /// Communication state selector and state, 20 bits.
    pub radio: u32,
}

impl ClassBPositionReport {
    pub(crate) fn decode(b: &AisBits) -> Self {
        ClassBPositionReport {
            repeat: narrow!(b, 6, 2, u8),
            mmsi: b.uint(8, 30),
            reserved_1: narrow!(b, 38, 8, u8),
            sog_raw: narrow!(b, 46, 10, u16),
            accuracy: b.flag(56),
            coordinates: Coordinates::read(b, 57, 28, 85, 27, 600_000),
            cog_raw: narrow!(b, 112, 12, u16),
            heading_raw: narrow!(b, 124, 9, u16),
            second: narrow!(b, 133, 6, u8),
            reserved_2: narrow!(b, 139, 2, u8),
            cs: b.flag(141),
            display: b.flag(142),
            dsc: b.flag(143),
            band: b.flag(144),
            msg22: b.flag(145),
            assigned: b.flag(146),
            raim: b.flag(147),
            radio: b.uint(148, 20),
        }
    }

    /// Speed over ground in knots; `None` when not available.
    pub fn speed_kn(&self) -> Option<f64> {
        speed_kn(self.sog_raw)
    }

    /// Course over ground in degrees; `None` when not available.
    pub fn course_deg(&self) -> Option<f64> {
        course_deg(self.cog_raw)
    }

    /// True heading in degrees; `None` when not available.
    pub fn heading_deg(&self) -> Option<u16> {
        heading_deg(self.heading_raw)
    }
}

/// Type 19: extended class B position report (Table 67).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
#[expect(clippy::struct_excessive_bools, reason = "one field per flag bit of the standard's message table")]
pub struct ClassBExtendedReport {
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// Regional reserved, 8 bits.
    pub reserved_1: u8,
    /// Speed over ground in 1/10 knot; 1023 = not available.
    pub sog_raw: u16,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Position.
    pub coordinates: Coordinates,
    /// Course over ground in 1/10 degree; 3600 = not available.
    pub cog_raw: u16,
    /// True heading; 511 = not available.
    pub heading_raw: u16,
    /// UTC second.
    pub second: u8,
    /// Regional reserved, 4 bits.
    pub reserved_2: u8,
    /// Name, up to 20 characters.
    pub name: AisText,
    /// Ship and cargo type, 0-255 (0 = not available).
    pub ship_type: u8,
    /// Dimensions and reference point.
    pub dimensions: ShipDimensions,
    /// Type of electronic position fixing device.
    pub epfd: u8,
    /// RAIM flag.
    pub raim: bool,
    /// Data terminal equipment flag (false = available).
    pub dte: bool,
    /// Assigned mode flag.
    pub assigned: bool,
}

impl ClassBExtendedReport {
    pub(crate) fn decode(b: &AisBits) -> Self {
        ClassBExtendedReport {
            repeat: narrow!(b, 6, 2, u8),
            mmsi: b.uint(8, 30),
            reserved_1: narrow!(b, 38, 8, u8),
            sog_raw: narrow!(b, 46, 10, u16),
            accuracy: b.flag(56),
            coordinates: Coordinates::read(b, 57, 28, 85, 27, 600_000),
            cog_raw: narrow!(b, 112, 12, u16),
            heading_raw: narrow!(b, 124, 9, u16),
            second: narrow!(b, 133, 6, u8),
            reserved_2: narrow!(b, 139, 4, u8),
            name: b.text(143, 20),
            ship_type: narrow!(b, 263, 8, u8),
            dimensions: ShipDimensions::read(b, 271),
            epfd: narrow!(b, 301, 4, u8),
            raim: b.flag(305),
            dte: b.flag(306),
            assigned: b.flag(307),
        }
    }

    /// Speed over ground in knots; `None` when not available.
    pub fn speed_kn(&self) -> Option<f64> {
        speed_kn(self.sog_raw)
    }

    /// Course over ground in degrees; `None` when not available.
    pub fn course_deg(&self) -> Option<f64> {
        course_deg(self.cog_raw)
    }
}

/// Type 27: long-range AIS broadcast (Table 85), positions in 1/10 minute.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LongRangeReport {
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// RAIM flag.
    pub raim: bool,
    /// Navigational status.
    pub nav_status: u8,
    /// Position (1/10 minute).
    pub coordinates: Coordinates,
    /// Speed over ground in knots, 0-62; 63 = not available.
    pub sog_raw: u8,
    /// Course over ground in degrees, 0-359; 511 = not available.
    pub cog_raw: u16,
    /// GNSS position status: false = current GNSS position, true = not GNSS position.
    pub gnss: bool,
}

impl LongRangeReport {
    pub(crate) fn decode(b: &AisBits) -> Self {
        LongRangeReport {
            repeat: narrow!(b, 6, 2, u8),
            mmsi: b.uint(8, 30),
            accuracy: b.flag(38),
            raim: b.flag(39),
            nav_status: narrow!(b, 40, 4, u8),
            coordinates: Coordinates::read(b, 44, 18, 62, 17, 600),
            sog_raw: narrow!(b, 79, 6, u8),
            cog_raw: narrow!(b, 85, 9, u16),
            gnss: b.flag(94),
        }
    }

    /// Speed over ground in knots; `None` when not available.
    pub fn speed_kn(&self) -> Option<f64> {
        (self.sog_raw < 63).then(|| f64::from(self.sog_raw))
    }

    /// Course over ground in degrees; `None` when not available.
    pub fn course_deg(&self) -> Option<f64> {
        (self.cog_raw < 360).then(|| f64::from(self.cog_raw))
    }
}
