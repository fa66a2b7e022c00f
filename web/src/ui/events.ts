// The view's behaviour events and alerts as map markers, with their legend and the toggle that
// hides them. Events are read again (one read at a time, one more after it) when the view changes;
// alerts come from the alert panel, which follows their stream.
import { ApiError, type Api, type ViewKey } from "../api/client";
import type { Alert, BehaviourEvent } from "../api/types";
import {
  EVENT_GROUPS,
  GROUP_STYLE,
  KIND_GROUP,
  KIND_LABEL,
  eventLegendIcon,
} from "../map/event-symbols";
import type { EventMarker, Picture } from "../map/picture";
import { el, replace, utc } from "./element";
import type { ErrorBanner } from "./errors";

/** Events marked at most: beyond that the markers would hide the picture. */
const MAX_EVENTS = 2000;
/**
 * Reads start at most this often: a busy view changes every second, and events (minute-grid
 * detections) do not need re-reading at that pace.
 */
const MIN_INTERVAL_MS = 10_000;

export class EventLayer {
  private view: ViewKey | null = null;
  private events: BehaviourEvent[] = [];
  private alerts: readonly Alert[] = [];
  private generation = 0;
  private reading = false;
  private again = false;
  private absent = false;
  private lastRead = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly picture: Picture,
    private readonly api: Api,
    private readonly errors: ErrorBanner,
    /** A vessel's name for people, when the page knows the track. */
    private readonly vessel: (trackId: string) => string | null,
    toggle: HTMLInputElement,
    legend: HTMLElement,
  ) {
    toggle.addEventListener("change", () => {
      picture.setEventsVisible(toggle.checked);
    });
    replace(
      legend,
      ...EVENT_GROUPS.map((g) =>
        el(
          "span",
          { class: "legend-item", "data-testid": "legend-event", "data-group": g },
          eventLegendIcon(g),
          GROUP_STYLE[g].label,
        ),
      ),
      el(
        "span",
        { class: "legend-item", "data-testid": "legend-event", "data-group": "alert" },
        eventLegendIcon("area", true),
        "alert (a watch rule matched)",
      ),
    );
  }

  setView(view: ViewKey | null): void {
    this.view = view;
    this.generation++;
    this.events = [];
    this.alerts = [];
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.lastRead = 0;
    this.errors.clear("Events");
    this.draw();
    this.refresh();
  }

  setAlerts(alerts: readonly Alert[]): void {
    this.alerts = alerts;
    this.draw();
  }

  /** Reads the view's active events again, coalescing asks that come while a read runs. */
  refresh(): void {
    const view = this.view;
    if (view === null || this.absent) return;
    if (this.reading || this.timer !== null) {
      this.again = this.reading;
      return;
    }
    const wait = this.lastRead + MIN_INTERVAL_MS - Date.now();
    if (wait > 0 && this.events.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.refresh();
      }, wait);
      return;
    }
    this.reading = true;
    this.lastRead = Date.now();
    const generation = this.generation;
    void this.api
      .events(view, MAX_EVENTS)
      .then(
        (list) => {
          if (generation !== this.generation) return;
          this.events = list.events.filter((e) => e.state === "active");
          this.errors.clear("Events");
          this.draw();
        },
        (e: unknown) => {
          if (generation !== this.generation) return;
          if (e instanceof ApiError && e.status === 404) {
            this.absent = true;
            return;
          }
          this.errors.show("Events", e);
        },
      )
      .finally(() => {
        this.reading = false;
        if (this.again || generation !== this.generation) {
          this.again = false;
          this.refresh();
        }
      });
  }

  private vessels(tracks: readonly string[], mmsis: readonly number[]): string {
    const names = tracks.slice(0, 4).map((t) => this.vessel(t) ?? t.slice(0, 13));
    const more = tracks.length > 4 ? ` and ${tracks.length - 4} more` : "";
    const byMmsi = mmsis.length > 0 ? ` (MMSI ${mmsis.join(", ")})` : "";
    return `${names.join(", ")}${more}${byMmsi}`;
  }

  private draw(): void {
    const markers: EventMarker[] = this.events.map((e) => ({
      id: e.id,
      group: KIND_GROUP[e.kind],
      title: `${KIND_LABEL[e.kind]} since ${utc(e.start)}`,
      vessels: this.vessels(e.tracks, e.mmsis),
      lon: e.position.lon,
      lat: e.position.lat,
      alert: false,
      track: e.tracks[0] ?? null,
    }));
    for (const a of this.alerts) {
      if (a.state !== "active") continue;
      markers.push({
        id: a.id,
        group: KIND_GROUP[a.kind],
        title: `Alert “${a.rule_name}”: ${KIND_LABEL[a.kind]} since ${utc(a.start)}`,
        vessels: this.vessels(a.tracks, a.mmsis),
        lon: a.position.lon,
        lat: a.position.lat,
        alert: true,
        track: a.tracks[0] ?? null,
      });
    }
    this.picture.showEvents(markers);
  }
}
