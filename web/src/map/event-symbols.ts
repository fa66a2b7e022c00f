// How behaviour events and alerts look on the map and in the legend: one marker per group of kinds
// (a flag shape with a letter, in the group's colour), drawn on a canvas at run time like the track
// symbols, so nothing is fetched (the style has no sprite and no glyphs).
import type { EventKind } from "../api/types";
import { iconImage } from "./symbols";

/** Groups of kinds a watch officer tells apart at a glance (issue 22 item 6). */
export type EventGroup = "gap" | "meeting" | "loitering" | "area" | "speed" | "identity";

export const KIND_LABEL: Record<EventKind, string> = {
  "ais-gap": "AIS gap",
  "going-dark": "going dark",
  encounter: "encounter",
  "dark-rendezvous": "dark rendezvous",
  loitering: "loitering",
  "area-entry": "area entry",
  "area-exit": "area exit",
  "speed-in-area": "speed in area",
  "mmsi-in-two-places": "MMSI in two places",
  "mmsi-change": "MMSI change",
};

export const KIND_GROUP: Record<EventKind, EventGroup> = {
  "ais-gap": "gap",
  "going-dark": "gap",
  encounter: "meeting",
  "dark-rendezvous": "meeting",
  loitering: "loitering",
  "area-entry": "area",
  "area-exit": "area",
  "speed-in-area": "speed",
  "mmsi-in-two-places": "identity",
  "mmsi-change": "identity",
};

export const GROUP_STYLE: Record<EventGroup, { colour: string; letter: string; label: string }> = {
  gap: { colour: "#f2c14e", letter: "G", label: "AIS gap / going dark" },
  meeting: { colour: "#ff6b6b", letter: "E", label: "encounter / dark rendezvous" },
  loitering: { colour: "#c792ea", letter: "L", label: "loitering" },
  area: { colour: "#4ecdc4", letter: "A", label: "area entry / exit" },
  speed: { colour: "#ff9f43", letter: "S", label: "speed in area" },
  identity: { colour: "#a3d977", letter: "I", label: "identity anomaly" },
};

export const EVENT_GROUPS = Object.keys(GROUP_STYLE) as EventGroup[];

/** Marker size in CSS pixels; drawn at twice that. */
const PX = 18;
const RATIO = 2;
export const EVENT_ICON_RATIO = RATIO;

/** The image name of a group's marker; an alert's marker has a red ring around it. */
export function eventIconName(g: EventGroup, alert: boolean): string {
  return `event-${g}${alert ? "-alert" : ""}`;
}

/** A group's marker as RGBA pixels for `map.addImage`: a rounded square with the group's letter. */
export function drawEventIcon(g: EventGroup, alert: boolean): ImageData | null {
  const s = PX * RATIO;
  const canvas = document.createElement("canvas");
  canvas.width = s;
  canvas.height = s;
  const ctx = canvas.getContext("2d");
  if (ctx === null) return null;
  const { colour, letter } = GROUP_STYLE[g];
  const pad = alert ? s * 0.12 : s * 0.2;
  if (alert) {
    ctx.beginPath();
    ctx.arc(s / 2, s / 2, s / 2 - RATIO, 0, Math.PI * 2);
    ctx.lineWidth = RATIO * 2;
    ctx.strokeStyle = "#ff2d55";
    ctx.stroke();
  }
  ctx.beginPath();
  ctx.roundRect(pad, pad, s - 2 * pad, s - 2 * pad, s * 0.08);
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.lineWidth = RATIO;
  ctx.strokeStyle = "#0b0f14";
  ctx.stroke();
  ctx.fillStyle = "#0b0f14";
  // A local font drawn into pixels: no glyphs are fetched.
  ctx.font = `bold ${s * 0.36}px sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(letter, s / 2, s / 2 + RATIO / 2);
  return ctx.getImageData(0, 0, s, s);
}

/** A group's marker as an image for the legend and the alert list. */
export function eventLegendIcon(g: EventGroup, alert = false, px = 16): HTMLImageElement {
  return iconImage(eventIconName(g, alert), () => drawEventIcon(g, alert), px);
}
