// The map of the common operating picture: a land basemap bundled at build time (no tile server, no
// glyphs, no sprites) and the view's tracks as partner-coloured points with trails.
import {
  Map as MapLibreMap,
  Popup,
  setWorkerUrl,
  type GeoJSONSource,
  type StyleSpecification,
} from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import land from "virtual:basemap";
import type { Feature, FeatureCollection, LineString, Point } from "geojson";
import type { Track } from "../api/types";
import { partnerColour } from "../partners";

setWorkerUrl(new URL(workerUrl, document.baseURI).href);

const SEA = "#0d2233";
const LAND = "#3a4a37";

/** Radius of a single-partner track dot; each further partner adds a ring this wide. */
const DOT_RADIUS = 5;
const RING_WIDTH = 3;

function style(): StyleSpecification {
  return {
    version: 8,
    // No "glyphs" and no "sprite": nothing is fetched at run time, so no text or icon layers either.
    sources: {
      land: { type: "geojson", data: land },
      trails: { type: "geojson", data: empty() },
      tracks: { type: "geojson", data: empty() },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": SEA } },
      // Fill only: the basemap's levels of detail are clipped to rectangles, and a coastline stroke
      // would draw those rectangles' edges too.
      {
        id: "land",
        type: "fill",
        source: "land",
        paint: { "fill-color": LAND, "fill-antialias": false },
      },
      {
        id: "trail-lines",
        type: "line",
        source: "trails",
        filter: ["==", ["geometry-type"], "LineString"],
        paint: {
          "line-color": ["get", "colour"],
          "line-width": 1.5,
          "line-opacity": 0.75,
        },
      },
      {
        id: "trail-points",
        type: "circle",
        source: "trails",
        filter: ["==", ["geometry-type"], "Point"],
        paint: {
          "circle-color": ["get", "colour"],
          "circle-radius": 1.8,
          "circle-opacity": 0.8,
        },
      },
      {
        id: "selected",
        type: "circle",
        source: "tracks",
        filter: ["==", ["get", "track"], ""],
        paint: {
          "circle-radius": ["+", ["get", "radius"], 6],
          "circle-color": "rgba(0,0,0,0)",
          "circle-stroke-color": "#ffffff",
          "circle-stroke-width": 2,
        },
      },
      {
        // One disc per contributing partner, largest first: a multi-partner track is a bullseye of
        // its partners' colours, a single-partner track a plain dot.
        id: "tracks",
        type: "circle",
        source: "tracks",
        layout: { "circle-sort-key": ["-", 0, ["get", "radius"]] },
        paint: {
          "circle-color": ["get", "colour"],
          "circle-radius": ["get", "radius"],
          "circle-stroke-color": "#0b0f14",
          "circle-stroke-width": ["case", ["==", ["get", "ring"], 0], 1, 0],
        },
      },
    ],
  };
}

function empty(): FeatureCollection {
  return { type: "FeatureCollection", features: [] };
}

function trackFeatures(tracks: readonly Track[]): FeatureCollection<Point> {
  const features: Feature<Point>[] = [];
  for (const t of tracks) {
    const partners = t.originators.length > 0 ? t.originators : ["?"];
    const n = partners.length;
    partners.forEach((p, i) => {
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: [t.position.lon, t.position.lat] },
        properties: {
          track: t.id,
          partner: p,
          colour: partnerColour(p),
          ring: n - 1 - i,
          radius: DOT_RADIUS + (n - 1 - i) * RING_WIDTH,
        },
      });
    });
  }
  return { type: "FeatureCollection", features };
}

/**
 * Trails coloured by the partner whose report each stretch leads to: consecutive segments of one
 * partner form one line, so a thousand tracks stay a few thousand features.
 */
function trailFeatures(tracks: readonly Track[]): FeatureCollection<LineString | Point> {
  const features: Feature<LineString | Point>[] = [];
  for (const t of tracks) {
    const trail = [...t.trail].sort((a, b) => a.t.localeCompare(b.t));
    const last = trail[trail.length - 1];
    if (last === undefined) continue;
    for (const p of trail) {
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: [p.lon, p.lat] },
        properties: { track: t.id, colour: partnerColour(p.originator ?? "") },
      });
    }
    // The stretch from the last trail point to the track's position takes the last point's partner.
    const points = [...trail, { ...t.position, originator: last.originator }];
    let run: number[][] = [];
    let runPartner: string | null = null;
    for (const [i, p] of points.entries()) {
      const coord = [p.lon, p.lat];
      // A segment takes the colour of the report it leads to (the first point only starts a run).
      const partner = i === 0 ? null : p.originator;
      if (partner !== null && runPartner !== null && partner !== runPartner) {
        features.push(line(t.id, run, runPartner));
        const prev = run[run.length - 1];
        run = prev ? [prev] : [];
      }
      if (partner !== null) runPartner = partner;
      run.push(coord);
    }
    if (runPartner !== null && run.length >= 2) features.push(line(t.id, run, runPartner));
  }
  return { type: "FeatureCollection", features };
}

function line(track: string, coordinates: number[][], partner: string): Feature<LineString> {
  return {
    type: "Feature",
    geometry: { type: "LineString", coordinates },
    properties: { track, colour: partnerColour(partner) },
  };
}

/** The map, or a notice in its place when the browser has no WebGL: the track list still works. */
export class Picture {
  private map: MapLibreMap | null = null;
  private ready = false;
  private pending: { tracks: readonly Track[]; selected: string | null } | null = null;
  private fitted = false;
  private byId = new Map<string, Track>();

  constructor(
    container: HTMLElement,
    private readonly onSelect: (trackId: string | null) => void,
  ) {
    try {
      this.map = new MapLibreMap({
        container,
        style: style(),
        center: [-64.8, 17.8],
        zoom: 5.5,
        attributionControl: false,
        renderWorldCopies: false,
      });
    } catch (e) {
      container.classList.add("map-unavailable");
      container.textContent = `The map cannot be drawn in this browser (${String(e)}). The track list on the right still shows the view.`;
      return;
    }
    const map = this.map;
    map.on("load", () => {
      this.ready = true;
      container.dataset["ready"] = "true";
      if (this.pending) this.show(this.pending.tracks, this.pending.selected);
    });
    map.on("click", "tracks", (e) => {
      const track: unknown = e.features?.[0]?.properties["track"];
      if (typeof track === "string") this.onSelect(track);
    });
    // Labels are HTML (the style has no glyphs): a hover card with the track's name and partners.
    const hover = new Popup({ closeButton: false, closeOnClick: false, offset: 12 });
    map.on("mousemove", "tracks", (e) => {
      map.getCanvas().style.cursor = "pointer";
      const id: unknown = e.features?.[0]?.properties["track"];
      const track = typeof id === "string" ? this.byId.get(id) : undefined;
      if (track === undefined) return;
      const card = document.createElement("div");
      card.className = "hover-card";
      const name = document.createElement("strong");
      name.textContent = track.identity.name ?? track.identity.mmsi ?? "unidentified";
      const partners = document.createElement("div");
      partners.textContent = track.originators.join(" + ");
      card.append(name, partners);
      hover.setLngLat([track.position.lon, track.position.lat]).setDOMContent(card).addTo(map);
    });
    map.on("mouseleave", "tracks", () => {
      map.getCanvas().style.cursor = "";
      hover.remove();
    });
  }

  /** Draws the view's tracks; the first non-empty view of a session frames the map on them. */
  show(tracks: readonly Track[], selected: string | null): void {
    const map = this.map;
    if (map === null) return;
    this.byId = new Map(tracks.map((t) => [t.id, t]));
    if (!this.ready) {
      this.pending = { tracks, selected };
      return;
    }
    void map.getSource<GeoJSONSource>("tracks")?.setData(trackFeatures(tracks));
    void map.getSource<GeoJSONSource>("trails")?.setData(trailFeatures(tracks));
    map.setFilter("selected", [
      "all",
      ["==", ["get", "track"], selected ?? ""],
      ["==", ["get", "ring"], 0],
    ]);
    if (!this.fitted && tracks.length > 0) {
      this.fitted = true;
      let [w, s, e, n] = [180, 90, -180, -90];
      for (const t of tracks) {
        w = Math.min(w, t.position.lon);
        e = Math.max(e, t.position.lon);
        s = Math.min(s, t.position.lat);
        n = Math.max(n, t.position.lat);
      }
      map.fitBounds(
        [
          [w, s],
          [e, n],
        ],
        { padding: 60, maxZoom: 9, duration: 0 },
      );
    }
  }

  /** Centres the map on a track without changing the zoom. */
  focus(track: Track): void {
    this.map?.easeTo({ center: [track.position.lon, track.position.lat], duration: 400 });
  }
}
