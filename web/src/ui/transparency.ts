// An originator's transparency report (issue 9, part 5): who accessed its data for which purpose,
// the attempts the policy denied, the interdiction cases its data supported with their outcomes, and
// the signed checkpoint that proves every line, downloadable for `caveat audit verify`.
import { apiUrl, type Api } from "../api/client";
import type { CaseOutcome, Transparency, TransparencyCase, UsageLine } from "../api/types";
import { partnerColour } from "../partners";
import type { ErrorBanner } from "./errors";
import { el, replace, utc } from "./element";

const CONTEXT = "Transparency report";

export class TransparencyPage {
  private request = 0;
  private blobUrl: string | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly errors: ErrorBanner,
    private readonly onClose: () => void,
  ) {}

  /** Reads the report afresh and renders it; a response overtaken by a newer request is dropped. */
  async reload(): Promise<void> {
    const request = ++this.request;
    this.root.dataset["state"] = "loading";
    if (this.root.childElementCount === 0) {
      replace(this.root, this.header(null), el("p", { class: "muted" }, "Loading…"));
    }
    try {
      const report = await this.api.transparency();
      if (request !== this.request) return;
      this.errors.clear(CONTEXT);
      this.render(report);
      this.root.dataset["state"] = "ready";
    } catch (e) {
      if (request !== this.request) return;
      this.errors.show(CONTEXT, e);
      replace(this.root, this.header(null), el("p", { class: "muted" }, "No report."));
      this.root.dataset["state"] = "error";
    }
  }

  private header(report: Transparency | null): HTMLElement {
    return el(
      "div",
      { class: "page-head" },
      el(
        "h2",
        {},
        "Transparency report",
        report
          ? el(
              "span",
              { class: "originator" },
              el("span", {
                class: "swatch",
                style: `background:${partnerColour(report.originator)}`,
              }),
              report.originator,
            )
          : null,
      ),
      el(
        "button",
        {
          type: "button",
          "data-testid": "transparency-refresh",
          onclick: () => void this.reload(),
        },
        "Refresh",
      ),
      el(
        "button",
        {
          type: "button",
          "data-testid": "transparency-close",
          onclick: () => {
            this.onClose();
          },
        },
        "Back to the map",
      ),
    );
  }

  private render(report: Transparency): void {
    const size = checkpointSize(report.proof.checkpoint);
    replace(
      this.root,
      this.header(report),
      el(
        "p",
        { class: "muted" },
        `Every use of ${report.originator}'s data recorded in the hub's audit log, by partner, ` +
          "purpose and case. Each line is proved by an entry of the bundle below against the " +
          "signed checkpoint.",
      ),
      el("h3", {}, "Accesses to our data"),
      accessTable(report.accesses),
      el("h3", {}, "Denied attempts"),
      deniedList(report.denied),
      el("h3", {}, "Cases our data supported"),
      caseTable(report.cases),
      el("h3", {}, "Proof"),
      this.proof(report, size),
    );
  }

  private proof(report: Transparency, size: number | null): HTMLElement {
    if (this.blobUrl !== null) URL.revokeObjectURL(this.blobUrl);
    const blob = new Blob([`${JSON.stringify(report.proof, null, 2)}\n`], {
      type: "application/json",
    });
    this.blobUrl = URL.createObjectURL(blob);
    const file = `caveat-transparency-${report.originator}-${size ?? "proof"}.json`;
    const n = report.proof.entries.length;
    return el(
      "div",
      { class: "proof" },
      el(
        "p",
        { "data-testid": "transparency-proof-count", "data-count": n },
        `${n} audit ${n === 1 ? "entry" : "entries"} proved against the checkpoint`,
        size === null ? "" : ` of a log of ${size} entries`,
        ".",
      ),
      el(
        "pre",
        { class: "checkpoint mono", "data-testid": "transparency-checkpoint" },
        report.proof.checkpoint,
      ),
      el(
        "p",
        {},
        el(
          "a",
          {
            href: this.blobUrl,
            download: file,
            class: "button",
            "data-testid": "transparency-download",
          },
          "Download proof bundle",
        ),
        " ",
        el(
          "a",
          { href: apiUrl("/v1/audit/key"), target: "_blank", rel: "noopener" },
          "the hub's public key",
        ),
      ),
      el(
        "p",
        { class: "muted" },
        "Check it offline: ",
        el("code", { class: "mono" }, `caveat audit verify --key <key file> ${file}`),
      ),
    );
  }
}

/** The tree size of a signed checkpoint note (its second line), if it has one. */
export function checkpointSize(note: string): number | null {
  const line = note.split("\n")[1];
  if (line === undefined || !/^\d+$/.test(line.trim())) return null;
  return Number(line.trim());
}

function partnerCell(p: string): HTMLElement {
  return el(
    "td",
    { class: "partner" },
    el("span", { class: "swatch", style: `background:${partnerColour(p)}` }),
    p,
  );
}

function num(n: number, warn = false): HTMLElement {
  return el("td", { class: warn && n > 0 ? "num warn" : "num" }, String(n));
}

function caseLabel(id: string | null | undefined): HTMLElement {
  if (!id) return el("span", { class: "muted" }, "—");
  return el("span", { class: "mono", title: id }, id.slice(0, 8));
}

function byPartner(a: UsageLine, b: UsageLine): number {
  return (
    a.partner.localeCompare(b.partner) ||
    (a.purpose ?? "").localeCompare(b.purpose ?? "") ||
    (a.case ?? "").localeCompare(b.case ?? "")
  );
}

function accessTable(lines: readonly UsageLine[]): HTMLElement {
  if (lines.length === 0) {
    return el("p", { class: "muted", "data-testid": "transparency-no-access" }, "No accesses yet.");
  }
  return el(
    "table",
    { class: "transparency-table", "data-testid": "transparency-accesses" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", {}, "Partner"),
        el("th", {}, "Purpose"),
        el("th", {}, "Case"),
        el("th", { class: "num", title: "requests the policy permitted" }, "Permits"),
        el("th", { class: "num", title: "requests the policy denied" }, "Denies"),
        el("th", { class: "num" }, "Reports permitted"),
        el("th", { class: "num" }, "Reports denied"),
        el("th", { class: "num", title: "case steps that cited our reports" }, "Case steps"),
      ),
    ),
    el(
      "tbody",
      {},
      ...[...lines].sort(byPartner).map((l) =>
        el(
          "tr",
          {
            "data-testid": "transparency-access-row",
            "data-partner": l.partner,
            "data-purpose": l.purpose ?? "",
            "data-case": l.case ?? "",
            class: l.denies > 0 ? "denied" : null,
          },
          partnerCell(l.partner),
          el("td", {}, l.purpose ?? el("span", { class: "muted" }, "—")),
          el("td", {}, caseLabel(l.case)),
          num(l.permits),
          num(l.denies, true),
          num(l.reports_permitted),
          num(l.reports_denied, true),
          num(l.case_steps),
        ),
      ),
    ),
  );
}

function deniedList(lines: readonly UsageLine[]): HTMLElement {
  if (lines.length === 0) {
    return el("p", { class: "muted" }, "No attempt to use our data was denied.");
  }
  return el(
    "ul",
    { class: "denied-list", "data-testid": "transparency-denied" },
    ...[...lines].sort(byPartner).map((l) =>
      el(
        "li",
        {
          "data-testid": "transparency-denied-row",
          "data-partner": l.partner,
          "data-purpose": l.purpose ?? "",
        },
        el("span", { class: "swatch", style: `background:${partnerColour(l.partner)}` }),
        el("strong", {}, l.partner),
        l.purpose ? ` for ${l.purpose}` : " with no purpose",
        l.case ? " in case " : "",
        l.case ? caseLabel(l.case) : null,
        `: ${l.denies} ${l.denies === 1 ? "request" : "requests"} denied, `,
        `${l.reports_denied} ${l.reports_denied === 1 ? "report" : "reports"} withheld`,
      ),
    ),
  );
}

function caseTable(cases: readonly TransparencyCase[]): HTMLElement {
  if (cases.length === 0) {
    return el("p", { class: "muted" }, "No case has cited our data.");
  }
  return el(
    "table",
    { class: "transparency-table", "data-testid": "transparency-cases" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", {}, "Case"),
        el("th", {}, "Lead"),
        el("th", {}, "Status"),
        el("th", {}, "Steps"),
        el("th", {}, "Outcomes"),
      ),
    ),
    el(
      "tbody",
      {},
      ...cases.map((c) =>
        el(
          "tr",
          {
            "data-testid": "transparency-case-row",
            "data-case": c.case,
            "data-status": c.status,
            "data-outcomes": c.outcomes.map((o) => o.step).join(","),
          },
          el("td", {}, caseLabel(c.case)),
          partnerCell(c.lead),
          el("td", {}, el("span", { class: `status status-${c.status}` }, c.status)),
          el("td", { class: "steps" }, c.steps.join(" → ")),
          el(
            "td",
            {},
            c.outcomes.length === 0
              ? el("span", { class: "muted" }, "none yet")
              : el("ul", { class: "outcomes" }, ...c.outcomes.map(outcomeItem)),
          ),
        ),
      ),
    ),
  );
}

function outcomeItem(o: CaseOutcome): HTMLElement {
  return el(
    "li",
    { "data-testid": "transparency-outcome", "data-step": o.step },
    describeOutcome(o),
    el("span", { class: "muted" }, ` · ${utc(o.at)}`),
  );
}

function str(d: Record<string, unknown>, key: string): string {
  const v = d[key];
  return typeof v === "string" || typeof v === "number" ? String(v) : "?";
}

/** One outcome in words: "Seized 850.5 kg of cocaine (34 packages)". */
export function describeOutcome(o: CaseOutcome): string {
  const d = o.detail as Record<string, unknown>;
  switch (o.step) {
    case "seize":
      return `Seized ${str(d, "quantity_kg")} kg of ${str(d, "substance")} (${str(d, "packages")} packages)`;
    case "detain": {
      const nat = Array.isArray(d["nationalities"])
        ? d["nationalities"].map(String).join(", ")
        : "";
      const persons = str(d, "persons");
      return (
        `Detained ${persons} ${persons === "1" ? "person" : "persons"}` +
        (nat ? ` (${nat})` : "") +
        `; rights told ${utc(str(d, "rights_told_at"))}`
      );
    }
    case "hand-over": {
      const handed = utc(str(d, "handed_at"));
      return (
        `Handed over to ${str(d, "jurisdiction")}` + (handed === utc(o.at) ? "" : ` at ${handed}`)
      );
    }
    case "release":
      return `Released: ${str(d, "reason")}`;
    case "close":
      return `Closed: ${str(d, "outcome")}`;
    default:
      return `${o.step}: ${JSON.stringify(o.detail)}`;
  }
}
