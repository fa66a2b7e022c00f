//! Caveat's values in Cedar's form: the schema, the fixed policies, entity ids,
//! reports as entities, requests as principal, action and context.
//!
//! Everything Cedar sees goes through here, so the cache in `class.rs` can name
//! exactly what a decision depends on.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use caveat_core::{PartnerId, Purpose, Report, SourceKind};
use cedar_policy as cedar;
use time::OffsetDateTime;

use crate::error::shorten;
use crate::{Action, Error, Request};

/// The schema text, shipped with the crate.
pub(crate) const SCHEMA_TEXT: &str = include_str!("caveat.cedarschema");
/// The fixed policies: the marking compiled to Cedar.
pub(crate) const BASE_TEXT: &str = include_str!("base.cedar");

pub(crate) const PARTNER: &str = "Caveat::Partner";
const USER: &str = "Caveat::User";
const REPORT: &str = "Caveat::Report";
const CASE: &str = "Caveat::Case";
const PURPOSE: &str = "Caveat::Purpose";
const SOURCE: &str = "Caveat::Source";
const ACTION: &str = "Caveat::Action";

/// Parses the shipped schema.
pub(crate) fn schema() -> Result<cedar::Schema, Error> {
    cedar::Schema::from_cedarschema_str(SCHEMA_TEXT)
        .map(|(s, _warnings)| s)
        .map_err(|e| Error::Engine { what: "schema", message: shorten(e) })
}

/// Parses the fixed policies, each named by its `@id` annotation.
pub(crate) fn base_policies() -> Result<Vec<cedar::Policy>, Error> {
    let set = cedar::PolicySet::from_str(BASE_TEXT)
        .map_err(|e| Error::Engine { what: "base policies", message: shorten(e) })?;
    let mut out = Vec::new();
    for p in set.policies() {
        let Some(name) = p.annotation("id") else {
            return Err(Error::Engine { what: "base policies", message: "a base policy has no @id".into() });
        };
        out.push(p.new_id(cedar::PolicyId::new(name)));
    }
    out.sort_by_key(|p| p.id().to_string());
    Ok(out)
}

pub(crate) fn uid(type_name: &str, id: &str) -> Result<cedar::EntityUid, Error> {
    let ty = cedar::EntityTypeName::from_str(type_name)
        .map_err(|e| Error::Engine { what: "entity type", message: shorten(e) })?;
    Ok(cedar::EntityUid::from_type_name_and_id(ty, cedar::EntityId::new(id)))
}

pub(crate) fn partner_uid(p: &PartnerId) -> Result<cedar::EntityUid, Error> {
    uid(PARTNER, p.as_str())
}

fn purpose_uid(p: Purpose) -> Result<cedar::EntityUid, Error> {
    uid(PURPOSE, p.as_str())
}

fn source_uid(s: SourceKind) -> Result<cedar::EntityUid, Error> {
    uid(SOURCE, s.as_str())
}

pub(crate) fn action_uid(a: Action) -> Result<cedar::EntityUid, Error> {
    uid(ACTION, a.as_str())
}

/// Milliseconds since the Unix epoch, rounded down: Cedar's datetime precision.
///
/// Rounding both the request time and not-after down keeps `now < not_after`
/// sound: if the rounded values compare less, so do the exact ones.
pub(crate) fn unix_millis(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos().div_euclid(1_000_000)
}

/// Earliest and latest instants Cedar datetimes can spell (years 0000-9999), in ms.
const MIN_MILLIS: i128 = -62_167_219_200_000;
const MAX_MILLIS: i128 = 253_402_300_799_999;

/// Whether `t`, rounded down to milliseconds, is a datetime Cedar can spell.
pub(crate) fn datetime_representable(t: OffsetDateTime) -> bool {
    // Fast path: an offset is under a day, so a local year of 1-9998 is a UTC year of 0-9999.
    (1..=9998).contains(&t.year()) || (MIN_MILLIS..=MAX_MILLIS).contains(&unix_millis(t))
}

/// Whether a coordinate can be written as a Cedar decimal.
pub(crate) fn coordinate_representable(v: f64) -> bool {
    v.is_finite() && v.abs() <= 180.0
}

/// Whether everything of `r` that varies within its marking class can be put to Cedar.
pub(crate) fn report_representable(r: &Report) -> bool {
    coordinate_representable(r.position.lat)
        && coordinate_representable(r.position.lon)
        && datetime_representable(r.observed_at)
}

/// `t` as a Cedar datetime literal, `YYYY-MM-DDThh:mm:ss.SSSZ` in UTC.
pub(crate) fn datetime_text(field: &'static str, t: OffsetDateTime) -> Result<String, Error> {
    let ms = unix_millis(t);
    if !datetime_representable(t) {
        return Err(Error::TimeRange { field, value: t.to_string() });
    }
    let u = OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
        .map_err(|_| Error::TimeRange { field, value: t.to_string() })?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        u.year(),
        u8::from(u.month()),
        u.day(),
        u.hour(),
        u.minute(),
        u.second(),
        u.millisecond()
    ))
}

/// A coordinate as a Cedar decimal: 4 places, as `format!("{:.4}")` rounds it.
pub(crate) fn decimal_text(field: &'static str, v: f64) -> Result<String, Error> {
    if coordinate_representable(v) {
        Ok(format!("{v:.4}"))
    } else {
        Err(Error::Engine { what: field, message: shorten(v) })
    }
}

/// A report as a Cedar entity.
pub(crate) fn report_entity(r: &Report) -> Result<cedar::Entity, Error> {
    use cedar::RestrictedExpression as X;
    let m = &r.marking;
    let mut attrs = HashMap::from([
        ("originator".to_owned(), X::new_entity_uid(partner_uid(&r.originator)?)),
        (
            "releasable_to".to_owned(),
            X::new_set(
                m.releasable_to.iter().map(|p| partner_uid(p).map(X::new_entity_uid)).collect::<Result<Vec<_>, _>>()?,
            ),
        ),
        (
            "purposes".to_owned(),
            X::new_set(
                m.purposes.iter().map(|p| purpose_uid(*p).map(X::new_entity_uid)).collect::<Result<Vec<_>, _>>()?,
            ),
        ),
        ("requires_case".to_owned(), X::new_bool(m.requires_case)),
        ("no_export".to_owned(), X::new_bool(m.no_export)),
        (
            "position".to_owned(),
            X::new_record([
                ("lat".to_owned(), X::new_decimal(decimal_text("position.lat", r.position.lat)?)),
                ("lon".to_owned(), X::new_decimal(decimal_text("position.lon", r.position.lon)?)),
            ])
            .map_err(|e| Error::Engine { what: "position", message: shorten(e) })?,
        ),
        ("observed_at".to_owned(), X::new_datetime(datetime_text("observed_at", r.observed_at)?)),
        ("source".to_owned(), X::new_entity_uid(source_uid(r.source)?)),
    ]);
    if let Some(t) = m.not_after {
        attrs.insert("not_after".to_owned(), X::new_datetime(datetime_text("marking.not_after", t)?));
    }
    cedar::Entity::new(uid(REPORT, &r.id.to_string())?, attrs, HashSet::new())
        .map_err(|e| Error::Engine { what: "report entity", message: shorten(e) })
}

/// What a request looks like to Cedar, built once per request.
#[derive(Debug, Clone)]
pub(crate) struct CedarRequest {
    pub(crate) principal: cedar::EntityUid,
    pub(crate) action: cedar::EntityUid,
    pub(crate) context: cedar::Context,
    /// The user (a member of its authenticated partner) and the case, if any.
    pub(crate) entities: Vec<cedar::Entity>,
}

impl CedarRequest {
    pub(crate) fn new(req: &Request) -> Result<Self, Error> {
        use cedar::RestrictedExpression as X;
        let principal = uid(USER, req.user().as_str())?;
        let user = cedar::Entity::new_no_attrs(principal.clone(), HashSet::from([partner_uid(req.user_partner())?]));
        let mut entities = vec![user];
        let mut pairs = vec![
            ("purpose".to_owned(), X::new_entity_uid(purpose_uid(req.view().purpose)?)),
            ("acting_for".to_owned(), X::new_entity_uid(partner_uid(&req.view().partner)?)),
            ("time".to_owned(), X::new_datetime(datetime_text("request time", req.at())?)),
        ];
        if let Some(case) = req.case() {
            let case_uid = uid(CASE, &case.id.to_string())?;
            let attrs = HashMap::from([
                ("open".to_owned(), X::new_bool(case.open)),
                ("lead".to_owned(), X::new_entity_uid(partner_uid(&case.lead)?)),
                (
                    "participants".to_owned(),
                    X::new_set(
                        case.participants
                            .iter()
                            .map(|p| partner_uid(p).map(X::new_entity_uid))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                ),
            ]);
            entities.push(
                cedar::Entity::new(case_uid.clone(), attrs, HashSet::new())
                    .map_err(|e| Error::Engine { what: "case entity", message: shorten(e) })?,
            );
            pairs.push(("case".to_owned(), X::new_entity_uid(case_uid)));
        }
        let context =
            cedar::Context::from_pairs(pairs).map_err(|e| Error::Engine { what: "context", message: shorten(e) })?;
        Ok(CedarRequest { principal, action: action_uid(req.action())?, context, entities })
    }

    /// The Cedar request and entity store for one report.
    pub(crate) fn with_report(
        &self,
        schema: &cedar::Schema,
        report: &Report,
    ) -> Result<(cedar::Request, cedar::Entities), Error> {
        let entity = report_entity(report)?;
        let resource = entity.uid();
        let entities =
            cedar::Entities::from_entities(self.entities.iter().cloned().chain(std::iter::once(entity)), Some(schema))
                .map_err(|e| Error::Engine { what: "entities", message: shorten(e) })?;
        let request = cedar::Request::new(
            self.principal.clone(),
            self.action.clone(),
            resource,
            self.context.clone(),
            Some(schema),
        )
        .map_err(|e| Error::Engine { what: "request", message: shorten(e) })?;
        Ok((request, entities))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn schema_and_base_policies_load_and_validate() {
        let schema = schema().unwrap();
        let base = base_policies().unwrap();
        let set = cedar::PolicySet::from_policies(base).unwrap();
        let result = cedar::Validator::new(schema).validate(&set, cedar::ValidationMode::Strict);
        let errors: Vec<String> = result.validation_errors().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn schema_enums_match_core() {
        for p in Purpose::ALL {
            assert!(SCHEMA_TEXT.contains(&format!("\"{}\"", p.as_str())), "{p}");
        }
        for s in SourceKind::ALL {
            assert!(SCHEMA_TEXT.contains(&format!("\"{}\"", s.as_str())), "{s}");
        }
    }

    #[test]
    fn datetimes_round_down_to_milliseconds() {
        let t = datetime!(2026-11-23 12:00:00.999_999 UTC);
        assert_eq!(datetime_text("t", t).unwrap(), "2026-11-23T12:00:00.999Z");
        let before = datetime!(1969-12-31 23:59:59.9995 UTC);
        assert_eq!(datetime_text("t", before).unwrap(), "1969-12-31T23:59:59.999Z");
        assert!(matches!(datetime_text("t", datetime!(-0001-12-31 0:00 UTC)), Err(Error::TimeRange { .. })));
    }
}
