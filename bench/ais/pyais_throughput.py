#!/usr/bin/env python3
"""pyais throughput on one NMEA file, for crates/caveat-ais/benches/throughput.rs.

Usage: bench/.venv/bin/python bench/ais/pyais_throughput.py FILE.nmea[.gz]
Prints one line: `<sentences> <decoded> <seconds>`.

The file is read into memory first (not timed). Timed: pyais's own stream
(`IterMessages`: tag blocks, checksum, multipart assembly) and `.decode()` of
every message, the same work the Rust decoder does per line.
"""
import gzip
import sys
import time

import pyais
from pyais.stream import IterMessages


def main():
    path = sys.argv[1]
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as fh:
        lines = [l for l in fh.read().split(b'\n') if l]
    sentences = sum(1 for l in lines if b'VDM,' in l or b'VDO,' in l)
    start = time.perf_counter()
    decoded = 0
    for msg in IterMessages(lines):
        try:
            msg.decode()
            decoded += 1
        except Exception:  # noqa: BLE001 - count failures like the Rust side does
            pass
    elapsed = time.perf_counter() - start
    print(sentences, decoded, f'{elapsed:.6f}')


if __name__ == '__main__':
    main()
