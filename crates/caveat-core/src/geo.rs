//! Positions, bounding boxes and time windows.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Error;

/// A WGS 84 position in decimal degrees.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Latitude, -90 to 90.
    #[cfg_attr(feature = "openapi", schema(minimum = -90, maximum = 90))]
    pub lat: f64,
    /// Longitude, -180 to 180.
    #[cfg_attr(feature = "openapi", schema(minimum = -180, maximum = 180))]
    pub lon: f64,
}

impl Position {
    /// A checked position.
    pub fn new(lat: f64, lon: f64) -> Result<Self, Error> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(Error::invalid("lat", lat, "latitude must be between -90 and 90"));
        }
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(Error::invalid("lon", lon, "longitude must be between -180 and 180"));
        }
        Ok(Position { lat, lon })
    }
}

/// A latitude/longitude box. Boxes crossing the antimeridian are not supported:
/// the Caribbean is nowhere near it, and a caller can split such a box in two.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Southern edge.
    pub min_lat: f64,
    /// Western edge.
    pub min_lon: f64,
    /// Northern edge.
    pub max_lat: f64,
    /// Eastern edge.
    pub max_lon: f64,
}

impl BoundingBox {
    /// A checked box, edges inclusive.
    pub fn new(min_lat: f64, min_lon: f64, max_lat: f64, max_lon: f64) -> Result<Self, Error> {
        let lo = Position::new(min_lat, min_lon)?;
        let hi = Position::new(max_lat, max_lon)?;
        if lo.lat > hi.lat {
            return Err(Error::invalid("bbox", format!("{min_lat}>{max_lat}"), "min_lat exceeds max_lat"));
        }
        if lo.lon > hi.lon {
            return Err(Error::invalid("bbox", format!("{min_lon}>{max_lon}"), "min_lon exceeds max_lon"));
        }
        Ok(BoundingBox { min_lat, min_lon, max_lat, max_lon })
    }

    /// Whether `p` lies inside (edges included).
    pub fn contains(&self, p: Position) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.lat) && (self.min_lon..=self.max_lon).contains(&p.lon)
    }
}

impl std::str::FromStr for BoundingBox {
    type Err = Error;
    /// Parses `min_lon,min_lat,max_lon,max_lat` (the GeoJSON/OGC order).
    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| Error::invalid("bbox", s, "expected min_lon,min_lat,max_lon,max_lat"))?;
        match parts.as_slice() {
            [min_lon, min_lat, max_lon, max_lat] => BoundingBox::new(*min_lat, *min_lon, *max_lat, *max_lon),
            _ => Err(Error::invalid("bbox", s, "expected 4 numbers: min_lon,min_lat,max_lon,max_lat")),
        }
    }
}

/// A half-open time interval `[from, to)`; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Inclusive start.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// Exclusive end.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
}

impl TimeWindow {
    /// Whether `t` falls inside.
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_checked() {
        assert!(Position::new(18.4, -64.6).is_ok());
        assert_eq!(Position::new(90.1, 0.0).unwrap_err().field(), Some("lat"));
        assert_eq!(Position::new(0.0, -180.5).unwrap_err().field(), Some("lon"));
        assert!(Position::new(f64::NAN, 0.0).is_err());
    }

    #[test]
    fn bbox_parses_in_geojson_order() {
        let b: BoundingBox = "-68,17,-60,19".parse().unwrap();
        assert!(b.contains(Position::new(18.0, -64.0).unwrap()));
        assert!(!b.contains(Position::new(20.0, -64.0).unwrap()));
        assert!("-60,17,-68,19".parse::<BoundingBox>().is_err());
        assert!("1,2,3".parse::<BoundingBox>().is_err());
    }
}
