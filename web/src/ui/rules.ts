// Watch rules in the page: the rules the user may see, with delete where the hub lets them change it;
// a form to draw an area on the map and choose what alerts in it (entry, exit, a speed range); and
// the track panel's "watch this vessel" (a watchlist rule). The hub validates every rule
// (docs/events.md); its refusal names the field, which is marked on the form.
import { ApiError, type Api } from "../api/client";
import type { EventKind, Me, RuleArea, RuleSpec, TrackDetail, WatchRule } from "../api/types";
import { closeRing, type LonLat } from "../map/area";
import type { AreaOutline } from "../map/picture";
import { KIND_LABEL } from "../map/event-symbols";
import { el, replace } from "./element";
import { clearFormError, describe, type ErrorBanner } from "./errors";

/** What the rule panel needs of the map. */
export interface AreaTool {
  draw: (
    onChange: (clicks: readonly LonLat[]) => void,
    onFinish: (clicks: readonly LonLat[]) => void,
    onCancel: () => void,
  ) => void;
  finish: () => void;
  cancel: () => void;
}

/** The kinds an area rule offers (the other kinds alert through a watchlist or anywhere). */
const AREA_KINDS: EventKind[] = ["area-entry", "area-exit", "speed-in-area"];

/** The fields an error message names: `field \`area.coordinates[0][3]\``, `field \`speed.min_kn\``. */
export function ruleFieldsNamed(message: string): string[] {
  return [...message.matchAll(/field `([^`]+)`/g)].map((m) => m[1] ?? "").filter(Boolean);
}

/** Whether a form input for `field` is the one a named field points into (`area` for `area.coordinates[0][3]`). */
export function namesField(named: string, field: string): boolean {
  return named === field || named.startsWith(`${field}.`) || named.startsWith(`${field}[`);
}

/** Who may change a rule: its owner, or for a partner's rule that partner's admins (hub's `may_change`). */
export function mayChange(me: Pick<Me, "user" | "roles">, rule: WatchRule): boolean {
  return rule.owner_user === null
    ? me.roles.includes("partner-admin")
    : rule.owner_user === me.user;
}

/** A rule's area as polygons of rings. */
export function polygonsOf(area: RuleArea | null | undefined): LonLat[][][] {
  if (!area) return [];
  const ring = (r: number[][]): LonLat[] => r.map((p) => [p[0] ?? 0, p[1] ?? 0]);
  return area.type === "Polygon"
    ? [area.coordinates.map(ring)]
    : area.coordinates.map((poly) => poly.map(ring));
}

function showFormError(form: HTMLElement, box: HTMLElement, error: unknown): void {
  box.hidden = false;
  box.dataset["code"] = error instanceof ApiError ? error.code : "client";
  box.textContent = describe(error);
  const named = ruleFieldsNamed(box.textContent);
  for (const input of form.querySelectorAll<HTMLElement>("[data-field]")) {
    const field = input.dataset["field"] ?? "";
    if (named.some((n) => namesField(n, field))) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

export class RulePanel {
  private rules: WatchRule[] = [];
  private readonly list: HTMLElement;
  private absent = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly me: Me,
    private readonly errors: ErrorBanner,
    private readonly tool: AreaTool,
    /** The rules changed: their areas go on the map and alerts are read again. */
    private readonly changed: (areas: AreaOutline[]) => void,
  ) {
    this.list = el("ul", { class: "rule-list", "data-testid": "rule-list" });
    replace(root, this.form(), el("h4", {}, "Your watch rules"), this.list);
    void this.reload();
  }

  async reload(): Promise<void> {
    try {
      this.rules = (await this.api.rules()).rules;
      this.errors.clear("Watch rules");
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        this.absent = true;
        replace(this.root, el("p", { class: "muted" }, "This hub serves no watch rules."));
        return;
      }
      this.errors.show("Watch rules", e);
    }
    this.renderList();
    this.changed(
      this.rules
        .filter((r) => r.area !== null)
        .map((r) => ({ id: r.id, name: r.name, polygons: polygonsOf(r.area) })),
    );
  }

  /** Creates a rule (the form's, or the track panel's watchlist); the caller shows errors. */
  async create(spec: RuleSpec): Promise<WatchRule> {
    const rule = await this.api.createRule(spec);
    await this.reload();
    return rule;
  }

  private renderList(): void {
    if (this.absent) return;
    this.root.dataset["rules"] = String(this.rules.length);
    replace(
      this.list,
      ...(this.rules.length === 0
        ? [el("li", { class: "muted" }, "No rules yet.")]
        : this.rules.map((r) => this.row(r))),
    );
  }

  private row(r: WatchRule): HTMLElement {
    const what: string[] = [];
    const corners = polygonsOf(r.area).reduce(
      (n, p) => n + Math.max(0, (p[0]?.length ?? 1) - 1),
      0,
    );
    if (r.area) what.push(`area of ${corners} corners`);
    const w = r.watchlist;
    if (w) {
      const listed = [
        ...(w.mmsis ?? []).map((m) => `MMSI ${m}`),
        ...(w.imos ?? []).map((i) => `IMO ${i}`),
        ...(w.names ?? []),
        ...(w.tracks ?? []),
      ];
      what.push(`watching ${listed.join(", ")}`);
    }
    what.push(r.kinds.length === 0 ? "every kind" : r.kinds.map((k) => KIND_LABEL[k]).join(", "));
    if (r.speed)
      what.push(`${r.speed.min_kn}-${r.speed.max_kn} kn for ${r.speed.min_duration_s} s`);
    const error = el("div", {
      class: "form-error",
      "data-testid": "rule-delete-error",
      hidden: true,
    });
    return el(
      "li",
      {
        "data-testid": "rule-item",
        "data-rule-id": r.id,
        "data-name": r.name,
        "data-watchlist": w ? "true" : "false",
      },
      el("strong", {}, r.name),
      r.owner_user === null ? el("span", { class: "muted" }, ` (${r.partner}'s)`) : null,
      el("div", { class: "muted" }, what.join(" · ")),
      mayChange(this.me, r)
        ? el(
            "button",
            {
              type: "button",
              "data-testid": "rule-delete",
              onclick: () => {
                this.api.deleteRule(r).then(
                  () => this.reload(),
                  (e: unknown) => {
                    error.hidden = false;
                    error.textContent = describe(e);
                  },
                );
              },
            },
            "Delete",
          )
        : null,
      error,
    );
  }

  private form(): HTMLElement {
    let ring: LonLat[] | null = null;
    const name = el("input", {
      "data-field": "name",
      "data-testid": "rule-name",
      placeholder: "Mona Passage",
      maxlength: "100",
    });
    const areaState = el(
      "span",
      { "data-field": "area", "data-testid": "rule-area", "data-corners": "0", class: "muted" },
      "no area drawn",
    );
    const drawButton = el("button", { type: "button", "data-testid": "rule-draw" }, "Draw area");
    const finishButton = el(
      "button",
      { type: "button", "data-testid": "rule-draw-finish", hidden: true },
      "Finish area",
    );
    const kinds = AREA_KINDS.map((k) =>
      el("input", {
        type: "checkbox",
        "data-testid": "rule-kind",
        "data-kind": k,
        "data-field": "kinds",
        value: k,
        checked: k === "area-entry",
      }),
    );
    const num = (field: string, value: string, title: string): HTMLInputElement =>
      el("input", {
        "data-field": field,
        "data-testid": `rule-${field}`,
        inputmode: "decimal",
        size: "4",
        value,
        title,
      });
    const minKn = num("speed.min_kn", "25", "slowest speed, knots");
    const maxKn = num("speed.max_kn", "60", "fastest speed, knots");
    const minS = num("speed.min_duration_s", "300", "for at least, seconds");
    const error = el("div", { class: "form-error", "data-testid": "rule-error", hidden: true });
    const done = el("p", { "data-testid": "rule-created", hidden: true });
    const setArea = (clicks: readonly LonLat[], closing: boolean): void => {
      const closed = closeRing(clicks);
      ring = "ring" in closed ? closed.ring : null;
      areaState.dataset["corners"] = String(
        "ring" in closed ? closed.ring.length - 1 : clicks.length,
      );
      areaState.textContent =
        "ring" in closed
          ? `${closed.ring.length - 1} corners${closing ? "" : " (double-click or Finish to close)"}`
          : closing
            ? closed.error
            : `${clicks.length} corner${clicks.length === 1 ? "" : "s"}: click on the map, Escape cancels`;
    };
    const drawing = (on: boolean): void => {
      drawButton.hidden = on;
      finishButton.hidden = !on;
      form.dataset["drawing"] = String(on);
    };
    drawButton.addEventListener("click", () => {
      ring = null;
      setArea([], false);
      drawing(true);
      this.tool.draw(
        (clicks) => {
          setArea(clicks, false);
        },
        (clicks) => {
          drawing(false);
          setArea(clicks, true);
        },
        () => {
          drawing(false);
          ring = null;
          areaState.dataset["corners"] = "0";
          areaState.textContent = "no area drawn (cancelled)";
        },
      );
    });
    finishButton.addEventListener("click", () => {
      this.tool.finish();
    });
    const form: HTMLFormElement = el(
      "form",
      {
        class: "rule-form",
        "data-testid": "rule-form",
        onsubmit: (e: Event) => {
          e.preventDefault();
          clearFormError(form, error);
          done.hidden = true;
          const chosen = kinds.filter((k) => k.checked).map((k) => k.value as EventKind);
          // Numbers as typed: an unreadable one goes as NaN → null, and the hub names the field.
          const n = (i: HTMLInputElement): number => Number(i.value.trim() === "" ? NaN : i.value);
          const spec: RuleSpec = {
            name: name.value.trim(),
            area: ring === null ? null : { type: "Polygon", coordinates: [ring] },
            kinds: chosen,
            ...(chosen.includes("speed-in-area")
              ? { speed: { min_kn: n(minKn), max_kn: n(maxKn), min_duration_s: n(minS) } }
              : {}),
          };
          submit.disabled = true;
          this.create(spec)
            .then(
              (rule) => {
                done.hidden = false;
                done.dataset["rule"] = rule.id;
                done.textContent = `Rule “${rule.name}” created.`;
                ring = null;
                areaState.dataset["corners"] = "0";
                areaState.textContent = "no area drawn";
              },
              (e: unknown) => {
                showFormError(form, error, e);
              },
            )
            .finally(() => {
              submit.disabled = false;
            });
        },
      },
      el("label", {}, "name ", name),
      el("div", {}, "area ", drawButton, finishButton, " ", areaState),
      el(
        "div",
        {},
        ...AREA_KINDS.flatMap((k, i) => [
          el("label", { class: "inline" }, kinds[i], ` ${KIND_LABEL[k]}`),
          " ",
        ]),
      ),
      el(
        "div",
        { class: "muted" },
        "speed in area: ",
        minKn,
        " to ",
        maxKn,
        " kn for ",
        minS,
        " s",
      ),
      error,
      el("button", { type: "submit", "data-testid": "rule-submit" }, "Create rule"),
      done,
    );
    const submit =
      form.querySelector<HTMLButtonElement>('[data-testid="rule-submit"]') ?? el("button");
    drawing(false);
    return form;
  }
}

/**
 * The track panel's "watch this vessel": a watchlist rule on its MMSI (which outlives the view's
 * track ids), or on the track id when it has none; it alerts on every kind of event about it.
 */
export function watchButton(detail: TrackDetail, rules: RulePanel): HTMLElement {
  const slot = el("div", { class: "watch-slot", "data-testid": "watch-slot" });
  const mmsi = detail.identity.mmsi;
  const label = detail.identity.name ?? (mmsi ? `MMSI ${mmsi}` : detail.id);
  const error = el("div", { class: "form-error", "data-testid": "watch-error", hidden: true });
  const button = el(
    "button",
    {
      type: "button",
      "data-testid": "watch-track",
      "data-field": "watchlist",
      onclick: () => {
        error.hidden = true;
        const spec: RuleSpec = {
          name: `Watch ${label}`.slice(0, 100),
          watchlist:
            mmsi && /^\d{9}$/.test(mmsi) ? { mmsis: [Number(mmsi)] } : { tracks: [detail.id] },
          kinds: [],
        };
        button.disabled = true;
        rules.create(spec).then(
          (rule) => {
            replace(
              slot,
              el(
                "p",
                { "data-testid": "watch-added", "data-rule": rule.id },
                `${label} is on the watchlist “${rule.name}”.`,
              ),
            );
          },
          (e: unknown) => {
            button.disabled = false;
            showFormError(slot, error, e);
          },
        );
      },
    },
    `Watch ${mmsi ? `MMSI ${mmsi}` : "this track"}`,
  );
  slot.append(button, error);
  return slot;
}
