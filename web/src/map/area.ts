// Drawing an area: the clicked vertices made into a closed GeoJSON ring (RFC 7946 §3.1.6), as a
// watch rule's `area` takes it. Pure, so the closing rules are unit-tested; whether the ring crosses
// itself is left to the hub, whose refusal names the vertex (docs/events.md).

export type LonLat = [number, number];

/** Vertices closer than this (degrees) are one: a double-click to finish clicks twice on one spot. */
const SAME = 1e-7;

/** The most vertices an area may have (the hub's limit, docs/events.md). */
export const MAX_VERTICES = 1000;

function same(a: LonLat, b: LonLat): boolean {
  return Math.abs(a[0] - b[0]) < SAME && Math.abs(a[1] - b[1]) < SAME;
}

/** The clicks without repeats of the vertex before (nor a last one repeating the first). */
export function distinctVertices(clicks: readonly LonLat[]): LonLat[] {
  const out: LonLat[] = [];
  for (const c of clicks) {
    const prev = out[out.length - 1];
    if (prev === undefined || !same(prev, c)) out.push([c[0], c[1]]);
  }
  const first = out[0];
  const last = out[out.length - 1];
  if (out.length > 1 && first && last && same(first, last)) out.pop();
  return out;
}

/** The closed ring of the clicks, or why there is none yet. */
export function closeRing(clicks: readonly LonLat[]): { ring: LonLat[] } | { error: string } {
  const v = distinctVertices(clicks);
  const first = v[0];
  if (first === undefined || v.length < 3) {
    return { error: `an area needs at least 3 corners (${v.length} so far)` };
  }
  if (v.length > MAX_VERTICES) {
    return { error: `an area has at most ${MAX_VERTICES} corners (${v.length} drawn)` };
  }
  return { ring: [...v, [first[0], first[1]]] };
}
