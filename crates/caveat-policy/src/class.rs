//! The marking-class path: Cedar once per distinct marking class in a request.
//!
//! What a decision depends on, and why the key below covers it:
//! - the request (user, its partner, view key, case facts, action, time) and
//!   the policy version are fixed for the whole call: `decide` borrows
//!   `&Policies` and builds the Cedar request once, so neither can change
//!   between two reports, and the cache dies with the call;
//! - the fixed policies and suspensions read only the report's originator and
//!   marking (and `now < not_after`, which the marking and the fixed `now`
//!   determine): the key is (originator, marking);
//! - a standing policy that reads anything else of a report (position, time,
//!   source, id) makes its originator's reports be decided one by one
//!   (`Standing::report_sensitive`, a conservative syntactic check);
//! - a report Cedar cannot express is denied on its own, before the lookup, so
//!   a class is never evaluated through an unrepresentable representative.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use caveat_core::{Marking, PartnerId, Report};

use crate::encode::{CedarRequest, report_representable};
use crate::{Decision, Decisions, Error, Policies};

#[derive(Clone, Copy)]
enum Slot {
    /// The class's decision, by index into `Decisions::distinct`.
    Decided(u32),
    /// The originator's standing policies read report details.
    PerReport,
}

pub(crate) fn decide(policies: &Policies, request: &CedarRequest, reports: &[Report]) -> Result<Decisions, Error> {
    let mut classes: HashMap<ClassKey<'_>, Slot, BuildHasherDefault<ClassHasher>> = HashMap::default();
    let mut interned: HashMap<Decision, u32> = HashMap::new();
    let mut out = Decisions { distinct: Vec::new(), by_report: Vec::with_capacity(reports.len()), evaluations: 0 };
    let mut intern = |d: Decision, out: &mut Decisions| -> Result<u32, Error> {
        if let Some(&i) = interned.get(&d) {
            return Ok(i);
        }
        let i = u32::try_from(out.distinct.len())
            .map_err(|_| Error::Engine { what: "decisions", message: "more than 2^32 distinct decisions".into() })?;
        out.distinct.push(d.clone());
        interned.insert(d, i);
        Ok(i)
    };
    for r in reports {
        if !report_representable(r) {
            let i = intern(Decision::deny_unrepresentable(), &mut out)?;
            out.by_report.push(i);
            continue;
        }
        let key = ClassKey { originator: &r.originator, marking: &r.marking };
        let slot = match classes.get(&key) {
            Some(slot) => *slot,
            None => {
                let slot = if policies.is_report_sensitive(&r.originator) {
                    Slot::PerReport
                } else {
                    out.evaluations += 1;
                    Slot::Decided(intern(policies.evaluate(request, r), &mut out)?)
                };
                classes.insert(key, slot);
                slot
            }
        };
        let i = match slot {
            Slot::Decided(i) => i,
            Slot::PerReport => {
                out.evaluations += 1;
                intern(policies.evaluate(request, r), &mut out)?
            }
        };
        out.by_report.push(i);
    }
    Ok(out)
}

/// A marking class: the originator and the whole marking. Equality is exact;
/// the hash reads only the marking's inline fields and the first element of
/// each set, which spares a walk through every set for every report.
#[derive(PartialEq, Eq)]
struct ClassKey<'a> {
    originator: &'a PartnerId,
    marking: &'a Marking,
}

impl Hash for ClassKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let m = self.marking;
        state.write(self.originator.as_str().as_bytes());
        state.write_usize(m.releasable_to.len());
        if let Some(p) = m.releasable_to.first() {
            state.write(p.as_str().as_bytes());
        }
        state.write_usize(m.purposes.len());
        m.purposes.first().hash(state);
        if let Some(t) = m.not_after {
            state.write_u64(t.unix_timestamp().cast_unsigned());
            state.write_u32(t.nanosecond());
        }
        state.write_u8(u8::from(m.requires_case) | (u8::from(m.no_export) << 1));
    }
}

/// FxHash (rustc's hasher): markings are hashed once per report, and SipHash's
/// resistance to chosen collisions buys nothing here (the map lives for one
/// request and its keys come from the store, not from the requester).
#[derive(Default, Clone, Copy)]
pub(crate) struct ClassHasher(u64);

impl Hasher for ClassHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

impl ClassHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}
