//! Property, for any byte string cut at any points (the first bytes choose the
//! cuts and the line bound): a live feed's line framer gives the same lines,
//! and the same count of over-long ones, as splitting the whole string at once;
//! no line it gives is longer than the bound.

use caveat_ais::LineFramer;

/// The property; see the module's documentation.
pub fn nmea_stream(data: &[u8]) {
    let [max, a, b, input @ ..] = data else { return };
    let max = usize::from(*max);
    let (a, b) = (usize::from(*a).min(input.len()), usize::from(*b).min(input.len()));
    let (first, second) = (a.min(b), a.max(b));
    let mut framer = LineFramer::new(max);
    let mut got: Vec<Vec<u8>> = Vec::new();
    for part in [input.get(..first), input.get(first..second), input.get(second..)].into_iter().flatten() {
        framer.push(part, |l| got.push(l.to_vec()));
    }
    framer.finish(|l| got.push(l.to_vec()));

    let mut whole = LineFramer::new(max);
    let mut want: Vec<Vec<u8>> = Vec::new();
    whole.push(input, |l| want.push(l.to_vec()));
    whole.finish(|l| want.push(l.to_vec()));
    assert_eq!(got, want);
    assert_eq!(framer.too_long(), whole.too_long());
    assert!(got.iter().all(|l| l.len() <= max && !l.contains(&b'\n')));
}
