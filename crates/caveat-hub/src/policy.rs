//! What a partner sees of its own policy: its standing policies and active suspensions.

use caveat_core::PartnerId;
use serde_json::{Value, json};

use crate::tracks::rfc3339;
use crate::{Error, Hub};

impl Hub {
    /// `me`'s standing policies and active suspensions, at the current policy version.
    ///
    /// # Errors
    /// The store fails.
    pub async fn policy_of(&self, me: &PartnerId) -> Result<Value, Error> {
        let policies = self.access.policies().await?;
        let st = policies.state();
        let suspensions: Vec<Value> = st
            .suspensions()
            .filter(|s| &s.originator == me && s.is_active())
            .map(|s| {
                json!({
                    "id": s.id.to_string(), "originator": s.originator, "partners": s.partners, "purposes": s.purposes,
                    "reason": s.reason, "at": rfc3339(s.issued_at), "active": s.is_active(),
                })
            })
            .collect();
        let standing = st.standing(me).map(|p| json!({ "text": p.text, "version": p.version.get() }));
        Ok(json!({ "version": policies.version().get(), "standing": standing, "suspensions": suspensions }))
    }
}
