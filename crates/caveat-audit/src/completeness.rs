//! Complete usage reports (issue 18): tag leaves that let an originator prove its
//! usage report lists every entry touching its data, while it learns of the
//! entries touching only others nothing but how many there are.
//!
//! Every so often the hub appends a [`UsageTags`] leaf covering the entries since
//! the previous one. It holds, for each partner (a *slot*), one bit per entry
//! ("this entry touches the partner") masked by a keyed hash under that partner's
//! [`UsageKey`], so only the partner can read its bits; to anyone else they are
//! pseudorandom. Each tag leaf commits to every slot's key and names the previous
//! tag leaf, so once written the chain covers the log without gaps, and neither
//! the bits nor the key can be changed without breaking inclusion proofs.
//! [`Tagger`] is the writer's side (the hub's audit writer drives it),
//! [`Completeness`] the part of a usage report that carries the chain for the
//! report's range, and [`Completeness::verify`] the originator's check. The
//! design, its costs and its limits are in `docs/audit.md`.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use caveat_core::PartnerId;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::Error;
use crate::bundle::BundleEntry;
use crate::checkpoint::Checkpoint;
use crate::entry::AuditEntry;
use crate::hash::{Hash, leaf_hash};
use crate::log::MerkleLog;
use crate::note::SigningKey;
use crate::proof::InclusionProof;
use crate::storage::LogStorage;

/// The label under which the hub's audit key derives the secret for usage keys.
const KEYS_LABEL: &str = "caveat-usage-keys/v1";
/// Domain separation of a partner's key, its commitment and its masks.
const KEY_PREFIX: &[u8] = b"caveat-usage-key/v1\n";
const COMMITMENT_PREFIX: &[u8] = b"caveat-usage-key-commitment/v1\n";
const MASK_PREFIX: &[u8] = b"caveat-usage-mask/v1\n";

/// Most entries one tag leaf covers (its bits stay under a few KB a slot).
pub const MAX_TAG_SPAN: usize = 4096;
/// Most slots (partners) one tag leaf has.
pub const MAX_TAG_SLOTS: usize = 4096;
/// Most tag leaves one completeness proof carries (about 4 billion entries at
/// full span; a day of a busy hub needs some thousands).
pub const MAX_TAG_LEAVES: usize = 1_000_000;
/// How far back from the end of the log [`Tagger::resume`] looks for the last
/// tag leaf before it starts a new chain.
pub const RESUME_SCAN: u64 = 200_000;

/// HMAC-SHA256 under a 32-byte key.
///
/// The key is zero-padded to SHA-256's 64-byte block, which is what HMAC does
/// with a shorter key (RFC 2104 §2), so the keyed constructor cannot fail.
pub(crate) fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    for (b, k) in block.iter_mut().zip(key) {
        *b = *k;
    }
    let mut mac = <Hmac<Sha256>>::new(&block.into());
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// A partner's key for reading its bits in tag leaves.
///
/// The hub derives it from its audit key ([`UsageKey::derive`]) and gives it only
/// to that partner, inside its own usage report. Every tag leaf records its
/// [`UsageKey::commitment`], so a hub cannot later hand out another key that would
/// read the stored bits differently. `Debug` shows only the commitment.
#[derive(Clone, PartialEq, Eq)]
pub struct UsageKey([u8; 32]);

impl UsageKey {
    /// `partner`'s key, derived from the hub's audit key.
    pub fn derive(hub: &SigningKey, partner: &PartnerId) -> Self {
        Self::from_secret(&hub.derive_secret(KEYS_LABEL), partner)
    }

    fn from_secret(secret: &[u8; 32], partner: &PartnerId) -> Self {
        UsageKey(hmac_sha256(secret, &[KEY_PREFIX, partner.as_str().as_bytes()]))
    }

    /// From its 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        UsageKey(bytes)
    }

    /// Its 32 bytes (secret).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// What a tag leaf records of the key: SHA-256 over a domain prefix and it.
    pub fn commitment(&self) -> Hash {
        let mut buf = COMMITMENT_PREFIX.to_vec();
        buf.extend_from_slice(&self.0);
        Hash::sha256(&buf)
    }

    /// The masks of entries `256 * block .. 256 * (block + 1)`, one bit each.
    fn mask_block(&self, block: u64) -> [u8; 32] {
        hmac_sha256(&self.0, &[MASK_PREFIX, &block.to_be_bytes()])
    }
}

impl fmt::Debug for UsageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UsageKey(commitment {})", self.commitment())
    }
}

impl Serialize for UsageKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for UsageKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let raw = STANDARD.decode(s.as_bytes()).map_err(serde::de::Error::custom)?;
        let bytes: [u8; 32] =
            raw.try_into().map_err(|_| serde::de::Error::custom("a usage key is 32 bytes, base64"))?;
        Ok(UsageKey(bytes))
    }
}

/// Reads one key's mask bits in index order, one keyed hash per 256 entries.
struct Masks<'k> {
    key: &'k UsageKey,
    block: Option<(u64, [u8; 32])>,
}

impl<'k> Masks<'k> {
    fn new(key: &'k UsageKey) -> Self {
        Masks { key, block: None }
    }

    fn bit(&mut self, index: u64) -> bool {
        let block = index >> 8;
        let bytes = match self.block {
            Some((b, bytes)) if b == block => bytes,
            _ => {
                let bytes = self.key.mask_block(block);
                self.block = Some((block, bytes));
                bytes
            }
        };
        get_bit(&bytes, index & 255)
    }
}

fn get_bit(bytes: &[u8], at: u64) -> bool {
    usize::try_from(at >> 3).ok().and_then(|i| bytes.get(i)).is_some_and(|b| (b >> (at & 7)) & 1 == 1)
}

/// One partner's column in a tag leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSlot {
    /// The partner.
    pub partner: PartnerId,
    /// [`UsageKey::commitment`] of its key.
    pub key: Hash,
}

/// A tag leaf: for each slot, whether each entry of `from..to` touches that
/// partner, masked under its key.
///
/// `bits` holds one run per slot, in slot order, of `ceil((to - from) / 8)` bytes,
/// least significant bit first; bit `i - from` of a slot's run is
/// `touches(i) XOR mask(key, i)`, unused bits zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageTags {
    /// When it was written (the writer's clock).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The index of the previous tag leaf; none for the first of a chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<u64>,
    /// The first entry covered (the previous tag leaf's `to`).
    pub from: u64,
    /// One past the last entry covered (at most this leaf's own index).
    pub to: u64,
    /// The partners, sorted, each with its key's commitment.
    pub slots: Vec<UsageSlot>,
    /// The masked bits, base64.
    #[serde(with = "crate::bundle::base64_bytes")]
    pub bits: Vec<u8>,
}

impl UsageTags {
    /// The tag leaf over entries `from..from + touched.len()`, `touched[k]` being
    /// the originators entry `from + k` touches, with a slot for each of `keys`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] over [`MAX_TAG_SPAN`] entries or [`MAX_TAG_SLOTS`] slots.
    pub fn build(
        at: OffsetDateTime,
        prev: Option<u64>,
        from: u64,
        keys: &BTreeMap<PartnerId, UsageKey>,
        touched: &[Vec<PartnerId>],
    ) -> Result<Self, Error> {
        let span = touched.len() as u64;
        if touched.len() > MAX_TAG_SPAN {
            return Err(Error::TooLarge { what: "entries in one tag leaf", len: touched.len(), limit: MAX_TAG_SPAN });
        }
        if keys.len() > MAX_TAG_SLOTS {
            return Err(Error::TooLarge { what: "tag leaf slots", len: keys.len(), limit: MAX_TAG_SLOTS });
        }
        let run = touched.len().div_ceil(8);
        let mut bits = vec![0u8; run * keys.len()];
        let mut slots = Vec::with_capacity(keys.len());
        for ((partner, key), column) in keys.iter().zip(bits.chunks_mut(run.max(1))) {
            let mut masks = Masks::new(key);
            for (k, (index, originators)) in (from..).zip(touched).enumerate() {
                if originators.contains(partner) != masks.bit(index)
                    && let Some(b) = column.get_mut(k >> 3)
                {
                    *b |= 1 << (k & 7);
                }
            }
            slots.push(UsageSlot { partner: partner.clone(), key: key.commitment() });
        }
        Ok(UsageTags { at, prev, from, to: from + span, slots, bits })
    }

    /// Checks the shape: `from <= to`, the span and slot limits, sorted distinct
    /// slots, and bits of exactly the right length with unused bits zero.
    pub(crate) fn check(&self) -> Result<(), String> {
        let span =
            self.to.checked_sub(self.from).ok_or_else(|| format!("from {} is after to {}", self.from, self.to))?;
        if span > MAX_TAG_SPAN as u64 {
            return Err(format!("covers {span} entries, over the limit of {MAX_TAG_SPAN}"));
        }
        if self.slots.len() > MAX_TAG_SLOTS {
            return Err(format!("has {} slots, over the limit of {MAX_TAG_SLOTS}", self.slots.len()));
        }
        if self.slots.windows(2).any(|w| matches!(w, [a, b] if a.partner >= b.partner)) {
            return Err("slots are not sorted and distinct".to_owned());
        }
        let run = self.run();
        if self.bits.len() != run * self.slots.len() {
            return Err(format!("bits are {} bytes, not {} slots of {run}", self.bits.len(), self.slots.len()));
        }
        for column in self.bits.chunks(run.max(1)) {
            for k in span..(run as u64) * 8 {
                if get_bit(column, k) {
                    return Err("an unused bit is set".to_owned());
                }
            }
        }
        Ok(())
    }

    fn run(&self) -> usize {
        usize::try_from(self.to.saturating_sub(self.from)).map_or(0, |n| n.div_ceil(8))
    }

    /// The indexes in `from..to` (clipped to the leaf) whose bit, unmasked with
    /// `key`, says they touch `partner`; none when the leaf has no slot for it.
    ///
    /// # Errors
    /// The leaf's slot for `partner` commits to another key (a message naming both).
    pub fn touching(&self, partner: &PartnerId, key: &UsageKey, from: u64, to: u64) -> Result<Vec<u64>, String> {
        let Some(pos) = self.slots.iter().position(|s| &s.partner == partner) else { return Ok(Vec::new()) };
        let commitment = self.slots.get(pos).map(|s| s.key);
        if commitment != Some(key.commitment()) {
            return Err(format!(
                "it records key commitment {} for {partner}, but the key given has commitment {}",
                commitment.map(|c| c.to_string()).unwrap_or_default(),
                key.commitment()
            ));
        }
        let run = self.run();
        let column = self.bits.get(pos * run..(pos + 1) * run).unwrap_or_default();
        let mut masks = Masks::new(key);
        Ok((from.max(self.from)..to.min(self.to)).filter(|&i| get_bit(column, i - self.from) != masks.bit(i)).collect())
    }
}

/// The writer's side: keeps track of which entries the next tag leaf must cover
/// and writes tag leaves. One per log writer; it reads no clock (the writer says
/// when to [`Tagger::flush`] and passes the time).
#[derive(Debug)]
pub struct Tagger {
    secret: [u8; 32],
    keys: BTreeMap<PartnerId, UsageKey>,
    /// The last tag leaf's index.
    last: Option<u64>,
    /// Entries before this are covered.
    covered_to: u64,
    /// The originators of entries `covered_to..`, in order.
    pending: Vec<Vec<PartnerId>>,
    /// How many of `pending` are not tag leaves.
    untagged: usize,
    /// Set when the log changed behind this tagger's back: re-read before writing.
    stale: bool,
}

impl Tagger {
    /// A tagger with a slot for each of `partners` (and for any other originator
    /// it meets), deriving keys from `hub`. Call [`Tagger::resume`] before use.
    pub fn new(hub: &SigningKey, partners: impl IntoIterator<Item = PartnerId>) -> Self {
        let secret = hub.derive_secret(KEYS_LABEL);
        let keys = partners.into_iter().map(|p| (p.clone(), UsageKey::from_secret(&secret, &p))).collect();
        Tagger { secret, keys, last: None, covered_to: 0, pending: Vec::new(), untagged: 0, stale: true }
    }

    /// `partner`'s key (see [`UsageKey::derive`]).
    pub fn key(&self, partner: &PartnerId) -> UsageKey {
        UsageKey::from_secret(&self.secret, partner)
    }

    /// The last tag leaf's index, if the log has one.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// How many entries, other than tag leaves, no tag leaf covers yet.
    pub fn untagged(&self) -> usize {
        self.untagged
    }

    /// Re-reads where the chain stands: finds the last tag leaf within
    /// [`RESUME_SCAN`] entries of the end and the originators of the entries after
    /// it. Without one (a log written before tag leaves, or a gap that long), the
    /// next tag leaf starts a new chain there (see `docs/audit.md`).
    ///
    /// # Errors
    /// The storage fails.
    pub fn resume<S: LogStorage>(&mut self, log: &MerkleLog<S>) -> Result<(), Error> {
        let size = log.size();
        let floor = size.saturating_sub(RESUME_SCAN);
        let mut after = Vec::new();
        let mut found = None;
        for index in (floor..size).rev() {
            match AuditEntry::from_bytes(&log.entry(index)?) {
                Ok(AuditEntry::UsageTags(t)) => {
                    found = Some((index, t));
                    break;
                }
                Ok(entry) => after.push(Some(entry.originators().into_iter().cloned().collect::<Vec<_>>())),
                // A leaf that is no audit entry touches no one, but is still covered.
                Err(_) => after.push(Some(Vec::new())),
            }
        }
        after.reverse();
        let (last, covered_to, first_after) = match &found {
            Some((index, t)) => (Some(*index), t.to, index + 1),
            None => (None, floor, floor),
        };
        // Entries between the last tag leaf's `to` and the leaf itself (written
        // while it was being built, by another process) are covered by the next.
        let mut pending: Vec<Option<Vec<PartnerId>>> = Vec::new();
        for index in covered_to..first_after {
            let entry = AuditEntry::from_bytes(&log.entry(index)?).ok();
            pending.push(match entry {
                Some(AuditEntry::UsageTags(_)) => None,
                Some(e) => Some(e.originators().into_iter().cloned().collect()),
                None => Some(Vec::new()),
            });
        }
        pending.extend(after);
        self.last = last;
        self.covered_to = covered_to;
        self.untagged = pending.iter().filter(|p| p.is_some()).count();
        self.pending = pending.into_iter().map(Option::unwrap_or_default).collect();
        self.stale = false;
        Ok(())
    }

    /// Records that `entries` were just appended to `log` by this writer.
    pub fn appended<S: LogStorage>(&mut self, log: &MerkleLog<S>, entries: &[AuditEntry]) {
        if self.covered_to + self.pending.len() as u64 + entries.len() as u64 != log.size() {
            self.stale = true;
            return;
        }
        for e in entries {
            if !matches!(e, AuditEntry::UsageTags(_)) {
                self.untagged += 1;
            }
            self.pending.push(e.originators().into_iter().cloned().collect());
        }
    }

    /// Marks the log as changed by someone else: the next flush re-reads it.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Appends tag leaves (each of at most [`MAX_TAG_SPAN`] entries) until every
    /// entry of `log` other than a tag leaf is covered; nothing when none is
    /// pending. Returns the index of the last tag leaf.
    ///
    /// # Errors
    /// The storage fails (the tagger then re-reads the log on the next call).
    pub fn flush<S: LogStorage>(&mut self, log: &mut MerkleLog<S>, at: OffsetDateTime) -> Result<Option<u64>, Error> {
        if self.stale || self.covered_to + self.pending.len() as u64 != log.size() {
            self.resume(log)?;
        }
        if self.untagged == 0 {
            return Ok(self.last);
        }
        // The tag leaves appended below are themselves pending once written: stop
        // at the entries that were pending when the flush began.
        let mut left = self.pending.len();
        while left > 0 {
            let take = left.min(MAX_TAG_SPAN);
            let span: Vec<Vec<PartnerId>> = self.pending.drain(..take).collect();
            for originator in span.iter().flatten() {
                if !self.keys.contains_key(originator) {
                    let key = self.key(originator);
                    self.keys.insert(originator.clone(), key);
                }
            }
            let tags = UsageTags::build(at, self.last, self.covered_to, &self.keys, &span)?;
            let appended = log.append_entries(&[AuditEntry::UsageTags(tags)]);
            if let Err(e) = appended {
                self.stale = true;
                return Err(e);
            }
            self.covered_to += take as u64;
            self.last = Some(log.size() - 1);
            self.pending.push(Vec::new());
            left -= take;
        }
        self.untagged = 0;
        Ok(self.last)
    }
}

/// The tag leaves covering `from..to`, oldest first: walks back from the tag
/// leaf at `last` through each leaf's `prev`, skipping leaves at or beyond
/// `size` (written after the checkpoint the report is proved against).
///
/// # Errors
/// A leaf on the way is not a tag leaf, the walk passes [`MAX_TAG_LEAVES`], or
/// the storage fails.
pub fn tag_chain<S: LogStorage>(log: &MerkleLog<S>, last: u64, size: u64, from: u64) -> Result<Vec<u64>, Error> {
    let mut out = Vec::new();
    let mut at = Some(last);
    let mut steps = 0usize;
    while let Some(index) = at {
        steps += 1;
        if steps > MAX_TAG_LEAVES {
            return Err(Error::TooLarge { what: "tag leaves walked", len: steps, limit: MAX_TAG_LEAVES });
        }
        let AuditEntry::UsageTags(t) = AuditEntry::from_bytes(&log.entry(index)?)? else {
            return Err(Error::Entry { index: Some(index), reason: "a tag leaf's prev is not a tag leaf".to_owned() });
        };
        if index < size {
            if t.to <= from && !out.is_empty() {
                break;
            }
            out.push(index);
            if t.from <= from {
                break;
            }
        }
        at = t.prev;
    }
    out.reverse();
    Ok(out)
}

/// The part of a usage report that proves it complete over `from..to`: the
/// originator's key and the chain of tag leaves covering the range, each with
/// its inclusion proof against the report's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completeness {
    /// The first entry the report is complete from.
    pub from: u64,
    /// One past the last entry it is complete to.
    pub to: u64,
    /// The originator's key, to read its bits (secret to it).
    pub key: UsageKey,
    /// The tag leaves, by ascending index.
    pub tags: Vec<BundleEntry>,
}

impl Completeness {
    /// The proof over `from..to` from the tag leaves at `chain`, against the
    /// tree of `size` entries.
    ///
    /// # Errors
    /// An index is beyond `size` or the storage fails.
    pub fn build<S: LogStorage>(
        log: &MerkleLog<S>,
        size: u64,
        chain: &[u64],
        from: u64,
        to: u64,
        key: UsageKey,
    ) -> Result<Self, Error> {
        let tags = chain
            .iter()
            .map(|&index| {
                let path = log.inclusion_proof(index, size)?.path;
                Ok(BundleEntry { index, data: log.entry(index)?, path })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Completeness { from, to, key, tags })
    }

    /// Checks that `listed` (the report's entry indexes, in the report's order)
    /// is exactly, and in ascending order, the set of entries in `from..to` whose
    /// tag says they touch `originator`, and that the tag leaves are in the tree
    /// of `checkpoint`, chained without a gap, cover the range and commit to the
    /// key given.
    ///
    /// # Errors
    /// [`Error::Incomplete`] naming the first entry or tag leaf at fault;
    /// [`Error::InclusionProofInvalid`] for a tag leaf not in the tree.
    pub fn verify(&self, originator: &PartnerId, checkpoint: &Checkpoint, listed: &[u64]) -> Result<(), Error> {
        let bad = |reason: String| Error::Incomplete { reason };
        if self.tags.len() > MAX_TAG_LEAVES {
            return Err(Error::TooLarge { what: "tag leaves", len: self.tags.len(), limit: MAX_TAG_LEAVES });
        }
        if self.from > self.to || self.to > checkpoint.size() {
            return Err(bad(format!(
                "its range {}..{} is not within the checkpoint's {} entries",
                self.from,
                self.to,
                checkpoint.size()
            )));
        }
        let mut chain: Vec<(u64, UsageTags)> = Vec::with_capacity(self.tags.len());
        for e in &self.tags {
            let proof = InclusionProof { leaf_index: e.index, tree_size: checkpoint.size(), path: e.path.clone() };
            proof.verify(&leaf_hash(&e.data), &checkpoint.root())?;
            let Ok(AuditEntry::UsageTags(tags)) = AuditEntry::from_bytes(&e.data) else {
                return Err(bad(format!("leaf {} is given as a tag leaf but is not one", e.index)));
            };
            if tags.to > e.index {
                return Err(bad(format!("tag leaf {} covers entries up to {}, past itself", e.index, tags.to)));
            }
            if let Some((prev_index, prev)) = chain.last() {
                if e.index <= *prev_index {
                    return Err(bad(format!("tag leaf {} comes after tag leaf {prev_index}", e.index)));
                }
                if tags.prev != Some(*prev_index) || tags.from != prev.to {
                    return Err(bad(format!(
                        "tag leaf {} does not follow tag leaf {prev_index} (it names {:?} and starts at {}; \
                         that one ends at {}): a tag leaf between them is missing",
                        e.index, tags.prev, tags.from, prev.to
                    )));
                }
            }
            chain.push((e.index, tags));
        }
        if self.from < self.to {
            let (Some((first_index, first)), Some((last_index, last))) = (chain.first(), chain.last()) else {
                return Err(bad(format!("no tag leaves are given for entries {}..{}", self.from, self.to)));
            };
            if first.from > self.from {
                return Err(bad(format!(
                    "the first tag leaf given ({first_index}) starts at entry {}, after the range's start {}",
                    first.from, self.from
                )));
            }
            if last.to < self.to {
                return Err(bad(format!(
                    "the last tag leaf given ({last_index}) ends at entry {}, before the range's end {}",
                    last.to, self.to
                )));
            }
        }
        // Which tag leaf says so, for messages.
        let mut mine: Vec<(u64, u64)> = Vec::new();
        for (index, tags) in &chain {
            let found = tags
                .touching(originator, &self.key, self.from, self.to)
                .map_err(|why| bad(format!("tag leaf {index}: {why}")))?;
            mine.extend(found.into_iter().map(|i| (i, *index)));
        }
        for w in listed.windows(2) {
            if let [a, b] = w
                && a >= b
            {
                return Err(bad(format!("the report lists entry {b} after entry {a}: entries must be in log order")));
            }
        }
        if let Some(i) = listed.iter().find(|&&i| i < self.from || i >= self.to) {
            return Err(bad(format!("the report lists entry {i}, outside its range {}..{}", self.from, self.to)));
        }
        let missing = |t: u64, leaf: u64| {
            bad(format!(
                "entry {t} touches {originator} (so says its tag in tag leaf {leaf}) but the report leaves it out"
            ))
        };
        let extra = |g: u64| {
            let leaf = chain.iter().find(|(_, t)| t.from <= g && g < t.to).map_or(0, |(i, _)| *i);
            bad(format!(
                "the report lists entry {g}, but its tag in tag leaf {leaf} says it does not touch {originator}"
            ))
        };
        let mut tagged = mine.iter().copied().peekable();
        let mut given = listed.iter().copied().peekable();
        loop {
            match (tagged.peek().copied(), given.peek().copied()) {
                (None, None) => return Ok(()),
                (Some((t, leaf)), None) => return Err(missing(t, leaf)),
                (None, Some(g)) => return Err(extra(g)),
                (Some((t, leaf)), Some(g)) => match t.cmp(&g) {
                    std::cmp::Ordering::Equal => {
                        tagged.next();
                        given.next();
                    }
                    std::cmp::Ordering::Less => return Err(missing(t, leaf)),
                    std::cmp::Ordering::Greater => return Err(extra(g)),
                },
            }
        }
    }
}
