// The view's tracks as a list beside the map. Map features cannot carry test ids, so this list is
// also how tests count tracks and see which partners contributed (data-originators).
import type { ViewKey } from "../api/client";
import type { Track } from "../api/types";
import { partnerColour, partnerSwatch } from "../partners";
import { el, replace } from "./element";

export type ListState = "no-purpose" | "loading" | "ready" | "error";

export class TrackList {
  constructor(
    private readonly root: HTMLElement,
    private readonly onSelect: (id: string) => void,
  ) {}

  render(
    state: ListState,
    view: ViewKey | null,
    tracks: readonly Track[],
    selected: string | null,
  ): void {
    this.root.dataset["state"] = state;
    this.root.dataset["purpose"] = view?.purpose ?? "";
    this.root.dataset["count"] = String(tracks.length);
    const partners = [...new Set(tracks.flatMap((t) => t.originators))].sort();
    const summary =
      state === "no-purpose"
        ? "Declare a purpose to see the view. No purpose, no data."
        : state === "error"
          ? "The view could not be read: see the message above."
          : state === "loading" && tracks.length === 0
            ? "Evaluating the view…"
            : `${tracks.length} track${tracks.length === 1 ? "" : "s"} for ${view?.purpose ?? ""}${
                view?.caseId ? ` (case ${view.caseId})` : ""
              }`;
    const sorted = [...tracks].sort(
      (a, b) => b.updated_at.localeCompare(a.updated_at) || a.id.localeCompare(b.id),
    );
    replace(
      this.root,
      el("p", { class: "summary", "data-testid": "track-summary" }, summary),
      partners.length > 0 &&
        el(
          "div",
          { class: "legend", "data-testid": "legend" },
          ...partners.map((p) =>
            el(
              "span",
              { class: "legend-item" },
              el("span", { class: "swatch", style: `background:${partnerColour(p)}` }),
              p,
            ),
          ),
        ),
      el(
        "ul",
        { class: "tracks", "data-testid": "track-list" },
        ...sorted.map((t) => this.item(t, t.id === selected)),
      ),
    );
  }

  private item(t: Track, selected: boolean): HTMLElement {
    const name = t.identity.name ?? (t.identity.mmsi ? `MMSI ${t.identity.mmsi}` : "unidentified");
    const motion = `${t.speed_kn.toFixed(1)} kn${t.course_deg != null ? ` @ ${t.course_deg.toFixed(0)}°` : ""}`;
    return el(
      "li",
      {
        class: selected ? "track selected" : "track",
        "data-testid": "track-item",
        "data-track-id": t.id,
        "data-originators": t.originators.join(","),
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
      el("span", { class: "name" }, name),
      el("span", { class: "partners" }, t.originators.join(" + ")),
      el("span", { class: "muted motion" }, motion),
    );
  }
}
