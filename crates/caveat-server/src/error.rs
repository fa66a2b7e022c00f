//! The API's one error type: a stable code, a status, and a message that
//! names the field but never depends on data the caller may not see.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caveat_core::Purpose;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The purposes as the `purpose_required` message lists them: every one of
/// [`Purpose::ALL`], in its order ("interdiction, ..., prosecution or monitoring").
static PURPOSES: LazyLock<String> = LazyLock::new(|| {
    let names: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
});

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
    #[error("header Caveat-Purpose is required on data requests: {}", *PURPOSES)]
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

/// The stable code of an error, which clients switch on; each has one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no token, or an unknown or revoked one.
    Unauthenticated,
    /// 403: the caller's roles do not allow this.
    ForbiddenRole,
    /// 400: a data request without `Caveat-Purpose`.
    PurposeRequired,
    /// 400: a purpose that does not exist.
    UnknownPurpose,
    /// 400: something in the request is malformed; the message names it.
    BadRequest,
    /// 400: `Caveat-Case` names no case the caller's partner takes part in.
    UnknownCase,
    /// 422: a submitted report is invalid; the message names the line and field.
    InvalidReport,
    /// 422: an uploaded standing policy was refused.
    InvalidPolicy,
    /// 404: not there, or not visible to the caller (the two answer alike).
    NotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 408: the request body did not arrive in time.
    RequestTimeout,
    /// 413: the body is over the limit; the message gives it.
    PayloadTooLarge,
    /// 415: the body has the wrong media type.
    UnsupportedMediaType,
    /// 409: the request conflicts with stored state.
    Conflict,
    /// 503: the hub's database is unavailable, or every connection is busy; retry.
    Unavailable,
    /// 500: anything else (the detail is logged, never returned).
    Internal,
}

impl ErrorCode {
    /// Every code, in the order the document lists them.
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::Unauthenticated,
        ErrorCode::ForbiddenRole,
        ErrorCode::PurposeRequired,
        ErrorCode::UnknownPurpose,
        ErrorCode::BadRequest,
        ErrorCode::UnknownCase,
        ErrorCode::InvalidReport,
        ErrorCode::InvalidPolicy,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RequestTimeout,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::Conflict,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The code as written on the wire, e.g. `purpose_required`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::ForbiddenRole => "forbidden_role",
            ErrorCode::PurposeRequired => "purpose_required",
            ErrorCode::UnknownPurpose => "unknown_purpose",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownCase => "unknown_case",
            ErrorCode::InvalidReport => "invalid_report",
            ErrorCode::InvalidPolicy => "invalid_policy",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status that carries it.
    pub const fn status(self) -> StatusCode {
        match self {
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::ForbiddenRole => StatusCode::FORBIDDEN,
            ErrorCode::PurposeRequired | ErrorCode::UnknownPurpose | ErrorCode::BadRequest | ErrorCode::UnknownCase => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::InvalidReport | ErrorCode::InvalidPolicy => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error response: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// The stable code clients switch on.
    pub code: ErrorCode,
    /// What was wrong, for people: names the field, line or limit, never data the caller may not see.
    pub message: String,
}

impl ErrorBody {
    /// The response: `code`'s status with this body.
    pub(crate) fn response(code: ErrorCode, message: String) -> Response {
        (code.status(), axum::Json(ErrorBody { error: ErrorDetail { code, message } })).into_response()
    }
}

impl ApiError {
    /// The stable code clients switch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Unauthenticated => ErrorCode::Unauthenticated,
            ApiError::ForbiddenRole(_) => ErrorCode::ForbiddenRole,
            ApiError::PurposeRequired => ErrorCode::PurposeRequired,
            ApiError::UnknownPurpose(_) => ErrorCode::UnknownPurpose,
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::InvalidReport(_) => ErrorCode::InvalidReport,
            ApiError::UnknownCase => ErrorCode::UnknownCase,
            ApiError::InvalidPolicy(_) => ErrorCode::InvalidPolicy,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::Unavailable => ErrorCode::Unavailable,
            ApiError::Internal => ErrorCode::Internal,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code().status()
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
            E::Forbidden(role) => ApiError::ForbiddenRole(role),
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
        ErrorBody::response(self.code(), self.to_string())
    }
}
