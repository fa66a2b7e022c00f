//! Release receipts: what a node signs when it releases reports to the hub.
//!
//! A receipt is a C2SP signed note (c2sp.org/signed-note) signed with the
//! node's audit key, so the same `caveat audit key` an originator already
//! publishes verifies it, and tools made for signed notes read it. Its text is
//! one `name value` pair per line in a fixed order, so a receipt has exactly
//! one text form and the hub, the node and a later reconciliation read the
//! same thing:
//!
//! ```text
//! caveat-release/v1
//! id r-5f0c2d0e9b6a4c3e8d1f2a3b4c5d6e7f
//! node GBR
//! recipient CAN
//! purpose interdiction
//! case -
//! action fuse
//! issued 2026-12-01T10:00:00Z
//! lease-expires 2026-12-01T10:10:00Z
//! scope full
//! reports 12 <base64 SHA-256 of the sorted report ids, as audit entries digest them>
//! content <base64 SHA-256 over the SHA-256 of each report's JSON, in id order>
//! ```
//!
//! With a case the `case` line carries the facts the hub asserted, which the
//! node decided on and cannot check itself:
//! `case <id> open|closed lead=<partner> participants=<p1,p2|->`.
//! A checkpoint's second line is a decimal tree size, a receipt's is `id ...`,
//! so one key signing both can never have one taken for the other.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use caveat_audit::{Hash, SignedNote, SigningKey, VerifierKey, report_ids_digest};
use caveat_core::{CaseId, PartnerId, Purpose, Report, ReportId};
use caveat_policy::CaseFacts;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ReleaseAction;

/// The first line of every receipt: names the format and its version.
const HEADER: &str = "caveat-release/v1";
/// Domain separation for the digest over released reports' bytes.
const CONTENT_PREFIX: &[u8] = b"caveat-release-content/v1\n";

/// Why a receipt was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The note is not a signed note, or carries no valid signature by the pinned key.
    #[error("receipt signature: {0}")]
    Signature(String),
    /// The text is not a receipt.
    #[error("receipt line {line}: {reason}")]
    Syntax {
        /// 1-based line of the text.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The receipt does not match the request or the reports it came with.
    #[error("receipt does not match: {0}")]
    Mismatch(&'static str),
}

/// A receipt id: `r-` and 32 lower-case hex digits (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReceiptId(String);

impl ReceiptId {
    /// A fresh random id.
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::random();
        ReceiptId(format!("r-{:032x}", u128::from_be_bytes(bytes)))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The policy id the hub's and the node's audit entries cite this receipt
    /// by, among a use's determining policies: `release/<id>`.
    pub fn policy_id(&self) -> Option<caveat_audit::PolicyId> {
        format!("release/{}", self.0).parse().ok()
    }
}

impl FromStr for ReceiptId {
    type Err = ReceiptError;
    fn from_str(s: &str) -> Result<Self, ReceiptError> {
        let ok = s.len() == 34
            && s.starts_with("r-")
            && s.bytes().skip(2).all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok { Ok(ReceiptId(s.to_owned())) } else { Err(ReceiptError::Syntax { line: 2, reason: "bad receipt id" }) }
    }
}

impl fmt::Display for ReceiptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a release replaces what the hub holds for its view key, or adds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every report the node permits the view key now (up to the limit; the
    /// rest follow in releases `Since` this one).
    Full,
    /// Only reports stored after what the named earlier receipt covered.
    Since(ReceiptId),
}

/// A receipt's content, parsed or about to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Its id.
    pub id: ReceiptId,
    /// The node's partner: the originator of every report released.
    pub node: PartnerId,
    /// The consumer partner the hub asked for.
    pub recipient: PartnerId,
    /// The declared purpose.
    pub purpose: Purpose,
    /// The case and the facts the hub asserted of it.
    pub case: Option<CaseFacts>,
    /// What the reports may be used for.
    pub action: ReleaseAction,
    /// When the node released them.
    pub issued: OffsetDateTime,
    /// After this the hub must neither hold nor use them.
    pub lease_expires: OffsetDateTime,
    /// Full or incremental.
    pub scope: Scope,
    /// How many reports.
    pub count: u64,
    /// [`report_ids_digest`] of their ids.
    pub ids: Hash,
    /// [`content_digest`] of their bytes.
    pub content: Hash,
}

/// The digest of released reports' bytes: SHA-256 over a domain prefix and the
/// SHA-256 of each report's JSON (serde_json, the form it travels in), in id order.
///
/// # Errors
/// A report cannot be encoded (it always can: the error is only passed on).
pub fn content_digest(reports: &[Report]) -> Result<Hash, serde_json::Error> {
    let mut sorted: Vec<&Report> = reports.iter().collect();
    sorted.sort_by_key(|r| r.id);
    let mut buf = Vec::with_capacity(CONTENT_PREFIX.len() + 32 * sorted.len());
    buf.extend_from_slice(CONTENT_PREFIX);
    for r in sorted {
        buf.extend_from_slice(Hash::sha256(&serde_json::to_vec(r)?).as_bytes());
    }
    Ok(Hash::sha256(&buf))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

impl Receipt {
    /// The receipt of `reports` with the other fields as given (`count`, `ids`
    /// and `content` are computed here).
    ///
    /// # Errors
    /// A report cannot be encoded.
    #[allow(clippy::too_many_arguments, reason = "every field of the receipt, named at the one call site")]
    pub(crate) fn of(
        id: ReceiptId,
        node: PartnerId,
        recipient: PartnerId,
        purpose: Purpose,
        case: Option<CaseFacts>,
        action: ReleaseAction,
        issued: OffsetDateTime,
        lease_expires: OffsetDateTime,
        scope: Scope,
        reports: &[Report],
    ) -> Result<Self, serde_json::Error> {
        let ids: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
        Ok(Receipt {
            id,
            node,
            recipient,
            purpose,
            case,
            action,
            issued,
            lease_expires,
            scope,
            count: reports.len() as u64,
            ids: report_ids_digest(&ids),
            content: content_digest(reports)?,
        })
    }

    /// Signs the receipt with the node's key.
    ///
    /// # Errors
    /// The text breaks the signed-note rules (it cannot: every field is checked text).
    pub fn sign(&self, key: &SigningKey) -> Result<SignedNote, caveat_audit::Error> {
        key.sign_note(&self.to_string())
    }

    /// Reads a signed receipt and checks its signature by the pinned node key.
    ///
    /// # Errors
    /// Not a signed note, no valid signature by `key`, or not a receipt.
    pub fn open(note: &str, key: &VerifierKey) -> Result<Receipt, ReceiptError> {
        let note: SignedNote = note.parse().map_err(|e: caveat_audit::Error| ReceiptError::Signature(e.to_string()))?;
        let text = key.verify(&note).map_err(|e| ReceiptError::Signature(e.to_string()))?;
        text.parse()
    }

    /// Whether `reports` are exactly what this receipt covers.
    pub fn covers(&self, reports: &[Report]) -> bool {
        let ids: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
        let distinct: BTreeSet<ReportId> = ids.iter().copied().collect();
        distinct.len() == reports.len()
            && self.count == reports.len() as u64
            && self.ids == report_ids_digest(&ids)
            && content_digest(reports).is_ok_and(|c| c == self.content)
    }
}

fn write_case(f: &mut fmt::Formatter<'_>, case: Option<&CaseFacts>) -> fmt::Result {
    let Some(c) = case else { return writeln!(f, "case -") };
    let participants: Vec<&str> = c.participants.iter().map(PartnerId::as_str).collect();
    let participants = if participants.is_empty() { "-".to_owned() } else { participants.join(",") };
    writeln!(f, "case {} {} lead={} participants={participants}", c.id, if c.open { "open" } else { "closed" }, c.lead)
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        writeln!(f, "id {}", self.id)?;
        writeln!(f, "node {}", self.node)?;
        writeln!(f, "recipient {}", self.recipient)?;
        writeln!(f, "purpose {}", self.purpose.as_str())?;
        write_case(f, self.case.as_ref())?;
        writeln!(f, "action {}", self.action.as_str())?;
        writeln!(f, "issued {}", rfc3339(self.issued))?;
        writeln!(f, "lease-expires {}", rfc3339(self.lease_expires))?;
        match &self.scope {
            Scope::Full => writeln!(f, "scope full")?,
            Scope::Since(r) => writeln!(f, "scope since {r}")?,
        }
        writeln!(f, "reports {} {}", self.count, self.ids)?;
        writeln!(f, "content {}", self.content)
    }
}

/// The lines of a receipt text, each checked for its name.
struct Lines<'a> {
    lines: std::iter::Enumerate<std::str::Split<'a, char>>,
}

impl<'a> Lines<'a> {
    fn field(&mut self, name: &str) -> Result<(usize, &'a str), ReceiptError> {
        let (i, line) = self.lines.next().ok_or(ReceiptError::Syntax { line: 0, reason: "receipt ends early" })?;
        let value = line
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(ReceiptError::Syntax { line: i + 1, reason: "unexpected field" })?;
        Ok((i + 1, value))
    }

    fn parsed<T: FromStr>(&mut self, name: &str, reason: &'static str) -> Result<T, ReceiptError> {
        let (line, value) = self.field(name)?;
        value.parse().map_err(|_| ReceiptError::Syntax { line, reason })
    }

    fn time(&mut self, name: &str) -> Result<OffsetDateTime, ReceiptError> {
        let (line, value) = self.field(name)?;
        OffsetDateTime::parse(value, &Rfc3339).map_err(|_| ReceiptError::Syntax { line, reason: "bad time" })
    }
}

fn parse_case(line: usize, value: &str) -> Result<Option<CaseFacts>, ReceiptError> {
    if value == "-" {
        return Ok(None);
    }
    let bad = |reason| ReceiptError::Syntax { line, reason };
    let mut parts = value.split(' ');
    let id: CaseId = parts.next().unwrap_or_default().parse().map_err(|_| bad("bad case id"))?;
    let open = match parts.next() {
        Some("open") => true,
        Some("closed") => false,
        _ => return Err(bad("case must be open or closed")),
    };
    let lead: PartnerId = parts
        .next()
        .and_then(|p| p.strip_prefix("lead="))
        .ok_or_else(|| bad("no case lead"))?
        .parse()
        .map_err(|_| bad("bad case lead"))?;
    let list = parts.next().and_then(|p| p.strip_prefix("participants=")).ok_or_else(|| bad("no participants"))?;
    let mut participants = BTreeSet::new();
    if list != "-" {
        for p in list.split(',') {
            participants.insert(p.parse().map_err(|_| bad("bad participant"))?);
        }
    }
    if parts.next().is_some() {
        return Err(bad("unexpected text after the participants"));
    }
    Ok(Some(CaseFacts { id, open, lead, participants }))
}

impl FromStr for Receipt {
    type Err = ReceiptError;
    fn from_str(text: &str) -> Result<Self, ReceiptError> {
        let body = text.strip_suffix('\n').ok_or(ReceiptError::Syntax { line: 0, reason: "must end in a newline" })?;
        let mut lines = Lines { lines: body.split('\n').enumerate() };
        match lines.lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(ReceiptError::Syntax { line: 1, reason: "not a caveat-release/v1 receipt" }),
        }
        let id = lines.parsed("id", "bad receipt id")?;
        let node = lines.parsed("node", "bad node partner")?;
        let recipient = lines.parsed("recipient", "bad recipient")?;
        let purpose = lines.parsed("purpose", "bad purpose")?;
        let (case_line, case) = lines.field("case")?;
        let case = parse_case(case_line, case)?;
        let action = lines.parsed("action", "bad action")?;
        let issued = lines.time("issued")?;
        let lease_expires = lines.time("lease-expires")?;
        let (scope_line, scope) = lines.field("scope")?;
        let scope = match scope.strip_prefix("since ") {
            None if scope == "full" => Scope::Full,
            Some(r) => {
                Scope::Since(r.parse().map_err(|_| ReceiptError::Syntax { line: scope_line, reason: "bad scope" })?)
            }
            None => return Err(ReceiptError::Syntax { line: scope_line, reason: "bad scope" }),
        };
        let (reports_line, reports) = lines.field("reports")?;
        let bad_reports = ReceiptError::Syntax { line: reports_line, reason: "reports must be <count> <digest>" };
        let (count, ids) = reports.split_once(' ').ok_or(bad_reports.clone())?;
        let canonical =
            !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) && (count == "0" || !count.starts_with('0'));
        let count: u64 = count.parse().ok().filter(|_| canonical).ok_or(bad_reports.clone())?;
        let ids: Hash = ids.parse().map_err(|_| bad_reports)?;
        let content = lines.parsed("content", "bad content digest")?;
        if lines.lines.next().is_some() {
            return Err(ReceiptError::Syntax { line: 13, reason: "unexpected line after content" });
        }
        let receipt =
            Receipt { id, node, recipient, purpose, case, action, issued, lease_expires, scope, count, ids, content };
        // One text form only: what was read must write back byte for byte.
        if receipt.to_string() != text {
            return Err(ReceiptError::Syntax { line: 0, reason: "not in canonical form" });
        }
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn receipt(case: Option<CaseFacts>, scope: Scope, reports: &[Report]) -> Receipt {
        Receipt::of(
            ReceiptId::random(),
            "GBR".parse().unwrap(),
            "CAN".parse().unwrap(),
            Purpose::Interdiction,
            case,
            ReleaseAction::Fuse,
            datetime!(2026-12-01 10:00 UTC),
            datetime!(2026-12-01 10:10 UTC),
            scope,
            reports,
        )
        .unwrap()
    }

    #[test]
    fn round_trips_signed_and_refuses_other_keys_and_edits() {
        let reports = vec![Report::builder().originator("GBR").build(), Report::builder().originator("GBR").build()];
        let facts = CaseFacts {
            id: CaseId::generate(1, [1; 10]),
            open: true,
            lead: "NLD".parse().unwrap(),
            participants: ["CAN".parse().unwrap(), "GBR".parse().unwrap()].into(),
        };
        for (case, scope) in [(None, Scope::Full), (Some(facts), Scope::Since(ReceiptId::random()))] {
            let r = receipt(case, scope, &reports);
            assert!(r.covers(&reports));
            assert!(!r.covers(&reports[..1]));
            let key = SigningKey::from_seed("caveat.node/audit", [5; 32]).unwrap();
            let note = r.sign(&key).unwrap().to_string();
            assert_eq!(Receipt::open(&note, &key.verifier_key()).unwrap(), r);
            let other = SigningKey::from_seed("caveat.node/audit", [6; 32]).unwrap();
            assert!(matches!(Receipt::open(&note, &other.verifier_key()), Err(ReceiptError::Signature(_))));
            let edited = note.replace("recipient CAN", "recipient FRA");
            assert!(Receipt::open(&edited, &key.verifier_key()).is_err());
        }
    }

    #[test]
    fn malformed_texts_are_refused() {
        let good = receipt(None, Scope::Full, &[]).to_string();
        assert_eq!(good.parse::<Receipt>().unwrap().to_string(), good);
        for bad in [
            good.replace("caveat-release/v1", "caveat-release/v2"),
            good.replace("scope full", "scope some"),
            good.replace("reports 0 ", "reports 00 "),
            good.replace("action fuse", "action read"),
            good.replace("case -", "case x"),
            format!("{good}extra 1\n"),
            good.trim_end().to_owned(),
            good.replace("issued 2026-12-01T10:00:00Z", "issued 2026-12-01T10:00:00+00:00"),
        ] {
            assert!(bad.parse::<Receipt>().is_err(), "{bad}");
        }
    }
}
