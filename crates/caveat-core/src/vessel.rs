//! Vessel identity: MMSI, IMO number, flag, type and descriptors.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A Maritime Mobile Service Identity: exactly nine digits (ITU-R M.585).
///
/// Kept as a number but written as a nine-digit string, because leading zeros
/// are meaningful (`00MIDxxxx` is a coast station).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mmsi(u32);

impl Mmsi {
    /// From its numeric value; refuses anything above 999,999,999.
    pub fn new(value: u32) -> Result<Self, Error> {
        if value <= 999_999_999 {
            Ok(Mmsi(value))
        } else {
            Err(Error::invalid("vessel.mmsi", value, "an MMSI has 9 digits"))
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The Maritime Identification Digits (flag prefix) of a ship station, if this is one.
    pub fn mid(self) -> Option<u16> {
        let mid = self.0 / 1_000_000;
        // Ship stations are MIDxxxxxx with MID in 201..=775 (ITU-R M.585 Annex 1).
        (201..=775).contains(&mid).then(|| u16::try_from(mid).ok()).flatten()
    }
}

impl FromStr for Mmsi {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u32>().map(Mmsi).map_err(|_| Error::invalid("vessel.mmsi", s, "an MMSI is 9 digits"))
        } else {
            Err(Error::invalid("vessel.mmsi", s, "an MMSI is exactly 9 digits"))
        }
    }
}

impl TryFrom<String> for Mmsi {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Mmsi> for String {
    fn from(m: Mmsi) -> String {
        m.to_string()
    }
}

impl fmt::Display for Mmsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

/// An IMO ship identification number: seven digits, the last a check digit.
///
/// Accepts `9074729` or `IMO 9074729`; writes the seven digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Imo(u32);

impl Imo {
    /// From its numeric value, checking the check digit.
    pub fn new(value: u32) -> Result<Self, Error> {
        if !(1_000_000..=9_999_999).contains(&value) {
            return Err(Error::invalid("vessel.imo", value, "an IMO number has 7 digits"));
        }
        // Check digit: digits 1..6 weighted 7..2, sum mod 10 (IMO Res. A.1117(30)).
        let mut rest = value / 10;
        let mut sum = 0;
        for weight in 2..=7 {
            sum += (rest % 10) * weight;
            rest /= 10;
        }
        if sum % 10 == value % 10 {
            Ok(Imo(value))
        } else {
            Err(Error::invalid("vessel.imo", value, "IMO check digit does not match"))
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for Imo {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let digits = s.strip_prefix("IMO").map_or(s, str::trim_start);
        if digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let n = digits.parse::<u32>().map_err(|_| Error::invalid("vessel.imo", s, "not a number"))?;
            Imo::new(n)
        } else {
            Err(Error::invalid("vessel.imo", s, "an IMO number is 7 digits"))
        }
    }
}

impl TryFrom<String> for Imo {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Imo> for String {
    fn from(i: Imo) -> String {
        i.to_string()
    }
}

impl fmt::Display for Imo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:07}", self.0)
    }
}

/// A flag state as an ISO 3166-1 alpha-2 code (`PA`, `VE`, `GB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Flag([u8; 2]);

/// ISO 3166-1 alpha-2 codes in use, concatenated.
const ISO_3166_ALPHA2: &str = "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ\
CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGY\
HKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMS\
MTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSV\
SXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

impl Flag {
    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for Flag {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let b = s.as_bytes();
        if let [a, c] = *b
            && a.is_ascii_uppercase()
            && c.is_ascii_uppercase()
            && ISO_3166_ALPHA2.as_bytes().chunks_exact(2).any(|code| code == b)
        {
            return Ok(Flag([a, c]));
        }
        Err(Error::invalid("vessel.flag", s, "not an ISO 3166-1 alpha-2 country code"))
    }
}

impl TryFrom<String> for Flag {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Flag> for String {
    fn from(f: Flag) -> String {
        f.as_str().to_owned()
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of vessel it is, as an observer would classify it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VesselType {
    /// Cargo ship.
    Cargo,
    /// Tanker.
    Tanker,
    /// Passenger ship or ferry.
    Passenger,
    /// Fishing vessel.
    Fishing,
    /// Pleasure craft.
    Pleasure,
    /// Sailing vessel.
    Sailing,
    /// Tug or towing vessel.
    Tug,
    /// Pilot, port tender, dredger and other service craft.
    Service,
    /// Law enforcement vessel.
    LawEnforcement,
    /// Warship.
    Military,
    /// Open go-fast boat with several outboard engines.
    GoFast,
    /// Low-profile or semi-submersible vessel.
    SemiSubmersible,
    /// Something else.
    Other,
}

/// What an observer knows of a vessel's identity. Every field is optional.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VesselDescriptors {
    /// MMSI as transmitted or read; may be spoofed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmsi: Option<Mmsi>,
    /// IMO number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imo: Option<Imo>,
    /// Name, 1-64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Radio call sign, 1-16 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_sign: Option<String>,
    /// Flag state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<Flag>,
    /// Observed vessel type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vessel_type: Option<VesselType>,
    /// AIS ship-and-cargo type code, 0-99 (ITU-R M.1371 Table 53).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ais_ship_type: Option<u8>,
    /// Length overall in metres, (0, 500].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_m: Option<f64>,
    /// Beam in metres, (0, 100].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beam_m: Option<f64>,
    /// Number of engines seen (outboards on a go-fast), 0-16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engines: Option<u8>,
    /// Persons on board seen, 0-10,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persons_on_board: Option<u16>,
}

impl VesselDescriptors {
    /// Checks ranges and string lengths.
    pub fn validate(&self) -> Result<(), Error> {
        check_text("vessel.name", self.name.as_deref(), 64)?;
        check_text("vessel.call_sign", self.call_sign.as_deref(), 16)?;
        if let Some(t) = self.ais_ship_type
            && t > 99
        {
            return Err(Error::invalid("vessel.ais_ship_type", t, "must be 0-99"));
        }
        check_range("vessel.length_m", self.length_m, 0.0, 500.0)?;
        check_range("vessel.beam_m", self.beam_m, 0.0, 100.0)?;
        if let Some(e) = self.engines
            && e > 16
        {
            return Err(Error::invalid("vessel.engines", e, "must be 0-16"));
        }
        if let Some(p) = self.persons_on_board
            && p > 10_000
        {
            return Err(Error::invalid("vessel.persons_on_board", p, "must be 0-10000"));
        }
        Ok(())
    }

    /// Whether nothing at all is known.
    pub fn is_empty(&self) -> bool {
        *self == VesselDescriptors::default()
    }
}

/// Refuses empty, over-long or control-character text.
pub(crate) fn check_text(field: &'static str, value: Option<&str>, max_chars: usize) -> Result<(), Error> {
    let Some(v) = value else { return Ok(()) };
    if v.trim().is_empty() {
        return Err(Error::invalid(field, v, "must not be blank"));
    }
    if v.chars().count() > max_chars {
        return Err(Error::invalid(field, v, "is too long"));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, v, "contains control characters"));
    }
    Ok(())
}

/// Refuses a value outside (lo, hi], or not finite.
fn check_range(field: &'static str, value: Option<f64>, lo: f64, hi: f64) -> Result<(), Error> {
    match value {
        Some(v) if !(v.is_finite() && v > lo && v <= hi) => Err(Error::invalid(field, v, "out of range")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmsi_is_nine_digits() {
        assert_eq!("002320715".parse::<Mmsi>().unwrap().get(), 2_320_715);
        assert_eq!(Mmsi::new(2_320_715).unwrap().to_string(), "002320715");
        for bad in ["12345678", "1234567890", "12345678a", "+12345678", ""] {
            assert_eq!(bad.parse::<Mmsi>().unwrap_err().field(), Some("vessel.mmsi"));
        }
        assert_eq!("338123456".parse::<Mmsi>().unwrap().mid(), Some(338));
        assert_eq!("002320715".parse::<Mmsi>().unwrap().mid(), None);
    }

    #[test]
    fn imo_check_digit() {
        // Real IMO numbers.
        for ok in ["9074729", "IMO 9074729", "9321483"] {
            assert!(ok.parse::<Imo>().is_ok(), "{ok}");
        }
        let err = "9074728".parse::<Imo>().unwrap_err();
        assert!(err.to_string().contains("check digit"), "{err}");
        assert!("907472".parse::<Imo>().is_err());
    }

    #[test]
    fn flags() {
        assert_eq!("PA".parse::<Flag>().unwrap().as_str(), "PA");
        assert!("XX".parse::<Flag>().is_err());
        assert!("pa".parse::<Flag>().is_err());
        assert!("PAN".parse::<Flag>().is_err());
    }
}
