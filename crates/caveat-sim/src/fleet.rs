//! Real vessels: AIS positions from the MarineCadastre snapshot, read from CSV.

use std::io::{BufRead, Read};

use caveat_core::{BoundingBox, Imo, Mmsi, Position};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Error;

/// The eastern Caribbean excerpt shipped with the crate (gzip CSV, see `data/README.md`).
const EASTERN_CARIBBEAN_CSV_GZ: &[u8] = include_bytes!("../data/eastern-caribbean.csv.gz");

/// One real AIS position report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fix {
    /// Seconds after the fleet's epoch.
    pub(crate) t: f64,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) sog_kn: Option<f64>,
    pub(crate) cog_deg: Option<f64>,
}

/// One real vessel: its static data and its time-ordered fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct RealTrack {
    /// Its MMSI.
    pub mmsi: Mmsi,
    /// Vessel name, when broadcast.
    pub name: Option<String>,
    /// AIS ship-and-cargo type code (ITU-R M.1371 Table 53).
    pub ais_ship_type: Option<u8>,
    /// Length overall, metres.
    pub length_m: Option<f64>,
    /// Beam, metres.
    pub beam_m: Option<f64>,
    /// IMO number, when valid.
    pub imo: Option<Imo>,
    /// Radio call sign.
    pub call_sign: Option<String>,
    /// Class B transponder (reports less often than class A).
    pub class_b: bool,
    pub(crate) fixes: Vec<Fix>,
}

impl RealTrack {
    /// Number of real fixes.
    pub fn fix_count(&self) -> usize {
        self.fixes.len()
    }
    /// The first real position.
    pub fn first_position(&self) -> Option<Position> {
        self.fixes.first().map(|f| Position { lat: f.lat, lon: f.lon })
    }
}

/// A set of real vessel tracks sharing one time origin (`epoch`, the earliest fix).
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    epoch: OffsetDateTime,
    tracks: Vec<RealTrack>,
}

/// Column positions in the CSV header.
struct Columns {
    mmsi: usize,
    time: usize,
    lat: usize,
    lon: usize,
    sog: usize,
    cog: usize,
    name: Option<usize>,
    vessel_type: Option<usize>,
    length: Option<usize>,
    width: Option<usize>,
    callsign: Option<usize>,
    imo: Option<usize>,
    class: Option<usize>,
}

impl Columns {
    fn from_header(header: &str) -> Result<Self, Error> {
        let names: Vec<&str> = header.trim_end().split(',').map(str::trim).collect();
        let find = |c: &'static str| names.iter().position(|n| *n == c);
        let need = |c: &'static str| find(c).ok_or(Error::MissingColumn { column: c });
        Ok(Columns {
            mmsi: need("mmsi")?,
            time: need("time_utc")?,
            lat: need("lat")?,
            lon: need("lon")?,
            sog: need("sog_kn")?,
            cog: need("cog_deg")?,
            name: find("name"),
            vessel_type: find("vessel_type"),
            length: find("length_m"),
            width: find("width_m"),
            callsign: find("callsign"),
            imo: find("imo"),
            class: find("transceiver_class"),
        })
    }
}

/// One parsed row before grouping by vessel.
struct Row {
    mmsi: Mmsi,
    time: OffsetDateTime,
    fix: Fix,
    name: Option<String>,
    ais_ship_type: Option<u8>,
    length_m: Option<f64>,
    beam_m: Option<f64>,
    call_sign: Option<String>,
    imo: Option<Imo>,
    class_b: bool,
}

fn text(fields: &[&str], i: Option<usize>) -> Option<String> {
    let v = fields.get(i?)?.trim();
    (!v.is_empty() && v.chars().count() <= 64 && !v.chars().any(char::is_control)).then(|| v.to_owned())
}

fn number(fields: &[&str], i: Option<usize>) -> Option<f64> {
    fields.get(i?)?.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

fn parse_row(line_no: u64, line: &str, c: &Columns) -> Result<Option<Row>, Error> {
    let f: Vec<&str> = line.split(',').collect();
    let get = |i: usize, name: &'static str| {
        f.get(i).map(|s| s.trim()).ok_or_else(|| Error::csv(line_no, name, line, "row has too few columns"))
    };
    let mmsi_s = get(c.mmsi, "mmsi")?;
    let mmsi = mmsi_s
        .parse::<u32>()
        .ok()
        .and_then(|m| Mmsi::new(m).ok())
        .ok_or_else(|| Error::csv(line_no, "mmsi", mmsi_s, "not an MMSI"))?;
    let time_s = get(c.time, "time_utc")?;
    let time = OffsetDateTime::parse(time_s, &Rfc3339)
        .map_err(|_| Error::csv(line_no, "time_utc", time_s, "not an RFC 3339 time"))?;
    let lat_s = get(c.lat, "lat")?;
    let lat = lat_s.parse::<f64>().map_err(|_| Error::csv(line_no, "lat", lat_s, "not a number"))?;
    let lon_s = get(c.lon, "lon")?;
    let lon = lon_s.parse::<f64>().map_err(|_| Error::csv(line_no, "lon", lon_s, "not a number"))?;
    // 91/181 is AIS for "not available" (ITU-R M.1371): skip the row, it says nothing.
    if Position::new(lat, lon).is_err() {
        return Ok(None);
    }
    let sog_kn = number(&f, Some(c.sog)).filter(|s| (0.0..102.3).contains(s));
    let cog_deg = number(&f, Some(c.cog)).filter(|s| (0.0..360.0).contains(s));
    let ais_ship_type = number(&f, c.vessel_type).and_then(|t| {
        let r = t.round();
        (0.0..=99.0).contains(&r).then(|| format!("{r:.0}").parse::<u8>().ok()).flatten()
    });
    let imo = text(&f, c.imo).and_then(|s| s.parse::<Imo>().ok());
    Ok(Some(Row {
        mmsi,
        time,
        fix: Fix { t: 0.0, lat, lon, sog_kn, cog_deg },
        name: text(&f, c.name),
        ais_ship_type,
        length_m: number(&f, c.length).filter(|l| *l > 0.0 && *l <= 500.0),
        beam_m: number(&f, c.width).filter(|l| *l > 0.0 && *l <= 100.0),
        call_sign: text(&f, c.callsign).filter(|s| s.chars().count() <= 16),
        imo,
        class_b: text(&f, c.class).is_some_and(|s| s == "B"),
    }))
}

impl Fleet {
    /// The shipped excerpt: every vessel of the MarineCadastre snapshot of
    /// 2022-01-03 between latitudes 15 and 20 and longitudes -68 and -60
    /// (Puerto Rico, US Virgin Islands, eastern Caribbean): 266 vessels,
    /// 2,155 positions over 25 minutes.
    pub fn eastern_caribbean() -> Result<Fleet, Error> {
        Fleet::from_csv_gz(EASTERN_CARIBBEAN_CSV_GZ)
    }

    /// Reads a gzip-compressed CSV in the MarineCadastre layout (see [`Fleet::from_csv`]).
    pub fn from_csv_gz(reader: impl Read) -> Result<Fleet, Error> {
        Fleet::from_csv(std::io::BufReader::new(flate2::read::GzDecoder::new(reader)))
    }

    /// Reads a CSV with the columns `mmsi,time_utc,lat,lon,sog_kn,cog_deg`
    /// and optionally `name,vessel_type,length_m,width_m,callsign,imo,transceiver_class`,
    /// as in `/work/shared/data/trajectories`. Rows with an unavailable
    /// position (91/181) are skipped; malformed required fields are errors.
    pub fn from_csv(reader: impl BufRead) -> Result<Fleet, Error> {
        let mut lines = reader.lines();
        let header = match lines.next() {
            Some(h) => h.map_err(Error::Read)?,
            None => return Err(Error::MissingColumn { column: "mmsi" }),
        };
        let cols = Columns::from_header(&header)?;
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let line = line.map_err(Error::Read)?;
            if line.trim().is_empty() {
                continue;
            }
            let line_no = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(2);
            if let Some(row) = parse_row(line_no, &line, &cols)? {
                rows.push(row);
            }
        }
        Ok(Fleet::from_rows(rows))
    }

    fn from_rows(mut rows: Vec<Row>) -> Fleet {
        let epoch = rows.iter().map(|r| r.time).min().unwrap_or(OffsetDateTime::UNIX_EPOCH);
        rows.sort_by(|a, b| a.mmsi.cmp(&b.mmsi).then(a.time.cmp(&b.time)));
        let mut tracks: Vec<RealTrack> = Vec::new();
        for row in rows {
            let t = (row.time - epoch).as_seconds_f64();
            let fix = Fix { t, ..row.fix };
            match tracks.last_mut() {
                Some(tr) if tr.mmsi == row.mmsi => {
                    if tr.fixes.last().is_some_and(|f| (f.t - t).abs() < 0.5) {
                        continue;
                    }
                    tr.fixes.push(fix);
                    tr.name = tr.name.take().or(row.name);
                    tr.ais_ship_type = tr.ais_ship_type.or(row.ais_ship_type);
                    tr.length_m = tr.length_m.or(row.length_m);
                    tr.beam_m = tr.beam_m.or(row.beam_m);
                    tr.imo = tr.imo.or(row.imo);
                    tr.call_sign = tr.call_sign.take().or(row.call_sign);
                }
                _ => tracks.push(RealTrack {
                    mmsi: row.mmsi,
                    name: row.name,
                    ais_ship_type: row.ais_ship_type,
                    length_m: row.length_m,
                    beam_m: row.beam_m,
                    imo: row.imo,
                    call_sign: row.call_sign,
                    class_b: row.class_b,
                    fixes: vec![fix],
                }),
            }
        }
        Fleet { epoch, tracks }
    }

    /// The time of the earliest fix: real time `epoch` maps to the scenario start.
    pub fn epoch(&self) -> OffsetDateTime {
        self.epoch
    }

    /// The vessels, ordered by MMSI.
    pub fn tracks(&self) -> &[RealTrack] {
        &self.tracks
    }

    /// Number of vessels.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Whether there is no vessel.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// The vessels whose first fix lies inside `region`.
    pub fn within(&self, region: &BoundingBox) -> Fleet {
        Fleet {
            epoch: self.epoch,
            tracks: self
                .tracks
                .iter()
                .filter(|t| t.first_position().is_some_and(|p| region.contains(p)))
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_excerpt_loads() {
        let f = Fleet::eastern_caribbean().unwrap();
        assert_eq!(f.len(), 266);
        let fixes: usize = f.tracks().iter().map(RealTrack::fix_count).sum();
        assert_eq!(fixes, 2155 - dupes(&f));
        assert_eq!(f.epoch(), time::macros::datetime!(2022-01-03 0:00 UTC));
    }

    fn dupes(_f: &Fleet) -> usize {
        // Rows sharing (mmsi, second) are merged; the excerpt has none.
        0
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let csv = "mmsi,time_utc,lat,lon,sog_kn,cog_deg\n\
                   338000001,2022-01-03T00:00:00Z,18.1,-65.2,10,90\n\
                   338000001,2022-01-03T00:01:00Z,eighteen,-65.2,10,90\n";
        let err = Fleet::from_csv(csv.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::Csv { line: 3, field: "lat", .. }), "{err}");
        let err = Fleet::from_csv("mmsi,lat\n".as_bytes()).unwrap_err();
        assert!(matches!(err, Error::MissingColumn { column: "time_utc" }), "{err}");
    }

    #[test]
    fn unavailable_positions_are_skipped() {
        let csv = "mmsi,time_utc,lat,lon,sog_kn,cog_deg\n\
                   338000001,2022-01-03T00:00:00Z,91,181,10,90\n\
                   338000001,2022-01-03T00:01:00Z,18.1,-65.2,10,90\n";
        let f = Fleet::from_csv(csv.as_bytes()).unwrap();
        assert_eq!(f.tracks().first().map(RealTrack::fix_count), Some(1));
    }
}
