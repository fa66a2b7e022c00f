//! Who is asking, and for what: API tokens and the view key headers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use caveat_core::{CaseId, Purpose, Role, User, ViewKey};
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

/// Prefix of every token, so a leaked one is recognisable in logs and scanners.
const TOKEN_PREFIX: &str = "cvt_";

/// A new random API token and the hash the store keeps of it.
pub fn new_token() -> (String, [u8; 32]) {
    let secret: [u8; 32] = rand::random();
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let hash = hash_token(&token);
    (token, hash)
}

/// The SHA-256 of a token, as stored. Tokens are 256-bit random, so a fast
/// hash is enough: there is no password to brute-force.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user; `user.partner` is the only partner it can act for.
    pub user: User,
}

impl Caller {
    /// Fails unless the caller holds one of `roles`.
    pub(crate) fn require(&self, roles: &[Role], name: &'static str) -> Result<(), ApiError> {
        if roles.iter().any(|r| self.user.has(*r)) { Ok(()) } else { Err(ApiError::ForbiddenRole(name)) }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or(ApiError::Unauthenticated)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or(ApiError::Unauthenticated)?;
        let user = state.store().user_by_token(hash_token(token)).await?.ok_or(ApiError::Unauthenticated)?;
        Ok(Caller { user })
    }
}

/// The view-key headers of a data request, as the document lists them
/// (parsed by [`View`]'s extractor, which answers their errors).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "describes the headers for the OpenAPI document; View parses them")]
pub(crate) struct ViewHeaders {
    /// What the data will be used for. No purpose, no data: a request without one is refused.
    #[param(rename = "Caveat-Purpose")]
    purpose: Purpose,
    /// The case the request acts in, if any: one the caller's partner takes part in.
    #[param(rename = "Caveat-Case", required = false)]
    case: CaseId,
}

/// An authenticated request with its declared purpose (and case): a view key.
#[derive(Debug, Clone)]
pub struct View {
    /// Who.
    pub caller: Caller,
    /// (partner, purpose, case): everything the request may see follows from it.
    pub key: ViewKey,
}

impl FromRequestParts<AppState> for View {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let purpose = parts.headers.get("caveat-purpose").ok_or(ApiError::PurposeRequired)?;
        let purpose = purpose.to_str().map_err(|_| ApiError::UnknownPurpose("(not text)".into()))?.trim();
        if purpose.is_empty() {
            return Err(ApiError::PurposeRequired);
        }
        let purpose: Purpose = purpose.parse().map_err(|_| ApiError::UnknownPurpose(short(purpose)))?;
        let case = match parts.headers.get("caveat-case") {
            None => None,
            Some(v) => {
                let text = v.to_str().unwrap_or_default().trim();
                Some(text.parse::<CaseId>().map_err(|_| {
                    ApiError::BadRequest(format!("header Caveat-Case: {:?} is not a case id (a UUID)", short(text)))
                })?)
            }
        };
        let key = ViewKey::new(caller.user.partner.clone(), purpose, case);
        Ok(View { caller, key })
    }
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}
