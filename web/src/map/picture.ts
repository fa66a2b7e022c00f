// The map of the common operating picture: a land basemap bundled at build time (no tile server, no
// glyphs, no sprites) and the view's tracks as partner-coloured points with trails; the view's events
// and alerts as markers, watch rules' areas as outlines, and an area being drawn.
import {
  Map as MapLibreMap,
  Popup,
  ScaleControl,
  NavigationControl,
  setWorkerUrl,
  type GeoJSONSource,
  type StyleSpecification,
} from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import land from "virtual:basemap";
import type { Feature, FeatureCollection, LineString, Point, Polygon } from "geojson";
import type { Track } from "../api/types";
import { partnerColour } from "../partners";
import {
  CLASS_LABEL,
  ICON_PX,
  ICON_RATIO,
  contactClass,
  distanceNm,
  drawIcon,
  ellipseRing,
  iconName,
  typeGroup,
  type ContactClass,
  type TypeGroup,
  GROUP_COLOUR,
} from "./symbols";
import { EVENT_GROUPS, EVENT_ICON_RATIO, drawEventIcon, eventIconName } from "./event-symbols";
import type { LonLat } from "./area";

setWorkerUrl(new URL(workerUrl, document.baseURI).href);

const SEA = "#0d2233";
const LAND = "#3a4a37";

/** Radius of the partner halo behind a symbol; each further partner adds a ring this wide. */
const DOT_RADIUS = 9;
const RING_WIDTH = 2.5;

/** Zoom from which ellipses are drawn, and how many at most. */
const ELLIPSE_MIN_ZOOM = 7;
const MAX_ELLIPSES = 3000;

/** Most HTML labels drawn at once: beyond that they would hide the picture (and cost frames). */
const MAX_LABELS = 150;

function style(): StyleSpecification {
  return {
    version: 8,
    // No "glyphs" and no "sprite": nothing is fetched at run time, so no text or icon layers either.
    sources: {
      land: { type: "geojson", data: land },
      trails: { type: "geojson", data: empty() },
      tracks: { type: "geojson", data: empty() },
      symbols: { type: "geojson", data: empty() },
      uncertainty: { type: "geojson", data: empty() },
      measure: { type: "geojson", data: empty() },
      areas: { type: "geojson", data: empty() },
      draft: { type: "geojson", data: empty() },
      events: { type: "geojson", data: empty() },
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
        id: "area-fill",
        type: "fill",
        source: "areas",
        paint: { "fill-color": "#4ecdc4", "fill-opacity": 0.06 },
      },
      {
        id: "area-line",
        type: "line",
        source: "areas",
        paint: { "line-color": "#4ecdc4", "line-width": 1.5, "line-dasharray": [3, 2] },
      },
      {
        id: "uncertainty-fill",
        type: "fill",
        source: "uncertainty",
        paint: { "fill-color": ["get", "colour"], "fill-opacity": 0.12 },
      },
      {
        id: "uncertainty-line",
        type: "line",
        source: "uncertainty",
        paint: { "line-color": ["get", "colour"], "line-width": 1, "line-opacity": 0.6 },
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
          "circle-opacity": 0.9,
        },
      },
      {
        // The symbol: shape by how it was observed, fill by vessel type; AIS turned to its course.
        id: "symbols",
        type: "symbol",
        source: "symbols",
        layout: {
          "icon-image": ["get", "icon"],
          "icon-rotate": ["get", "rotate"],
          "icon-rotation-alignment": "map",
          "icon-allow-overlap": true,
          "icon-ignore-placement": true,
        },
      },
      {
        // Above the tracks: an event is what the watch officer is cued to look at.
        id: "events",
        type: "symbol",
        source: "events",
        layout: {
          "icon-image": ["get", "icon"],
          "icon-allow-overlap": true,
          "icon-ignore-placement": true,
          "icon-offset": [0, -14],
          "symbol-sort-key": ["get", "alert"],
        },
      },
      {
        id: "draft-line",
        type: "line",
        source: "draft",
        paint: { "line-color": "#4ecdc4", "line-width": 2 },
      },
      {
        id: "draft-points",
        type: "circle",
        source: "draft",
        filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-color": "#4ecdc4", "circle-radius": 4 },
      },
      {
        id: "measure-line",
        type: "line",
        source: "measure",
        paint: { "line-color": "#ffe066", "line-width": 2, "line-dasharray": [2, 1] },
      },
      {
        id: "measure-points",
        type: "circle",
        source: "measure",
        filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-color": "#ffe066", "circle-radius": 4 },
      },
    ],
  };
}

function empty(): FeatureCollection {
  return { type: "FeatureCollection", features: [] };
}

function symbolFeatures(tracks: readonly Track[]): FeatureCollection<Point> {
  return {
    type: "FeatureCollection",
    features: tracks.map((t) => {
      const c = contactClass(t);
      return {
        type: "Feature",
        geometry: { type: "Point", coordinates: [t.position.lon, t.position.lat] },
        properties: {
          track: t.id,
          icon: iconName(c, typeGroup(t)),
          rotate: c === "ais" ? (t.course_deg ?? 0) : 0,
        },
      };
    }),
  };
}

/** The 95 % ellipses, outlined in the colour of the symbol's vessel type. */
function uncertaintyFeatures(tracks: readonly Track[]): FeatureCollection<Polygon> {
  const features: Feature<Polygon>[] = [];
  for (const t of tracks) {
    const u = t.uncertainty;
    if (!u || u.semi_major_m <= 0) continue;
    features.push({
      type: "Feature",
      geometry: {
        type: "Polygon",
        coordinates: [
          ellipseRing(
            t.position.lon,
            t.position.lat,
            u.semi_major_m,
            u.semi_minor_m,
            u.orientation_deg,
          ),
        ],
      },
      properties: { track: t.id, colour: GROUP_COLOUR[typeGroup(t)] },
    });
  }
  return { type: "FeatureCollection", features };
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

const CLASSES: ContactClass[] = ["ais", "dark", "radar", "patrol", "tip"];
const GROUPS = Object.keys(GROUP_COLOUR) as TypeGroup[];

/** An event or alert as the map marks it. */
export interface EventMarker {
  id: string;
  group: (typeof EVENT_GROUPS)[number];
  /** What the tooltip says: the kind, and the vessels it is about. */
  title: string;
  vessels: string;
  lon: number;
  lat: number;
  alert: boolean;
  /** The first track it is about: a click selects it. */
  track: string | null;
}

/** A watch rule's area as the map outlines it. */
export interface AreaOutline {
  id: string;
  name: string;
  polygons: LonLat[][][];
}

/** An area being drawn: every click is a corner until it is finished or cancelled. */
interface Drawing {
  clicks: LonLat[];
  onChange: (clicks: readonly LonLat[]) => void;
  onFinish: (clicks: readonly LonLat[]) => void;
  onCancel: () => void;
}

/** `[west, south, east, north]` */
export type Bounds = [number, number, number, number];

/** The map, or a notice in its place when the browser has no WebGL: the track list still works. */
export class Picture {
  private map: MapLibreMap | null = null;
  private ready = false;
  private pending: { tracks: readonly Track[]; selected: string | null } | null = null;
  private byId = new Map<string, Track>();
  private shown: readonly Track[] = [];
  private readonly labels: HTMLElement;
  private measuring = false;
  /** A one-shot request for the next clicked position (the sighting form's "pick on map"). */
  private picking: ((lat: number, lon: number) => void) | null = null;
  private measured: [number, number][] = [];
  private drawing: Drawing | null = null;
  private hover: Popup | null = null;
  private events: readonly EventMarker[] = [];
  private eventsById = new Map<string, EventMarker>();
  private areas: readonly AreaOutline[] = [];
  private readonly areaLabels: HTMLElement;

  constructor(
    private readonly container: HTMLElement,
    private readonly onSelect: (trackId: string | null) => void,
    private readonly onMove: (bounds: Bounds) => void,
    private readonly tools: {
      coords: HTMLElement;
      measure: HTMLButtonElement;
      result: HTMLElement;
    },
  ) {
    this.labels = document.createElement("div");
    this.labels.className = "map-labels";
    this.labels.dataset["testid"] = "map-labels";
    this.areaLabels = document.createElement("div");
    this.areaLabels.className = "map-labels";
    this.areaLabels.dataset["testid"] = "area-labels";
    container.dataset["events"] = "0";
    container.dataset["eventsVisible"] = "true";
    container.dataset["areas"] = "0";
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
    container.append(this.labels, this.areaLabels);
    // For the performance script (web/scripts/perf.ts): it drives the camera and times frames.
    (window as unknown as Record<string, unknown>)["caveatMap"] = map;
    map.addControl(new ScaleControl({ unit: "nautical", maxWidth: 140 }), "bottom-left");
    map.addControl(new NavigationControl({ showCompass: true }), "top-left");
    for (const c of CLASSES) {
      for (const g of GROUPS) {
        const data = drawIcon(c, g);
        if (data) map.addImage(iconName(c, g), data, { pixelRatio: ICON_RATIO });
      }
    }
    for (const g of EVENT_GROUPS) {
      for (const alert of [false, true]) {
        const data = drawEventIcon(g, alert);
        if (data) map.addImage(eventIconName(g, alert), data, { pixelRatio: EVENT_ICON_RATIO });
      }
    }
    map.on("load", () => {
      this.ready = true;
      container.dataset["ready"] = "true";
      if (this.pending) this.show(this.pending.tracks, this.pending.selected);
      this.drawEvents();
      this.drawAreas();
      this.onMove(this.bounds() ?? [-180, -90, 180, 90]);
    });
    map.on("moveend", () => {
      this.drawUncertainty();
      const b = this.bounds();
      if (b) this.onMove(b);
    });
    map.on("move", () => {
      this.placeLabels();
      this.placeAreaLabels();
    });
    map.on("dblclick", (e) => {
      if (this.drawing === null) return;
      e.preventDefault();
      this.finishDrawing();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.drawing !== null) this.cancelDrawing();
    });
    map.on("click", (e) => {
      if (this.drawing !== null) {
        this.drawing.clicks.push([e.lngLat.lng, e.lngLat.lat]);
        this.drawDraft();
        this.drawing.onChange(this.drawing.clicks);
        return;
      }
      if (this.picking !== null) {
        const done = this.picking;
        this.picking = null;
        map.getCanvas().style.cursor = "";
        done(e.lngLat.lat, e.lngLat.lng);
        return;
      }
      if (this.measuring) {
        this.measure([e.lngLat.lng, e.lngLat.lat]);
        return;
      }
      const hit = map.queryRenderedFeatures(e.point, {
        layers: ["events", "symbols", "tracks"],
      })[0];
      const track: unknown = hit?.properties["track"];
      if (typeof track === "string") this.onSelect(track);
    });
    map.on("mousemove", (e) => {
      tools.coords.textContent = formatLatLon(e.lngLat.lat, e.lngLat.lng);
    });
    tools.measure.addEventListener("click", () => {
      this.measuring = !this.measuring;
      tools.measure.setAttribute("aria-pressed", String(this.measuring));
      this.measured = [];
      this.drawMeasure();
      map.getCanvas().style.cursor = this.measuring ? "crosshair" : "";
    });
    // A hover card with the track's name, partners and how it was observed.
    // The card lets clicks through (a corner being drawn under it must still land on the map).
    const hover = (this.hover = new Popup({
      closeButton: false,
      closeOnClick: false,
      offset: 12,
      className: "hover-popup",
    }));
    map.on("mousemove", "symbols", (e) => {
      if (this.drawing !== null) return;
      if (!this.measuring) map.getCanvas().style.cursor = "pointer";
      const id: unknown = e.features?.[0]?.properties["track"];
      const track = typeof id === "string" ? this.byId.get(id) : undefined;
      if (track === undefined) return;
      const card = document.createElement("div");
      card.className = "hover-card";
      const name = document.createElement("strong");
      name.textContent = track.identity.name ?? track.identity.mmsi ?? "unidentified";
      const partners = document.createElement("div");
      partners.textContent = `${CLASS_LABEL[contactClass(track)]} · ${track.originators.join(" + ")}`;
      card.append(name, partners);
      hover.setLngLat([track.position.lon, track.position.lat]).setDOMContent(card).addTo(map);
    });
    map.on("mouseleave", "symbols", () => {
      if (!this.measuring) map.getCanvas().style.cursor = "";
      hover.remove();
    });
    map.on("mousemove", "events", (e) => {
      if (this.drawing !== null) return;
      const id: unknown = e.features?.[0]?.properties["id"];
      const marker = typeof id === "string" ? this.eventsById.get(id) : undefined;
      if (marker === undefined) return;
      if (!this.measuring) map.getCanvas().style.cursor = "pointer";
      const card = document.createElement("div");
      card.className = "hover-card";
      card.dataset["testid"] = "event-card";
      const title = document.createElement("strong");
      title.textContent = marker.title;
      const vessels = document.createElement("div");
      vessels.textContent = marker.vessels;
      card.append(title, vessels);
      hover.setLngLat([marker.lon, marker.lat]).setDOMContent(card).addTo(map);
    });
    map.on("mouseleave", "events", () => {
      if (!this.measuring && this.drawing === null) map.getCanvas().style.cursor = "";
      hover.remove();
    });
  }

  /** The next click on the map gives its position to `done` instead of selecting a track. */
  pick(done: (lat: number, lon: number) => void): void {
    this.picking = done;
    const map = this.map;
    if (map) map.getCanvas().style.cursor = "crosshair";
  }

  /** The visible area, `[west, south, east, north]`, or null without a map. */
  bounds(): Bounds | null {
    const b = this.map?.getBounds();
    if (!b) return null;
    const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
    return [
      clamp(b.getWest(), -180, 180),
      clamp(b.getSouth(), -90, 90),
      clamp(b.getEast(), -180, 180),
      clamp(b.getNorth(), -90, 90),
    ];
  }

  /** Draws the tracks; HTML labels for names (the style has no glyphs) when few enough are in sight. */
  show(tracks: readonly Track[], selected: string | null): void {
    const map = this.map;
    if (map === null) return;
    this.byId = new Map(tracks.map((t) => [t.id, t]));
    this.shown = tracks;
    if (!this.ready) {
      this.pending = { tracks, selected };
      return;
    }
    void map.getSource<GeoJSONSource>("tracks")?.setData(trackFeatures(tracks));
    void map.getSource<GeoJSONSource>("symbols")?.setData(symbolFeatures(tracks));
    void map.getSource<GeoJSONSource>("trails")?.setData(trailFeatures(tracks));
    this.drawUncertainty();
    map.setFilter("selected", [
      "all",
      ["==", ["get", "track"], selected ?? ""],
      ["==", ["get", "ring"], 0],
    ]);
    this.container.dataset["tracks"] = String(tracks.length);
    this.placeLabels();
  }

  /**
   * Ellipses only where they can be seen: zoomed in (at a whole-sea zoom even a kilometre is a
   * pixel), for the tracks in sight, a few thousand at most, redrawn when the camera stops.
   */
  private drawUncertainty(): void {
    const map = this.map;
    if (map === null || !this.ready) return;
    const b = map.getBounds();
    const shown =
      map.getZoom() < ELLIPSE_MIN_ZOOM
        ? []
        : this.shown
            .filter((t) => b.contains([t.position.lon, t.position.lat]))
            .slice(0, MAX_ELLIPSES);
    void map.getSource<GeoJSONSource>("uncertainty")?.setData(uncertaintyFeatures(shown));
  }

  private placeLabels(): void {
    const map = this.map;
    if (map === null) return;
    const b = map.getBounds();
    const inSight = this.shown.filter((t) => b.contains([t.position.lon, t.position.lat]));
    const labelled = inSight.length <= MAX_LABELS ? inSight : [];
    this.labels.dataset["count"] = String(labelled.length);
    if (this.labels.childElementCount !== labelled.length) {
      this.labels.replaceChildren(
        ...labelled.map(() => {
          const d = document.createElement("div");
          d.className = "map-label";
          d.dataset["testid"] = "map-label";
          return d;
        }),
      );
    }
    labelled.forEach((t, i) => {
      const node = this.labels.children[i] as HTMLElement | undefined;
      if (!node) return;
      const p = map.project([t.position.lon, t.position.lat]);
      const text =
        t.identity.name ??
        (t.identity.mmsi ? `MMSI ${t.identity.mmsi}` : CLASS_LABEL[contactClass(t)]);
      if (node.textContent !== text) node.textContent = text;
      node.dataset["track"] = t.id;
      node.style.transform = `translate(${(p.x + ICON_PX / 2 + 4).toFixed(1)}px, ${(p.y - 7).toFixed(1)}px)`;
    });
  }

  private measure(at: [number, number]): void {
    if (this.measured.length >= 2) this.measured = [];
    this.measured.push(at);
    this.drawMeasure();
  }

  private drawMeasure(): void {
    const map = this.map;
    const pts = this.measured;
    const features: Feature<LineString | Point>[] = pts.map((p) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: p },
      properties: {},
    }));
    const [a, b] = pts;
    if (a && b) {
      features.push({
        type: "Feature",
        geometry: { type: "LineString", coordinates: [a, b] },
        properties: {},
      });
      const d = distanceNm(a, b);
      this.tools.result.textContent = `${d.nm.toFixed(2)} NM · ${d.bearing.toFixed(0).padStart(3, "0")}°T`;
      this.tools.result.dataset["nm"] = d.nm.toFixed(3);
    } else {
      this.tools.result.textContent = this.measuring
        ? a
          ? "click the second point"
          : "click the first point"
        : "";
      delete this.tools.result.dataset["nm"];
    }
    if (map && this.ready)
      void map
        .getSource<GeoJSONSource>("measure")
        ?.setData({ type: "FeatureCollection", features });
  }

  /** Marks the view's events and alerts (replacing those marked before). */
  showEvents(markers: readonly EventMarker[]): void {
    this.events = markers;
    this.eventsById = new Map(markers.map((m) => [m.id, m]));
    this.container.dataset["events"] = String(markers.length);
    this.container.dataset["alerts"] = String(markers.filter((m) => m.alert).length);
    this.drawEvents();
  }

  private drawEvents(): void {
    const map = this.map;
    if (map === null || !this.ready) return;
    const features: Feature<Point>[] = this.events.map((m) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: [m.lon, m.lat] },
      properties: {
        id: m.id,
        icon: eventIconName(m.group, m.alert),
        alert: m.alert ? 1 : 0,
        ...(m.track === null ? {} : { track: m.track }),
      },
    }));
    void map.getSource<GeoJSONSource>("events")?.setData({ type: "FeatureCollection", features });
  }

  /** Shows or hides the event markers; the page keeps them current either way. */
  setEventsVisible(visible: boolean): void {
    this.container.dataset["eventsVisible"] = String(visible);
    this.map?.setLayoutProperty("events", "visibility", visible ? "visible" : "none");
  }

  /** Outlines the watch rules' areas, each named beside its first corner. */
  showAreas(areas: readonly AreaOutline[]): void {
    this.areas = areas;
    this.container.dataset["areas"] = String(areas.length);
    this.areaLabels.replaceChildren(
      ...areas.map((a) => {
        const d = document.createElement("div");
        d.className = "map-label area-label";
        d.dataset["testid"] = "area-label";
        d.dataset["rule"] = a.id;
        d.textContent = a.name;
        return d;
      }),
    );
    this.drawAreas();
    this.placeAreaLabels();
  }

  private drawAreas(): void {
    const map = this.map;
    if (map === null || !this.ready) return;
    const features: Feature<Polygon>[] = this.areas.flatMap((a) =>
      a.polygons.map((rings) => ({
        type: "Feature" as const,
        geometry: { type: "Polygon" as const, coordinates: rings },
        properties: { rule: a.id },
      })),
    );
    void map.getSource<GeoJSONSource>("areas")?.setData({ type: "FeatureCollection", features });
  }

  private placeAreaLabels(): void {
    const map = this.map;
    if (map === null) return;
    this.areas.forEach((a, i) => {
      const node = this.areaLabels.children[i] as HTMLElement | undefined;
      const corner = a.polygons[0]?.[0]?.[0];
      if (!node || !corner) return;
      const p = map.project(corner);
      node.style.transform = `translate(${p.x.toFixed(1)}px, ${(p.y - 16).toFixed(1)}px)`;
    });
  }

  /**
   * Starts drawing an area: each click is a corner; a double-click or `finishDrawing` closes it,
   * Escape or `cancelDrawing` drops it. Clicks select no track meanwhile.
   */
  drawArea(
    onChange: (clicks: readonly LonLat[]) => void,
    onFinish: (clicks: readonly LonLat[]) => void,
    onCancel: () => void,
  ): void {
    if (this.drawing !== null) this.drawing.onCancel();
    this.drawing = { clicks: [], onChange, onFinish, onCancel };
    this.hover?.remove();
    this.container.dataset["drawing"] = "true";
    const map = this.map;
    if (map) {
      // A double-click finishes the area, so it must not zoom as well.
      map.doubleClickZoom.disable();
      map.getCanvas().style.cursor = "crosshair";
    }
    this.drawDraft();
  }

  finishDrawing(): void {
    const d = this.endDrawing();
    if (d) d.onFinish(d.clicks);
  }

  cancelDrawing(): void {
    const d = this.endDrawing();
    if (d) d.onCancel();
  }

  private endDrawing(): Drawing | null {
    const d = this.drawing;
    this.drawing = null;
    delete this.container.dataset["drawing"];
    const map = this.map;
    if (map) {
      map.doubleClickZoom.enable();
      map.getCanvas().style.cursor = "";
    }
    this.drawDraft();
    return d;
  }

  private drawDraft(): void {
    const map = this.map;
    if (map === null || !this.ready) return;
    const clicks = this.drawing?.clicks ?? [];
    const features: Feature<LineString | Point>[] = clicks.map((c) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: c },
      properties: {},
    }));
    const first = clicks[0];
    if (first && clicks.length >= 2) {
      features.push({
        type: "Feature",
        geometry: { type: "LineString", coordinates: [...clicks, first] },
        properties: {},
      });
    }
    void map.getSource<GeoJSONSource>("draft")?.setData({ type: "FeatureCollection", features });
  }

  /** Centres the map on a position without changing the zoom. */
  centre(lon: number, lat: number): void {
    this.map?.easeTo({ center: [lon, lat], duration: 400 });
  }

  /** Centres the map on a track without changing the zoom. */
  focus(track: Track): void {
    this.map?.easeTo({ center: [track.position.lon, track.position.lat], duration: 400 });
  }

  /** Frames the map on these tracks. */
  fit(tracks: readonly Track[]): void {
    const map = this.map;
    if (map === null || tracks.length === 0) return;
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

/** `17°48.00'N 064°48.00'W`: the form charts and logs use. */
export function formatLatLon(lat: number, lon: number): string {
  const part = (v: number, pos: string, neg: string, width: number): string => {
    const a = Math.abs(v);
    const d = Math.floor(a);
    const m = (a - d) * 60;
    return `${String(d).padStart(width, "0")}°${m.toFixed(2).padStart(5, "0")}'${v >= 0 ? pos : neg}`;
  };
  return `${part(lat, "N", "S", 2)} ${part(lon, "E", "W", 3)}`;
}
