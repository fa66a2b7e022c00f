// Data in and out of the picture: a sighting form (position typed or picked on the map, time
// defaulting to now, the report schema's descriptors, the partner's default marking shown and
// editable), an NDJSON upload (chosen or dropped) with the hub's refusal shown by line and field,
// and export buttons that save the file, its STANAG 4778 binding and say what the export left out.
// The hub decides: a batch is stored whole or not at all, and every error is its JSON envelope.
import { ApiError, type Api, type ExportFile, type ViewKey } from "../api/client";
import type { ExportFormat, Me, Purpose, TrackMarking } from "../api/types";
import {
  SIGHTING_SOURCES,
  VESSEL_TYPES,
  checkNdjson,
  hubProblem,
  lineOf,
  markingChanges,
  readTime,
  sightingReport,
  type FieldProblem,
  type SightingInput,
} from "../reports";
import { describe } from "./errors";
import { el, replace } from "./element";

/** Roles the hub lets submit reports (crates/caveat-server/src/reports.rs). */
export const SUBMIT_ROLES = ["analyst", "watch-officer", "boarding-officer", "partner-admin"];

const SOURCE_LABEL: Record<(typeof SIGHTING_SOURCES)[number], string> = {
  vessel: "patrol sighting (vessel)",
  "mpa-eo": "aircraft, electro-optical",
  "mpa-radar": "aircraft, radar",
  "coastal-radar": "coastal radar",
  tip: "tip",
};

/** What the panel needs of the page: where to pick a point, and the view to export. */
export interface DataHooks {
  /** The next click on the map gives its position (instead of selecting a track). */
  pick: (done: (lat: number, lon: number) => void) => void;
  view: () => ViewKey | null;
}

function utcNow(): string {
  return `${new Date().toISOString().slice(0, 16)}Z`;
}

function input(field: string, attrs: Record<string, string> = {}): HTMLInputElement {
  return el("input", { "data-field": field, "data-testid": `sighting-${field}`, ...attrs });
}

function row(label: string, control: HTMLElement): HTMLElement {
  return el("label", { class: "form-row" }, el("span", {}, label), control);
}

/** Marks the inputs whose field is named, and lists the problems in `box`. */
function markProblems(form: HTMLElement, box: HTMLElement, problems: FieldProblem[]): void {
  const bad = new Set(problems.map((p) => p.field));
  for (const node of form.querySelectorAll<HTMLElement>("[data-field]")) {
    const f = node.dataset["field"] ?? "";
    if (bad.has(f)) node.setAttribute("aria-invalid", "true");
    else node.removeAttribute("aria-invalid");
  }
  box.hidden = problems.length === 0;
  replace(
    box,
    ...problems.map((p) =>
      el(
        "div",
        { "data-testid": "sighting-problem", "data-field": p.field },
        el("span", { class: "mono" }, p.field),
        ` ${p.message}`,
      ),
    ),
  );
}

/** The marking editor: the partner's default shown, each partner and purpose a box, changes in words. */
class MarkingEditor {
  readonly root: HTMLElement;
  private readonly to = new Map<string, HTMLInputElement>();
  private readonly purposes = new Map<Purpose, HTMLInputElement>();
  private readonly requiresCase: HTMLInputElement;
  private readonly noExport: HTMLInputElement;
  private readonly notAfter: HTMLInputElement;
  private readonly summary: HTMLElement;

  constructor(
    me: Me,
    private readonly base: TrackMarking,
  ) {
    const others = me.partners.filter((p) => p !== me.partner);
    const changed = (): void => {
      this.describe();
    };
    const box = (checked: boolean, testid: string): HTMLInputElement =>
      el("input", { type: "checkbox", "data-testid": testid, onchange: changed, checked });
    const baseTo = new Set(base.releasable_to ?? []);
    const basePurposes = new Set(base.purposes ?? []);
    for (const p of others) this.to.set(p, box(baseTo.has(p), `marking-to-${p}`));
    for (const p of me.purposes)
      this.purposes.set(p, box(basePurposes.has(p), `marking-purpose-${p}`));
    this.requiresCase = box(base.requires_case === true, "marking-requires-case");
    this.noExport = box(base.no_export === true, "marking-no-export");
    this.notAfter = el("input", {
      "data-field": "marking.not_after",
      "data-testid": "sighting-marking.not_after",
      value: base.not_after ?? "",
      placeholder: "none",
      size: "18",
      oninput: changed,
    });
    this.summary = el("p", { class: "muted", "data-testid": "marking-changes" });
    const labelled = (node: HTMLInputElement, text: string): HTMLElement =>
      el("label", { class: "check" }, node, ` ${text}`);
    this.root = el(
      "fieldset",
      { class: "marking-editor", "data-testid": "sighting-marking", "data-field": "marking" },
      el("legend", {}, `Marking (${me.partner}'s default shown)`),
      el(
        "div",
        { "data-field": "marking.releasable_to" },
        el("span", { class: "muted" }, "releasable to: "),
        ...[...this.to].map(([p, node]) => labelled(node, p)),
      ),
      el(
        "div",
        { "data-field": "marking.purposes" },
        el("span", { class: "muted" }, "purposes: "),
        ...[...this.purposes].map(([p, node]) => labelled(node, p)),
      ),
      el(
        "div",
        {},
        labelled(this.requiresCase, "only inside a case"),
        labelled(this.noExport, "no export"),
      ),
      row("not after (UTC)", this.notAfter),
      this.summary,
    );
    this.describe();
  }

  /** The marking as chosen; `problems` gets a bad not-after. */
  read(problems: FieldProblem[]): TrackMarking {
    const m: TrackMarking = {
      releasable_to: [...this.to].filter(([, n]) => n.checked).map(([p]) => p),
      purposes: [...this.purposes].filter(([, n]) => n.checked).map(([p]) => p),
    };
    if (this.requiresCase.checked) m.requires_case = true;
    if (this.noExport.checked) m.no_export = true;
    const until = this.notAfter.value.trim();
    if (until !== "") {
      const t = readTime(until);
      if (t === null)
        problems.push({ field: "marking.not_after", message: "must be a UTC time or empty" });
      else m.not_after = t;
    }
    return m;
  }

  /** Null when the chosen marking is the default: the hub then applies the partner's own. */
  chosen(problems: FieldProblem[]): TrackMarking | null {
    const m = this.read(problems);
    const { wider, narrower } = markingChanges(m, this.base);
    return wider.length === 0 && narrower.length === 0 ? null : m;
  }

  private describe(): void {
    const { wider, narrower } = markingChanges(this.read([]), this.base);
    this.summary.dataset["wider"] = String(wider.length > 0);
    replace(
      this.summary,
      wider.length === 0 && narrower.length === 0 ? "Your partner's default marking." : null,
      narrower.length > 0 ? `Narrower than the default: ${narrower.join("; ")}. ` : null,
      wider.length > 0
        ? el(
            "strong",
            { class: "warn" },
            `Wider than the default: ${wider.join("; ")}. Only your partner, as originator, may widen it.`,
          )
        : null,
    );
  }
}

/** The sighting form. */
function sightingForm(api: Api, me: Me, hooks: DataHooks): HTMLElement {
  const fields = {
    observedAt: input("observed_at", { value: utcNow(), size: "18" }),
    lat: input("position.lat", { size: "8", placeholder: "18.4000" }),
    lon: input("position.lon", { size: "9", placeholder: "-64.6000" }),
    uncertaintyM: input("uncertainty_m", { size: "6", value: "200" }),
    courseDeg: input("course_deg", { size: "5" }),
    speedKn: input("speed_kn", { size: "5" }),
    name: input("vessel.name"),
    mmsi: input("vessel.mmsi", { size: "10", inputmode: "numeric" }),
    imo: input("vessel.imo", { size: "10" }),
    callSign: input("vessel.call_sign", { size: "8" }),
    flag: input("vessel.flag", { size: "3", placeholder: "VE" }),
    lengthM: input("vessel.length_m", { size: "5" }),
    engines: input("vessel.engines", { size: "3" }),
    personsOnBoard: input("vessel.persons_on_board", { size: "4" }),
  };
  const source = el(
    "select",
    { "data-field": "source", "data-testid": "sighting-source" },
    ...SIGHTING_SOURCES.map((s) => el("option", { value: s }, SOURCE_LABEL[s])),
  );
  const vesselType = el(
    "select",
    { "data-field": "vessel.vessel_type", "data-testid": "sighting-vessel.vessel_type" },
    el("option", { value: "" }, "unknown"),
    ...VESSEL_TYPES.map((t) => el("option", { value: t }, t)),
  );
  const remarks = el("textarea", {
    "data-field": "remarks",
    "data-testid": "sighting-remarks",
    rows: 2,
    maxlength: 2000,
  });
  const marking = new MarkingEditor(me, me.default_marking);
  const problems = el("div", {
    class: "form-error",
    "data-testid": "sighting-error",
    hidden: true,
  });
  const result = el("p", { "data-testid": "sighting-result", role: "status" });
  const pick = el(
    "button",
    {
      type: "button",
      "data-testid": "sighting-pick",
      "aria-pressed": "false",
      onclick: () => {
        pick.setAttribute("aria-pressed", "true");
        pick.textContent = "Click the map…";
        hooks.pick((lat, lon) => {
          fields.lat.value = lat.toFixed(4);
          fields.lon.value = lon.toFixed(4);
          pick.setAttribute("aria-pressed", "false");
          pick.textContent = "Pick on map";
        });
      },
    },
    "Pick on map",
  );
  const read = (found: FieldProblem[]): SightingInput => ({
    observedAt: fields.observedAt.value,
    lat: fields.lat.value,
    lon: fields.lon.value,
    uncertaintyM: fields.uncertaintyM.value,
    source: source.value,
    courseDeg: fields.courseDeg.value,
    speedKn: fields.speedKn.value,
    name: fields.name.value,
    mmsi: fields.mmsi.value,
    imo: fields.imo.value,
    callSign: fields.callSign.value,
    flag: fields.flag.value,
    vesselType: vesselType.value,
    lengthM: fields.lengthM.value,
    engines: fields.engines.value,
    personsOnBoard: fields.personsOnBoard.value,
    remarks: remarks.value,
    marking: marking.chosen(found),
  });
  const submit = el(
    "button",
    { type: "submit", "data-testid": "sighting-submit" },
    "Report sighting",
  );
  const form = el(
    "form",
    {
      class: "sighting-form",
      "data-testid": "sighting-form",
      novalidate: true,
      onsubmit: (e: Event) => {
        e.preventDefault();
        result.textContent = "";
        const found: FieldProblem[] = [];
        const values = read(found);
        const built = sightingReport(values, new Date());
        const all = "problems" in built ? [...found, ...built.problems] : found;
        markProblems(form, problems, all);
        problems.dataset["code"] = "client";
        if (all.length > 0 || !("report" in built)) return;
        submit.disabled = true;
        api.submitReports(`${JSON.stringify(built.report)}\n`).then(
          (receipt) => {
            submit.disabled = false;
            const id = receipt.ids[0] ?? "";
            result.dataset["reportId"] = id;
            result.textContent = `Reported: ${id} (batch ${receipt.batch}). It appears in views it is released to within about a second.`;
            fields.observedAt.value = utcNow();
          },
          (e: unknown) => {
            submit.disabled = false;
            // The hub's envelope names the line (always 1 here) and the field: mark that input.
            const message = e instanceof ApiError ? e.message : describe(e);
            const p = hubProblem(message);
            markProblems(form, problems, [
              {
                field: p.field ?? "",
                message: `${p.reason} (${e instanceof ApiError ? e.code : "error"})`,
              },
            ]);
            problems.dataset["code"] = e instanceof ApiError ? e.code : "network";
          },
        );
      },
    },
    el("div", { class: "form-pair" }, row("lat", fields.lat), row("lon", fields.lon), pick),
    el(
      "div",
      { class: "form-pair" },
      row("time (UTC)", fields.observedAt),
      row("± m (1σ)", fields.uncertaintyM),
    ),
    row("source", source),
    el(
      "div",
      { class: "form-pair" },
      row("heading °T", fields.courseDeg),
      row("speed kn", fields.speedKn),
    ),
    el("div", { class: "form-pair" }, row("name", fields.name), row("type", vesselType)),
    el(
      "div",
      { class: "form-pair" },
      row("MMSI", fields.mmsi),
      row("IMO", fields.imo),
      row("call sign", fields.callSign),
    ),
    el(
      "div",
      { class: "form-pair" },
      row("flag", fields.flag),
      row("length m", fields.lengthM),
      row("engines", fields.engines),
      row("POB", fields.personsOnBoard),
    ),
    row("notes", remarks),
    marking.root,
    problems,
    submit,
    result,
  );
  return form;
}

/** The NDJSON upload: a file chosen or dropped, checked, sent whole, and the answer by line. */
function uploadBox(api: Api): HTMLElement {
  const status = el("div", { "data-testid": "upload-result", role: "status" });
  const fileInput = el("input", {
    type: "file",
    accept: ".ndjson,.jsonl,.json,application/x-ndjson",
    "data-testid": "upload-file",
  });
  const show = (state: string, ...children: (Node | string | null)[]): void => {
    status.dataset["state"] = state;
    replace(status, ...children);
  };
  const send = async (file: File): Promise<void> => {
    const text = await file.text();
    const check = checkNdjson(text, file.size);
    if (check.refused !== null) {
      show(
        "refused",
        el("p", { class: "form-error" }, `${file.name}: ${check.refused}. Nothing was sent.`),
      );
      return;
    }
    if (check.problems.length > 0) {
      show(
        "refused",
        el(
          "p",
          { class: "form-error" },
          `${file.name}: ${check.problems.length + check.more} of ${check.reports} lines are not reports; nothing was sent.`,
        ),
        problemTable(
          text,
          check.problems.map((p) => ({ line: p.line, field: null, reason: p.message })),
        ),
        check.more > 0 ? el("p", { class: "muted" }, `and ${check.more} more`) : null,
      );
      return;
    }
    show("sending", el("p", { class: "muted" }, `Sending ${check.reports} reports…`));
    try {
      const receipt = await api.submitReports(text);
      status.dataset["count"] = String(receipt.count);
      show(
        "stored",
        el(
          "p",
          { "data-testid": "upload-count" },
          `${file.name}: ${receipt.count} reports stored (your batch ${receipt.batch}).`,
        ),
      );
    } catch (e) {
      const code = e instanceof ApiError ? e.code : "network";
      const message = e instanceof ApiError ? e.message : describe(e);
      const p = hubProblem(message);
      status.dataset["code"] = code;
      show(
        "refused",
        el(
          "p",
          { class: "form-error" },
          // The hub stores a batch whole or not at all (docs/api.md, DESIGN invariant 4).
          `${file.name}: refused (${code}); nothing of the file was stored. Fix the line and send the whole file again.`,
        ),
        problemTable(text, [p]),
      );
    }
  };
  fileInput.addEventListener("change", () => {
    const f = fileInput.files?.[0];
    if (f) void send(f);
  });
  const zone = el(
    "div",
    { class: "drop-zone", "data-testid": "upload-drop" },
    "Drop an NDJSON file here (one report per line, ",
    el("span", { class: "mono" }, "schemas/report.schema.json"),
    "), or ",
    fileInput,
  );
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => {
    zone.classList.remove("over");
  });
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (f) void send(f);
  });
  return el("div", { "data-testid": "upload" }, zone, status);
}

function problemTable(
  text: string,
  rows: { line: number | null; field: string | null; reason: string }[],
): HTMLElement {
  return el(
    "table",
    { class: "upload-problems", "data-testid": "upload-problems" },
    el("tr", {}, el("th", {}, "line"), el("th", {}, "field"), el("th", {}, "why")),
    ...rows.map((r) =>
      el(
        "tr",
        {
          "data-testid": "upload-problem",
          "data-line": r.line ?? "",
          "data-field": r.field ?? "",
        },
        el("td", { class: "mono" }, r.line ?? "—"),
        el("td", { class: "mono" }, r.field ?? "—"),
        el(
          "td",
          {},
          r.reason,
          r.line !== null ? el("div", { class: "mono muted" }, lineOf(text, r.line)) : null,
        ),
      ),
    ),
  );
}

const EXPORTS: { format: ExportFormat; label: string; ext: string }[] = [
  { format: "geojson", label: "GeoJSON", ext: "geojson" },
  { format: "kml", label: "KML", ext: "kml" },
  { format: "ndjson", label: "NDJSON (reports)", ext: "ndjson" },
];

/** Export buttons: each saves the file and its binding (.bdoj) and says what was withheld. */
function exportBox(api: Api, hooks: DataHooks): HTMLElement {
  const result = el("div", { "data-testid": "export-result", role: "status" });
  const run = async (format: ExportFormat, ext: string): Promise<void> => {
    const view = hooks.view();
    if (view === null) {
      result.dataset["state"] = "no-purpose";
      replace(
        result,
        el("p", { class: "form-error" }, "Declare a purpose first: exports are of a view."),
      );
      return;
    }
    result.dataset["state"] = "loading";
    replace(result, el("p", { class: "muted" }, "Exporting…"));
    let file: ExportFile;
    try {
      file = await api.export(view, format);
    } catch (e) {
      result.dataset["state"] = "error";
      replace(result, el("p", { class: "form-error", "data-testid": "export-error" }, describe(e)));
      return;
    }
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, "");
    const name = `caveat-${view.purpose}-${stamp}.${ext}`;
    const links: HTMLElement[] = [
      el(
        "a",
        {
          class: "button",
          href: URL.createObjectURL(file.body),
          download: name,
          "data-testid": "export-download",
        },
        `Save ${name}`,
      ),
    ];
    if (file.binding !== null)
      links.push(
        el(
          "a",
          {
            class: "button",
            href: URL.createObjectURL(
              new Blob([file.binding], { type: "application/vnd.nato.bindingdataobject+json" }),
            ),
            download: `${name}.bdoj`,
            "data-testid": "export-binding",
            title:
              "STANAG 4778 binding data object: the STANAG 4774 label, signed over the file's exact bytes (docs/labels.md)",
          },
          "Save label (.bdoj)",
        ),
      );
    const w = file.withheld;
    const by = Object.entries(w.by_originator);
    result.dataset["state"] = "ready";
    result.dataset["format"] = format;
    result.dataset["withheld"] = String(w.reports);
    replace(
      result,
      el(
        "p",
        {},
        `${format.toUpperCase()} of the whole view under ${view.purpose}${view.caseId ? ` in case ${view.caseId}` : ""}, now (${file.body.size} bytes).`,
      ),
      el(
        "p",
        { "data-testid": "export-withheld", "data-count": w.reports },
        w.reports === 0
          ? "Nothing of the view was withheld."
          : `Withheld: ${w.reports} report${w.reports === 1 ? "" : "s"} of the view, which their originators do not let leave the hub (${by.map(([p, n]) => `${p} ${n}`).join(", ")}); nothing derived from them is in the file.`,
      ),
      ...by.map(([p, n]) =>
        el("span", {
          "data-testid": "export-withheld-by",
          "data-partner": p,
          "data-count": n,
          hidden: true,
        }),
      ),
      el(
        "p",
        { class: "muted", "data-testid": "export-marking" },
        `Marking: ${labelSummary(file)}`,
      ),
      el("div", { class: "export-links" }, ...links),
    );
  };
  return el(
    "div",
    { "data-testid": "export" },
    el(
      "div",
      { class: "export-buttons" },
      ...EXPORTS.map((x) =>
        el(
          "button",
          {
            type: "button",
            "data-testid": `export-${x.format}`,
            onclick: () => {
              void run(x.format, x.ext);
            },
          },
          x.label,
        ),
      ),
    ),
    el(
      "p",
      { class: "muted" },
      "Each file carries the combined marking of what it holds and a signed STANAG 4774 label (saved beside it as .bdoj). Exports are of the whole view now: the hub exports no viewport or past time yet, and CoT goes to TAK over its own feed.",
    ),
    result,
  );
}

/** The label in one line: releasable to, purposes, classification from the binding. */
function labelSummary(file: ExportFile): string {
  let m: TrackMarking | null = null;
  try {
    m = JSON.parse(file.marking) as TrackMarking | null;
  } catch {
    return file.marking;
  }
  if (m === null) return "none (nothing exported)";
  const parts = [
    `releasable to ${(m.releasable_to ?? []).join(", ") || "no one else"}`,
    `for ${(m.purposes ?? []).join(", ") || "no purpose"}`,
  ];
  if (m.requires_case === true) parts.push("inside a case only");
  if (m.not_after) parts.push(`until ${m.not_after}`);
  if (file.binding !== null) {
    const cls = /"Classification"\s*:\s*"([^"]+)"/.exec(file.binding)?.[1];
    if (cls) parts.unshift(cls);
  }
  return parts.join(" · ");
}

/** The "Data in and out" panel. */
export function dataPanel(root: HTMLElement, api: Api, me: Me, hooks: DataHooks): void {
  const canSubmit = me.roles.some((r) => SUBMIT_ROLES.includes(r));
  replace(
    root,
    canSubmit
      ? el(
          "details",
          { class: "sub", "data-testid": "sighting-section" },
          el("summary", {}, "Enter a sighting"),
          sightingForm(api, me, hooks),
        )
      : null,
    canSubmit
      ? el(
          "details",
          { class: "sub", "data-testid": "upload-section" },
          el("summary", {}, "Upload reports (NDJSON)"),
          uploadBox(api),
        )
      : null,
    el(
      "details",
      { class: "sub", "data-testid": "export-section" },
      el("summary", {}, "Export the view"),
      exportBox(api, hooks),
    ),
  );
}
