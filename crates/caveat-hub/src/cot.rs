//! Cursor on Target (CoT 2.0 XML) for TAK clients (issue 21): a view's tracks
//! as `event`s, and a TAK client's own event read back as a sighting.
//!
//! This module owns the mapping between Caveat's tracks and CoT; the TCP
//! stream that carries the events (authentication, bounds, refresh) is the
//! `caveat` binary's. What a stream may send is decided here exactly as for
//! `/v1/tracks` ([`Hub::cot_picture`]: the same view, the same `fuse`
//! decision, the same audit entry, before anything is returned).
//!
//! The event schema is MITRE's CoT 2.0 (`event` with `uid type how time start
//! stale`, `point lat lon hae ce le`, free `detail`); the vessel type codes
//! follow MIL-STD-2525 surface symbols as `aiscot` writes them (`a-u-S-X-M`);
//! the marking travels in the `access`, `releasableTo` and `caveat`
//! attributes that TAK Server's federation carries (it spells the second
//! `releaseableTo`: both spellings are read, `releasableTo` is written).

use std::collections::HashMap;

use caveat_core::{Marking, Position, VesselType};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use time::OffsetDateTime;

use crate::label::Label;
use crate::tracks::{TrackBody, rfc3339};
use crate::{Error, Hub};

/// CoT's "unknown" for `hae`, `ce` and `le` (Event.xsd: 9999999.0).
const UNKNOWN: f64 = 9_999_999.0;

/// Metres a second in a knot.
const M_S_PER_KNOT: f64 = 1852.0 / 3600.0;

/// Chi-squared 95 % quantile, two degrees of freedom: undoes [`crate::Uncertainty`]'s scaling.
const CHI2_95_2D: f64 = 5.991;

/// The prefix of every track's `uid`, so a TAK client can tell Caveat's tracks from its own contacts.
pub const UID_PREFIX: &str = "caveat.track.";

/// One track as a CoT event.
#[derive(Debug, Clone, PartialEq)]
pub struct CotEvent {
    /// The event's `uid`: [`UID_PREFIX`] and the track id, stable for as long as the track lives.
    pub uid: String,
    /// The event as sent: the XML declaration, a newline, then `<event>...</event>` with nothing after
    /// it (the streaming framing of TAK's takproto README).
    pub xml: String,
    /// What the event says, without its times: a stream re-sends an event only when this changed.
    pub content: String,
    /// The track's STANAG 4774 label (docs/labels.md), bound to the event by [`Hub::bind_cot`].
    pub label: Label,
}

/// The media type a CoT event's binding names.
pub const COT_MEDIA_TYPE: &str = "application/cot+xml";

/// The element that carries an event's binding, last in its `<detail>`.
const BINDING_ELEMENT: &str = "<__binding bdo=\"";

/// An event's XML with its binding element inserted, last in `<detail>`.
fn with_binding(xml: &str, bdo: &str) -> String {
    match xml.rfind("</detail>") {
        Some(at) => {
            let (head, tail) = xml.split_at(at);
            format!("{head}{BINDING_ELEMENT}{bdo}\"/>{tail}")
        }
        None => xml.to_owned(),
    }
}

/// An event as received split into the bytes its binding covers (the event without its
/// `<__binding bdo=".."/>` element) and the binding data object (base64url, as sent), or `None`
/// when it has no binding.
pub fn split_binding(xml: &str) -> Option<(String, String)> {
    let start = xml.find(BINDING_ELEMENT)?;
    let value_start = start + BINDING_ELEMENT.len();
    let value_len = xml.get(value_start..)?.find('"')?;
    let end = value_start + value_len;
    let after = xml.get(end..)?.strip_prefix("\"/>")?;
    Some((format!("{}{after}", xml.get(..start)?), xml.get(value_start..end)?.to_owned()))
}

/// A view's tracks as CoT events, audited, and the view's content version.
#[derive(Debug, Clone)]
pub struct CotPicture {
    /// Changes only when the view's tracks do ([`Hub::view_content`]).
    pub content: u64,
    /// One event per track, by uid.
    pub events: HashMap<String, CotEvent>,
}

/// The CoT `type` of a track: `a` (atom), its affiliation, `S` (surface), and
/// the MIL-STD-2525 function of its vessel type.
///
/// Caveat keeps no affiliation: like aiscot, a vessel whose flag is known is
/// `n` (neutral) and one whose flag is not is `u` (unknown). Friend and
/// hostile are for the TAK operator to decide, not for a data exchange.
pub fn cot_type(vessel_type: Option<VesselType>, flag_known: bool) -> String {
    let affiliation = if flag_known { 'n' } else { 'u' };
    let function = match vessel_type {
        Some(VesselType::Cargo) => "X-M-C",
        Some(VesselType::Tanker) => "X-M-O",
        Some(VesselType::Passenger) => "X-M-P",
        Some(VesselType::Tug) => "X-M-T",
        Some(VesselType::Fishing) => "X-F",
        Some(VesselType::Pleasure | VesselType::Sailing) => "X-R",
        Some(VesselType::LawEnforcement) => "X-L",
        Some(VesselType::Military) => "C",
        // Service craft, go-fasts, semi-submersibles and the rest have no
        // 2525 function of their own: "non-combatant" alone, as aiscot's default.
        Some(VesselType::Service | VesselType::GoFast | VesselType::SemiSubmersible | VesselType::Other) => "X",
        None => "X-M",
    };
    format!("a-{affiliation}-S-{function}")
}

/// The marking as CoT attributes: `access`, `releasableTo` and `caveat`.
///
/// - `access`: `caveat` and the label's classification, e.g. `caveat:RESTRICTED`;
/// - `releasableTo`: the partners, space-separated (`CAN GBR`), empty for originator only;
/// - `caveat`: `purposes=interdiction,monitoring`, then `requires-case`, `no-export` and
///   `not-after=<RFC 3339>` when they apply, separated by `;`.
pub fn marking_attributes(marking: Option<&Marking>, label: &Label) -> [(&'static str, String); 3] {
    let (to, caveat) = match marking {
        Some(m) => {
            let to: Vec<&str> = m.releasable_to.iter().map(caveat_core::PartnerId::as_str).collect();
            let purposes: Vec<&str> = m.purposes.iter().map(|p| p.as_str()).collect();
            let mut caveat = vec![format!("purposes={}", purposes.join(","))];
            if m.requires_case {
                caveat.push("requires-case".into());
            }
            if m.no_export {
                caveat.push("no-export".into());
            }
            if let Some(t) = m.not_after {
                caveat.push(format!("not-after={}", rfc3339(t)));
            }
            (to.join(" "), caveat.join(";"))
        }
        None => (String::new(), "purposes=".into()),
    };
    [("access", format!("caveat:{}", label.classification())), ("releasableTo", to), ("caveat", caveat)]
}

/// The event's `stale`: `stale_after` past now, never later than the marking's not-after.
fn stale_time(marking: Option<&Marking>, now: OffsetDateTime, stale_after: time::Duration) -> OffsetDateTime {
    let stale = now + stale_after;
    marking.and_then(|m| m.not_after).map_or(stale, |n| stale.min(n))
}

fn xml_error(e: &dyn std::fmt::Display) -> Error {
    Error::internal("writing a CoT event", e)
}

/// The 1-sigma circular error of a track's position, metres: the square root of the larger
/// eigenvalue of its position covariance (Event.xsd: `ce` is "circular 1-sigma").
fn circular_error(t: &TrackBody<'_>) -> f64 {
    t.uncertainty.map_or(UNKNOWN, |u| {
        let sigma = u.semi_major_m / CHI2_95_2D.sqrt();
        (sigma * 10.0).round() / 10.0
    })
}

/// A track as a CoT event at `now`, stale `stale_after` later (or at its marking's not-after).
///
/// # Errors
/// Writing the XML fails (an internal error).
pub fn track_event(
    t: &TrackBody<'_>,
    label: &Label,
    now: OffsetDateTime,
    stale_after: time::Duration,
) -> Result<CotEvent, Error> {
    let uid = format!("{UID_PREFIX}{}", t.id);
    let content = detail_xml(t, label)?;
    let xml = envelope(&uid, t, label, now, stale_time(t.marking.as_ref(), now, stale_after), &content)?;
    Ok(CotEvent { uid, xml, content, label: label.clone() })
}

/// The same event told stale at `now`: what a stream sends when a track leaves its view
/// (a suspension, a purpose no longer permitted), so the client drops it at once.
pub fn stale_event(event: &CotEvent, now: OffsetDateTime) -> CotEvent {
    let mut out = event.clone();
    // The stored event's times are the only RFC 3339 values of its envelope's
    // `time`, `start` and `stale` attributes: rewrite them in place.
    let now_text = rfc3339(now);
    out.xml = rewrite_attr(&rewrite_attr(&out.xml, "time", &now_text), "stale", &now_text);
    out
}

fn rewrite_attr(xml: &str, name: &str, value: &str) -> String {
    let key = format!(" {name}=\"");
    let Some(start) = xml.find(&key).map(|i| i + key.len()) else { return xml.to_owned() };
    let Some(len) = xml.get(start..).and_then(|rest| rest.find('"')) else { return xml.to_owned() };
    let (Some(head), Some(tail)) = (xml.get(..start), xml.get(start + len..)) else { return xml.to_owned() };
    format!("{head}{value}{tail}")
}

fn point(w: &mut Writer<Vec<u8>>, p: Position, ce: f64) -> Result<(), Error> {
    let (lat, lon, ce) = (format!("{:.6}", p.lat), format!("{:.6}", p.lon), format!("{ce:.1}"));
    let unknown = format!("{UNKNOWN:.1}");
    let e = BytesStart::new("point").with_attributes([
        ("lat", lat.as_str()),
        ("lon", lon.as_str()),
        ("hae", unknown.as_str()),
        ("ce", ce.as_str()),
        ("le", unknown.as_str()),
    ]);
    w.write_event(Event::Empty(e)).map_err(|e| xml_error(&e))
}

fn envelope(
    uid: &str,
    t: &TrackBody<'_>,
    label: &Label,
    now: OffsetDateTime,
    stale: OffsetDateTime,
    detail: &str,
) -> Result<String, Error> {
    let mut w = Writer::new(Vec::with_capacity(1024));
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), Some("yes")))).map_err(|e| xml_error(&e))?;
    let kind = cot_type(t.identity.vessel_type, t.identity.flag.is_some());
    // A track's newest report may be stamped slightly ahead of the hub's clock; CoT wants start <= time.
    let (time, start, stale) = (rfc3339(now), rfc3339(t.updated_at.min(now)), rfc3339(stale));
    let marking = marking_attributes(t.marking.as_ref(), label);
    let mut e = BytesStart::new("event").with_attributes([
        ("version", "2.0"),
        ("uid", uid),
        ("type", kind.as_str()),
        ("how", "m-f"),
        ("time", time.as_str()),
        ("start", start.as_str()),
        ("stale", stale.as_str()),
    ]);
    for (k, v) in &marking {
        e.push_attribute((*k, v.as_str()));
    }
    w.get_mut().push(b'\n');
    w.write_event(Event::Start(e)).map_err(|e| xml_error(&e))?;
    point(&mut w, t.position, circular_error(t))?;
    let mut out = w.into_inner();
    out.extend_from_slice(detail.as_bytes());
    out.extend_from_slice(b"</event>");
    String::from_utf8(out).map_err(|e| xml_error(&e))
}

/// The `<detail>` of a track's event: `track` (course, speed in m/s), `contact`
/// (a call sign: the name, else the MMSI, else the track id), `remarks`, and
/// `__caveat` with the identity, sources and the 4774 label's terms.
fn detail_xml(t: &TrackBody<'_>, label: &Label) -> Result<String, Error> {
    let mut w = Writer::new(Vec::with_capacity(512));
    let start = |w: &mut Writer<Vec<u8>>, e: BytesStart<'_>| w.write_event(Event::Start(e)).map_err(|e| xml_error(&e));
    let empty = |w: &mut Writer<Vec<u8>>, e: BytesStart<'_>| w.write_event(Event::Empty(e)).map_err(|e| xml_error(&e));
    let end =
        |w: &mut Writer<Vec<u8>>, name: &str| w.write_event(Event::End(BytesEnd::new(name))).map_err(|e| xml_error(&e));
    start(&mut w, BytesStart::new("detail"))?;
    let course = format!("{:.1}", t.course_deg.unwrap_or(0.0));
    let speed = format!("{:.2}", t.speed_kn * M_S_PER_KNOT);
    empty(&mut w, BytesStart::new("track").with_attributes([("course", course.as_str()), ("speed", speed.as_str())]))?;
    let id = &t.identity;
    let callsign = id
        .name
        .as_deref()
        .map(str::to_owned)
        .or_else(|| id.mmsi.map(|m| format!("MMSI {m}")))
        .unwrap_or_else(|| format!("track {}", t.id));
    empty(&mut w, BytesStart::new("contact").with_attributes([("callsign", callsign.as_str())]))?;
    let mut caveat = BytesStart::new("__caveat");
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            caveat.push_attribute((k, v.as_str()));
        }
    };
    push("track", Some(t.id.clone()));
    push("mmsi", id.mmsi.map(|m| m.to_string()));
    push("imo", id.imo.map(|m| m.to_string()));
    push("name", id.name.as_deref().map(str::to_owned));
    push("callSign", id.call_sign.as_deref().map(str::to_owned));
    push("flag", id.flag.map(|f| f.to_string()));
    push("vesselType", id.vessel_type.and_then(|v| serde_json::to_value(v).ok()?.as_str().map(str::to_owned)));
    push("lengthM", id.length_m.map(|l| format!("{l:.1}")));
    push("mmsiConflict", id.mmsi_conflict.then(|| "true".to_owned()));
    push("reports", Some(t.report_count.to_string()));
    let originators: Vec<&str> = t.originators.iter().map(caveat_core::PartnerId::as_str).collect();
    push("originators", Some(originators.join(" ")));
    let sources: Vec<String> =
        t.sources.iter().filter_map(|s| serde_json::to_value(s).ok()?.as_str().map(str::to_owned)).collect();
    push("sources", Some(sources.join(" ")));
    push("policy", Some(label.policy().to_owned()));
    empty(&mut w, caveat)?;
    let mut remarks = format!(
        "Caveat fused track, {} report(s) from {}; sources {}",
        t.report_count,
        originators.join(", "),
        sources.join(", ")
    );
    if id.mmsi_conflict {
        remarks.push_str("; reports disagree on the MMSI");
    }
    start(&mut w, BytesStart::new("remarks"))?;
    w.write_event(Event::Text(BytesText::new(&remarks))).map_err(|e| xml_error(&e))?;
    end(&mut w, "remarks")?;
    end(&mut w, "detail")?;
    String::from_utf8(w.into_inner()).map_err(|e| xml_error(&e))
}

/// Largest CoT event read from a client, bytes: a dropped marker with remarks is a few hundred.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

/// Position uncertainty given to a sighting whose `ce` is unknown, metres: a patrol's eyeball fix.
const SIGHTING_DEFAULT_CE_M: f64 = 1_000.0;

/// A client's CoT event that is not a sighting Caveat can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CotInError {
    /// Not well-formed XML, or not one `event` (byte offset and what).
    #[error("not a CoT event: {0}")]
    Malformed(String),
    /// A required attribute is missing or wrong (element, attribute, value, why).
    #[error("CoT <{element}> attribute `{attribute}`: {value:?} {reason}")]
    BadAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
        /// Its value, shortened.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

fn attr_value(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, CotInError> {
    for a in e.attributes() {
        let a = a.map_err(|err| CotInError::Malformed(format!("attribute: {err}")))?;
        if a.key.into_inner() == name {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| CotInError::Malformed(format!("attribute value: {err}")))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn shorten(s: &str) -> String {
    s.chars().take(60).collect()
}

/// A TAK client's event as a report draft (a patrol's sighting, source `vessel`), or
/// `None` for what is not a contact: pings and other control events (`t-...`), and
/// Caveat's own tracks echoed back ([`UID_PREFIX`]). The draft has no marking: the
/// submitting partner's default for its source applies when it is validated.
///
/// Read: `type` (must be an atom, `a-...`), `uid`, `time`, `point` (`lat`, `lon`,
/// `ce` as the position's uncertainty), `detail/track` (course, speed m/s),
/// `detail/contact/@callsign` and `detail/remarks` (into the report's remarks).
///
/// # Errors
/// Not one well-formed event, or a missing or bad `time`, `lat` or `lon`.
pub fn sighting(xml: &[u8]) -> Result<Option<caveat_core::ReportDraft>, CotInError> {
    use quick_xml::Reader;
    if xml.len() > MAX_EVENT_BYTES {
        return Err(CotInError::Malformed(format!("{} bytes, more than {MAX_EVENT_BYTES}", xml.len())));
    }
    let mut r = Reader::from_reader(xml);
    let bad = |element, attribute, value: &str, reason| CotInError::BadAttribute {
        element,
        attribute,
        value: shorten(value),
        reason,
    };
    let (mut kind, mut uid, mut at, mut lat, mut lon, mut ce) = (None, None, None, None, None, None);
    let (mut course, mut speed, mut callsign, mut remarks, mut in_remarks) = (None, None, None, String::new(), false);
    let mut events = 0;
    loop {
        let ev = r.read_event().map_err(|e| CotInError::Malformed(format!("at byte {}: {e}", r.buffer_position())))?;
        let (e, opening) = match ev {
            Event::Eof => break,
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::Text(t) if in_remarks => {
                remarks.push_str(&t.xml10_content());
                continue;
            }
            Event::GeneralRef(g) if in_remarks => {
                match g.resolve_char_ref() {
                    Ok(Some(c)) => remarks.push(c),
                    _ => {
                        let name: &str = g.as_ref();
                        remarks.push_str(quick_xml::escape::resolve_predefined_entity(name).unwrap_or("?"));
                    }
                }
                continue;
            }
            Event::End(e) => {
                if e.name().into_inner() == "remarks" {
                    in_remarks = false;
                }
                continue;
            }
            _ => continue,
        };
        match e.name().into_inner() {
            "event" => {
                events += 1;
                kind = attr_value(&e, "type")?;
                uid = attr_value(&e, "uid")?;
                at = attr_value(&e, "time")?;
            }
            "point" => {
                lat = attr_value(&e, "lat")?;
                lon = attr_value(&e, "lon")?;
                ce = attr_value(&e, "ce")?;
            }
            "track" => {
                course = attr_value(&e, "course")?;
                speed = attr_value(&e, "speed")?;
            }
            "contact" => callsign = attr_value(&e, "callsign")?,
            "remarks" => in_remarks = opening,
            _ => {}
        }
    }
    if events != 1 {
        return Err(CotInError::Malformed(format!("{events} <event> elements, expected one")));
    }
    let kind = kind.ok_or_else(|| bad("event", "type", "", "is missing"))?;
    let uid = uid.unwrap_or_default();
    if !kind.starts_with("a-") || uid.starts_with(UID_PREFIX) {
        return Ok(None);
    }
    let at = at.ok_or_else(|| bad("event", "time", "", "is missing"))?;
    let observed_at = OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad("event", "time", &at, "is not an RFC 3339 time"))?;
    let number = |v: Option<String>, attribute: &'static str, element: &'static str| -> Result<f64, CotInError> {
        let v = v.ok_or_else(|| bad(element, attribute, "", "is missing"))?;
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(element, attribute, &v, "is not a number"))
    };
    let position = Position { lat: number(lat, "lat", "point")?, lon: number(lon, "lon", "point")? };
    let ce = ce
        .and_then(|c| c.trim().parse::<f64>().ok())
        .filter(|c| c.is_finite() && *c > 0.0 && *c < caveat_core::MAX_UNCERTAINTY_M);
    let optional = |v: Option<String>| v.and_then(|s| s.trim().parse::<f64>().ok()).filter(|x| x.is_finite());
    let mut text = format!("TAK sighting uid={}", shorten(&uid));
    if let Some(c) = callsign.filter(|c| !c.trim().is_empty()) {
        text.push_str(" callsign=");
        text.push_str(&shorten(c.trim()));
    }
    if !remarks.trim().is_empty() {
        text.push_str(": ");
        text.push_str(remarks.trim());
    }
    let text: String = text.chars().take(caveat_core::MAX_REMARKS_CHARS).collect();
    Ok(Some(caveat_core::ReportDraft {
        id: None,
        originator: None,
        observed_at,
        time_uncertainty_s: None,
        position,
        uncertainty_m: ce.unwrap_or(SIGHTING_DEFAULT_CE_M),
        course_deg: optional(course).filter(|c| (0.0..360.0).contains(c)),
        speed_kn: optional(speed).filter(|s| *s >= 0.0).map(|s| s / M_S_PER_KNOT),
        source: caveat_core::SourceKind::Vessel,
        vessel: caveat_core::VesselDescriptors::default(),
        remarks: Some(text),
        marking: None,
        supersedes: None,
        station: None,
    }))
}

impl Hub {
    /// The event as sent: with its label bound to exactly its bytes by a 4778 binding data object
    /// (base64url JSON in `detail/__binding/@bdo`; the JWS covers the event without that element).
    ///
    /// # Errors
    /// Encoding fails (an internal error).
    pub fn bind_cot(&self, event: &CotEvent) -> Result<String, Error> {
        use base64::Engine as _;
        let binding = self.bind(event.label.clone(), COT_MEDIA_TYPE, event.xml.as_bytes())?;
        let bdo = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(binding.to_json()?);
        Ok(with_binding(&event.xml, &bdo))
    }

    /// The tracks of `key`'s view as CoT events, stale `stale_after` from now
    /// (or at their marking's not-after), audited (`fuse`, as `/v1/tracks`)
    /// before they are returned.
    ///
    /// # Errors
    /// The view names a case its partner is not in; the store or the audit log fails.
    pub async fn cot_picture(
        &self,
        user: &caveat_core::User,
        key: &caveat_core::ViewKey,
        stale_after: time::Duration,
    ) -> Result<CotPicture, Error> {
        let (snap, now) = self.current(user, key).await?;
        let labels = self.labels();
        let events = {
            let sources = snap.sources.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut events = HashMap::with_capacity(snap.tracks.len());
            for t in snap.tracks.iter() {
                let body = TrackBody::new(t, &sources, 0);
                let label = labels.label(t.originators.iter(), body.marking.as_ref(), now);
                let e = track_event(&body, &label, now, stale_after)?;
                events.insert(e.uid.clone(), e);
            }
            events
        };
        self.audit.append(self.access.entries(user, key, caveat_policy::Action::Fuse, snap.uses, now).await?).await?;
        Ok(CotPicture { content: snap.content, events })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn types_follow_aiscot_and_2525() {
        assert_eq!(cot_type(None, false), "a-u-S-X-M");
        assert_eq!(cot_type(Some(VesselType::Fishing), true), "a-n-S-X-F");
        assert_eq!(cot_type(Some(VesselType::LawEnforcement), false), "a-u-S-X-L");
        assert_eq!(cot_type(Some(VesselType::Tanker), true), "a-n-S-X-M-O");
    }

    #[test]
    fn stale_is_never_later_than_not_after() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let m = Marking { not_after: Some(now + time::Duration::seconds(30)), ..Marking::originator_only() };
        assert_eq!(stale_time(Some(&m), now, time::Duration::minutes(5)), now + time::Duration::seconds(30));
        let open = Marking::originator_only();
        assert_eq!(stale_time(Some(&open), now, time::Duration::minutes(5)), now + time::Duration::minutes(5));
    }

    #[test]
    fn a_stale_event_keeps_its_uid_and_content_and_ends_now() {
        let xml = "<?xml version=\"1.0\"?>\n<event version=\"2.0\" uid=\"u\" time=\"2026-01-01T00:00:00Z\" start=\"2026-01-01T00:00:00Z\" stale=\"2026-01-01T00:05:00Z\"><point/></event>";
        let label = crate::label::LabelPolicy::default().label([], None, OffsetDateTime::UNIX_EPOCH);
        let e = CotEvent { uid: "u".into(), xml: xml.into(), content: "c".into(), label };
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_454);
        let s = stale_event(&e, now);
        let n = rfc3339(now);
        assert!(s.xml.contains(&format!(" time=\"{n}\"")), "{}", s.xml);
        assert!(s.xml.contains(&format!(" stale=\"{n}\"")), "{}", s.xml);
        assert!(s.xml.contains(" start=\"2026-01-01T00:00:00Z\""));
        assert_eq!(s.uid, "u");
        assert!(s.xml.ends_with("</event>"));
    }

    const DROPPED: &str = r#"<?xml version="1.0"?><event version="2.0" uid="patrol-1" type="a-u-S" how="h-e" time="2026-11-20T03:14:00Z" start="2026-11-20T03:14:00Z" stale="2026-11-20T03:24:00Z"><point lat="18.5" lon="-66.25" hae="0" ce="75" le="9999999"/><detail><track course="90" speed="5.144"/><contact callsign="Skiff"/><remarks>two &amp; outboards</remarks></detail></event>"#;

    #[test]
    fn a_dropped_contact_is_a_vessel_sighting() {
        let d = sighting(DROPPED.as_bytes()).unwrap().unwrap();
        assert_eq!(d.source, caveat_core::SourceKind::Vessel);
        assert_eq!((d.position.lat, d.position.lon), (18.5, -66.25));
        assert!((d.uncertainty_m - 75.0).abs() < 1e-9);
        assert!((d.speed_kn.unwrap() - 10.0).abs() < 0.01, "5.144 m/s is 10 kn");
        assert_eq!(d.course_deg, Some(90.0));
        assert_eq!(d.remarks.as_deref(), Some("TAK sighting uid=patrol-1 callsign=Skiff: two & outboards"));
        assert!(d.marking.is_none(), "the partner's default applies");
    }

    #[test]
    fn pings_and_caveats_own_events_are_not_sightings() {
        let ping = r#"<event version="2.0" uid="takPing" type="t-x-c-t" how="h-g-i-g-o" time="2026-11-20T03:14:00Z" start="2026-11-20T03:14:00Z" stale="2026-11-20T03:15:00Z"><point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/></event>"#;
        assert_eq!(sighting(ping.as_bytes()), Ok(None));
        let echo = DROPPED.replace("uid=\"patrol-1\"", "uid=\"caveat.track.1\"");
        assert_eq!(sighting(echo.as_bytes()), Ok(None));
    }

    #[test]
    fn bad_events_say_what_is_wrong_and_where() {
        let err = |xml: &str| sighting(xml.as_bytes()).unwrap_err().to_string();
        assert!(
            err(&DROPPED.replace("lat=\"18.5\"", "lat=\"north\""))
                .contains("<point> attribute `lat`: \"north\" is not a number")
        );
        assert!(err(&DROPPED.replace(" time=\"2026-11-20T03:14:00Z\"", "")).contains("<event> attribute `time`"));
        assert!(
            err(&DROPPED.replace("2026-11-20T03:14:00Z\" start", "yesterday\" start"))
                .contains("is not an RFC 3339 time")
        );
        assert!(err("<event><point/></event><event/>").contains("2 <event> elements"));
        assert!(err("<event><point lat=\"1\"></event>").contains("not a CoT event"));
        assert!(err(&"x".repeat(MAX_EVENT_BYTES + 1)).contains("more than"));
        // A huge ce is no reason to refuse, but it is not taken as the uncertainty either.
        let vague = sighting(DROPPED.replace("ce=\"75\"", "ce=\"9999999\"").as_bytes()).unwrap().unwrap();
        assert!((vague.uncertainty_m - SIGHTING_DEFAULT_CE_M).abs() < 1e-9);
    }

    #[test]
    fn a_binding_element_comes_out_as_it_went_in() {
        let xml = "<?xml version=\"1.0\"?>\n<event><point/><detail><remarks>r</remarks></detail></event>";
        let bound = with_binding(xml, "abc_-");
        assert!(bound.contains("<__binding bdo=\"abc_-\"/></detail>"), "{bound}");
        assert_eq!(split_binding(&bound), Some((xml.to_owned(), "abc_-".to_owned())));
        assert_eq!(split_binding(xml), None);
    }
}
