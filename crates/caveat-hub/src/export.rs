//! Exports: what leaves the hub as a file, in one of the [`Format`]s.
//!
//! An export decides `export` (not `fuse`): no-export reports are withheld
//! and the exported tracks are fused from the exportable reports alone, so
//! nothing derived from a withheld report leaves. Every export carries the
//! combined marking of what it holds ([`Marking::combine`]).
//!
//! Each format is one pure function from the export's content to bytes
//! ([`Format::render`]); adding a format is a variant of [`Format`] (and in
//! [`Format::ALL`]), its arms in the matches below (the compiler lists them),
//! and its function: the route, the leak tests and the document follow the enum.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use bytes::Bytes;
use caveat_core::{Marking, PartnerId, Report, ReportId, User, ViewKey};
use caveat_fusion::{FusionConfig, Track, fuse};
use caveat_policy::Action;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::tracks::TrackBody;
use crate::views::Source;
use crate::{Error, Hub};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// GeoJSON: one feature per track (position and trail), the marking as a member.
    Geojson,
    /// KML: one placemark per track, the marking as extended data.
    Kml,
    /// The permitted reports themselves, one JSON report per line.
    Ndjson,
}

impl Format {
    /// Every format, in the order documents list them.
    pub const ALL: [Format; 3] = [Format::Geojson, Format::Kml, Format::Ndjson];

    /// Its name, as `format=` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Geojson => "geojson",
            Format::Kml => "kml",
            Format::Ndjson => "ndjson",
        }
    }

    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Geojson => "application/geo+json",
            Format::Kml => "application/vnd.google-earth.kml+xml",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// Whether the format carries tracks (fused from the reports) rather than the reports.
    fn carries_tracks(self) -> bool {
        match self {
            Format::Geojson | Format::Kml => true,
            Format::Ndjson => false,
        }
    }

    /// The export's bytes in this format.
    ///
    /// # Errors
    /// Encoding fails (an internal error).
    pub fn render(self, content: &Content<'_>) -> Result<Bytes, Error> {
        match self {
            Format::Geojson => geojson(content),
            Format::Kml => Ok(kml(content)),
            Format::Ndjson => ndjson(content),
        }
    }
}

/// What an export holds: the permitted reports, the tracks fused from
/// exactly them (empty for formats that carry reports), and their combined marking.
#[derive(Debug)]
pub struct Content<'a> {
    /// The exportable reports.
    pub reports: &'a [Report],
    /// The tracks fused from `reports`.
    pub tracks: &'a [Track],
    /// The combined marking of `reports`; `None` when there are none.
    pub marking: Option<&'a Marking>,
}

/// An export ready to send.
#[derive(Debug, Clone)]
pub struct Export {
    /// Its format.
    pub format: Format,
    /// The combined marking of what it holds, as JSON (also inside the body where the format allows).
    pub marking: String,
    /// The body.
    pub body: Bytes,
    /// Its STANAG 4774 label bound to exactly `body` (4778, detached JWS).
    pub binding: crate::label::Binding,
    /// What the view holds that the export left out.
    pub withheld: Withheld,
}

/// What an export left out of the caller's view: the reports the view key may
/// fuse but not export, by originator, so whoever saves the file knows it is
/// not the whole picture and whom to ask. Counts only reports the view may
/// fuse (invariant 2): what the view cannot see is neither counted nor named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Withheld {
    /// Reports in the view that the export left out.
    pub reports: usize,
    /// The same, by originator; only originators with some withheld.
    pub by_originator: BTreeMap<PartnerId, usize>,
}

impl Withheld {
    /// Those of `view` (the reports the view may fuse) whose ids are not in `exported`.
    fn of(view: &[Report], exported: &HashSet<ReportId>) -> Withheld {
        let mut out = Withheld::default();
        for r in view.iter().filter(|r| !exported.contains(&r.id)) {
            out.reports += 1;
            *out.by_originator.entry(r.originator.clone()).or_default() += 1;
        }
        out
    }

    /// As the `Caveat-Withheld` header carries it.
    ///
    /// # Errors
    /// Encoding fails (an internal error).
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self).map_err(|e| Error::internal("encoding withheld counts", &e))
    }
}

fn marking_json(marking: Option<&Marking>) -> Result<String, Error> {
    serde_json::to_string(&marking).map_err(|e| Error::internal("encoding a marking", &e))
}

/// The GeoJSON export (RFC 7946): one feature per track of the export, its
/// geometry the track's position and trail, its properties the track; the
/// combined marking of everything exported is the foreign member `caveat:marking`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeoJsonExport<'a> {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    /// The combined marking of the exported reports; null when there are none.
    #[serde(rename = "caveat:marking")]
    #[schema(required)]
    pub marking: Option<&'a Marking>,
    /// One per track.
    pub features: Vec<Feature<'a>>,
}

/// The type member of a GeoJSON FeatureCollection.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum FeatureCollectionType {
    /// The only value.
    FeatureCollection,
}

/// The type member of a GeoJSON Feature.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum FeatureType {
    /// The only value.
    Feature,
}

/// The type member of a GeoJSON GeometryCollection.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum GeometryCollectionType {
    /// The only value.
    GeometryCollection,
}

/// A track as a GeoJSON feature.
#[derive(Debug, Serialize, ToSchema)]
pub struct Feature<'a> {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The track's id.
    pub id: String,
    /// The track's position and its trail.
    pub geometry: TrackGeometry,
    /// The track.
    pub properties: TrackBody<'a>,
}

/// A track's geometry: a GeometryCollection of its position (a Point) and its trail (a LineString).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackGeometry {
    /// `GeometryCollection`.
    #[serde(rename = "type")]
    pub kind: GeometryCollectionType,
    /// The position, then the trail.
    pub geometries: Vec<Geometry>,
}

/// A GeoJSON geometry; coordinates are `[lon, lat]`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type")]
pub enum Geometry {
    /// A position.
    Point {
        /// `[lon, lat]`.
        coordinates: [f64; 2],
    },
    /// A line through positions, at least two.
    LineString {
        /// `[lon, lat]` each.
        coordinates: Vec<[f64; 2]>,
    },
}

fn geojson(c: &Content<'_>) -> Result<Bytes, Error> {
    let mut markings = crate::views::Markings::default();
    let sources: HashMap<ReportId, Source> = c.reports.iter().map(|r| (r.id, Source::of(r, &mut markings))).collect();
    let features: Vec<Feature<'_>> = c
        .tracks
        .iter()
        .map(|t| {
            let mut coords: Vec<[f64; 2]> = t.trail.points().iter().map(|p| [p.position.lon, p.position.lat]).collect();
            if coords.len() < 2 {
                coords.push([t.position.lon, t.position.lat]);
            }
            Feature {
                kind: FeatureType::Feature,
                id: t.id.to_string(),
                geometry: TrackGeometry {
                    kind: GeometryCollectionType::GeometryCollection,
                    geometries: vec![
                        Geometry::Point { coordinates: [t.position.lon, t.position.lat] },
                        Geometry::LineString { coordinates: coords },
                    ],
                },
                properties: TrackBody::new(t, &sources, usize::MAX),
            }
        })
        .collect();
    let body = GeoJsonExport { kind: FeatureCollectionType::FeatureCollection, marking: c.marking, features };
    serde_json::to_vec(&body).map(Bytes::from).map_err(|e| Error::internal("encoding GeoJSON", &e))
}

fn kml(c: &Content<'_>) -> Bytes {
    let mut kml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document>\n<name>Caveat export</name>\n",
    );
    let marking = serde_json::to_string(&c.marking).unwrap_or_else(|_| "null".into());
    let _infallible = writeln!(
        kml,
        "<ExtendedData><Data name=\"caveat:marking\"><value>{}</value></Data></ExtendedData>",
        xml_escape(&marking)
    );
    for t in c.tracks {
        let coords: Vec<String> =
            t.trail.points().iter().map(|p| format!("{},{}", p.position.lon, p.position.lat)).collect();
        let name = t.identity.name.clone().unwrap_or_else(|| t.id.to_string());
        let _infallible = writeln!(
            kml,
            "<Placemark><name>{}</name><description>{} reports from {}</description><MultiGeometry><Point><coordinates>{},{}</coordinates></Point><LineString><coordinates>{}</coordinates></LineString></MultiGeometry></Placemark>",
            xml_escape(&name),
            t.lineage.len(),
            xml_escape(&t.originators.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
            t.position.lon,
            t.position.lat,
            coords.join(" ")
        );
    }
    kml.push_str("</Document></kml>\n");
    Bytes::from(kml)
}

fn ndjson(c: &Content<'_>) -> Result<Bytes, Error> {
    let mut out = Vec::new();
    for r in c.reports {
        serde_json::to_writer(&mut out, r).map_err(|e| Error::internal("encoding a report", &e))?;
        out.push(b'\n');
    }
    Ok(Bytes::from(out))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Hub {
    /// An export of `key`'s view in `format`, audited (as `export`) before it is returned.
    ///
    /// # Errors
    /// The view names a case its partner is not in; the store or the audit log fails.
    pub async fn export(&self, user: &User, key: &ViewKey, format: Format) -> Result<Export, Error> {
        let case = self.case_facts(key).await?;
        let now = OffsetDateTime::now_utc();
        let case_for_view = case.clone();
        let (mut reports, mut uses) =
            self.views.permitted(&self.access, user, key, Action::Export, case.clone(), now).await?;
        if let Some(federation) = self.views.federation() {
            // Released reports go into an export only under an export receipt
            // asked for this export (issue 17), decided again by the hub's policy.
            let (released, receipts) = federation.export_release(key, case.as_ref(), now).await;
            let posted: HashSet<ReportId> = reports.iter().map(|r| r.id).collect();
            let (released, receipts): (Vec<Report>, Vec<_>) =
                released.into_iter().zip(receipts).filter(|(r, _)| !posted.contains(&r.id)).unzip();
            let decisions = self.access.decide(user, key, Action::Export, case, &released, now).await?;
            let mut groups = crate::access::DecisionGroups::new();
            crate::federation::group_released(&mut groups, &released, &receipts, &decisions);
            uses.extend(crate::access::uses_of(&groups));
            reports.extend(released.into_iter().zip(decisions.iter()).filter(|(_, d)| d.is_permit()).map(|(r, _)| r));
        }
        // What was withheld is measured against what the view may fuse; that
        // decision is a use like any other, so it is audited with the export's.
        let (view, view_uses) = self.views.permitted(&self.access, user, key, Action::Fuse, case_for_view, now).await?;
        let mut entries = self.access.entries(user, key, Action::Export, uses, now).await?;
        entries.extend(self.access.entries(user, key, Action::Fuse, view_uses, now).await?);
        self.audit.append(entries).await?;
        let marking = Marking::combine(reports.iter().map(|r| &r.marking));
        // A correction names the report it corrects only where that report is in
        // the export too: otherwise the id would be one the caller may not read.
        let exported: HashSet<ReportId> = reports.iter().map(|r| r.id).collect();
        let withheld = Withheld::of(&view, &exported);
        let reports: Vec<Report> = reports
            .into_iter()
            .map(|mut r| {
                if r.supersedes.is_some_and(|t| !exported.contains(&t)) {
                    r.supersedes = None;
                }
                r
            })
            .collect();
        let tracks = if format.carries_tracks() {
            fuse(&reports, &FusionConfig::default()).map_err(|e| Error::internal("fusing an export", &e))?
        } else {
            Vec::new()
        };
        let content = Content { reports: &reports, tracks: &tracks, marking: marking.as_ref() };
        let body = format.render(&content)?;
        let originators: std::collections::BTreeSet<&caveat_core::PartnerId> =
            reports.iter().map(|r| &r.originator).collect();
        let label = self.labels().label(originators, marking.as_ref(), now);
        let binding = self.bind(label, format.media_type(), &body)?;
        Ok(Export { format, marking: marking_json(marking.as_ref())?, body, binding, withheld })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The name a client gives is the serde name the route parses, for every format.
    #[test]
    fn each_format_is_asked_for_by_its_name() {
        for f in Format::ALL {
            let parsed: Format = serde_json::from_value(json!(f.name())).unwrap();
            assert_eq!(parsed, f);
            assert!(f.media_type().contains('/'));
        }
    }

    /// An export of nothing is still a well-formed file with a null marking.
    #[test]
    fn an_empty_export_renders_in_every_format() {
        let content = Content { reports: &[], tracks: &[], marking: None };
        for f in Format::ALL {
            let body = f.render(&content).unwrap();
            match f {
                Format::Geojson => {
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    assert_eq!(v["caveat:marking"], Value::Null);
                }
                Format::Kml => assert!(String::from_utf8_lossy(&body).contains("<kml")),
                Format::Ndjson => assert!(body.is_empty()),
            }
        }
    }
}
