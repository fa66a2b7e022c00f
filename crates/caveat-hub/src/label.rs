//! STANAG 4774 confidentiality labels on what leaves the hub, bound to it by a
//! STANAG 4778 binding data object in JSON (`application/vnd.nato.bindingdataobject+json`)
//! with a detached JWS (RFC 7515 Appendix F) under the hub's Ed25519 key (issue 21).
//!
//! This module owns the mapping from Caveat's markings to a label
//! ([`LabelPolicy::label`]), the binding of an export's exact bytes
//! ([`Binding::sign`]) and its check on import ([`Binding::verify`]). The
//! mapping and what an importing system must honour are in `docs/labels.md`.
//!
//! The JWS is built here rather than with a JOSE crate: it is one EdDSA
//! signature over `BASE64URL(header) || '.' || BASE64URL(payload)` with the key
//! caveat-audit already holds, while `jsonwebtoken` signs only JWT claim sets
//! (its payload must be JSON claims, not an export's bytes) and `josekit`
//! needs OpenSSL. Independent verification is by `jwcrypto` in the tests.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use caveat_audit::{SigningKey, VerifierKey};
use caveat_core::{Marking, PartnerId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::Error;

/// The media type of a binding data object.
pub const BDO_MEDIA_TYPE: &str = "application/vnd.nato.bindingdataobject+json";

/// The JWS protected header parameter that carries the label, so the signature covers it.
pub const LABEL_HEADER: &str = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0";

/// Largest binding data object read on import, bytes: a label of every partner and purpose is a few KiB.
pub const MAX_BDO_BYTES: usize = 64 * 1024;

/// The deployment's labelling: its policy identifier and each originator's classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelPolicy {
    /// The 4774 `PolicyIdentifier` of the deployment (a URN).
    pub policy: String,
    /// Classifications, lowest first: an export of several originators' data carries the highest of theirs.
    pub classifications: Vec<String>,
    /// Each partner's classification of what it contributes.
    pub partners: BTreeMap<PartnerId, String>,
    /// The classification of a partner not listed.
    pub default: String,
}

impl Default for LabelPolicy {
    /// An unconfigured deployment says so rather than guessing a classification.
    fn default() -> Self {
        LabelPolicy {
            policy: "urn:caveat:policy:unconfigured".into(),
            classifications: vec!["UNMARKED".into()],
            partners: BTreeMap::new(),
            default: "UNMARKED".into(),
        }
    }
}

/// A 4774 category: a tag set name, its type and its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Category {
    /// `ReleasableTo`, `PermittedPurpose`, `NoExport`, `RequiresCase`.
    pub tag_name: String,
    /// `PERMISSIVE` (a holder of any value may have it) or `RESTRICTIVE` (a holder needs every value).
    #[serde(rename = "Type")]
    pub kind: String,
    /// The values.
    pub generic_value: Vec<String>,
}

/// The 4774 `ConfidentialityInformation` of a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConfidentialityInformation {
    /// The deployment's policy.
    pub policy_identifier: String,
    /// The highest classification of the originators of what is labelled.
    pub classification: String,
    /// Releasability, purposes and handling restrictions.
    pub category: Vec<Category>,
}

/// A STANAG 4774 originator confidentiality label, in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Label {
    /// Policy, classification, categories.
    pub confidentiality_information: ConfidentialityInformation,
    /// When the label was made.
    #[serde(with = "time::serde::rfc3339")]
    pub creation_date_time: OffsetDateTime,
    /// The marking's not-after: after it the data may no longer be used and must be reviewed (deleted).
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub review_date_time: Option<OffsetDateTime>,
}

impl Label {
    /// Its policy identifier.
    pub fn policy(&self) -> &str {
        &self.confidentiality_information.policy_identifier
    }

    /// Its classification.
    pub fn classification(&self) -> &str {
        &self.confidentiality_information.classification
    }

    /// The values of category `tag`, if the label has it.
    pub fn category(&self, tag: &str) -> Option<&[String]> {
        self.confidentiality_information.category.iter().find(|c| c.tag_name == tag).map(|c| c.generic_value.as_slice())
    }

    /// `marking` held to this label, as an importer must (docs/labels.md):
    /// releasable only to partners the label lists, for purposes it lists
    /// (none when it lists none, or lacks the category), not after its review
    /// time, and restricted where it is. Never wider than either.
    pub fn narrow(&self, marking: &Marking) -> Marking {
        let listed = |tag: &str| self.category(tag).unwrap_or_default();
        let partners = listed("ReleasableTo");
        let purposes = listed("PermittedPurpose");
        Marking {
            releasable_to: marking
                .releasable_to
                .iter()
                .filter(|p| partners.iter().any(|l| l == p.as_str()))
                .cloned()
                .collect(),
            purposes: marking.purposes.iter().filter(|p| purposes.iter().any(|l| l == p.as_str())).copied().collect(),
            not_after: match (marking.not_after, self.review_date_time) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            requires_case: marking.requires_case || self.category("RequiresCase").is_some(),
            no_export: marking.no_export || self.category("NoExport").is_some(),
        }
    }
}

impl LabelPolicy {
    /// The label of data from `originators` under `marking` (the combined
    /// marking of what is labelled; `None` when nothing is), made at `now`.
    ///
    /// `ReleasableTo` (permissive) lists the partners, `PermittedPurpose`
    /// (permissive) the purposes; `NoExport` and `RequiresCase` (restrictive)
    /// appear only when the marking sets them; the review time is the not-after.
    pub fn label<'a>(
        &self,
        originators: impl IntoIterator<Item = &'a PartnerId>,
        marking: Option<&Marking>,
        now: OffsetDateTime,
    ) -> Label {
        let rank = |c: &str| self.classifications.iter().position(|k| k == c).unwrap_or(0);
        let classification = originators
            .into_iter()
            .map(|p| self.partners.get(p).unwrap_or(&self.default))
            .max_by_key(|c| rank(c))
            .unwrap_or(&self.default)
            .clone();
        let cat = |tag: &str, kind: &str, values: Vec<String>| Category {
            tag_name: tag.into(),
            kind: kind.into(),
            generic_value: values,
        };
        let mut category = Vec::new();
        let empty = Marking::originator_only();
        let m = marking.unwrap_or(&empty);
        category.push(cat("ReleasableTo", "PERMISSIVE", m.releasable_to.iter().map(ToString::to_string).collect()));
        category.push(cat("PermittedPurpose", "PERMISSIVE", m.purposes.iter().map(ToString::to_string).collect()));
        if m.no_export {
            category.push(cat("NoExport", "RESTRICTIVE", vec!["no-export".into()]));
        }
        if m.requires_case {
            category.push(cat("RequiresCase", "RESTRICTIVE", vec!["open-case".into()]));
        }
        Label {
            confidentiality_information: ConfidentialityInformation {
                policy_identifier: self.policy.clone(),
                classification,
                category,
            },
            creation_date_time: now,
            review_date_time: m.not_after,
        }
    }
}

/// The protected header of a binding's JWS.
#[derive(Debug, Serialize, Deserialize)]
struct Protected {
    alg: String,
    kid: String,
    /// The media type of the bound export.
    cty: String,
    /// The label: signed with the export's bytes.
    #[serde(rename = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0")]
    label: Label,
}

/// What a binding refers to: the export, by media type, length and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataReference {
    /// The export's media type.
    pub media_type: String,
    /// Its length, bytes.
    pub size: u64,
    /// `SHA-256`.
    pub digest_algorithm: String,
    /// Base64url of its SHA-256.
    pub digest_value: String,
}

/// One label bound to one data reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetadataBinding {
    /// The label.
    pub originator_confidentiality_label: Label,
    /// The export it labels.
    pub data_reference: DataReference,
}

/// The binding information of a 4778 binding data object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingInformation {
    /// What the label says of the data: it applies to the whole referenced export.
    pub binding_statement: String,
    /// `detached`: the export travels beside this object (4778's detached approach).
    pub binding_approach: String,
    /// The label and its export.
    pub metadata_binding: MetadataBinding,
}

/// A detached JWS in compact form with its parts, for readers of either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DetachedJws {
    /// `BASE64URL(protected header) || '..' || BASE64URL(signature)`: the payload is the export's bytes.
    pub compact: String,
}

/// A STANAG 4778 binding data object in JSON: the label, what it labels, and the signature binding them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// The label and the reference to the export.
    pub binding_information: BindingInformation,
    /// The hub's signature over the label (in the protected header) and the export's bytes.
    pub signature: DetachedJws,
}

/// Why a binding was refused on import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    /// Not a binding data object (the JSON path and what was wrong).
    #[error("not a binding data object: {0}")]
    Malformed(String),
    /// The signature is not the expected key's over this label and these bytes.
    #[error("the binding's signature does not verify with key {key} over this label and these bytes")]
    Signature {
        /// The key expected.
        key: String,
    },
    /// The data is not what the binding refers to.
    #[error("the data does not match the binding's reference ({0})")]
    Data(String),
    /// The label in the object differs from the signed one.
    #[error("the label in bindingInformation differs from the signed label")]
    LabelMismatch,
}

impl Binding {
    /// Binds `label` to `data` (of `media_type`) under the hub's key.
    ///
    /// # Errors
    /// Encoding the header fails (an internal error).
    pub fn sign(key: &SigningKey, label: Label, media_type: &str, data: &[u8]) -> Result<Binding, Error> {
        let header = Protected {
            alg: "EdDSA".into(),
            kid: format!("{}+{:08x}", key.name(), key.key_id()),
            cty: media_type.into(),
            label: label.clone(),
        };
        let header = serde_json::to_vec(&header).map_err(|e| Error::internal("encoding a JWS header", &e))?;
        let header = URL_SAFE_NO_PAD.encode(header);
        let mut input = Vec::with_capacity(header.len() + 1 + data.len() * 4 / 3 + 4);
        input.extend_from_slice(header.as_bytes());
        input.push(b'.');
        input.extend_from_slice(URL_SAFE_NO_PAD.encode(data).as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(key.sign_detached(&input));
        Ok(Binding {
            binding_information: BindingInformation {
                binding_statement: "the label applies to the whole of the referenced data".into(),
                binding_approach: "detached".into(),
                metadata_binding: MetadataBinding {
                    originator_confidentiality_label: label,
                    data_reference: DataReference {
                        media_type: media_type.into(),
                        size: data.len() as u64,
                        digest_algorithm: "SHA-256".into(),
                        digest_value: URL_SAFE_NO_PAD.encode(Sha256::digest(data)),
                    },
                },
            },
            signature: DetachedJws { compact: format!("{header}..{signature}") },
        })
    }

    /// Reads a binding data object, at most [`MAX_BDO_BYTES`].
    ///
    /// # Errors
    /// [`BindingError::Malformed`] naming the JSON path at fault.
    pub fn parse(bytes: &[u8]) -> Result<Binding, BindingError> {
        if bytes.len() > MAX_BDO_BYTES {
            return Err(BindingError::Malformed(format!("{} bytes, more than {MAX_BDO_BYTES}", bytes.len())));
        }
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de)
            .map_err(|e| BindingError::Malformed(format!("at {}: {}", e.path(), e.inner())))
    }

    /// Checks that this binding is `key`'s over `data`, and returns the signed label.
    ///
    /// # Errors
    /// The signature does not verify, the data is not the one referred to, or the object's label is
    /// not the signed one.
    pub fn verify(&self, key: &VerifierKey, data: &[u8]) -> Result<Label, BindingError> {
        let bad_sig = || BindingError::Signature { key: format!("{}+{:08x}", key.name(), key.key_id()) };
        let (header, signature) = self.signature.compact.split_once("..").ok_or_else(|| {
            BindingError::Malformed("signature.compact is not a detached JWS (header..signature)".into())
        })?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| bad_sig())?;
        let mut input = Vec::with_capacity(header.len() + 1 + data.len() * 4 / 3 + 4);
        input.extend_from_slice(header.as_bytes());
        input.push(b'.');
        input.extend_from_slice(URL_SAFE_NO_PAD.encode(data).as_bytes());
        if !key.verify_detached(&input, &signature) {
            return Err(bad_sig());
        }
        let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| bad_sig())?;
        let header: Protected = serde_json::from_slice(&header)
            .map_err(|e| BindingError::Malformed(format!("the signed JWS header: {e}")))?;
        if header.alg != "EdDSA" {
            return Err(BindingError::Malformed(format!("the signed JWS header: alg {:?}, not EdDSA", header.alg)));
        }
        let reference = &self.binding_information.metadata_binding.data_reference;
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(data));
        if reference.digest_value != digest || reference.size != data.len() as u64 {
            return Err(BindingError::Data(format!("{} bytes with SHA-256 {digest}", data.len())));
        }
        if self.binding_information.metadata_binding.originator_confidentiality_label != header.label {
            return Err(BindingError::LabelMismatch);
        }
        Ok(header.label)
    }

    /// The object as sent: JSON.
    ///
    /// # Errors
    /// Encoding fails (an internal error).
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self).map_err(|e| Error::internal("encoding a binding", &e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_seed("hub.test/audit", [7; 32]).unwrap()
    }

    fn policy() -> LabelPolicy {
        LabelPolicy {
            policy: "urn:caveat:test".into(),
            classifications: vec!["UNCLASSIFIED".into(), "RESTRICTED".into()],
            partners: [("GBR".parse().unwrap(), "RESTRICTED".into())].into(),
            default: "UNCLASSIFIED".into(),
        }
    }

    #[test]
    fn a_label_takes_the_highest_classification_and_the_marking_as_categories() {
        let (gbr, can): (PartnerId, PartnerId) = ("GBR".parse().unwrap(), "CAN".parse().unwrap());
        let m = Marking { releasable_to: [can.clone()].into(), no_export: true, ..Marking::originator_only() };
        let l = policy().label([&can, &gbr], Some(&m), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(l.classification(), "RESTRICTED");
        assert_eq!(l.category("ReleasableTo").unwrap(), ["CAN"]);
        assert_eq!(l.category("NoExport").unwrap(), ["no-export"]);
        assert!(l.category("RequiresCase").is_none());
        assert_eq!(policy().label([&can], None, OffsetDateTime::UNIX_EPOCH).classification(), "UNCLASSIFIED");
    }

    /// An importer holds each report to the label, never widening it.
    #[test]
    fn a_label_narrows_a_wider_marking_and_never_widens_one() {
        let (can, nld, fra): (PartnerId, PartnerId, PartnerId) =
            ("CAN".parse().unwrap(), "NLD".parse().unwrap(), "FRA".parse().unwrap());
        let review = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
        let label_of = Marking {
            releasable_to: [can.clone()].into(),
            purposes: [caveat_core::Purpose::Interdiction].into(),
            not_after: Some(review),
            requires_case: true,
            ..Marking::originator_only()
        };
        let mut label = policy().label([], Some(&label_of), OffsetDateTime::UNIX_EPOCH);
        label.review_date_time = Some(review);
        let wide = Marking {
            releasable_to: [can.clone(), nld, fra.clone()].into(),
            purposes: caveat_core::Purpose::ALL.into(),
            ..Marking::originator_only()
        };
        assert_eq!(label.narrow(&wide), label_of);
        let narrow = Marking { releasable_to: [fra].into(), no_export: true, ..Marking::originator_only() };
        let held = label.narrow(&narrow);
        assert!(held.releasable_to.is_empty() && held.purposes.is_empty() && held.no_export && held.requires_case);
        assert_eq!(held.not_after, Some(review));
    }

    #[test]
    fn a_binding_verifies_and_any_changed_byte_or_label_breaks_it() {
        let data = b"{\"type\":\"FeatureCollection\",\"features\":[]}".to_vec();
        let label = policy().label([], None, OffsetDateTime::UNIX_EPOCH);
        let b = Binding::sign(&key(), label, "application/geo+json", &data).unwrap();
        let back = Binding::parse(b.to_json().unwrap().as_bytes()).unwrap();
        assert_eq!(back.verify(&key().verifier_key(), &data).unwrap().policy(), "urn:caveat:test");
        for i in 0..data.len() {
            let mut changed = data.clone();
            changed[i] ^= 1;
            assert!(matches!(back.verify(&key().verifier_key(), &changed), Err(BindingError::Signature { .. })));
        }
        let mut relabelled = back.clone();
        relabelled
            .binding_information
            .metadata_binding
            .originator_confidentiality_label
            .confidentiality_information
            .classification = "UNMARKED".into();
        assert_eq!(relabelled.verify(&key().verifier_key(), &data), Err(BindingError::LabelMismatch));
        let other = SigningKey::from_seed("hub.test/audit", [8; 32]).unwrap();
        assert!(matches!(back.verify(&other.verifier_key(), &data), Err(BindingError::Signature { .. })));
    }
}
