// The common operating picture: signs a user in, holds the declared view key, keeps the view's
// tracks current from the live stream, and wires the panels together.
import "./style.css";
import { Api, type ViewKey } from "./api/client";
import { LiveStream, type LiveState } from "./api/live";
import type { Me, Track } from "./api/types";
import { Picture } from "./map/picture";
import { partnerColour } from "./partners";
import { el, byId, replace } from "./ui/element";
import { ErrorBanner } from "./ui/errors";
import { signIn, type Session } from "./ui/login";
import { SuspensionPanel } from "./ui/suspensions";
import { renderTrackDetail } from "./ui/track-detail";
import { TrackList, type ListState } from "./ui/track-list";
import { TransparencyPage } from "./ui/transparency";
import { UsagePanel } from "./ui/usage";
import { viewBar } from "./ui/view-bar";

const TOKEN_KEY = "caveat.token";
const VIEW_KEY = "caveat.view";

class App {
  private view: ViewKey | null;
  private tracks: Track[] = [];
  private state: ListState = "no-purpose";
  private selected: string | null = null;
  private live: LiveStream | null = null;

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
    this.picture = new Picture(byId("map"), (id) => {
      this.select(id);
    });
    this.list = new TrackList(byId("track-list"), (id) => {
      this.select(id, true);
    });
    viewBar(byId("view-bar"), me, this.view, (v) => {
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
        const tracks = await this.api.tracks(view, this.abort.signal);
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
    } while (this.dirty);
  }

  private render(): void {
    this.list.render(this.state, this.view, this.tracks, this.selected);
    this.picture.show(this.tracks, this.selected);
  }

  private select(id: string | null, focus = false): void {
    this.selected = id;
    this.render();
    const track = this.tracks.find((t) => t.id === id);
    if (focus && track) this.picture.focus(track);
    this.showDetail();
  }

  private detailRequest = 0;

  /** Re-reads the selected track under the current view; one the view cannot see is dropped. */
  private showDetail(): void {
    const root = byId("track-detail");
    const id = this.selected;
    const view = this.view;
    const request = ++this.detailRequest;
    if (id === null || view === null) {
      renderTrackDetail(root, null);
      return;
    }
    if (this.state === "ready" && !this.tracks.some((t) => t.id === id)) {
      this.selected = null;
      renderTrackDetail(root, null, "The selected track is not in this view.");
      return;
    }
    this.api.track(view, id).then(
      (detail) => {
        if (request !== this.detailRequest) return;
        this.errors.clear("Track");
        renderTrackDetail(root, detail);
      },
      (e: unknown) => {
        if (request !== this.detailRequest) return;
        this.errors.show("Track", e);
        renderTrackDetail(root, null, "The selected track could not be read in this view.");
      },
    );
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
