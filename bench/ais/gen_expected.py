#!/usr/bin/env python3
"""Generate the pyais expected-values fixture for caveat-ais.

Usage: bench/.venv/bin/python bench/ais/gen_expected.py OUT.tsv.gz FILE.nmea[.gz]...

Line handling mirrors caveat-ais (crates/caveat-ais/src/sentence.rs and
reassembly.rs) so that both sides see the same messages (the Rust side's
extra rule, that a fragment stamped over 60 s after the first does not join
it, never fires on these recordings): find the first
`!xxVDM`/`!xxVDO`, check the XOR checksum, require exactly 7 fields, and
reassemble fragments by (talker, sequence id, channel). The assembled
sentences are then decoded by pyais alone (`pyais.decode`), and every field
pyais returns for types 1,2,3,4,5,18,19,21,24,27 is written out.

Output: gzip TSV, one row per assembled message:
  file  line  type  bits  <fields...>
`line` is the 1-based line of the last fragment. Floats that pyais derives
by scaling an integer (lon/lat, speed, course, draught) are written as the
integer they came from (round(value * scale)); this is exact because pyais
rounds to 1e-6 degree, finer than half of 1/600000 degree. Other types are
written as `U` rows (type only), pyais exceptions as `E` rows.
"""
import gzip
import os
import sys

import pyais
from pyais.messages import MessageType24PartBAuxiliaryCraft

MAX_PENDING = 16
MAX_AGE = 64  # AIS sentences after a group's first fragment
MAX_PAYLOAD = 256


def armor_ok(c):
    return 48 <= c <= 87 or 96 <= c <= 119


def parse(line):
    """-> ('none',) | ('err', kind) | ('ok', talker, total, num, seq, chan, payload, fill, sentence)"""
    n = len(line)
    i = 0
    while True:
        i = line.find(b'!', i)
        if i < 0 or i + 6 > n:
            return ('none',)
        if line[i + 3:i + 6] in (b'VDM', b'VDO'):
            break
        i += 1
    body = line[i:]
    star = body.find(b'*')
    if star < 0 or star + 3 > len(body):
        return ('err', 'malformed')
    try:
        want = int(body[star + 1:star + 3].decode('ascii'), 16)
    except ValueError:
        return ('err', 'malformed')
    if not all(c in b'0123456789abcdefABCDEF' for c in body[star + 1:star + 3]):
        return ('err', 'malformed')
    x = 0
    for c in body[1:star]:
        x ^= c
    if x != want:
        return ('err', 'checksum')
    f = body[1:star].split(b',')
    if len(f) != 7:
        return ('err', 'malformed')
    _, tot, num, seq, chan, payload, fill = f
    def digit(b, lo, hi):
        if len(b) != 1 or not b.isdigit():
            return None
        v = int(b)
        return v if lo <= v <= hi else None
    total = digit(tot, 1, 9)
    number = digit(num, 1, 9)
    fillv = digit(fill, 0, 5)
    if total is None or number is None or number > total or fillv is None:
        return ('err', 'malformed')
    if seq and digit(seq, 0, 9) is None:
        return ('err', 'malformed')
    if len(chan) > 1:
        return ('err', 'malformed')
    if not payload or len(payload) > MAX_PAYLOAD or not all(armor_ok(c) for c in payload):
        return ('err', 'malformed')
    talker = body[1:3]
    return ('ok', talker, total, number, seq, chan, payload, fillv, bytes(body[:star + 3]))


def messages(lines):
    pending = {}  # key -> [total, next, payload, sentences, first_seen]
    count = 0
    for lineno, line in enumerate(lines, 1):
        p = parse(line.rstrip(b'\r\n'))
        if p[0] != 'ok':
            continue
        count += 1
        _, talker, total, num, seq, chan, payload, fill, sentence = p
        for k in [k for k, g in pending.items() if count - g[4] > MAX_AGE]:
            del pending[k]
        if total == 1:
            yield lineno, [sentence], len(payload) * 6 - fill
            continue
        key = (talker, seq, chan)
        if num == 1:
            pending.pop(key, None)
            if len(pending) >= MAX_PENDING:
                oldest = min(pending, key=lambda k: pending[k][4])
                del pending[oldest]
            pending[key] = [total, 2, payload, [sentence], count]
            continue
        g = pending.get(key)
        if g is None or g[0] != total or g[1] != num or len(g[2]) + len(payload) > MAX_PAYLOAD:
            pending.pop(key, None)
            continue
        g[1] += 1
        g[2] += payload
        g[3].append(sentence)
        if num == total:
            del pending[key]
            yield lineno, g[3], len(g[2]) * 6 - fill


def r(v, scale):
    return '' if v is None else str(round(v * scale))


def s(v):
    return '' if v is None else str(v)


def b(v):
    return '' if v is None else str(int(v))


def e(v):
    return '' if v is None else str(int(v))


def row(m):
    t = m.msg_type
    d = m.asdict(enum_as_int=True)
    dims = [s(d.get(k)) for k in ('to_bow', 'to_stern', 'to_port', 'to_starboard')]
    if t in (1, 2, 3):
        return [s(d['mmsi']), e(d['status']), s(d['turn']), r(d['speed'], 10), b(d['accuracy']),
                r(d['lon'], 600000), r(d['lat'], 600000), r(d['course'], 10), s(d['heading']),
                s(d['second']), e(d['maneuver']), b(d['raim']), s(d['radio'])]
    if t == 4:
        return [s(d['mmsi'])] + [s(d[k]) for k in ('year', 'month', 'day', 'hour', 'minute', 'second')] + [
            b(d['accuracy']), r(d['lon'], 600000), r(d['lat'], 600000), e(d['epfd']), b(d['raim']), s(d['radio'])]
    if t == 5:
        return [s(d['mmsi']), s(d['ais_version']), s(d['imo']), s(d['callsign']), s(d['shipname']),
                e(d['ship_type'])] + dims + [e(d['epfd']), s(d['month']), s(d['day']), s(d['hour']),
                s(d['minute']), r(d['draught'], 10), s(d['destination']), b(d['dte'])]
    if t == 18:
        return [s(d['mmsi']), s(d['reserved_1']), r(d['speed'], 10), b(d['accuracy']), r(d['lon'], 600000),
                r(d['lat'], 600000), r(d['course'], 10), s(d['heading']), s(d['second']), s(d['reserved_2']),
                b(d['cs']), b(d['display']), b(d['dsc']), b(d['band']), b(d['msg22']), b(d['assigned']),
                b(d['raim']), s(d['radio'])]
    if t == 19:
        return [s(d['mmsi']), s(d['reserved_1']), r(d['speed'], 10), b(d['accuracy']), r(d['lon'], 600000),
                r(d['lat'], 600000), r(d['course'], 10), s(d['heading']), s(d['second']), s(d['reserved_2']),
                s(d['shipname']), e(d['ship_type'])] + dims + [e(d['epfd']), b(d['raim']), b(d['dte']),
                b(d['assigned'])]
    if t == 21:
        return [s(d['mmsi']), e(d['aid_type']), s(d['name']), b(d['accuracy']), r(d['lon'], 600000),
                r(d['lat'], 600000)] + dims + [e(d['epfd']), s(d['second']), b(d['off_position']),
                s(d['reserved_1']), b(d['raim']), b(d['virtual_aid']), b(d['assigned']), s(d['name_ext'])]
    if t == 24:
        if d['partno'] == 0:
            return [s(d['mmsi']), 'A', s(d['shipname'])]
        aux = isinstance(m, MessageType24PartBAuxiliaryCraft)
        tail = ['M', s(d['mothership_mmsi'])] if aux else ['D'] + dims
        return [s(d['mmsi']), 'B', e(d['ship_type']), s(d['vendorid']), s(d['model']), s(d['serial']),
                s(d['callsign'])] + tail
    if t == 27:
        return [s(d['mmsi']), b(d['accuracy']), b(d['raim']), e(d['status']), r(d['lon'], 600),
                r(d['lat'], 600), r(d['speed'], 1), r(d['course'], 1), b(d['gnss'])]
    return None


def main():
    out, files = sys.argv[1], sys.argv[2:]
    with gzip.open(out, 'wt', encoding='utf-8', compresslevel=9) as w:
        w.write(f'# pyais {pyais.__version__}; generated by bench/ais/gen_expected.py; see provenance.md\n')
        for path in files:
            name = os.path.basename(path)
            opener = gzip.open if path.endswith('.gz') else open
            with opener(path, 'rb') as fh:
                lines = fh.read().split(b'\n')
            if lines and lines[-1] == b'':
                lines.pop()
            for lineno, sentences, bits in messages(lines):
                try:
                    m = pyais.decode(*sentences)
                    t = m.msg_type
                    fields = row(m)
                except Exception as ex:  # noqa: BLE001 - every pyais failure is recorded
                    w.write(f'{name}\t{lineno}\tE\t{bits}\t{type(ex).__name__}\n')
                    continue
                if fields is None:
                    w.write(f'{name}\t{lineno}\tU{t}\t{bits}\n')
                else:
                    assert all('\t' not in f and '\n' not in f for f in fields)
                    w.write(f'{name}\t{lineno}\t{t}\t{bits}\t' + '\t'.join(fields) + '\n')


if __name__ == '__main__':
    main()
