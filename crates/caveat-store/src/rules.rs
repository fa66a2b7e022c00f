//! The store's rules outside a batch, the same in every backend: a partner
//! must be registered. A backend reads what a rule needs and writes what it
//! allows.

use caveat_core::PartnerId;

use crate::{Error, Result};

/// The error for a partner the store does not hold (`registered` is false).
pub(crate) fn check_registered(partner: &PartnerId, registered: bool) -> Result<()> {
    if registered { Ok(()) } else { Err(Error::UnknownPartner { index: 0, partner: partner.clone() }) }
}
