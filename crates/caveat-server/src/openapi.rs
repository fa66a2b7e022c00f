//! The OpenAPI document of the API, derived from the code: each handler's
//! `#[utoipa::path]` (registered with its route by [`crate::app`], so a route
//! cannot go undocumented) and the `ToSchema` of the types it reads and
//! writes. Served at `/openapi.json`; a copy is checked in as
//! `docs/openapi.json` (a test fails when it differs from this).

use utoipa::OpenApi as _;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};

use caveat_hub::export::{Format, Withheld};

use crate::error::ErrorBody;
use crate::live::ViewEvent;

/// What the document says of itself; the paths and schemas are added by [`crate::app`]'s routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Caveat hub API",
        version = "1",
        description = "Originator-controlled sharing of maritime reports. Every data request declares a purpose \
(header `Caveat-Purpose`) and optionally a case (`Caveat-Case`); the response is computed only from reports their \
originators permit for that view key, and every decision is in the audit log before the response leaves. Errors are \
`ErrorBody` (`{\"error\": {\"code\", \"message\"}}`) with a stable code; a report the caller may not see answers 404 \
exactly like one that does not exist. Prose: docs/api.md.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    security(("token" = [])),
    // Schemas that no body names, only a parameter (utoipa-axum collects bodies' schemas alone) or the live stream.
    components(schemas(ViewEvent, ErrorBody, Format, Withheld)),
    tags(
        (name = "operations", description = "Health and this document."),
        (name = "session", description = "Who is asking."),
        (name = "reports", description = "Submitting and reading reports."),
        (name = "view", description = "The caller's view: tracks, live updates, exports."),
        (name = "policy", description = "An originator's standing policies and suspensions."),
        (name = "cases", description = "Interdiction cases and their steps."),
        (name = "rules", description = "Watch rules and the alerts they raise in the caller's view (issue 20)."),
        (name = "audit", description = "The audit log: checkpoints, proofs, usage and transparency reports."),
        (name = "federation", description = "Partner nodes (issue 17): whose data is currently unavailable."),
    )
)]
struct Meta;

/// The document's frame: info, security, tags.
pub(crate) fn meta() -> OpenApi {
    Meta::openapi()
}

/// Completes the document built from the routes: the bearer token scheme, and
/// on every operation a `default` response in the error envelope (the errors
/// any request may meet: 405, 408, 413, 500, 503).
pub(crate) fn finish(mut api: OpenApi) -> OpenApi {
    let components = api.components.get_or_insert_with(Default::default);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.description =
        Some("A per-user API token (`caveat user add`), sent as `Authorization: Bearer <token>`.".into());
    components.add_security_scheme("token", SecurityScheme::Http(bearer));
    let error = ResponseBuilder::new()
        .description("An error, in the envelope every error uses; `error.code` says which.")
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody")))).build(),
        )
        .build();
    components.responses.insert("Error".into(), RefOr::T(error));
    for item in api.paths.paths.values_mut() {
        for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete].into_iter().flatten() {
            op.responses.responses.insert("default".into(), RefOr::Ref(Ref::from_response_name("Error")));
        }
    }
    api
}

/// The document as served: pretty JSON, one trailing newline.
pub(crate) fn json() -> String {
    let mut text = crate::openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
