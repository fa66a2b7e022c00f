//! OpenAPI schemas (feature `openapi`) of the types whose serde form the
//! derive cannot read: ids and codes kept as numbers or bytes but written as
//! strings (`#[serde(try_from = "String", into = "String")]`). Each says what
//! its `FromStr` accepts; the derived types are annotated where they are defined.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

use crate::{CaseId, Flag, Imo, Mmsi, PartnerId, ReportId, Station, UserId};

/// A string schema described by `description`.
fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description))
}

/// The `uuid` format (utoipa names it only with its `uuid` feature, for `uuid::Uuid` fields we do not have).
fn uuid() -> SchemaFormat {
    SchemaFormat::Custom("uuid".into())
}

macro_rules! named {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

named!(
    PartnerId,
    "PartnerId",
    string("A partner's id, e.g. `GBR`, `USA-USCG`: 2-32 upper-case letters and digits, single inner hyphens.")
        .pattern(Some("^[A-Z0-9]+(-[A-Z0-9]+)*$"))
        .min_length(Some(2))
        .max_length(Some(32))
);
named!(
    UserId,
    "UserId",
    string("A user's id, e.g. `ana@can`: 1-64 of a-z 0-9 . _ - @.")
        .pattern(Some("^[a-z0-9._@-]+$"))
        .min_length(Some(1))
        .max_length(Some(64))
);
named!(
    Station,
    "Station",
    string("A receiving station's id, from an AIS tag block's `s:`: 1-64 printable ASCII, no outer spaces.")
        .pattern(Some("^[!-~]([ -~]*[!-~])?$"))
        .min_length(Some(1))
        .max_length(Some(64))
);
named!(ReportId, "ReportId", string("A report's id: a time-ordered UUIDv7 (RFC 9562).").format(Some(uuid())));
named!(CaseId, "CaseId", string("A case's id (a UUID).").format(Some(uuid())));
named!(
    Mmsi,
    "Mmsi",
    string("A Maritime Mobile Service Identity: exactly nine digits (leading zeros kept).").pattern(Some("^[0-9]{9}$"))
);
named!(
    Imo,
    "Imo",
    string("An IMO ship number: seven digits, the last a check digit (`IMO ` prefix accepted on input).")
        .pattern(Some("^(IMO ?)?[0-9]{7}$"))
);
named!(Flag, "Flag", string("A flag state: ISO 3166-1 alpha-2 code.").pattern(Some("^[A-Z]{2}$")));
