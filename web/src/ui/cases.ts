// Interdiction cases in the page: open one from a track citing its reports, record its steps with
// the hub's validation shown beside the form, read its timeline with each step's citations (those
// whose originator no longer lets us use them shown as withheld), and declare it as the view's case.
// The hub decides everything; the page only shows what it answered, errors in the JSON envelope.
import { ApiError } from "../api/client";
import type {
  CaseDetail,
  CaseStep,
  Citation,
  LegalBasis,
  Me,
  NewStep,
  TrackDetail,
} from "../api/types";
import type { Api } from "../api/client";
import { partnerColour } from "../partners";
import { clearFormError, describe, type ErrorBanner } from "./errors";
import { el, replace, utc } from "./element";

/** Roles the hub lets open cases and record steps (crates/caveat-server/src/cases.rs). */
export const CASE_ROLES = ["watch-officer", "boarding-officer", "partner-admin"];

/** Steps a user records after the detection that opened the case, in the order of an interdiction. */
const STEP_KINDS = [
  "monitor",
  "intercept",
  "board",
  "search",
  "seize",
  "detain",
  "hand-over",
  "release",
  "close",
] as const;
type StepKind = (typeof STEP_KINDS)[number];

/** Most of a track's reports offered for citing when a case is opened: the newest. */
const CITABLE_SHOWN = 12;

/** `2026-11-20T03:14Z`: minutes are what a log records; the hub takes any RFC 3339. */
export function utcInput(d: Date): string {
  return `${d.toISOString().slice(0, 16)}Z`;
}

/** An RFC 3339 time from what was typed (`2026-11-20T03:14Z`, `2026-11-20 03:14`); the text itself when unreadable, so the hub names the field. */
function rfc3339(text: string): string {
  const t = text.trim().replace(" ", "T");
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`;
  const d = new Date(withZone);
  return Number.isNaN(d.getTime()) ? text : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The fields an error message names (`field \`x\``, `missing field \`x\``), to mark beside the form. */
export function fieldsNamed(message: string): string[] {
  return [...message.matchAll(/field `([a-z_.]+)`/g)].map((m) => m[1] ?? "").filter(Boolean);
}

/** Shows an API error inside a form, marking the inputs whose field it names. */
function showFormError(form: HTMLElement, box: HTMLElement, error: unknown): void {
  box.hidden = false;
  box.dataset["code"] = error instanceof ApiError ? error.code : "client";
  box.textContent = describe(error);
  const named = new Set(fieldsNamed(box.textContent));
  for (const input of form.querySelectorAll<HTMLElement>("[data-field]")) {
    const field = input.dataset["field"] ?? "";
    const last = field.split(".").pop() ?? field;
    const bad = named.has(field) || named.has(last);
    if (bad) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function field(
  label: string,
  name: string,
  attrs: Record<string, string> = {},
): [HTMLElement, HTMLInputElement] {
  const input = el("input", { "data-field": name, "data-testid": `field-${name}`, ...attrs });
  return [el("label", { class: "form-row" }, el("span", {}, label), input), input];
}

function num(input: HTMLInputElement): number {
  // An empty or unreadable number goes to the hub as null, which names the field in its answer.
  return input.value.trim() === "" ? Number.NaN : Number(input.value);
}

/** Where the step happened: the track's position unless the user says otherwise. */
function positionFields(at: { lat: number; lon: number } | null): {
  row: HTMLElement;
  read: () => { lat: number; lon: number };
} {
  const [latRow, lat] = field("lat", "position.lat", {
    value: at ? at.lat.toFixed(4) : "",
    size: "8",
  });
  const [lonRow, lon] = field("lon", "position.lon", {
    value: at ? at.lon.toFixed(4) : "",
    size: "8",
  });
  return {
    row: el("div", { class: "form-pair" }, latRow, lonRow),
    read: () => ({ lat: num(lat), lon: num(lon) }),
  };
}

/** The form of one kind of step's own fields, and how to read them into the action. */
function actionFields(kind: StepKind): { rows: HTMLElement[]; read: () => NewStep["action"] } {
  const now = utcInput(new Date());
  switch (kind) {
    case "board": {
      const basis = el(
        "select",
        { "data-field": "legal_basis.kind", "data-testid": "field-legal-basis" },
        el("option", { value: "flag-state-consent" }, "flag-state consent"),
        el("option", { value: "agreement" }, "agreement (e.g. shiprider)"),
        el("option", { value: "statelessness" }, "statelessness"),
      );
      const [flagRow, flag] = field("flag state", "legal_basis.flag_state", {
        size: "4",
        placeholder: "VE",
      });
      const [refRow, ref] = field("reference", "legal_basis.reference", {
        placeholder: "MSG 311/2026",
      });
      const [grantedRow, granted] = field("granted (UTC)", "legal_basis.granted_at", {
        value: now,
      });
      const [nameRow, name] = field("agreement", "legal_basis.name");
      const [groundsRow, grounds] = field("grounds", "legal_basis.grounds");
      const rows = { flagRow, refRow, grantedRow, nameRow, groundsRow };
      const sync = (): void => {
        const k = basis.value;
        rows.flagRow.hidden =
          rows.refRow.hidden =
          rows.grantedRow.hidden =
            k !== "flag-state-consent";
        rows.nameRow.hidden = k !== "agreement";
        rows.groundsRow.hidden = k !== "statelessness";
      };
      basis.addEventListener("change", sync);
      sync();
      return {
        rows: [
          el("label", { class: "form-row" }, el("span", {}, "legal basis"), basis),
          flagRow,
          refRow,
          grantedRow,
          nameRow,
          groundsRow,
        ],
        read: () => {
          let legal: LegalBasis;
          if (basis.value === "agreement") legal = { kind: "agreement", name: name.value };
          else if (basis.value === "statelessness")
            legal = { kind: "statelessness", grounds: grounds.value };
          else
            legal = {
              kind: "flag-state-consent",
              flag_state: flag.value.trim().toUpperCase(),
              reference: ref.value,
              granted_at: rfc3339(granted.value),
            };
          return { kind: "board", legal_basis: legal };
        },
      };
    }
    case "seize": {
      const [sRow, s] = field("substance", "substance", { placeholder: "cocaine" });
      const [qRow, q] = field("kg", "quantity_kg", { size: "6" });
      const [pRow, p] = field("packages", "packages", { size: "4" });
      return {
        rows: [sRow, qRow, pRow],
        read: () => ({ kind: "seize", substance: s.value, quantity_kg: num(q), packages: num(p) }),
      };
    }
    case "detain": {
      const [pRow, p] = field("persons", "persons", { size: "4" });
      const [nRow, n] = field("nationalities", "nationalities", { placeholder: "VE, CO" });
      const [rRow, r] = field("rights told (UTC)", "rights_told_at", { value: now });
      return {
        rows: [pRow, nRow, rRow],
        read: () => ({
          kind: "detain",
          persons: num(p),
          nationalities: n.value
            .split(/[\s,]+/)
            .filter(Boolean)
            .map((x) => x.toUpperCase()),
          rights_told_at: rfc3339(r.value),
        }),
      };
    }
    case "hand-over": {
      const [jRow, j] = field("jurisdiction", "jurisdiction", { placeholder: "D. Puerto Rico" });
      const [hRow, h] = field("handed (UTC)", "handed_at", { value: now });
      return {
        rows: [jRow, hRow],
        read: () => ({ kind: "hand-over", jurisdiction: j.value, handed_at: rfc3339(h.value) }),
      };
    }
    case "release": {
      const [row, r] = field("reason", "reason");
      return { rows: [row], read: () => ({ kind: "release", reason: r.value }) };
    }
    case "close": {
      const [row, o] = field("outcome", "outcome");
      return { rows: [row], read: () => ({ kind: "close", outcome: o.value }) };
    }
    case "monitor":
    case "intercept":
    case "search":
      return { rows: [], read: () => ({ kind }) };
  }
}

/** One line saying what a step did, from its recorded fields. */
export function stepSummary(step: CaseStep): string {
  const a = step.action;
  switch (a.kind) {
    case "board": {
      const b = a.legal_basis;
      const basis =
        b.kind === "flag-state-consent"
          ? `flag-state consent of ${b.flag_state} (${b.reference}, ${utc(b.granted_at)})`
          : b.kind === "agreement"
            ? `agreement: ${b.name}`
            : `statelessness: ${b.grounds}`;
      return `Boarded under ${basis}`;
    }
    case "seize":
      return `Seized ${a.quantity_kg} kg of ${a.substance} (${a.packages} packages)`;
    case "detain":
      return `Detained ${a.persons} person${a.persons === 1 ? "" : "s"} (${a.nationalities.join(", ")}); rights told ${utc(a.rights_told_at)}`;
    case "hand-over":
      return `Handed over to ${a.jurisdiction} at ${utc(a.handed_at)}`;
    case "release":
      return `Released: ${a.reason}`;
    case "close":
      return `Closed: ${a.outcome}`;
    case "detect":
      return "Detected";
    case "monitor":
      return "Monitored";
    case "intercept":
      return "Intercepted";
    case "search":
      return "Searched";
  }
}

function citationItem(id: string, c: Citation | undefined): HTMLElement {
  if (c === undefined || c.status !== "available") {
    // The hub shows nothing of a report its originator no longer lets us use: not even whose.
    return el(
      "li",
      { class: "citation withheld", "data-testid": "citation", "data-status": "withheld" },
      el("span", { class: "mono", title: id }, id.slice(0, 13)),
      " withheld by its originator",
    );
  }
  return el(
    "li",
    {
      class: "citation",
      "data-testid": "citation",
      "data-status": "available",
      "data-originator": c.originator,
    },
    el("span", { class: "swatch", style: `background:${partnerColour(c.originator)}` }),
    el("strong", {}, c.originator),
    ` ${c.source} · ${utc(c.observed_at)} · ${c.position.lat.toFixed(3)}, ${c.position.lon.toFixed(3)} `,
    el("span", { class: "mono muted", title: id }, id.slice(0, 13)),
  );
}

export interface CaseHooks {
  /** Declares `caseId` (under purpose interdiction) as the view's case. */
  declare: (caseId: string) => void;
  /** The case the view currently names, if any. */
  viewCase: () => string | null;
  /** The selected track, whose position and reports a step may use. */
  track: () => TrackDetail | null;
}

/** The "Cases" panel: the partner's cases, one case's timeline and its step form. */
export class CasePanel {
  private openId: string | null = null;
  private readonly canWork: boolean;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    me: Me,
    private readonly errors: ErrorBanner,
    private readonly hooks: CaseHooks,
  ) {
    this.canWork = me.roles.some((r) => CASE_ROLES.includes(r));
    void this.reload();
  }

  /** Re-reads the case list, and the open case. */
  async reload(): Promise<void> {
    this.root.dataset["state"] = "loading";
    try {
      const list = await this.api.cases();
      this.errors.clear("Cases");
      const detail = this.openId === null ? null : await this.api.case(this.openId);
      this.render(list.cases, detail);
    } catch (e) {
      this.root.dataset["state"] = "error";
      if (e instanceof ApiError && e.status === 404 && this.openId === null) {
        // A hub without cases (the dev mock): say so here rather than as an error.
        replace(this.root, el("p", { class: "muted" }, "This hub keeps no cases."));
        return;
      }
      this.errors.show("Cases", e);
    }
  }

  /** Opens case `id` in the panel. */
  show(id: string): void {
    this.openId = id;
    void this.reload();
  }

  private render(
    cases: { id: string; lead: string; status: string; steps: string[] }[],
    detail: CaseDetail | null,
  ): void {
    this.root.dataset["state"] = "ready";
    this.root.dataset["open"] = detail?.id ?? "";
    const list = el(
      "ul",
      { class: "case-list", "data-testid": "case-list" },
      ...[...cases].reverse().map((c) =>
        el(
          "li",
          {
            class: c.id === detail?.id ? "case-row selected" : "case-row",
            "data-testid": "case-row",
            "data-case": c.id,
            tabindex: 0,
            onclick: () => {
              this.show(c.id);
            },
          },
          el("span", { class: "mono" }, c.id.slice(0, 8)),
          ` ${c.lead} · ${c.status} · ${c.steps[c.steps.length - 1] ?? ""} (${c.steps.length})`,
        ),
      ),
    );
    replace(
      this.root,
      cases.length === 0
        ? el("p", { class: "muted" }, "No cases yet. Open one from a selected track.")
        : list,
      detail && this.detail(detail),
    );
  }

  private detail(c: CaseDetail): HTMLElement {
    const declared = this.hooks.viewCase() === c.id;
    const steps = c.steps.map((s, i) =>
      el(
        "li",
        {
          class: "case-step",
          "data-testid": "case-step",
          "data-kind": s.action.kind,
          "data-index": i,
        },
        el("div", {}, el("strong", {}, s.action.kind), ` ${utc(s.at)} · ${s.unit}`),
        el("div", { class: "muted" }, stepSummary(s)),
        s.relied_on.length > 0 &&
          el(
            "ul",
            { class: "citations" },
            ...s.relied_on.map((id) => citationItem(id, c.citations[id])),
          ),
      ),
    );
    return el(
      "div",
      {
        class: "case-detail",
        "data-testid": "case-detail",
        "data-case": c.id,
        "data-status": c.status,
      },
      el("h4", {}, `Case ${c.id.slice(0, 8)}… `, el("span", { class: "muted" }, c.status)),
      el(
        "p",
        { class: "muted" },
        `lead ${c.lead} · with ${c.participants.join(", ")} · opened ${utc(c.opened_at)}${
          c.track ? ` · track ${c.track.slice(0, 8)}` : ""
        }`,
      ),
      el(
        "button",
        {
          type: "button",
          "data-testid": "declare-case",
          disabled: declared || c.status !== "open",
          title: "Purpose interdiction, this case: requires-case data becomes usable",
          onclick: () => {
            this.hooks.declare(c.id);
            void this.reload();
          },
        },
        declared ? "This is the view's case" : "Declare as the view's case",
      ),
      el("ol", { class: "timeline", "data-testid": "case-timeline" }, ...steps),
      this.canWork && c.status === "open" && this.stepForm(c),
    );
  }

  private stepForm(c: CaseDetail): HTMLElement {
    const last = c.steps[c.steps.length - 1];
    const track = this.hooks.track();
    const kind = el(
      "select",
      { "data-testid": "step-kind", "data-field": "action.kind" },
      ...STEP_KINDS.map((k) => el("option", { value: k }, k)),
    );
    const own = el("div", { class: "step-fields" });
    let read: () => NewStep["action"] = () => ({ kind: "monitor" });
    const sync = (): void => {
      const f = actionFields(kind.value as StepKind);
      read = f.read;
      replace(own, ...f.rows);
    };
    kind.addEventListener("change", sync);
    sync();
    const [atRow, at] = field("at (UTC)", "at", { value: utcInput(new Date()) });
    const [unitRow, unit] = field("unit", "unit", {
      value: last?.unit ?? "",
      placeholder: "USCGC …",
    });
    const pos = positionFields(track?.position ?? last?.position ?? null);
    const newest = track
      ? [...track.lineage].sort((a, b) => b.observed_at.localeCompare(a.observed_at))[0]
      : undefined;
    const cite = el("input", { type: "checkbox", "data-testid": "step-cite-track" });
    const error = el("p", {
      class: "form-error",
      "data-testid": "step-error",
      role: "alert",
      hidden: true,
    });
    const submit = el("button", { type: "submit", "data-testid": "step-submit" }, "Record step");
    const form = el(
      "form",
      { class: "step-form", "data-testid": "step-form" },
      el("h4", {}, "Record a step"),
      el("label", { class: "form-row" }, el("span", {}, "step"), kind),
      own,
      atRow,
      pos.row,
      unitRow,
      newest &&
        el(
          "label",
          { class: "form-row" },
          cite,
          ` cite the selected track's newest report (${newest.originator}, ${newest.source})`,
        ),
      error,
      submit,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      clearFormError(form, error);
      let body: NewStep;
      try {
        body = {
          action: read(),
          at: rfc3339(at.value),
          position: pos.read(),
          unit: unit.value,
          relied_on: cite.checked && newest ? [newest.report_id] : [],
        };
      } catch (err) {
        showFormError(form, error, err);
        return;
      }
      submit.disabled = true;
      this.api.addStep(c.id, body).then(
        () => {
          void this.reload();
        },
        (err: unknown) => {
          submit.disabled = false;
          showFormError(form, error, err);
        },
      );
    });
    return form;
  }
}

/** The "open a case" form under a selected track: participants, the reports cited, the unit. */
export function openCaseForm(
  track: TrackDetail,
  me: Me,
  api: Api,
  opened: (id: string) => void,
): HTMLElement {
  const others = [...new Set(track.lineage.map((l) => l.originator))]
    .filter((p) => p !== me.partner)
    .sort();
  const participants = others.map((p) => {
    const box = el("input", {
      type: "checkbox",
      checked: true,
      value: p,
      "data-testid": `case-participant-${p}`,
    });
    return { p, box, row: el("label", { class: "check" }, box, ` ${p}`) };
  });
  const byTime = [...track.lineage].sort((a, b) => b.observed_at.localeCompare(a.observed_at));
  // Cited by default: the newest report of each originator, the detection each partner
  // contributed. Those are always offered, however many newer reports another partner sent (one
  // radar contact beside seventy AIS reports); the rest of the list is the newest others.
  const firstOf = new Map<string, string>();
  for (const l of byTime) if (!firstOf.has(l.originator)) firstOf.set(l.originator, l.report_id);
  const defaults = new Set(firstOf.values());
  const shown = byTime.filter((l) => defaults.has(l.report_id));
  for (const l of byTime) {
    if (shown.length >= Math.max(CITABLE_SHOWN, defaults.size)) break;
    if (!defaults.has(l.report_id)) shown.push(l);
  }
  shown.sort((a, b) => b.observed_at.localeCompare(a.observed_at));
  const cites = shown.map((l) => {
    const checked = defaults.has(l.report_id);
    const box = el("input", {
      type: "checkbox",
      checked,
      value: l.report_id,
      "data-testid": "case-cite",
    });
    return el(
      "label",
      { class: "check" },
      box,
      ` ${l.originator} ${l.source} ${utc(l.observed_at)} `,
      el("span", { class: "mono muted" }, l.report_id.slice(0, 13)),
    );
  });
  const [unitRow, unit] = field("unit", "detect.unit", { placeholder: "e.g. JIATF-S watch floor" });
  unit.value = `${me.partner} watch`;
  const [atRow, at] = field("detected (UTC)", "detect.at", {
    value: utcInput(new Date(track.updated_at)),
  });
  const error = el("p", {
    class: "form-error",
    "data-testid": "open-case-error",
    role: "alert",
    hidden: true,
  });
  const submit = el("button", { type: "submit", "data-testid": "open-case-submit" }, "Open case");
  const form = el(
    "form",
    { class: "step-form", "data-testid": "open-case-form" },
    el("h4", {}, "Open a case on this track"),
    others.length > 0 &&
      el("div", { class: "form-row" }, el("span", {}, "with"), ...participants.map((x) => x.row)),
    el("div", { class: "cite-list" }, el("span", { class: "muted" }, "citing"), ...cites),
    atRow,
    unitRow,
    error,
    submit,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearFormError(form, error);
    const relied = [...form.querySelectorAll<HTMLInputElement>('[data-testid="case-cite"]')]
      .filter((b) => b.checked)
      .map((b) => b.value);
    submit.disabled = true;
    const v = track.identity;
    api
      .openCase({
        participants: participants.filter((x) => x.box.checked).map((x) => x.p),
        track: track.id,
        vessel: {
          mmsi: v.mmsi,
          imo: v.imo,
          name: v.name,
          call_sign: v.call_sign,
          flag: v.flag,
          vessel_type: v.vessel_type,
        },
        detect: {
          action: { kind: "detect" },
          at: rfc3339(at.value),
          position: track.position,
          unit: unit.value,
          relied_on: relied,
        },
      })
      .then(
        (r) => {
          opened(r.id);
        },
        (err: unknown) => {
          submit.disabled = false;
          showFormError(form, error, err);
        },
      );
  });
  return form;
}
