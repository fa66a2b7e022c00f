//! Static data: type 5 (ITU-R M.1371-5 Table 52) and type 24 parts A and B (Tables 80-81).

use super::position::narrow;
use crate::armor::{AisBits, AisText};

/// Type 5's last field (DTE) ends at bit 423; the spare bit is optional.
pub(crate) const STATIC_VOYAGE_BITS: usize = 423;
pub(crate) const PART_NUMBER_BITS: usize = 40;
/// Part A's name ends at bit 160; the 8 spare bits of later editions are optional.
pub(crate) const PART_A_BITS: usize = 160;
/// Part B's dimensions end at bit 162; the 6 spare bits are optional.
pub(crate) const PART_B_BITS: usize = 162;

/// Distances from the position reference point to the hull, metres
/// (Figure 42 of ITU-R M.1371-5): 0 = not available; 511 (bow/stern) and 63
/// (port/starboard) mean that value or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShipDimensions {
    /// A: to bow.
    pub to_bow: u16,
    /// B: to stern.
    pub to_stern: u16,
    /// C: to port.
    pub to_port: u8,
    /// D: to starboard.
    pub to_starboard: u8,
}

impl ShipDimensions {
    pub(crate) fn read(b: &AisBits, at: usize) -> Self {
        ShipDimensions {
            to_bow: narrow!(b, at, 9, u16),
            to_stern: narrow!(b, at + 9, 9, u16),
            to_port: narrow!(b, at + 18, 6, u8),
            to_starboard: narrow!(b, at + 24, 6, u8),
        }
    }

    /// Length A+B in metres when both are given.
    pub fn length_m(&self) -> Option<f64> {
        (self.to_bow > 0 && self.to_stern > 0).then(|| f64::from(self.to_bow) + f64::from(self.to_stern))
    }

    /// Beam C+D in metres when both are given.
    pub fn beam_m(&self) -> Option<f64> {
        (self.to_port > 0 && self.to_starboard > 0).then(|| f64::from(self.to_port) + f64::from(self.to_starboard))
    }
}

/// Type 5: class A static and voyage related data.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct StaticVoyageData {
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// AIS version indicator, 0-3.
    pub ais_version: u8,
    /// IMO number as transmitted; 0 = not available (may fail the check digit).
    pub imo: u32,
    /// Call sign, up to 7 characters.
    pub call_sign: AisText,
    /// Name, up to 20 characters.
    pub name: AisText,
    /// Ship and cargo type (Table 53); 0 = not available.
    pub ship_type: u8,
    /// Dimensions.
    pub dimensions: ShipDimensions,
    /// Type of electronic position fixing device.
    pub epfd: u8,
    /// ETA month, 1-12; 0 = not available.
    pub eta_month: u8,
    /// ETA day, 1-31; 0 = not available.
    pub eta_day: u8,
    /// ETA hour, 0-23; 24 = not available.
    pub eta_hour: u8,
    /// ETA minute, 0-59; 60 = not available.
    pub eta_minute: u8,
    /// Maximum present static draught, 1/10 m; 0 = not available.
    pub draught_raw: u8,
    /// Destination, up to 20 characters.
    pub destination: AisText,
    /// Data terminal equipment flag (false = available).
    pub dte: bool,
}

impl StaticVoyageData {
    pub(crate) fn decode(b: &AisBits) -> Self {
        StaticVoyageData {
            repeat: narrow!(b, 6, 2, u8),
            mmsi: b.uint(8, 30),
            ais_version: narrow!(b, 38, 2, u8),
            imo: b.uint(40, 30),
            call_sign: b.text(70, 7),
            name: b.text(112, 20),
            ship_type: narrow!(b, 232, 8, u8),
            dimensions: ShipDimensions::read(b, 240),
            epfd: narrow!(b, 270, 4, u8),
            eta_month: narrow!(b, 274, 4, u8),
            eta_day: narrow!(b, 278, 5, u8),
            eta_hour: narrow!(b, 283, 5, u8),
            eta_minute: narrow!(b, 288, 6, u8),
            draught_raw: narrow!(b, 294, 8, u8),
            destination: b.text(302, 20),
            dte: b.flag(422),
        }
    }

    /// Draught in metres; `None` when not available.
    pub fn draught_m(&self) -> Option<f64> {
        (self.draught_raw > 0).then(|| f64::from(self.draught_raw) / 10.0)
    }
}

/// Type 24 part A: the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StaticDataPartA {
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// Name, up to 20 characters.
    pub name: AisText,
}

impl StaticDataPartA {
    pub(crate) fn decode(b: &AisBits) -> Self {
        StaticDataPartA { repeat: narrow!(b, 6, 2, u8), mmsi: b.uint(8, 30), name: b.text(40, 20) }
    }
}

/// The last 30 bits of type 24 part B: dimensions, or for an auxiliary craft
/// (MMSI 98MIDXXXX, ITU-R M.585) its mother ship's MMSI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type24Tail {
    /// Dimensions and reference point.
    Dimensions(ShipDimensions),
    /// The mother ship's MMSI.
    MothershipMmsi(u32),
}

/// Type 24 part B: type, vendor, call sign and dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StaticDataPartB {
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// Ship and cargo type; 0 = not available.
    pub ship_type: u8,
    /// Manufacturer id, 3 characters.
    pub vendor_id: AisText,
    /// Unit model code, 4 bits.
    pub model: u8,
    /// Serial number, 20 bits.
    pub serial: u32,
    /// Call sign, up to 7 characters.
    pub call_sign: AisText,
    /// Dimensions or mother ship.
    pub tail: Type24Tail,
}

impl StaticDataPartB {
    pub(crate) fn decode(b: &AisBits) -> Self {
        let mmsi = b.uint(8, 30);
        let tail = if (980_000_000..=989_999_999).contains(&mmsi) {
            Type24Tail::MothershipMmsi(b.uint(132, 30))
        } else {
            Type24Tail::Dimensions(ShipDimensions::read(b, 132))
        };
        StaticDataPartB {
            repeat: narrow!(b, 6, 2, u8),
            mmsi,
            ship_type: narrow!(b, 40, 8, u8),
            vendor_id: b.text(48, 3),
            model: narrow!(b, 66, 4, u8),
            serial: b.uint(70, 20),
            call_sign: b.text(90, 7),
            tail,
        }
    }

    /// The dimensions, unless this is an auxiliary craft.
    pub fn dimensions(&self) -> Option<ShipDimensions> {
        match self.tail {
            Type24Tail::Dimensions(d) => Some(d),
            Type24Tail::MothershipMmsi(_) => None,
        }
    }
}
