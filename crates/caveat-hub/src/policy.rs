//! What a partner sees of its own policy: its standing policies and active suspensions.

use std::collections::BTreeSet;

use caveat_core::{PartnerId, Purpose};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{Error, Hub};

/// A partner's own policy (`/v1/policy`): its standing policies and the
/// suspensions it has in force, at the hub's current policy version.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Policy)]
pub struct PolicyView {
    /// The hub's policy version: every change, by any partner, adds one.
    pub version: u64,
    /// The partner's standing policies as last uploaded (one Cedar text,
    /// replaced whole by each upload); null when it has none.
    #[schema(required)]
    pub standing: Option<StandingView>,
    /// Its suspensions in force.
    pub suspensions: Vec<SuspensionView>,
}

/// A partner's standing policies: the Cedar text it uploaded.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = StandingPolicy)]
pub struct StandingView {
    /// The Cedar text as uploaded.
    pub text: String,
    /// The policy version its upload produced.
    pub version: u64,
}

/// An originator's suspension of the use of its reports.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Suspension)]
pub struct SuspensionView {
    /// Its id (decimal digits); `DELETE /v1/suspensions/{id}` lifts it.
    #[schema(pattern = "^[0-9]+$")]
    pub id: String,
    /// The originator whose reports it covers.
    pub originator: PartnerId,
    /// The partners suspended; null for every partner but the originator.
    #[schema(required)]
    pub partners: Option<BTreeSet<PartnerId>>,
    /// The purposes suspended; null for all.
    #[schema(required)]
    pub purposes: Option<BTreeSet<Purpose>>,
    /// Why, in the originator's words.
    pub reason: String,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Whether it is in force.
    pub active: bool,
}

impl From<&caveat_policy::Suspension> for SuspensionView {
    fn from(s: &caveat_policy::Suspension) -> Self {
        SuspensionView {
            id: s.id.to_string(),
            originator: s.originator.clone(),
            partners: s.partners.clone(),
            purposes: s.purposes.clone(),
            reason: s.reason.clone(),
            at: s.issued_at,
            active: s.is_active(),
        }
    }
}

impl Hub {
    /// `me`'s standing policies and active suspensions, at the current policy version.
    ///
    /// # Errors
    /// The store fails.
    pub async fn policy_of(&self, me: &PartnerId) -> Result<PolicyView, Error> {
        let policies = self.access.policies().await?;
        let st = policies.state();
        let suspensions =
            st.suspensions().filter(|s| &s.originator == me && s.is_active()).map(SuspensionView::from).collect();
        let standing = st.standing(me).map(|p| StandingView { text: p.text.clone(), version: p.version.get() });
        Ok(PolicyView { version: policies.version().get(), standing, suspensions })
    }
}
