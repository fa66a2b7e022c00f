// An originator's usage panel: who used its data, for which purpose and case. The report's shape is
// the server's to evolve, so it is rendered generically: objects as term lists, arrays of objects
// as tables, with counts and long proof strings kept readable.
import type { Api } from "../api/client";
import type { ErrorBanner } from "./errors";
import { el, replace } from "./element";

const CONTEXT = "Usage report";

export class UsagePanel {
  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly errors: ErrorBanner,
  ) {
    replace(root, el("p", { class: "muted" }, "Loading…"));
    void this.reload();
  }

  async reload(): Promise<void> {
    const refresh = el(
      "button",
      { type: "button", "data-testid": "usage-refresh", onclick: () => void this.reload() },
      "Refresh",
    );
    try {
      const usage = await this.api.usage();
      this.errors.clear(CONTEXT);
      replace(this.root, refresh, el("div", { "data-testid": "usage-report" }, render(usage, 0)));
    } catch (e) {
      this.errors.show(CONTEXT, e);
      replace(this.root, refresh);
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function label(key: string): string {
  return key.replace(/_/g, " ");
}

function scalar(v: unknown): HTMLElement {
  if (v === null || v === undefined) return el("span", { class: "muted" }, "—");
  if (typeof v === "string" && v.length > 48) {
    return el("span", { class: "mono", title: v }, `${v.slice(0, 20)}…${v.slice(-8)}`);
  }
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
    return el("span", { class: typeof v === "number" ? "num" : "" }, String(v));
  }
  return el("span", { class: "mono" }, JSON.stringify(v));
}

function render(v: unknown, depth: number): HTMLElement {
  if (depth > 6) return scalar(JSON.stringify(v));
  if (Array.isArray(v)) {
    if (v.length === 0) return el("span", { class: "muted" }, "none");
    if (v.every(isRecord)) return table(v, depth);
    return el("ul", {}, ...v.map((x) => el("li", {}, render(x, depth + 1))));
  }
  if (isRecord(v)) {
    const entries = Object.entries(v);
    // A map of counts ({"CAN": 12, "NLD": 3}) reads best as a small two-column table.
    if (entries.length > 0 && entries.every(([, x]) => typeof x === "number")) {
      return el(
        "table",
        { class: "counts" },
        ...entries.map(([k, x]) => el("tr", {}, el("th", {}, label(k)), el("td", {}, scalar(x)))),
      );
    }
    return el(
      "dl",
      { class: "facts" },
      ...entries.flatMap(([k, x]) => [el("dt", {}, label(k)), el("dd", {}, render(x, depth + 1))]),
    );
  }
  return scalar(v);
}

function table(rows: readonly Record<string, unknown>[], depth: number): HTMLElement {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return el(
    "table",
    { class: "usage-table" },
    el("tr", {}, ...keys.map((k) => el("th", {}, label(k)))),
    ...rows.map((r) =>
      el(
        "tr",
        {},
        ...keys.map((k) => {
          const x = r[k];
          return el(
            "td",
            {},
            typeof x === "object" && x !== null ? render(x, depth + 1) : scalar(x),
          );
        }),
      ),
    ),
  );
}
