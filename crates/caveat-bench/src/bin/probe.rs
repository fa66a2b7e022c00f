use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;
use std::collections::{BTreeMap, HashMap};
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;
fn live() -> usize {
    let s = GLOBAL.stats();
    (s.bytes_allocated + s.bytes_reallocated.max(0).cast_unsigned())
        .saturating_sub(s.bytes_deallocated + s.bytes_reallocated.min(0).unsigned_abs())
}
fn main() {
    let n = 99_625usize;
    let b = live();
    let mut m: BTreeMap<(i64, [u8; 16]), [u8; 144]> = BTreeMap::new();
    for i in 0..n {
        m.insert((i as i64, [0; 16]), [0; 144]);
    }
    let bt = live() - b;
    println!("btree {} per {} ; est leaf {}", bt, bt as f64 / n as f64, (16 + 11 * 168) as f64 / 6.0);
    let b = live();
    let mut h: HashMap<[u8; 16], i64> = HashMap::new();
    for i in 0..n {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&(i as u64).to_le_bytes());
        h.insert(k, 0);
    }
    let hb = live() - b;
    println!("hash {} per {} cap {}", hb, hb as f64 / n as f64, h.capacity());
    std::hint::black_box((m, h));
}
