//! The API's extractors for query strings and path parameters: axum's, with
//! their rejections answered in the API's error envelope (a stable code and a
//! message naming what was wrong) instead of axum's plain-text bodies.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A query string decoded into `T`; a bad one is `400 bad_request` naming the parameter.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::BadRequest(format!("query: {}", short(&e.body_text()))))
    }
}

/// A path parameter; one that does not decode (bad percent-encoding, not
/// UTF-8) names nothing that exists: `404`, as an unknown id does.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(p)| ApiPath(p)).map_err(|_| ApiError::NotFound)
    }
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}
