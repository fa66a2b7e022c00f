// Builds the land basemap at build time from the `world-atlas` npm package, so the COP needs no tile
// server, font or CDN at run time (DESIGN.md: "a coastline shipped from an npm package").
//
// The Caribbean, where the demo and the task force operate, comes from the 1:10m polygons, its
// approaches from 1:50m and the rest of the world from 1:110m, each clipped to rectangles that tile
// the globe. Coordinates are rounded (1:10m to 1e-3 degree, about 100 m; the others to 1e-2), below
// what each scale resolves, to keep `dist/` small.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Feature, FeatureCollection, MultiPolygon, Polygon, Position } from "geojson";
import { feature } from "topojson-client";
import type { Topology } from "topojson-specification";
import type { Plugin } from "vite";

/** [min_lon, min_lat, max_lon, max_lat] of the 1:10m region: the Caribbean. */
export const DETAIL_BBOX = [-88, 8, -58, 28] as const;
/** The 1:50m region around it: the western Atlantic and the Americas' Caribbean approaches. */
export const REGION_BBOX = [-120, -10, -30, 45] as const;

const VIRTUAL_ID = "virtual:basemap";
const RESOLVED_ID = "\0" + VIRTUAL_ID;

type Ring = Position[];

function loadLand(file: string): Ring[][] {
  const require = createRequire(import.meta.url);
  const path = require.resolve(`world-atlas/${file}`);
  const topo = JSON.parse(readFileSync(path, "utf8")) as Topology;
  const land = topo.objects["land"];
  if (land === undefined) throw new Error(`${file}: no "land" object`);
  const geo: FeatureCollection | Feature = feature(topo, land);
  const features = geo.type === "FeatureCollection" ? geo.features : [geo];
  const polygons: Ring[][] = [];
  for (const f of features) {
    if (f.geometry.type === "Polygon") polygons.push(f.geometry.coordinates);
    else if (f.geometry.type === "MultiPolygon") polygons.push(...f.geometry.coordinates);
  }
  return polygons;
}

/** Sutherland–Hodgman clipping of one ring against an axis-aligned rectangle. */
function clipRing(ring: Ring, [x0, y0, x1, y1]: Box): Ring {
  type Edge = { inside: (p: Position) => boolean; cut: (a: Position, b: Position) => Position };
  const at = (a: Position, b: Position, t: number): Position => [
    (a[0] ?? 0) + ((b[0] ?? 0) - (a[0] ?? 0)) * t,
    (a[1] ?? 0) + ((b[1] ?? 0) - (a[1] ?? 0)) * t,
  ];
  const x = (p: Position): number => p[0] ?? 0;
  const y = (p: Position): number => p[1] ?? 0;
  const edges: Edge[] = [
    { inside: (p) => x(p) >= x0, cut: (a, b) => at(a, b, (x0 - x(a)) / (x(b) - x(a))) },
    { inside: (p) => x(p) <= x1, cut: (a, b) => at(a, b, (x1 - x(a)) / (x(b) - x(a))) },
    { inside: (p) => y(p) >= y0, cut: (a, b) => at(a, b, (y0 - y(a)) / (y(b) - y(a))) },
    { inside: (p) => y(p) <= y1, cut: (a, b) => at(a, b, (y1 - y(a)) / (y(b) - y(a))) },
  ];
  let out = ring;
  for (const edge of edges) {
    const input = out;
    out = [];
    for (let i = 0; i < input.length; i++) {
      const cur = input[i];
      const prev = input[(i + input.length - 1) % input.length];
      if (cur === undefined || prev === undefined) continue;
      if (edge.inside(cur)) {
        if (!edge.inside(prev)) out.push(edge.cut(prev, cur));
        out.push(cur);
      } else if (edge.inside(prev)) {
        out.push(edge.cut(prev, cur));
      }
    }
  }
  return out;
}

type Box = readonly [number, number, number, number];

function round(ring: Ring, scale: number): Ring {
  const out: Ring = [];
  for (const p of ring) {
    const q = [Math.round((p[0] ?? 0) * scale) / scale, Math.round((p[1] ?? 0) * scale) / scale];
    const last = out[out.length - 1];
    if (last === undefined || last[0] !== q[0] || last[1] !== q[1]) out.push(q);
  }
  return out;
}

function closed(ring: Ring): Ring {
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (first === undefined || last === undefined) return ring;
  return first[0] === last[0] && first[1] === last[1] ? ring : [...ring, first];
}

/** The four rectangles that tile `outer` minus `inner` (inner lies within outer). */
function ringAround(outer: Box, inner: Box): Box[] {
  const [x0, y0, x1, y1] = outer;
  const [a0, b0, a1, b1] = inner;
  return [
    [x0, y0, a0, y1],
    [a1, y0, x1, y1],
    [a0, y0, a1, b0],
    [a0, b1, a1, y1],
  ];
}

/** The land polygons of `file` inside the boxes, rounded to 1/scale degree. */
function landIn(file: string, boxes: readonly Box[], scale: number): Ring[][] {
  const out: Ring[][] = [];
  const polygons = loadLand(file);
  for (const box of boxes) {
    for (const poly of polygons) {
      const [outer, ...holes] = poly.map((r) => closed(round(clipRing(r, box), scale)));
      // A polygon whose outer ring lies outside the box is dropped with its holes.
      if (outer === undefined || outer.length < 4) continue;
      out.push([outer, ...holes.filter((r) => r.length >= 4)]);
    }
  }
  return out;
}

function multipolygon(polygons: Ring[][], detail: string): Feature<MultiPolygon | Polygon> {
  return {
    type: "Feature",
    properties: { detail },
    geometry: { type: "MultiPolygon", coordinates: polygons },
  };
}

/**
 * The land basemap in three disjoint levels of detail: 1:10m over the Caribbean, 1:50m around it,
 * 1:110m elsewhere. Disjoint, so one fill layer draws them without double coastlines.
 */
export function buildBasemap(): FeatureCollection {
  const world: Box = [-180, -90, 180, 90];
  return {
    type: "FeatureCollection",
    features: [
      multipolygon(landIn("land-10m.json", [DETAIL_BBOX], 1000), "10m"),
      multipolygon(landIn("land-50m.json", ringAround(REGION_BBOX, DETAIL_BBOX), 100), "50m"),
      multipolygon(landIn("land-110m.json", ringAround(world, REGION_BBOX), 100), "110m"),
    ],
  };
}

/** Vite plugin: `import land from "virtual:basemap"` yields the basemap GeoJSON. */
export function basemapPlugin(): Plugin {
  return {
    name: "caveat-basemap",
    resolveId(id) {
      return id === VIRTUAL_ID ? RESOLVED_ID : undefined;
    },
    load(id) {
      if (id !== RESOLVED_ID) return undefined;
      return `export default ${JSON.stringify(buildBasemap())};`;
    },
  };
}
