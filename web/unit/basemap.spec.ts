import { expect, test } from "@playwright/test";
import type { MultiPolygon } from "geojson";
import { buildBasemap, DETAIL_BBOX } from "../build/basemap";

test("the basemap has three levels, each within bounds and small enough to bundle", () => {
  const map = buildBasemap();
  expect(map.features.map((f): unknown => f.properties?.["detail"])).toEqual([
    "10m",
    "50m",
    "110m",
  ]);
  const detail = map.features[0]?.geometry as MultiPolygon;
  const [w, s, e, n] = DETAIL_BBOX;
  const bad: string[] = [];
  for (const poly of detail.coordinates) {
    for (const ring of poly) {
      const first = ring[0];
      const last = ring[ring.length - 1];
      if (ring.length < 4 || first?.[0] !== last?.[0] || first?.[1] !== last?.[1]) {
        bad.push(`ring of ${ring.length} points is not closed`);
      }
      for (const [lon = NaN, lat = NaN] of ring) {
        if (!(lon >= w && lon <= e && lat >= s && lat <= n)) bad.push(`${lon},${lat} outside`);
      }
    }
  }
  expect(bad.slice(0, 5)).toEqual([]);
  // Puerto Rico (about -66.5, 18.2) is land in the 1:10m level.
  expect(detail.coordinates.length).toBeGreaterThan(50);
  expect(JSON.stringify(map).length).toBeLessThan(600_000);
});
