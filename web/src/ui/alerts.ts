// The alerts panel: the view's alerts for the rules that alert the user, live from
// `/v1/alerts/stream` over the list `/v1/alerts` answered, newest first, with a badge counting the
// active ones not yet seen. Follows the view key: a new purpose or case starts afresh.
import { ApiError, type Api, type ViewKey } from "../api/client";
import { ViewStream } from "../api/live";
import type { Alert } from "../api/types";
import { AlertBook, parseAlert } from "../alerts";
import { KIND_GROUP, KIND_LABEL, eventLegendIcon } from "../map/event-symbols";
import { el, replace, utc } from "./element";
import type { ErrorBanner } from "./errors";
import { marking } from "./track-detail";

/** Alerts read per list: the hub's default page. */
const LIST_LIMIT = 500;
/**
 * Reads of the list start at most this often when asked by the view's changes: deriving alerts costs
 * the hub, and a busy view changes every second. A rule change reads at once.
 */
const MIN_INTERVAL_MS = 5000;
/** Rows drawn at most; the rest are counted (a flood of alerts must not cost the page its frames). */
const MAX_ROWS = 200;

export interface AlertHooks {
  /** The user picked an alert: select its vessel and show it. */
  pick: (alert: Alert) => void;
  /** A vessel's name for people, when the page knows the track; null otherwise. */
  vessel: (trackId: string) => string | null;
  /** The alerts changed (for the map's markers). */
  changed: (alerts: readonly Alert[]) => void;
}

export class AlertPanel {
  private book = new AlertBook();
  private view: ViewKey | null = null;
  private stream: ViewStream | null = null;
  /** Bumped on every view change: an answer for an older view key is dropped. */
  private generation = 0;
  private reading = false;
  private again = false;
  private abort = new AbortController();
  private lastRead = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The hub serves no alerts (404: an older hub, the mock). */
  private absent = false;
  private opened: string | null = null;
  /** What the rows last drawn said: a render that would draw the same rows leaves the DOM alone. */
  private drawn = "";
  /** Each row drawn, by alert id, with what it said: an unchanged row is kept, not redrawn. */
  private rowNodes = new Map<string, { sig: string; node: HTMLElement }>();

  constructor(
    private readonly root: HTMLElement,
    private readonly badge: HTMLElement,
    private readonly api: Api,
    private readonly errors: ErrorBanner,
    private readonly hooks: AlertHooks,
  ) {
    this.render();
  }

  setView(view: ViewKey | null): void {
    this.view = view;
    this.generation++;
    this.abort.abort();
    this.abort = new AbortController();
    this.stream?.stop();
    this.stream = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.lastRead = 0;
    // Nothing of the old view key is shown under the new one.
    this.book = new AlertBook();
    this.rowNodes.clear();
    this.errors.clear("Alerts");
    this.render();
    if (view === null || this.absent) return;
    const generation = this.generation;
    this.stream = new ViewStream(this.api.token, view, "/v1/alerts/stream", {
      onOpen: () => {
        // On opening the stream sends every alert again; the list read catches what it cannot say
        // (alerts dropped by a suspension while the stream was down).
        this.refresh(true);
      },
      onEvent: (ev) => {
        if (generation !== this.generation || ev.event !== "alert") return;
        const alert = parseAlert(ev.data);
        if (alert === null) return;
        this.book.update(alert);
        this.renderSoon();
      },
      onState: (state) => {
        this.root.dataset["stream"] = state;
      },
      onError: (e) => {
        if (generation !== this.generation) return;
        if (e.status === 404) {
          this.absent = true;
          this.render();
          return;
        }
        this.errors.show("Alerts", e);
      },
    });
  }

  /**
   * Reads the list again: on the view's own changes (a suspension drops alerts, and the stream never
   * says so) and after rule changes. Coalesced: one read at a time and one more after it, never an
   * answer dropped for a newer ask, so a slow hub still fills the panel.
   */
  refresh(now = false): void {
    if (this.view === null || this.absent) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    const wait = now ? 0 : this.lastRead + MIN_INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.refresh(true);
      }, wait);
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.reading = true;
    this.lastRead = Date.now();
    const view = this.view;
    const generation = this.generation;
    const book = this.book;
    book.asking();
    void this.api
      .alerts(view, LIST_LIMIT, this.abort.signal)
      .then(
        (list) => {
          if (generation !== this.generation) return;
          book.answered(list.alerts);
          this.root.dataset["truncated"] = String(list.truncated);
          this.errors.clear("Alerts");
          this.render();
        },
        (e: unknown) => {
          if (generation !== this.generation) return;
          book.failed();
          if (e instanceof ApiError && e.status === 404) {
            this.absent = true;
            this.stream?.stop();
            this.render();
            return;
          }
          if (e instanceof DOMException && e.name === "AbortError") return;
          this.errors.show("Alerts", e);
        },
      )
      .finally(() => {
        if (generation === this.generation) this.root.dataset["read"] = "true";
        this.reading = false;
        if (this.again || generation !== this.generation) {
          this.again = false;
          this.refresh(generation !== this.generation);
        }
      });
  }

  private renderPending = false;

  /** One render after every frame of a chunk is taken in (the first chunk has every alert). */
  private renderSoon(): void {
    if (this.renderPending) return;
    this.renderPending = true;
    queueMicrotask(() => {
      this.renderPending = false;
      this.render();
    });
  }

  /** Re-renders the rows (vessel names may have become known). */
  render(): void {
    const alerts = this.book.list();
    const unseen = this.book.unseenActive();
    this.badge.textContent = unseen > 0 ? String(unseen) : "";
    this.badge.hidden = unseen === 0;
    this.badge.dataset["count"] = String(unseen);
    this.root.dataset["count"] = String(alerts.length);
    this.root.dataset["active"] = String(alerts.filter((a) => a.state === "active").length);
    const rows = alerts.slice(0, MAX_ROWS);
    // Live loads call this every few seconds for vessel names: redrawing unchanged rows would
    // cost frames and pull a row from under the user's click.
    const key = [
      this.view === null ? "" : `${this.view.purpose}/${this.view.caseId ?? ""}`,
      String(this.absent),
      String(alerts.length),
      this.opened ?? "",
      ...rows.map((a) => this.sig(a)),
    ].join("|");
    if (key === this.drawn) return;
    this.drawn = key;
    this.hooks.changed(alerts);
    if (this.view === null) {
      replace(this.root, el("p", { class: "muted" }, "Declare a purpose to see its alerts."));
      return;
    }
    if (this.absent) {
      replace(this.root, el("p", { class: "muted" }, "This hub serves no alerts."));
      return;
    }
    replace(
      this.root,
      alerts.length === 0
        ? el(
            "p",
            { class: "muted", "data-testid": "alerts-empty" },
            "No alerts in this view. Watch rules (below) say what alerts you.",
          )
        : el(
            "div",
            { class: "alert-head" },
            `${alerts.length} alert${alerts.length === 1 ? "" : "s"}, newest first`,
            el(
              "button",
              {
                type: "button",
                "data-testid": "alerts-seen",
                disabled: unseen === 0,
                onclick: () => {
                  this.book.markAllSeen();
                  this.render();
                },
              },
              "Mark all seen",
            ),
          ),
      el("ul", { class: "alert-list", "data-testid": "alert-list" }, ...this.rowsOf(rows)),
      alerts.length > rows.length
        ? el("p", { class: "muted" }, `and ${alerts.length - rows.length} older`)
        : null,
    );
  }

  private vesselOf(a: Alert): string {
    const track = a.tracks[0] ?? null;
    const name = track === null ? null : this.hooks.vessel(track);
    return name ?? (a.mmsis[0] !== undefined ? `MMSI ${a.mmsis[0]}` : (track ?? "unidentified"));
  }

  /** The rows, reusing the node of each whose content is unchanged (a click on it still lands). */
  private rowsOf(rows: readonly Alert[]): HTMLElement[] {
    const next = new Map<string, { sig: string; node: HTMLElement }>();
    const nodes = rows.map((a) => {
      const sig = this.sig(a);
      const old = this.rowNodes.get(a.id);
      const node = old !== undefined && old.sig === sig ? old.node : this.row(a);
      next.set(a.id, { sig, node });
      return node;
    });
    this.rowNodes = next;
    return nodes;
  }

  private sig(a: Alert): string {
    return `${a.id}:${a.state}:${a.cleared_at ?? ""}:${a.retracted_at ?? ""}:${String(this.book.isSeen(a.id))}:${this.vesselOf(a)}:${String(this.opened === a.id)}`;
  }

  private row(a: Alert): HTMLElement {
    const track = a.tracks[0] ?? null;
    const vessel = this.vesselOf(a);
    const seen = this.book.isSeen(a.id);
    const state =
      a.state === "retracted"
        ? `retracted ${utc(a.retracted_at)}`
        : a.cleared_at !== null
          ? `cleared ${utc(a.cleared_at)}`
          : "active";
    const open = this.opened === a.id;
    return el(
      "li",
      {
        class: `alert-item ${a.state}${seen ? "" : " unseen"}`,
        "data-testid": "alert-item",
        "data-alert-id": a.id,
        "data-state": a.state,
        "data-kind": a.kind,
        "data-rule": a.rule,
        "data-track": track ?? "",
        "data-seen": String(seen),
      },
      el(
        "button",
        {
          type: "button",
          class: "alert-pick",
          "data-testid": "alert-pick",
          title: "Select the vessel and centre the map on it",
          onclick: () => {
            this.book.markSeen(a.id);
            this.opened = this.opened === a.id ? null : a.id;
            this.render();
            this.hooks.pick(a);
          },
        },
        eventLegendIcon(KIND_GROUP[a.kind], true, 14),
        el("strong", {}, a.rule_name),
        ` ${KIND_LABEL[a.kind]} · `,
        el("span", { "data-testid": "alert-vessel" }, vessel),
      ),
      el(
        "div",
        { class: "muted" },
        `from ${utc(a.start)} · `,
        el("span", { "data-testid": "alert-state" }, state),
        ` · ${a.originators.join(" + ")}`,
      ),
      open ? marking(a.marking, "alert-marking") : null,
    );
  }
}
