// What a contact is, as a map symbol: the shape says how it was observed (its reports' sources), the
// fill what kind of vessel the reports say it is. Icons are drawn on a canvas at start, so the style
// needs no sprite from anywhere.
import type { Track, VesselType } from "../api/types";

/** How a track's contact was observed, from the kinds of its reports. */
export type ContactClass = "ais" | "dark" | "radar" | "patrol" | "tip";

export const CLASS_LABEL: Record<ContactClass, string> = {
  ais: "AIS",
  dark: "fused dark contact",
  radar: "radar only",
  patrol: "patrol sighting",
  tip: "tip",
};

const RADAR = new Set(["coastal-radar", "mpa-radar"]);
const PATROL = new Set(["mpa-eo", "vessel"]);

/**
 * AIS when the vessel transmits; otherwise a dark contact, fused when more than one kind of source
 * or more than one partner saw it, else named by its only kind of source.
 */
export function contactClass(t: Pick<Track, "sources" | "originators">): ContactClass {
  const kinds = new Set<string>(t.sources);
  if (kinds.has("ais")) return "ais";
  const groups = new Set(
    [...kinds].map((k) => (RADAR.has(k) ? "radar" : PATROL.has(k) ? "patrol" : k)),
  );
  if (groups.size > 1 || t.originators.length > 1) return "dark";
  if (groups.has("radar")) return "radar";
  if (groups.has("patrol")) return "patrol";
  if (groups.has("tip")) return "tip";
  return "dark";
}

/** Vessel types grouped as a watch floor tells them apart, each a fill colour. */
export type TypeGroup =
  "cargo" | "passenger" | "fishing" | "leisure" | "service" | "state" | "suspect" | "unknown";

const GROUP_OF: Record<VesselType, TypeGroup> = {
  cargo: "cargo",
  tanker: "cargo",
  passenger: "passenger",
  fishing: "fishing",
  pleasure: "leisure",
  sailing: "leisure",
  tug: "service",
  service: "service",
  "law-enforcement": "state",
  military: "state",
  "go-fast": "suspect",
  "semi-submersible": "suspect",
  other: "unknown",
};

export const GROUP_COLOUR: Record<TypeGroup, string> = {
  cargo: "#56c271",
  passenger: "#4f8fe8",
  fishing: "#f0a030",
  leisure: "#c77ddc",
  service: "#9aa7b0",
  state: "#37d0d8",
  suspect: "#ff4040",
  unknown: "#e8e8e8",
};

export const GROUP_LABEL: Record<TypeGroup, string> = {
  cargo: "cargo, tanker",
  passenger: "passenger",
  fishing: "fishing",
  leisure: "pleasure, sailing",
  service: "tug, service",
  state: "law enforcement, military",
  suspect: "go-fast, semi-submersible",
  unknown: "type unknown",
};

export function typeGroup(t: Pick<Track, "identity">): TypeGroup {
  const v = t.identity.vessel_type;
  return v ? GROUP_OF[v] : "unknown";
}

export function iconName(c: ContactClass, g: TypeGroup): string {
  return `sym-${c}-${g}`;
}

/** Icon size in CSS pixels; drawn at twice that for sharp edges. */
export const ICON_PX = 16;
const RATIO = 2;

/** Traces a class's shape centred in a square of side `s` (AIS points up: the layer rotates it to the course). */
export function shape(ctx: CanvasRenderingContext2D, c: ContactClass, s: number): void {
  const m = s / 2;
  const r = s * 0.4;
  ctx.beginPath();
  switch (c) {
    case "ais":
      ctx.moveTo(m, m - r);
      ctx.lineTo(m + r * 0.7, m + r);
      ctx.lineTo(m, m + r * 0.55);
      ctx.lineTo(m - r * 0.7, m + r);
      ctx.closePath();
      break;
    case "radar":
      ctx.moveTo(m, m - r);
      ctx.lineTo(m + r, m);
      ctx.lineTo(m, m + r);
      ctx.lineTo(m - r, m);
      ctx.closePath();
      break;
    case "patrol":
      ctx.rect(m - r * 0.8, m - r * 0.8, r * 1.6, r * 1.6);
      break;
    case "tip":
      ctx.arc(m, m, r * 0.8, 0, Math.PI * 2);
      break;
    case "dark":
      for (let i = 0; i < 6; i++) {
        const a = (Math.PI / 3) * i - Math.PI / 2;
        const x = m + r * Math.cos(a);
        const y = m + r * Math.sin(a);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.closePath();
      break;
  }
}

/** Draws one symbol as RGBA pixels for `map.addImage`. */
export function drawIcon(c: ContactClass, g: TypeGroup): ImageData | null {
  const s = ICON_PX * RATIO;
  const canvas = document.createElement("canvas");
  canvas.width = s;
  canvas.height = s;
  const ctx = canvas.getContext("2d");
  if (ctx === null) return null;
  shape(ctx, c, s);
  // A tip is vague: a hollow ring. A dark contact: filled, outlined in white to stand out.
  ctx.lineWidth = RATIO * (c === "tip" ? 2.5 : 1.2);
  ctx.strokeStyle = c === "tip" ? GROUP_COLOUR[g] : c === "dark" ? "#ffffff" : "#0b0f14";
  if (c !== "tip") {
    ctx.fillStyle = GROUP_COLOUR[g];
    ctx.fill();
  }
  ctx.stroke();
  if (c === "tip") {
    ctx.fillStyle = GROUP_COLOUR[g];
    ctx.font = `bold ${s * 0.45}px sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("?", s / 2, s / 2 + RATIO);
  }
  return ctx.getImageData(0, 0, s, s);
}

export const ICON_RATIO = RATIO;

const urls = new Map<string, string>();

/** A small image of a symbol for the legend and the list (drawn once per symbol, then reused). */
export function legendIcon(c: ContactClass, g: TypeGroup, px = 14): HTMLImageElement {
  return iconImage(iconName(c, g), () => drawIcon(c, g), px);
}

/** The image of the icon named `name`, drawn by `draw` the first time any is asked for. */
export function iconImage(
  name: string,
  draw: () => ImageData | null | undefined,
  px: number,
): HTMLImageElement {
  let url = urls.get(name);
  if (url === undefined) {
    const data = draw();
    const canvas = document.createElement("canvas");
    if (data) {
      canvas.width = data.width;
      canvas.height = data.height;
      canvas.getContext("2d")?.putImageData(data, 0, 0);
    }
    url = canvas.toDataURL();
    urls.set(name, url);
  }
  const img = document.createElement("img");
  img.src = url;
  img.width = px;
  img.height = px;
  img.className = "sym";
  img.alt = "";
  return img;
}

/**
 * The 95 % ellipse as a ring of [lon, lat], from semi-axes in metres and the major axis's true
 * bearing; a local flat-earth approximation, which is exact enough at a few kilometres.
 */
export function ellipseRing(
  lon: number,
  lat: number,
  semiMajorM: number,
  semiMinorM: number,
  orientationDeg: number,
  steps = 24,
): number[][] {
  const mPerDegLat = 111_320;
  const mPerDegLon = 111_320 * Math.cos((lat * Math.PI) / 180);
  const theta = (orientationDeg * Math.PI) / 180;
  const ring: number[][] = [];
  for (let i = 0; i <= steps; i++) {
    const a = (2 * Math.PI * i) / steps;
    const u = semiMajorM * Math.cos(a);
    const v = semiMinorM * Math.sin(a);
    // Major axis along bearing theta (clockwise from north): north = cos, east = sin.
    const north = u * Math.cos(theta) - v * Math.sin(theta);
    const east = u * Math.sin(theta) + v * Math.cos(theta);
    ring.push([lon + east / mPerDegLon, lat + north / mPerDegLat]);
  }
  return ring;
}

/** Great-circle distance in nautical miles and initial true bearing, degrees. */
export function distanceNm(
  a: [number, number],
  b: [number, number],
): { nm: number; bearing: number } {
  const rad = Math.PI / 180;
  const [lon1, lat1] = [a[0] * rad, a[1] * rad];
  const [lon2, lat2] = [b[0] * rad, b[1] * rad];
  const dLat = lat2 - lat1;
  const dLon = lon2 - lon1;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin(dLon / 2) ** 2;
  const metres = 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
  const y = Math.sin(dLon) * Math.cos(lat2);
  const x = Math.cos(lat1) * Math.sin(lat2) - Math.sin(lat1) * Math.cos(lat2) * Math.cos(dLon);
  const bearing = (((Math.atan2(y, x) / rad) % 360) + 360) % 360;
  return { nm: metres / 1852, bearing };
}
