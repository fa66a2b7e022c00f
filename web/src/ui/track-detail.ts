// The side panel of one track: identity, lineage grouped by contributing partner, and the combined
// marking the track carries.
import type { LineageEntry, TrackDetail, TrackMarking } from "../api/types";
import { CLASS_LABEL, contactClass } from "../map/symbols";
import { partnerColour } from "../partners";
import { el, replace, utc } from "./element";

export function renderTrackDetail(
  root: HTMLElement,
  track: TrackDetail | null,
  note = "",
  actions: HTMLElement | null = null,
): void {
  root.dataset["trackId"] = track?.id ?? "";
  if (track === null) {
    replace(root, el("p", { class: "muted" }, note || "Select a track on the map or in the list."));
    return;
  }
  const identity = Object.entries(track.identity).filter(([, v]) => v !== null && v !== "");
  replace(
    root,
    el("h3", {}, track.identity.name ?? track.id),
    el(
      "dl",
      { class: "facts", "data-testid": "track-identity" },
      ...fact("track", track.id),
      ...fact("status", track.status),
      ...fact("contact", `${CLASS_LABEL[contactClass(track)]} (${track.sources.join(", ")})`),
      ...fact(
        "uncertainty",
        track.uncertainty
          ? `95 %: ${(track.uncertainty.semi_major_m / 1852).toFixed(2)} × ${(track.uncertainty.semi_minor_m / 1852).toFixed(2)} NM, axis ${track.uncertainty.orientation_deg.toFixed(0)}°T`
          : undefined,
      ),
      ...identity.flatMap(([k, v]) => fact(k.replace(/_/g, " "), scalar(v))),
      ...fact("position", `${track.position.lat.toFixed(4)}, ${track.position.lon.toFixed(4)}`),
      ...fact("motion", `${track.speed_kn.toFixed(1)} kn, ${track.course_deg?.toFixed(0) ?? "?"}°`),
      ...fact("updated", utc(track.updated_at)),
      ...fact("reports", track.report_count),
    ),
    actions,
    el("h4", {}, "Lineage by partner"),
    lineage(track.lineage),
    el("h4", {}, "Marking"),
    marking(track.marking),
  );
}

function fact(term: string, value: string | number | null | undefined): HTMLElement[] {
  if (value === null || value === undefined || value === "") return [];
  return [el("dt", {}, term), el("dd", {}, String(value))];
}

function scalar(v: unknown): string {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

function lineage(entries: readonly LineageEntry[]): HTMLElement {
  const byPartner = new Map<string, LineageEntry[]>();
  for (const e of entries) {
    const list = byPartner.get(e.originator) ?? [];
    list.push(e);
    byPartner.set(e.originator, list);
  }
  return el(
    "div",
    { class: "lineage", "data-testid": "track-lineage" },
    ...[...byPartner.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([partner, list]) => {
        const sorted = [...list].sort((a, b) => b.observed_at.localeCompare(a.observed_at));
        const sources = [...new Set(list.map((e) => e.source))].join(", ");
        return el(
          "details",
          { class: "lineage-partner", "data-testid": "lineage-partner", "data-partner": partner },
          el(
            "summary",
            {},
            el("span", { class: "swatch", style: `background:${partnerColour(partner)}` }),
            el("strong", {}, partner),
            ` ${list.length} report${list.length === 1 ? "" : "s"} · ${sources}`,
          ),
          el(
            "table",
            {},
            el("tr", {}, el("th", {}, "observed"), el("th", {}, "source"), el("th", {}, "report")),
            ...sorted.map((e) =>
              el(
                "tr",
                {},
                el("td", {}, utc(e.observed_at)),
                el("td", {}, e.source),
                el("td", { class: "mono", title: e.report_id }, e.report_id.slice(0, 13)),
              ),
            ),
          ),
        );
      }),
  );
}

/** A combined marking as the track panel shows it (alerts and events carry one too). */
export function marking(m: TrackMarking | null, testid = "track-marking"): HTMLElement {
  if (m === null) return el("p", { class: "muted" }, "No marking returned.");
  const list = (v: readonly string[] | null | undefined): string =>
    v == null ? "any" : v.length === 0 ? "none" : v.join(", ");
  const known = new Set(["releasable_to", "purposes", "no_export", "not_after", "requires_case"]);
  const extra = Object.entries(m).filter(
    ([k, v]) => !known.has(k) && (v as unknown) !== null && (v as unknown) !== undefined,
  );
  return el(
    "dl",
    { class: "facts", "data-testid": testid },
    ...fact("releasable to", list(m.releasable_to)),
    ...fact("purposes", list(m.purposes)),
    ...fact("export", m.no_export ? "no export" : "may be exported"),
    ...fact("not after", m.not_after ? utc(m.not_after) : undefined),
    ...fact("requires case", m.requires_case ? "yes" : undefined),
    ...extra.flatMap(([k, v]) => fact(k.replace(/_/g, " "), scalar(v))),
  );
}
