// Reports as the page writes and reads them, with no DOM: a sighting form's values checked against
// schemas/report.schema.json and turned into one NDJSON line, an NDJSON file pre-checked line by
// line before it is sent, the line and field the hub's `invalid_report` message names, and how a
// chosen marking differs from the partner's default. The hub is the arbiter of every report; these
// checks only let the user fix what the schema already forbids before the round trip.
import type { PartnerId, Purpose, TrackMarking } from "./api/types";

/** The hub's default body limit (`caveat serve --max-body-bytes`): a bigger file is refused before it is read. */
export const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;
/** The hub's default reports per batch (`Limits::max_batch_reports`). */
export const MAX_BATCH_REPORTS = 50_000;
/** Longest line the hub reads (caveat-core `MAX_LINE_BYTES`). */
export const MAX_LINE_BYTES = 64 * 1024;
/** Lines with a problem listed at most, so a wrong file does not fill the page. */
export const MAX_PROBLEMS_SHOWN = 20;

/** Source kinds a person enters by hand (AIS comes from feeds). */
export const SIGHTING_SOURCES = ["vessel", "mpa-eo", "mpa-radar", "coastal-radar", "tip"] as const;
export const VESSEL_TYPES = [
  "go-fast",
  "semi-submersible",
  "fishing",
  "pleasure",
  "sailing",
  "cargo",
  "tanker",
  "passenger",
  "tug",
  "service",
  "law-enforcement",
  "military",
  "other",
] as const;

/** A problem with one field of a report, as the form marks it beside the input. */
export interface FieldProblem {
  /** The report field as the schema (and the hub's messages) name it, e.g. `vessel.mmsi`. */
  field: string;
  message: string;
}

/** What the sighting form holds: every value as typed (strings), so nothing is lost before it is checked. */
export interface SightingInput {
  observedAt: string;
  lat: string;
  lon: string;
  uncertaintyM: string;
  source: string;
  courseDeg: string;
  speedKn: string;
  name: string;
  mmsi: string;
  imo: string;
  callSign: string;
  flag: string;
  vesselType: string;
  lengthM: string;
  engines: string;
  personsOnBoard: string;
  remarks: string;
  /** Null: the partner's default marking (the hub applies it). */
  marking: TrackMarking | null;
}

interface NumberRule {
  field: string;
  min: number;
  max: number;
  /** The minimum itself is not allowed (`exclusiveMinimum`). */
  above?: boolean;
  /** The maximum itself is not allowed (`exclusiveMaximum`). */
  below?: boolean;
  integer?: boolean;
}

function numberOf(
  text: string,
  rule: NumberRule,
  problems: FieldProblem[],
  required = false,
): number | undefined {
  const t = text.trim();
  if (t === "") {
    if (required) problems.push({ field: rule.field, message: "is required" });
    return undefined;
  }
  const v = Number(t);
  const low = rule.above === true ? v <= rule.min : v < rule.min;
  const high = rule.below === true ? v >= rule.max : v > rule.max;
  if (!Number.isFinite(v) || low || high || (rule.integer === true && !Number.isInteger(v))) {
    const range = `${rule.above === true ? "above" : "from"} ${rule.min} ${rule.below === true ? "up to (not including)" : "to"} ${rule.max}`;
    problems.push({
      field: rule.field,
      message: `must be ${rule.integer === true ? "a whole number" : "a number"} ${range}`,
    });
    return undefined;
  }
  return v;
}

/** An RFC 3339 instant from what was typed (`2026-11-20T03:14Z`, `2026-11-20 03:14`, UTC when no zone). */
export function readTime(text: string): string | null {
  const t = text.trim().replace(" ", "T");
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(t)) return null;
  const withZone = /[zZ]$|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`;
  const d = new Date(withZone);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.000Z$/, "Z");
}

/** Whether a 7-digit IMO number's check digit is right (IMO Resolution A.1117(30)). */
export function imoValid(digits: string): boolean {
  if (!/^\d{7}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 6; i++) sum += Number(digits[i]) * (7 - i);
  return sum % 10 === Number(digits[6]);
}

/** The report object a sighting becomes (schemas/report.schema.json), or the fields at fault. */
export function sightingReport(
  input: SightingInput,
  now: Date,
): { report: Record<string, unknown> } | { problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const observedAt = readTime(input.observedAt);
  if (observedAt === null)
    problems.push({ field: "observed_at", message: "must be a UTC time like 2026-11-20T03:14Z" });
  // The hub refuses reports more than 5 minutes ahead of its clock: a typo in the hour, usually.
  else if (new Date(observedAt).getTime() > now.getTime() + 5 * 60_000)
    problems.push({ field: "observed_at", message: "is in the future" });
  const lat = numberOf(input.lat, { field: "position.lat", min: -90, max: 90 }, problems, true);
  const lon = numberOf(input.lon, { field: "position.lon", min: -180, max: 180 }, problems, true);
  const unc = numberOf(
    input.uncertaintyM,
    { field: "uncertainty_m", min: 0, max: 500_000, above: true },
    problems,
    true,
  );
  if (!(SIGHTING_SOURCES as readonly string[]).includes(input.source) && input.source !== "ais")
    problems.push({ field: "source", message: "must be one of the listed sources" });
  const course = numberOf(
    input.courseDeg,
    { field: "course_deg", min: 0, max: 360, below: true },
    problems,
  );
  const speed = numberOf(input.speedKn, { field: "speed_kn", min: 0, max: 102.2 }, problems);
  const vessel: Record<string, unknown> = {};
  const name = input.name.trim();
  if (name.length > 64) problems.push({ field: "vessel.name", message: "is over 64 characters" });
  else if (name !== "") vessel["name"] = name;
  const mmsi = input.mmsi.trim();
  if (mmsi !== "" && !/^\d{9}$/.test(mmsi))
    problems.push({ field: "vessel.mmsi", message: "must be 9 digits" });
  else if (mmsi !== "") vessel["mmsi"] = mmsi;
  const imo = input.imo.trim().replace(/^IMO ?/i, "");
  if (imo !== "" && !imoValid(imo))
    problems.push({ field: "vessel.imo", message: "must be 7 digits with a valid check digit" });
  else if (imo !== "") vessel["imo"] = imo;
  const callSign = input.callSign.trim();
  if (callSign.length > 16)
    problems.push({ field: "vessel.call_sign", message: "is over 16 characters" });
  else if (callSign !== "") vessel["call_sign"] = callSign;
  const flag = input.flag.trim().toUpperCase();
  if (flag !== "" && !/^[A-Z]{2}$/.test(flag))
    problems.push({
      field: "vessel.flag",
      message: "must be a 2-letter country code (ISO 3166-1)",
    });
  else if (flag !== "") vessel["flag"] = flag;
  if (input.vesselType !== "") {
    if ((VESSEL_TYPES as readonly string[]).includes(input.vesselType))
      vessel["vessel_type"] = input.vesselType;
    else problems.push({ field: "vessel.vessel_type", message: "must be one of the listed types" });
  }
  const len = numberOf(
    input.lengthM,
    { field: "vessel.length_m", min: 0, max: 500, above: true },
    problems,
  );
  if (len !== undefined) vessel["length_m"] = len;
  const engines = numberOf(
    input.engines,
    { field: "vessel.engines", min: 0, max: 16, integer: true },
    problems,
  );
  if (engines !== undefined) vessel["engines"] = engines;
  const pob = numberOf(
    input.personsOnBoard,
    { field: "vessel.persons_on_board", min: 0, max: 10_000, integer: true },
    problems,
  );
  if (pob !== undefined) vessel["persons_on_board"] = pob;
  const remarks = input.remarks.trim();
  if (remarks.length > 2000)
    problems.push({ field: "remarks", message: "is over 2000 characters" });
  if (problems.length > 0) return { problems };
  const report: Record<string, unknown> = {
    observed_at: observedAt,
    position: { lat, lon },
    uncertainty_m: unc,
    source: input.source,
  };
  if (course !== undefined) report["course_deg"] = course;
  if (speed !== undefined) report["speed_kn"] = speed;
  if (Object.keys(vessel).length > 0) report["vessel"] = vessel;
  if (remarks !== "") report["remarks"] = remarks;
  if (input.marking !== null) report["marking"] = input.marking;
  return { report };
}

/** Where the hub's `invalid_report` (or `conflict`) message says the problem is: `line 3: field \`vessel.mmsi\`: ...`. */
export interface HubProblem {
  line: number | null;
  field: string | null;
  /** The rest of the message: why. */
  reason: string;
}

export function hubProblem(message: string): HubProblem {
  const m = /^line (\d+): (?:field `([^`]+)`: )?(.*)$/s.exec(message);
  if (m === null) {
    const f = /field `([^`]+)`/.exec(message);
    return { line: null, field: f?.[1] ?? null, reason: message };
  }
  return { line: Number(m[1]), field: m[2] ?? null, reason: m[3] ?? "" };
}

/** One problem with one line of a file, found before sending. */
export interface LineProblem {
  line: number;
  message: string;
}

/** The outcome of checking a file before sending: how many reports, and the lines that cannot be reports at all. */
export interface FileCheck {
  reports: number;
  problems: LineProblem[];
  /** More problems than listed. */
  more: number;
  /** A refusal of the whole file (too big, too many lines, empty), else null. */
  refused: string | null;
}

/**
 * Checks an NDJSON file the way the hub reads it (one JSON object per non-blank line, lines
 * numbered from 1 counting blank ones), so every line that is not even JSON is listed at once; the
 * hub then checks each report against the schema and names the first it refuses.
 */
export function checkNdjson(text: string, bytes: number): FileCheck {
  const out: FileCheck = { reports: 0, problems: [], more: 0, refused: null };
  if (bytes > MAX_UPLOAD_BYTES) {
    out.refused = `the file is ${bytes} bytes, over the hub's limit of ${MAX_UPLOAD_BYTES} bytes per batch: split it`;
    return out;
  }
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") return;
    out.reports++;
    let problem: string | null = null;
    if (new TextEncoder().encode(line).length > MAX_LINE_BYTES)
      problem = `over the hub's limit of ${MAX_LINE_BYTES} bytes per line`;
    else {
      try {
        const v: unknown = JSON.parse(line);
        if (typeof v !== "object" || v === null || Array.isArray(v))
          problem = "is not a JSON object (one report per line)";
      } catch (e) {
        problem = `is not JSON (${e instanceof Error ? e.message : String(e)})`;
      }
    }
    if (problem === null) return;
    if (out.problems.length < MAX_PROBLEMS_SHOWN)
      out.problems.push({ line: i + 1, message: problem });
    else out.more++;
  });
  if (out.reports === 0) out.refused = "the file holds no reports";
  else if (out.reports > MAX_BATCH_REPORTS)
    out.refused = `the file holds ${out.reports} reports, over the hub's limit of ${MAX_BATCH_REPORTS} per batch: split it`;
  return out;
}

/** Line `n` (1-based) of a text, shortened for display. */
export function lineOf(text: string, n: number, max = 200): string {
  const line = (text.split("\n")[n - 1] ?? "").replace(/\r$/, "");
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** How a chosen marking differs from the partner's default, in words; empty when it is the default. */
export function markingChanges(
  chosen: TrackMarking,
  base: TrackMarking,
): { wider: string[]; narrower: string[] } {
  const wider: string[] = [];
  const narrower: string[] = [];
  const to = new Set<PartnerId>(chosen.releasable_to ?? []);
  const baseTo = new Set<PartnerId>(base.releasable_to ?? []);
  const added = [...to].filter((p) => !baseTo.has(p));
  const removed = [...baseTo].filter((p) => !to.has(p));
  if (added.length > 0) wider.push(`also releasable to ${added.join(", ")}`);
  if (removed.length > 0) narrower.push(`not releasable to ${removed.join(", ")}`);
  const ps = new Set<Purpose>(chosen.purposes ?? []);
  const basePs = new Set<Purpose>(base.purposes ?? []);
  const addedP = [...ps].filter((p) => !basePs.has(p));
  const removedP = [...basePs].filter((p) => !ps.has(p));
  if (addedP.length > 0) wider.push(`also for ${addedP.join(", ")}`);
  if (removedP.length > 0) narrower.push(`not for ${removedP.join(", ")}`);
  const flag = (name: string, a: boolean | undefined, b: boolean | undefined): void => {
    if (a === true && b !== true) narrower.push(name);
    if (a !== true && b === true) wider.push(`without ${name}`);
  };
  flag("requires a case", chosen.requires_case, base.requires_case);
  flag("no export", chosen.no_export, base.no_export);
  const until = chosen.not_after ?? null;
  const baseUntil = base.not_after ?? null;
  if (until !== baseUntil) {
    if (until !== null && (baseUntil === null || Date.parse(until) < Date.parse(baseUntil)))
      narrower.push(`usable until ${until}`);
    else wider.push(until === null ? "usable without end" : `usable until ${until}`);
  }
  return { wider, narrower };
}
