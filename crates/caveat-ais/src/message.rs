//! Decoded AIS messages (ITU-R M.1371-5 Annex 8) as typed structs.
//!
//! Each struct keeps the transmitted integers (`*_raw` fields, exactly as on the
//! air) and offers scaled accessors that return `None` for the standard's
//! "not available" values, so no information is lost and no sentinel leaks.

mod aid;
mod position;
mod static_data;

pub use aid::AidToNavigationReport;
pub use position::{
    BaseStationReport, ClassBExtendedReport, ClassBPositionReport, Coordinates, LongRangeReport, PositionReport,
    RateOfTurn,
};
pub use static_data::{ShipDimensions, StaticDataPartA, StaticDataPartB, StaticVoyageData, Type24Tail};

use crate::Error;
use crate::armor::AisBits;

/// One decoded message of a supported type.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Types 1, 2, 3: class A position report.
    Position(PositionReport),
    /// Type 4: base station report.
    BaseStation(BaseStationReport),
    /// Type 5: class A static and voyage related data.
    StaticVoyage(StaticVoyageData),
    /// Type 18: standard class B position report.
    ClassBPosition(ClassBPositionReport),
    /// Type 19: extended class B position report.
    ClassBExtended(ClassBExtendedReport),
    /// Type 21: aid-to-navigation report.
    AidToNavigation(AidToNavigationReport),
    /// Type 24 part A: name.
    StaticDataA(StaticDataPartA),
    /// Type 24 part B: type, vendor, call sign, dimensions.
    StaticDataB(StaticDataPartB),
    /// Type 27: long-range position report.
    LongRange(LongRangeReport),
}

/// The message types this crate decodes; others are counted as unsupported.
pub const SUPPORTED_TYPES: [u8; 10] = [1, 2, 3, 4, 5, 18, 19, 21, 24, 27];

impl Message {
    /// The message type, 1-27.
    pub fn msg_type(&self) -> u8 {
        match self {
            Message::Position(m) => m.msg_type,
            Message::BaseStation(_) => 4,
            Message::StaticVoyage(_) => 5,
            Message::ClassBPosition(_) => 18,
            Message::ClassBExtended(_) => 19,
            Message::AidToNavigation(_) => 21,
            Message::StaticDataA(_) | Message::StaticDataB(_) => 24,
            Message::LongRange(_) => 27,
        }
    }

    /// The transmitting station's MMSI (30 bits, 0..=1,073,741,823 on the air).
    pub fn mmsi(&self) -> u32 {
        match self {
            Message::Position(m) => m.mmsi,
            Message::BaseStation(m) => m.mmsi,
            Message::StaticVoyage(m) => m.mmsi,
            Message::ClassBPosition(m) => m.mmsi,
            Message::ClassBExtended(m) => m.mmsi,
            Message::AidToNavigation(m) => m.mmsi,
            Message::StaticDataA(m) => m.mmsi,
            Message::StaticDataB(m) => m.mmsi,
            Message::LongRange(m) => m.mmsi,
        }
    }

    /// Decodes the bits of one complete message. `Ok(None)`: a type this crate
    /// does not decode (counted as unsupported by the feed).
    ///
    /// `line` only labels errors.
    ///
    /// # Errors
    /// [`Error::TooShort`] when the bits end before the type's last field,
    /// [`Error::Type24Part`] for a type 24 part number other than 0 or 1.
    pub fn decode(bits: &AisBits, line: u64) -> Result<Option<Message>, Error> {
        let t = bits.msg_type();
        let need = |needed: usize| {
            if bits.len() < needed {
                Err(Error::TooShort { line, msg_type: t, bits: bits.len(), needed })
            } else {
                Ok(())
            }
        };
        let m = match t {
            1..=3 => {
                need(position::POSITION_BITS)?;
                Message::Position(PositionReport::decode(bits))
            }
            4 => {
                need(position::BASE_STATION_BITS)?;
                Message::BaseStation(BaseStationReport::decode(bits))
            }
            5 => {
                need(static_data::STATIC_VOYAGE_BITS)?;
                Message::StaticVoyage(StaticVoyageData::decode(bits))
            }
            18 => {
                need(position::CLASS_B_BITS)?;
                Message::ClassBPosition(ClassBPositionReport::decode(bits))
            }
            19 => {
                need(position::CLASS_B_EXTENDED_BITS)?;
                Message::ClassBExtended(ClassBExtendedReport::decode(bits))
            }
            21 => {
                need(aid::AID_BITS)?;
                Message::AidToNavigation(AidToNavigationReport::decode(bits))
            }
            24 => {
                need(static_data::PART_NUMBER_BITS)?;
                match bits.uint(38, 2) {
                    0 => {
                        need(static_data::PART_A_BITS)?;
                        Message::StaticDataA(StaticDataPartA::decode(bits))
                    }
                    1 => {
                        need(static_data::PART_B_BITS)?;
                        Message::StaticDataB(StaticDataPartB::decode(bits))
                    }
                    part => return Err(Error::Type24Part { line, part: u8::try_from(part).unwrap_or(u8::MAX) }),
                }
            }
            27 => {
                need(position::LONG_RANGE_BITS)?;
                Message::LongRange(LongRangeReport::decode(bits))
            }
            _ => return Ok(None),
        };
        Ok(Some(m))
    }
}
