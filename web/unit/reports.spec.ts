// The page's own checks of reports (src/reports.ts): a sighting becomes the report the schema
// describes or names its bad fields; a file is pre-checked line by line with the hub's numbering;
// the hub's refusal is read back into line and field; a marking's changes are put in words.
import { expect, test } from "@playwright/test";
import {
  MAX_BATCH_REPORTS,
  MAX_UPLOAD_BYTES,
  checkNdjson,
  hubProblem,
  imoValid,
  lineOf,
  markingChanges,
  readTime,
  sightingReport,
  type SightingInput,
} from "../src/reports";

const NOW = new Date("2026-11-20T12:00:00Z");

function input(over: Partial<SightingInput> = {}): SightingInput {
  return {
    observedAt: "2026-11-20T11:55Z",
    lat: "18.4",
    lon: "-64.6",
    uncertaintyM: "200",
    source: "vessel",
    courseDeg: "",
    speedKn: "",
    name: "",
    mmsi: "",
    imo: "",
    callSign: "",
    flag: "",
    vesselType: "",
    lengthM: "",
    engines: "",
    personsOnBoard: "",
    remarks: "",
    marking: null,
    ...over,
  };
}

function fields(over: Partial<SightingInput>): string[] {
  const r = sightingReport(input(over), NOW);
  return "problems" in r ? r.problems.map((p) => p.field) : [];
}

test("a minimal sighting is the schema's required fields, with no marking (the partner's default)", () => {
  expect(sightingReport(input(), NOW)).toEqual({
    report: {
      observed_at: "2026-11-20T11:55:00Z",
      position: { lat: 18.4, lon: -64.6 },
      uncertainty_m: 200,
      source: "vessel",
    },
  });
});

test("descriptors and a chosen marking are carried as the schema names them", () => {
  const marking = { releasable_to: ["NLD"], purposes: ["interdiction" as const] };
  const r = sightingReport(
    input({
      courseDeg: "275",
      speedKn: "32.5",
      name: " NO NAME ",
      mmsi: "775123456",
      imo: "IMO 9074729",
      callSign: "YV1234",
      flag: "ve",
      vesselType: "go-fast",
      lengthM: "11",
      engines: "3",
      personsOnBoard: "4",
      remarks: "low in the water",
      marking,
    }),
    NOW,
  );
  expect(r).toEqual({
    report: {
      observed_at: "2026-11-20T11:55:00Z",
      position: { lat: 18.4, lon: -64.6 },
      uncertainty_m: 200,
      source: "vessel",
      course_deg: 275,
      speed_kn: 32.5,
      vessel: {
        name: "NO NAME",
        mmsi: "775123456",
        imo: "9074729",
        call_sign: "YV1234",
        flag: "VE",
        vessel_type: "go-fast",
        length_m: 11,
        engines: 3,
        persons_on_board: 4,
      },
      remarks: "low in the water",
      marking,
    },
  });
});

test("each out-of-schema value names its field, all at once", () => {
  expect(fields({ lat: "", lon: "181" })).toEqual(["position.lat", "position.lon"]);
  expect(fields({ uncertaintyM: "0" })).toEqual(["uncertainty_m"]);
  expect(fields({ courseDeg: "360" })).toEqual(["course_deg"]);
  expect(fields({ courseDeg: "359.9", speedKn: "102.3" })).toEqual(["speed_kn"]);
  expect(fields({ mmsi: "12345678", imo: "9074728", flag: "VEN" })).toEqual([
    "vessel.mmsi",
    "vessel.imo",
    "vessel.flag",
  ]);
  expect(fields({ engines: "2.5", personsOnBoard: "-1", lengthM: "0" })).toEqual([
    "vessel.length_m",
    "vessel.engines",
    "vessel.persons_on_board",
  ]);
  expect(fields({ name: "x".repeat(65), callSign: "x".repeat(17) })).toEqual([
    "vessel.name",
    "vessel.call_sign",
  ]);
  expect(fields({ vesselType: "submarine", source: "satellite" })).toEqual([
    "source",
    "vessel.vessel_type",
  ]);
  expect(fields({ observedAt: "yesterday" })).toEqual(["observed_at"]);
  // More than the hub's 5 minutes ahead of now.
  expect(fields({ observedAt: "2026-11-20T12:06Z" })).toEqual(["observed_at"]);
  expect(fields({ lat: "1e400" })).toEqual(["position.lat"]);
});

test("times are read as UTC unless they say otherwise", () => {
  expect(readTime("2026-11-20 03:14")).toBe("2026-11-20T03:14:00Z");
  expect(readTime("2026-11-20T03:14Z")).toBe("2026-11-20T03:14:00Z");
  expect(readTime("2026-11-20T03:14-04:00")).toBe("2026-11-20T07:14:00Z");
  expect(readTime("03:14")).toBeNull();
  expect(readTime("2026-13-40T03:14Z")).toBeNull();
});

test("IMO check digits (A.1117(30))", () => {
  expect(imoValid("9074729")).toBe(true);
  expect(imoValid("9074728")).toBe(false);
  expect(imoValid("907472")).toBe(false);
});

test("the hub's refusal is read back into line, field and reason", () => {
  expect(
    hubProblem(
      'line 3: field `vessel.mmsi`: must be 9 digits (got "77500002"); nothing was stored',
    ),
  ).toEqual({
    line: 3,
    field: "vessel.mmsi",
    reason: 'must be 9 digits (got "77500002"); nothing was stored',
  });
  expect(hubProblem("line 2: expected value at line 1 column 2")).toEqual({
    line: 2,
    field: null,
    reason: "expected value at line 1 column 2",
  });
  expect(hubProblem("the request body is over the limit of 4096 bytes")).toEqual({
    line: null,
    field: null,
    reason: "the request body is over the limit of 4096 bytes",
  });
});

test("a file is checked with the hub's line numbers, blank lines counted but not reports", () => {
  const text = '{"a":1}\r\n\nnot json\n[1]\n{"b":2}\n';
  const check = checkNdjson(text, text.length);
  expect(check.reports).toBe(4);
  expect(check.refused).toBeNull();
  expect(check.problems.map((p) => p.line)).toEqual([3, 4]);
  expect(lineOf(text, 1)).toBe('{"a":1}');
  expect(lineOf("x".repeat(300), 1)).toHaveLength(201);
});

test("a file over the hub's limits, or empty, is refused before sending", () => {
  expect(checkNdjson("", 0).refused).toContain("no reports");
  expect(checkNdjson("{}", MAX_UPLOAD_BYTES + 1).refused).toContain("over the hub's limit");
  const many = "{}\n".repeat(MAX_BATCH_REPORTS + 1);
  expect(checkNdjson(many, many.length).refused).toContain(`${MAX_BATCH_REPORTS} per batch`);
  const bad = "x\n".repeat(30);
  const check = checkNdjson(bad, bad.length);
  expect(check.problems).toHaveLength(20);
  expect(check.more).toBe(10);
});

test("a marking's differences from the default are named as wider or narrower", () => {
  const base = {
    releasable_to: ["CAN", "NLD"],
    purposes: ["interdiction" as const, "search-and-rescue" as const],
  };
  expect(markingChanges(base, base)).toEqual({ wider: [], narrower: [] });
  expect(
    markingChanges(
      {
        releasable_to: ["NLD"],
        purposes: ["interdiction", "search-and-rescue"],
        requires_case: true,
        not_after: "2026-11-21T00:00:00Z",
      },
      base,
    ),
  ).toEqual({
    wider: [],
    narrower: ["not releasable to CAN", "requires a case", "usable until 2026-11-21T00:00:00Z"],
  });
  expect(
    markingChanges(
      { releasable_to: ["CAN", "NLD", "FRA"], purposes: ["interdiction", "monitoring"] },
      { ...base, no_export: true },
    ),
  ).toEqual({
    wider: ["also releasable to FRA", "also for monitoring", "without no export"],
    narrower: ["not for search-and-rescue"],
  });
});
