// The tracks beside the map, as a virtualised list: only the rows in sight are in the document, so
// ten thousand tracks scroll as smoothly as ten. Sortable by last update, speed or source; a lock
// keeps the order (and the scroll position) still while someone reads it, live updates changing only
// the rows' contents, removals still removing. Map features cannot carry test ids, so the list root
// says how many tracks it holds and how many use each partner (data-count, data-partner-counts).
import type { ViewKey } from "../api/client";
import type { Track } from "../api/types";
import { CLASS_LABEL, contactClass, legendIcon, typeGroup } from "../map/symbols";
import { partnerColour, partnerSwatch } from "../partners";
import { el, replace } from "./element";

export type ListState = "no-purpose" | "loading" | "ready" | "error";
export type SortKey = "updated" | "speed" | "source";

/** Row height in pixels: fixed, so the visible rows follow from the scroll offset alone. */
const ROW = 26;
/** Rows rendered above and below the visible ones, so fast scrolling shows no gaps (a hundred rows cost little). */
const OVERSCAN = 40;

const SOURCE_ORDER = ["dark", "radar", "patrol", "tip", "ais"];

function compare(key: SortKey): (a: Track, b: Track) => number {
  switch (key) {
    case "speed":
      return (a, b) => b.speed_kn - a.speed_kn || a.id.localeCompare(b.id);
    case "source":
      // Dark contacts first: they are what a watch floor looks for.
      return (a, b) =>
        SOURCE_ORDER.indexOf(contactClass(a)) - SOURCE_ORDER.indexOf(contactClass(b)) ||
        b.updated_at.localeCompare(a.updated_at) ||
        a.id.localeCompare(b.id);
    case "updated":
      return (a, b) => b.updated_at.localeCompare(a.updated_at) || a.id.localeCompare(b.id);
  }
}

/** Whether a track's identity matches a search (MMSI, IMO, name or call sign, any part, any case). */
export function matches(t: Track, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === "") return true;
  const i = t.identity;
  return [i.mmsi, i.imo, i.name, i.call_sign].some((v) => v != null && v.toLowerCase().includes(q));
}

export class TrackList {
  private tracks: Track[] = [];
  private byId = new Map<string, Track>();
  private order: string[] = [];
  private selected: string | null = null;
  /** The rows in the document, by track id. */
  private readonly drawn = new Map<string, HTMLElement>();
  private sort: SortKey = "updated";
  private locked = false;
  private readonly summary: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rows: HTMLElement;
  private readonly lock: HTMLInputElement;
  readonly search: HTMLInputElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly onSelect: (id: string) => void,
    private readonly onSearch: (query: string) => void,
  ) {
    this.summary = el("p", { class: "summary", "data-testid": "track-summary" });
    this.legend = el("div", { class: "legend", "data-testid": "legend" });
    this.search = el("input", {
      type: "search",
      "data-testid": "track-search",
      placeholder: "search the view: MMSI, IMO, name, call sign",
      spellcheck: "false",
    });
    let timer = 0;
    this.search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => {
        this.onSearch(this.search.value.trim());
      }, 200);
    });
    const sort = el(
      "select",
      { "data-testid": "track-sort", title: "Sort by" },
      el("option", { value: "updated" }, "last update"),
      el("option", { value: "speed" }, "speed"),
      el("option", { value: "source" }, "source (dark first)"),
    );
    sort.addEventListener("change", () => {
      this.sort = sort.value as SortKey;
      this.reorder(true);
    });
    this.lock = el("input", { type: "checkbox", "data-testid": "list-lock" });
    this.lock.addEventListener("change", () => {
      this.locked = this.lock.checked;
      this.root.dataset["locked"] = String(this.locked);
      if (!this.locked) this.reorder(false);
    });
    this.spacer = el("div", { class: "spacer" });
    this.rows = el("ul", { class: "tracks", "data-testid": "track-list" });
    this.scroller = el(
      "div",
      { class: "track-scroller", "data-testid": "track-scroller" },
      this.spacer,
      this.rows,
    );
    this.scroller.addEventListener("scroll", () => {
      this.draw();
    });
    replace(
      root,
      this.search,
      el(
        "div",
        { class: "list-tools" },
        el("label", {}, "sort ", sort),
        el("label", { title: "Keep the order still while reading" }, this.lock, " lock"),
      ),
      this.summary,
      this.legend,
      this.scroller,
    );
  }

  render(
    state: ListState,
    view: ViewKey | null,
    tracks: readonly Track[],
    selected: string | null,
    scope: string,
  ): void {
    const root = this.root;
    root.dataset["state"] = state;
    root.dataset["purpose"] = view?.purpose ?? "";
    root.dataset["count"] = String(tracks.length);
    const counts = new Map<string, number>();
    for (const t of tracks) for (const p of t.originators) counts.set(p, (counts.get(p) ?? 0) + 1);
    const partners = [...counts.keys()].sort();
    root.dataset["partnerCounts"] = partners.map((p) => `${p}:${counts.get(p) ?? 0}`).join(",");
    this.summary.textContent =
      state === "no-purpose"
        ? "Declare a purpose to see the view. No purpose, no data."
        : state === "error"
          ? "The view could not be read: see the message above."
          : state === "loading" && tracks.length === 0
            ? "Evaluating the view…"
            : `${tracks.length} track${tracks.length === 1 ? "" : "s"} ${scope} for ${view?.purpose ?? ""}${
                view?.caseId ? ` (case ${view.caseId})` : ""
              }`;
    replace(
      this.legend,
      ...partners.map((p) =>
        el(
          "span",
          { class: "legend-item" },
          el("span", { class: "swatch", style: `background:${partnerColour(p)}` }),
          p,
        ),
      ),
    );
    this.tracks = [...tracks];
    this.byId = new Map(tracks.map((t) => [t.id, t]));
    this.selected = selected;
    this.reorder(false);
  }

  /** Sorts anew unless locked; locked, keeps the order, drops what left and appends what came. */
  private reorder(force: boolean): void {
    if (this.locked && !force) {
      const kept = this.order.filter((id) => this.byId.has(id));
      const known = new Set(kept);
      const added = this.tracks.filter((t) => !known.has(t.id)).sort(compare(this.sort));
      this.order = [...kept, ...added.map((t) => t.id)];
    } else {
      this.order = [...this.tracks].sort(compare(this.sort)).map((t) => t.id);
    }
    this.spacer.style.height = `${this.order.length * ROW}px`;
    this.draw();
  }

  /** Shows a track: scrolls it into sight. */
  reveal(id: string): void {
    const i = this.order.indexOf(id);
    if (i < 0) return;
    const top = i * ROW;
    const h = this.scroller.clientHeight;
    if (top < this.scroller.scrollTop || top + ROW > this.scroller.scrollTop + h) {
      this.scroller.scrollTop = Math.max(0, top - h / 2);
    }
    this.draw();
  }

  private draw(): void {
    const h = this.scroller.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(
      this.order.length,
      Math.ceil((this.scroller.scrollTop + h) / ROW) + OVERSCAN,
    );
    // Rows are kept by track id and changed in place: rebuilding every row on each live update
    // detached the one under the pointer, so a click on a busy picture could miss its row.
    const shown = new Set<string>();
    for (let i = first; i < last; i++) {
      const t = this.byId.get(this.order[i] ?? "");
      if (!t) continue;
      shown.add(t.id);
      const fresh = this.item(t, i);
      const row = this.drawn.get(t.id);
      if (row === undefined) {
        this.rows.append(fresh);
        this.drawn.set(t.id, fresh);
      } else if (!row.isEqualNode(fresh)) {
        for (const a of [...row.attributes])
          if (!fresh.hasAttribute(a.name)) row.removeAttribute(a.name);
        for (const a of [...fresh.attributes]) row.setAttribute(a.name, a.value);
        row.replaceChildren(...fresh.childNodes);
      }
    }
    for (const [id, row] of this.drawn) {
      if (!shown.has(id)) {
        row.remove();
        this.drawn.delete(id);
      }
    }
  }

  private item(t: Track, index: number): HTMLElement {
    const name = t.identity.name ?? (t.identity.mmsi ? `MMSI ${t.identity.mmsi}` : "unidentified");
    const motion = `${t.speed_kn.toFixed(1)} kn${t.course_deg != null ? ` @ ${t.course_deg.toFixed(0)}°` : ""}`;
    const c = contactClass(t);
    const sym = legendIcon(c, typeGroup(t), 12);
    sym.title = CLASS_LABEL[c];
    return el(
      "li",
      {
        class: t.id === this.selected ? "track selected" : "track",
        style: `top:${index * ROW}px`,
        "data-testid": "track-item",
        "data-track-id": t.id,
        "data-originators": t.originators.join(","),
        "data-class": c,
        "data-speed": t.speed_kn.toFixed(2),
        "data-updated": t.updated_at,
        tabindex: 0,
        onclick: () => {
          this.onSelect(t.id);
        },
        onkeydown: (e: Event) => {
          if (e instanceof KeyboardEvent && e.key === "Enter") this.onSelect(t.id);
        },
      },
      el("span", {
        class: t.originators.length > 1 ? "dot multi" : "dot",
        style: `background:${partnerSwatch(t.originators)}`,
        title: t.originators.join(" + "),
      }),
      sym,
      el("span", { class: "name" }, name),
      el("span", { class: "partners" }, t.originators.join(" + ")),
      el("span", { class: "muted motion" }, motion),
    );
  }
}
