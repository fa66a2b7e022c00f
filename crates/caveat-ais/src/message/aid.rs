//! Type 21: aid-to-navigation report (ITU-R M.1371-5 Table 73).

use super::position::{Coordinates, narrow};
use super::static_data::ShipDimensions;
use crate::armor::{AisBits, AisText};

/// The last fixed field (assigned mode) ends at bit 271; spare and name extension are optional.
pub(crate) const AID_BITS: usize = 271;

/// Type 21: aid-to-navigation report.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
#[expect(clippy::struct_excessive_bools, reason = "one field per flag bit of the standard's message table")]
pub struct AidToNavigationReport {
    /// Repeat indicator.
    pub repeat: u8,
    /// MMSI.
    pub mmsi: u32,
    /// Type of aid to navigation, 0-31 (Table 74).
    pub aid_type: u8,
    /// Name, first 20 characters.
    pub name: AisText,
    /// Position accuracy flag.
    pub accuracy: bool,
    /// Position.
    pub coordinates: Coordinates,
    /// Dimensions.
    pub dimensions: ShipDimensions,
    /// Type of electronic position fixing device.
    pub epfd: u8,
    /// UTC second.
    pub second: u8,
    /// Off-position indicator.
    pub off_position: bool,
    /// AtoN status, 8 bits.
    pub reserved_1: u8,
    /// RAIM flag.
    pub raim: bool,
    /// Virtual AtoN flag.
    pub virtual_aid: bool,
    /// Assigned mode flag.
    pub assigned: bool,
    /// Name extension, up to 14 characters (whole six-bit characters after bit 272).
    pub name_extension: AisText,
}

impl AidToNavigationReport {
    pub(crate) fn decode(b: &AisBits) -> Self {
        let ext_chars = (b.len().saturating_sub(272) / 6).min(14);
        AidToNavigationReport {
            repeat: narrow!(b, 6, 2, u8),
            mmsi: b.uint(8, 30),
            aid_type: narrow!(b, 38, 5, u8),
            name: b.text(43, 20),
            accuracy: b.flag(163),
            coordinates: Coordinates::read(b, 164, 28, 192, 27, 600_000),
            dimensions: ShipDimensions::read(b, 219),
            epfd: narrow!(b, 249, 4, u8),
            second: narrow!(b, 253, 6, u8),
            off_position: b.flag(259),
            reserved_1: narrow!(b, 260, 8, u8),
            raim: b.flag(268),
            virtual_aid: b.flag(269),
            assigned: b.flag(270),
            name_extension: b.text(272, ext_chars),
        }
    }

    /// Name and name extension joined.
    pub fn full_name(&self) -> AisText {
        let mut n = self.name;
        n.extend(&self.name_extension);
        n
    }
}
