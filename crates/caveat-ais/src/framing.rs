//! Cutting a byte stream (a TCP connection, a UDP datagram) into lines, with a
//! bound on line length, so a feed that never sends a newline cannot grow a
//! buffer without limit.
//!
//! Written here rather than taken from `tokio-util`'s codecs: those end the
//! stream at the first over-long line, where a feed should count the line and
//! carry on with the next one, and this crate does no I/O.

/// Splits bytes into lines at `\n`; a `\r` before it is removed. A line longer
/// than the bound is skipped up to its newline and counted.
///
/// The lines come out the same however the input is cut into pushes (a
/// property test and the `nmea_stream` fuzz target check it).
///
/// ```
/// use caveat_ais::LineFramer;
///
/// let mut framer = LineFramer::new(8);
/// let mut lines = Vec::new();
/// framer.push(b"!AIVDM\r\n!AI", |l| lines.push(l.to_vec()));
/// framer.push(b"VDO\nmuch too long\nok", |l| lines.push(l.to_vec()));
/// framer.finish(|l| lines.push(l.to_vec()));
/// assert_eq!(lines, [b"!AIVDM".to_vec(), b"!AIVDO".to_vec(), b"ok".to_vec()]);
/// assert_eq!(framer.too_long(), 1);
/// ```
#[derive(Debug)]
pub struct LineFramer {
    partial: Vec<u8>,
    max: usize,
    /// Inside an over-long line: drop bytes until its newline.
    discarding: bool,
    too_long: u64,
}

impl LineFramer {
    /// A framer for lines of at most `max_line_bytes` bytes (without the line ending).
    pub fn new(max_line_bytes: usize) -> Self {
        LineFramer { partial: Vec::new(), max: max_line_bytes, discarding: false, too_long: 0 }
    }

    /// Feeds `bytes`; calls `line` with each complete line, in order.
    pub fn push(&mut self, bytes: &[u8], mut line: impl FnMut(&[u8])) {
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(nl);
            rest = tail.get(1..).unwrap_or(&[]);
            if self.discarding {
                self.discarding = false;
                continue;
            }
            if self.partial.is_empty() {
                self.emit(head, &mut line);
            } else {
                self.partial.extend_from_slice(head);
                let whole = std::mem::take(&mut self.partial);
                self.emit(&whole, &mut line);
                // Keep the allocation for the next partial line.
                self.partial = whole;
                self.partial.clear();
            }
        }
        if self.discarding {
            return;
        }
        // A `\r` may still be followed by its `\n`, so the bound allows one more byte here.
        if self.partial.len() + rest.len() > self.max + 1 {
            self.partial.clear();
            self.discarding = true;
            self.too_long += 1;
        } else {
            self.partial.extend_from_slice(rest);
        }
    }

    /// Ends the input (end of a datagram, a closed connection): an unterminated last line is a line too.
    pub fn finish(&mut self, mut line: impl FnMut(&[u8])) {
        if !self.discarding && !self.partial.is_empty() {
            let whole = std::mem::take(&mut self.partial);
            self.emit(&whole, &mut line);
        }
        self.partial.clear();
        self.discarding = false;
    }

    /// Over-long lines skipped so far.
    pub fn too_long(&self) -> u64 {
        self.too_long
    }

    fn emit(&mut self, raw: &[u8], line: &mut impl FnMut(&[u8])) {
        let l = raw.strip_suffix(b"\r").unwrap_or(raw);
        if l.len() > self.max {
            self.too_long += 1;
        } else {
            line(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: split the whole input at once.
    fn model(input: &[u8], max: usize) -> (Vec<Vec<u8>>, u64) {
        let mut lines = Vec::new();
        let mut long = 0;
        let parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        let last = parts.len() - 1;
        for (i, p) in parts.into_iter().enumerate() {
            if i == last && p.is_empty() {
                continue;
            }
            let p = p.strip_suffix(b"\r").unwrap_or(p);
            if p.len() > max {
                long += 1;
            } else {
                lines.push(p.to_vec());
            }
        }
        (lines, long)
    }

    proptest::proptest! {
        #[test]
        fn any_cutting_gives_the_lines_of_the_whole(
            input in proptest::collection::vec(proptest::sample::select(b"ab\r\n!,*".to_vec()), 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..8),
            max in 0usize..12,
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= input.len()).collect();
            cuts.sort_unstable();
            let mut framer = LineFramer::new(max);
            let mut got = Vec::new();
            let mut from = 0;
            for c in cuts.into_iter().chain([input.len()]) {
                framer.push(&input[from..c], |l| got.push(l.to_vec()));
                from = c;
            }
            framer.finish(|l| got.push(l.to_vec()));
            let (want, long) = model(&input, max);
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(framer.too_long(), long);
        }
    }

    #[test]
    fn a_stream_without_newlines_holds_at_most_the_bound() {
        let mut framer = LineFramer::new(100);
        for _ in 0..10_000 {
            framer.push(&[b'x'; 1000], |_| panic!("no line"));
            assert!(framer.partial.capacity() <= 2 * 1024);
        }
        framer.push(b"\nok\n", |l| assert_eq!(l, b"ok"));
        assert_eq!(framer.too_long(), 1);
    }
}
