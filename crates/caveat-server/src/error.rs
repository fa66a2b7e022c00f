//! The API's one error type: a stable code, a status, and a message that
//! names the field but never depends on data the caller may not see.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error the API returns. Internal failures carry a generic message; their
/// detail goes to the log (stderr), never to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or an unknown or revoked one.
    #[error("a valid API token is required: Authorization: Bearer <token>")]
    Unauthenticated,
    /// The caller's roles do not allow this.
    #[error("this needs the role {0}")]
    ForbiddenRole(&'static str),
    /// A data request without `Caveat-Purpose`.
    #[error(
        "header Caveat-Purpose is required on data requests: interdiction, search-and-rescue, maritime-safety, prosecution or monitoring"
    )]
    PurposeRequired,
    /// A purpose that does not exist.
    #[error("header Caveat-Purpose: unknown purpose {0:?}")]
    UnknownPurpose(String),
    /// Something in the request is malformed; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// A submitted report is invalid; the message names the line and field.
    #[error("{0}")]
    InvalidReport(String),
    /// An uploaded standing policy was refused; the message names the policy and the part at fault.
    #[error("{0}")]
    InvalidPolicy(String),
    /// `Caveat-Case` names no case the caller's partner takes part in.
    #[error("header Caveat-Case: no case of your partner has this id")]
    UnknownCase,
    /// Not there, or not visible to this view: the two are indistinguishable by design.
    #[error("not found")]
    NotFound,
    /// The path exists but not with this method.
    #[error("this path does not take that method")]
    MethodNotAllowed,
    /// The body is over the limit.
    #[error("the request body is over the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// The body has the wrong media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request conflicts with stored state (a report id already stored).
    #[error("{0}")]
    Conflict(String),
    /// The database is unreachable; retry.
    #[error("the hub's database is unavailable; retry shortly")]
    Unavailable,
    /// Anything else; detail logged, not returned.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::ForbiddenRole(_) => "forbidden_role",
            ApiError::PurposeRequired => "purpose_required",
            ApiError::UnknownPurpose(_) => "unknown_purpose",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::InvalidReport(_) => "invalid_report",
            ApiError::UnknownCase => "unknown_case",
            ApiError::InvalidPolicy(_) => "invalid_policy",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::ForbiddenRole(_) => StatusCode::FORBIDDEN,
            ApiError::PurposeRequired
            | ApiError::UnknownPurpose(_)
            | ApiError::BadRequest(_)
            | ApiError::UnknownCase => StatusCode::BAD_REQUEST,
            ApiError::InvalidReport(_) | ApiError::InvalidPolicy(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<caveat_hub::Error> for ApiError {
    /// Exhaustive: a new refusal of the hub must be given its status here.
    fn from(e: caveat_hub::Error) -> Self {
        use caveat_hub::Error as E;
        match e {
            E::BadRequest(m) => ApiError::BadRequest(m),
            E::InvalidReport(m) => ApiError::InvalidReport(m),
            E::InvalidPolicy(m) => ApiError::InvalidPolicy(m),
            E::UnknownCase => ApiError::UnknownCase,
            E::NotFound => ApiError::NotFound,
            E::Conflict(m) => ApiError::Conflict(m),
            E::Unavailable => ApiError::Unavailable,
            E::Internal => ApiError::Internal,
        }
    }
}

impl From<caveat_store::Error> for ApiError {
    fn from(e: caveat_store::Error) -> Self {
        caveat_hub::Error::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        (self.status(), axum::Json(body)).into_response()
    }
}
