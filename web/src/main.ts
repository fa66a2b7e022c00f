// The common operating picture: signs a user in, holds the declared view key, keeps the view's
// tracks current from the live stream, and wires the panels together.
import "./style.css";
import { Api, type TrackQuery, type ViewKey } from "./api/client";
import { LiveStream, type LiveState } from "./api/live";
import type { Me, Track, TrackDetail } from "./api/types";
import { Picture, type Bounds } from "./map/picture";
import {
  CLASS_LABEL,
  GROUP_COLOUR,
  GROUP_LABEL,
  legendIcon,
  type ContactClass,
  type TypeGroup,
} from "./map/symbols";
import { AlertPanel } from "./ui/alerts";
import { CASE_ROLES, CasePanel, openCaseForm } from "./ui/cases";
import { dataPanel } from "./ui/data";
import { EventLayer } from "./ui/events";
import { HistoryBar } from "./ui/history";
import { partnerColour } from "./partners";
import { el, byId, replace } from "./ui/element";
import { ErrorBanner } from "./ui/errors";
import { signIn, type Session } from "./ui/login";
import { SuspensionPanel } from "./ui/suspensions";
import { RulePanel, watchButton } from "./ui/rules";
import { renderTrackDetail } from "./ui/track-detail";
import { TrackList, matches, type ListState } from "./ui/track-list";
import { TransparencyPage } from "./ui/transparency";
import { UsagePanel } from "./ui/usage";
import { viewBar } from "./ui/view-bar";

const TOKEN_KEY = "caveat.token";
const VIEW_KEY = "caveat.view";

/** Trail points per track in the viewport: enough to show heading and recent manoeuvres. */
const VIEWPORT_TRAIL = 8;
/** Trail points per track when the whole view is asked for (what the page always fetched before). */
const WHOLE_TRAIL = 30;
/** The viewport is asked with this margin on every side, so a small pan needs no new read. */
const MARGIN = 0.15;

class App {
  private view: ViewKey | null;
  private tracks: Track[] = [];
  private state: ListState = "no-purpose";
  private selected: string | null = null;
  private live: LiveStream | null = null;
  /** The area the map shows; null until the map says (then the whole view is read). */
  private bounds: Bounds | null = null;
  /** The area last read, with its margin: a pan inside it needs no new read. */
  private loaded: Bounds | null = null;
  /** The whole view rather than the viewport (the user asked). */
  private whole = false;
  /** The picture as of this time; null for live. */
  private at: Date | null = null;
  /** A search over the whole view: its query and matches (null when not searching). */
  private search: { query: string; tracks: Track[] } | null = null;
  private detail: TrackDetail | null = null;
  private cases: CasePanel | null = null;
  private readonly alerts: AlertPanel;
  private readonly events: EventLayer;
  private readonly rules: RulePanel;

  /** Bumped on every view change: a response for an older view key is never shown. */
  private generation = 0;
  private abort = new AbortController();
  private loading = false;
  private dirty = false;

  private readonly picture: Picture;
  private readonly list: TrackList;

  constructor(
    private readonly api: Api,
    private readonly me: Me,
    private readonly errors: ErrorBanner,
  ) {
    this.view = restoreView(me);
    replace(
      byId("whoami"),
      el("span", { class: "swatch", style: `background:${partnerColour(me.partner)}` }),
      el(
        "span",
        { "data-testid": "whoami", "data-partner": me.partner },
        `${me.user} · ${me.partner}`,
      ),
      el("span", { class: "muted" }, ` (${me.roles.join(", ")})`),
      el(
        "button",
        {
          type: "button",
          "data-testid": "logout",
          onclick: () => {
            sessionStorage.removeItem(TOKEN_KEY);
            sessionStorage.removeItem(VIEW_KEY);
            location.reload();
          },
        },
        "Sign out",
      ),
    );
    const measure = byId("measure") as HTMLButtonElement;
    this.picture = new Picture(
      byId("map"),
      (id) => {
        this.select(id);
      },
      (b) => {
        this.moved(b);
      },
      { coords: byId("cursor-coords"), measure, result: byId("measure-result") },
    );
    // The camera is set before the map has loaded: the first read can already be its viewport.
    this.bounds = this.picture.bounds();
    this.list = new TrackList(
      byId("track-list"),
      (id) => {
        this.select(id, true);
      },
      (q) => {
        void this.runSearch(q);
      },
    );
    const wholeBox = byId("whole-view") as HTMLInputElement;
    wholeBox.addEventListener("change", () => {
      this.whole = wholeBox.checked;
      this.requestLoad();
    });
    new HistoryBar(byId("history-bar"), (at) => {
      this.at = at;
      this.search = null;
      this.requestLoad();
    });
    symbolLegend(byId("symbol-legend"));
    const vessel = (trackId: string): string | null => {
      const t =
        this.tracks.find((x) => x.id === trackId) ??
        (this.detail?.id === trackId ? this.detail : undefined);
      if (!t) return null;
      return t.identity.name ?? (t.identity.mmsi ? `MMSI ${t.identity.mmsi}` : null);
    };
    this.events = new EventLayer(
      this.picture,
      api,
      errors,
      vessel,
      byId("events-toggle") as HTMLInputElement,
      byId("event-legend"),
    );
    this.alerts = new AlertPanel(byId("alert-panel"), byId("alert-badge"), api, errors, {
      pick: (a) => {
        const track = a.tracks[0];
        if (track !== undefined) this.select(track, true);
        this.picture.centre(a.position.lon, a.position.lat);
      },
      vessel,
      changed: (alerts) => {
        this.events.setAlerts(alerts);
      },
    });
    this.rules = new RulePanel(
      byId("rule-panel"),
      api,
      me,
      errors,
      {
        draw: (change, finish, cancel) => {
          this.picture.drawArea(change, finish, cancel);
        },
        finish: () => {
          this.picture.finishDrawing();
        },
        cancel: () => {
          this.picture.cancelDrawing();
        },
      },
      (areas) => {
        this.picture.showAreas(areas);
        this.alerts.refresh(true);
      },
    );
    if (me.roles.some((r) => CASE_ROLES.includes(r)))
      (byId("cases-section") as HTMLDetailsElement).open = true;
    this.cases = new CasePanel(byId("case-panel"), api, me, errors, {
      declare: (caseId) => {
        const v = { purpose: "interdiction", caseId };
        setViewBar(v);
        this.setView(v);
      },
      viewCase: () => this.view?.caseId ?? null,
      track: () => this.detail,
    });
    dataPanel(byId("data-panel"), api, me, {
      pick: (done) => {
        this.picture.pick(done);
      },
      view: () => this.view,
    });
    const setViewBar = viewBar(byId("view-bar"), me, this.view, (v) => {
      this.setView(v);
    });

    const roles = new Set(me.roles);
    if (roles.has("partner-admin")) {
      byId("admin-section").hidden = false;
      new SuspensionPanel(byId("admin-panel"), api, me, errors);
    }
    if (roles.has("partner-admin") || roles.has("auditor")) {
      byId("usage-section").hidden = false;
      new UsagePanel(byId("usage-panel"), api, errors);
      this.transparencyPage(api, errors);
    }
    this.federationStatus(api);
    this.setView(this.view);
  }

  /**
   * Names the partners whose node the hub cannot reach (their data is missing from the picture
   * until the node returns), polled every few seconds; nothing is shown when all are reachable or
   * the hub runs no federation. A failed poll leaves the line as it was: the error banner is for
   * the picture itself.
   */
  private federationStatus(api: Api): void {
    const node = byId("federation-status");
    const poll = (): void => {
      api.federationStatus().then(
        (s) => {
          node.hidden = s.unavailable.length === 0;
          node.textContent =
            s.unavailable.length === 0
              ? ""
              : `Data unavailable from ${s.unavailable.join(", ")} (node unreachable)`;
        },
        () => undefined,
      );
    };
    poll();
    setInterval(poll, 5000);
  }

  /** The transparency report: a page over the map, opened from the top bar or by `#transparency`. */
  private transparencyPage(api: Api, errors: ErrorBanner): void {
    const button = byId("transparency-open");
    const root = byId("transparency-page");
    const close = (): void => {
      history.replaceState(null, "", location.pathname + location.search);
      show(false);
    };
    const page = new TransparencyPage(root, api, errors, close);
    const show = (open: boolean): void => {
      root.hidden = !open;
      button.setAttribute("aria-pressed", String(open));
      if (open) void page.reload();
      else root.dataset["state"] = "closed";
    };
    button.hidden = false;
    button.addEventListener("click", () => {
      if (root.hidden) location.hash = "transparency";
      else close();
    });
    window.addEventListener("hashchange", () => {
      show(location.hash === "#transparency");
    });
    if (location.hash === "#transparency") show(true);
  }

  private setView(view: ViewKey | null): void {
    this.view = view;
    if (view === null) sessionStorage.removeItem(VIEW_KEY);
    else sessionStorage.setItem(VIEW_KEY, JSON.stringify(view));
    this.generation++;
    this.abort.abort();
    this.abort = new AbortController();
    // A new view key shows nothing of the old one, not even while the new one loads.
    this.tracks = [];
    this.live?.stop();
    this.live = null;
    this.alerts.setView(view);
    this.events.setView(view);
    this.errors.clear("Loading tracks");
    this.errors.clear("Live updates");
    if (view === null) {
      this.state = "no-purpose";
      this.setLive("stopped", "no purpose declared");
      this.render();
      this.showDetail();
      return;
    }
    this.state = "loading";
    this.render();
    this.live = new LiveStream(this.api.token, view, {
      onOpen: (reconnected) => {
        // After a drop, events may have been missed: re-read the view.
        if (reconnected) this.requestLoad();
      },
      onView: () => {
        this.requestLoad();
        // The alert stream never says an alert is gone (a suspension drops it): read the list.
        this.alerts.refresh();
        this.events.refresh();
      },
      onState: (state, detail) => {
        this.setLive(state, detail);
      },
      onError: (e) => {
        this.errors.show("Live updates", e);
      },
    });
    this.requestLoad();
  }

  /** Loads the view, coalescing requests that arrive while a load is running into one more load. */
  private requestLoad(): void {
    if (this.loading) {
      this.dirty = true;
      return;
    }
    this.loading = true;
    void this.loadLoop().finally(() => {
      this.loading = false;
    });
  }

  private async loadLoop(): Promise<void> {
    do {
      this.dirty = false;
      const view = this.view;
      const generation = this.generation;
      if (view === null) return;
      try {
        const [query, area] = this.query();
        // A new view's first read goes without trails, so its picture comes first; trails follow.
        const fresh = this.tracks.length === 0 && this.state !== "ready";
        if (fresh) {
          query.trail = 0;
          this.dirty = true;
        }
        const tracks = await this.api.tracks(view, this.abort.signal, query);
        this.loaded = area;
        if (generation !== this.generation) {
          this.dirty = true;
          continue;
        }
        this.tracks = tracks;
        this.state = "ready";
        this.errors.clear("Loading tracks");
      } catch (e) {
        if (generation !== this.generation) {
          this.dirty = true;
          continue;
        }
        this.state = "error";
        this.tracks = [];
        this.errors.show("Loading tracks", e);
      }
      this.render();
      this.showDetail();
      // Vessel names of the alerts come from the tracks just read.
      this.alerts.render();
    } while (this.dirty);
  }

  /** What to read: the viewport with its margin and short trails, or the whole view when asked; as of T in history. */
  private query(): [TrackQuery, Bounds | null] {
    const q: TrackQuery = {};
    if (this.at !== null) q.at = this.at.toISOString();
    if (this.whole || this.bounds === null) return [{ ...q, trail: WHOLE_TRAIL }, null];
    const [w, s, e, n] = this.bounds;
    const dx = (e - w) * MARGIN;
    const dy = (n - s) * MARGIN;
    const area: Bounds = [
      Math.max(-180, w - dx),
      Math.max(-90, s - dy),
      Math.min(180, e + dx),
      Math.min(90, n + dy),
    ];
    return [{ ...q, bbox: area, trail: VIEWPORT_TRAIL }, area];
  }

  /** The map moved: read the new viewport unless the last read covers it. */
  private moved(b: Bounds): void {
    this.bounds = b;
    if (this.view === null || this.whole) return;
    const l = this.loaded;
    const inside = l !== null && b[0] >= l[0] && b[1] >= l[1] && b[2] <= l[2] && b[3] <= l[3];
    // Zoomed well in: a smaller read says more (and labels appear); zoomed out: the margin is gone.
    const muchSmaller = l !== null && (b[2] - b[0]) * 3 < l[2] - l[0];
    if (!inside || muchSmaller) this.requestLoad();
  }

  /** Searches the whole view (not just the viewport) by MMSI, IMO, name or call sign. */
  private async runSearch(query: string): Promise<void> {
    const view = this.view;
    if (query === "" || view === null) {
      this.search = null;
      this.render();
      return;
    }
    const generation = this.generation;
    try {
      const q: TrackQuery = { trail: 0 };
      if (this.at !== null) q.at = this.at.toISOString();
      const all = await this.api.tracks(view, this.abort.signal, q);
      if (generation !== this.generation) return;
      this.search = { query, tracks: all.filter((t) => matches(t, query)) };
      this.errors.clear("Search");
    } catch (e) {
      this.errors.show("Search", e);
    }
    this.render();
  }

  private render(): void {
    const listed = this.search ? this.search.tracks : this.tracks;
    const scope = this.search
      ? `matching “${this.search.query}” in the whole view`
      : this.whole || this.bounds === null
        ? "in the whole view"
        : "in and around the map";
    this.list.render(this.state, this.view, listed, this.selected, scope);
    this.picture.show(this.tracks, this.selected);
  }

  private select(id: string | null, focus = false): void {
    this.selected = id;
    this.render();
    const track =
      this.tracks.find((t) => t.id === id) ?? this.search?.tracks.find((t) => t.id === id);
    if (focus && track) this.picture.focus(track);
    if (id !== null) this.list.reveal(id);
    this.showDetail();
  }

  /** One detail read at a time: live loads re-ask often, and a slow read must still land. */
  private detailLoading = false;
  private detailAgain = false;

  /** The selected track's action slot (open a case), kept across refreshes of that track. */
  private actions: { track: string; slot: HTMLElement } | null = null;

  /** Re-reads the selected track under the current view; one the view cannot see is dropped. */
  private showDetail(): void {
    const root = byId("track-detail");
    const id = this.selected;
    const view = this.view;
    if (id === null || view === null) {
      this.detail = null;
      renderTrackDetail(root, null);
      return;
    }
    // Only a full view says a track is gone: a viewport read may just not reach it.
    if (
      this.state === "ready" &&
      (this.whole || this.bounds === null) &&
      !this.tracks.some((t) => t.id === id)
    ) {
      this.selected = null;
      this.detail = null;
      renderTrackDetail(root, null, "The selected track is not in this view.");
      return;
    }
    // Each live load asks again. Dropping the answer in flight whenever a newer ask came would
    // starve the panel on a busy hub (reads slower than loads): coalesce into one more read.
    if (this.detailLoading) {
      this.detailAgain = true;
      return;
    }
    this.detailLoading = true;
    const generation = this.generation;
    const current = (): boolean =>
      generation === this.generation && this.selected === id && this.view === view;
    void this.api
      .track(view, id)
      .then(
        (detail) => {
          if (!current()) return;
          this.errors.clear("Track");
          this.detail = detail;
          const canOpen = this.me.roles.some((r) => CASE_ROLES.includes(r));
          let actions: HTMLElement;
          // A live refresh re-renders the panel: the actions of the same track are kept as they
          // are, so a half-filled case form or its confirmation is not wiped under the user.
          if (this.actions !== null && this.actions.track === detail.id) {
            actions = this.actions.slot;
          } else {
            actions = el("div", { class: "track-actions" });
            this.actions = { track: detail.id, slot: actions };
            // Any user may keep watchlists of its own (the hub's rule: a user's own rules).
            actions.append(watchButton(detail, this.rules));
            if (canOpen) {
              const slot = el("div", { class: "case-slot" });
              const button = el(
                "button",
                {
                  type: "button",
                  "data-testid": "open-case",
                  onclick: () => {
                    replace(
                      slot,
                      openCaseForm(detail, this.me, this.api, (caseId) => {
                        replace(
                          slot,
                          el("p", { "data-testid": "case-opened" }, `Case ${caseId} opened.`),
                        );
                        (byId("cases-section") as HTMLDetailsElement).open = true;
                        this.cases?.show(caseId);
                      }),
                    );
                  },
                },
                "Open a case on this track",
              );
              slot.append(button);
              actions.append(slot);
            }
          }
          renderTrackDetail(root, detail, "", actions);
        },
        (e: unknown) => {
          if (!current()) return;
          this.detail = null;
          this.errors.show("Track", e);
          renderTrackDetail(root, null, "The selected track could not be read in this view.");
        },
      )
      .finally(() => {
        this.detailLoading = false;
        if (this.detailAgain || !current()) {
          this.detailAgain = false;
          this.showDetail();
        }
      });
  }

  private setLive(state: LiveState, detail: string): void {
    const node = byId("live-status");
    node.dataset["state"] = state;
    node.title = detail;
    node.textContent =
      state === "open"
        ? "● live"
        : state === "connecting"
          ? "○ connecting"
          : state === "reconnecting"
            ? "○ reconnecting"
            : "○ not live";
  }
}

/** What the map's symbols mean: shapes by how a contact was observed, fills by vessel type. */
function symbolLegend(root: HTMLElement): void {
  const classes: ContactClass[] = ["ais", "dark", "radar", "patrol", "tip"];
  replace(
    root,
    ...classes.map((c) =>
      el(
        "span",
        { class: "legend-item", "data-testid": "legend-class", "data-class": c },
        legendIcon(c, "unknown"),
        CLASS_LABEL[c],
      ),
    ),
    el("br"),
    ...(Object.keys(GROUP_COLOUR) as TypeGroup[]).map((g) =>
      el(
        "span",
        { class: "legend-item" },
        el("span", { class: "swatch", style: `background:${GROUP_COLOUR[g]}` }),
        GROUP_LABEL[g],
      ),
    ),
  );
}

function restoreView(me: Me): ViewKey | null {
  try {
    const raw = sessionStorage.getItem(VIEW_KEY);
    if (raw === null) return null;
    const v = JSON.parse(raw) as Partial<ViewKey>;
    if (typeof v.purpose !== "string" || !me.purposes.some((p) => p === v.purpose)) return null;
    return { purpose: v.purpose, caseId: typeof v.caseId === "string" ? v.caseId : null };
  } catch {
    return null;
  }
}

function start(): void {
  const errors = new ErrorBanner(byId("errors"));
  const begin = (s: Session): void => {
    sessionStorage.setItem(TOKEN_KEY, s.api.token);
    document.body.dataset["signedIn"] = "true";
    new App(s.api, s.me, errors);
  };
  const saved = sessionStorage.getItem(TOKEN_KEY);
  const login = byId("login");
  if (saved === null) {
    signIn(login, begin);
    return;
  }
  // A token kept from earlier in this tab: reuse it if the hub still accepts it.
  const api = new Api(saved);
  api
    .me()
    .then((me) => {
      begin({ api, me });
    })
    .catch(() => {
      sessionStorage.removeItem(TOKEN_KEY);
      signIn(login, begin);
    });
}

start();
