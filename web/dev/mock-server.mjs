#!/usr/bin/env node
// A stand-in for `caveat serve --demo` that answers in the shapes of the server's OpenAPI document
// (docs/openapi.json, generated from the Rust code; it serves that document too), for developing and
// testing the web COP without the Rust server. Plain Node http, no dependencies.
// unit/mock-contract.spec.ts validates each of its responses against the document.
//
//   node dev/mock-server.mjs [serve] [--demo] [--listen 127.0.0.1:8787] [--db IGNORED]
//                            [--static dist] [--tick-ms 3000]
//
// It takes the same flags as `caveat serve`, so the e2e harness can start either. Its policy is a
// small model of the real one: default markings per originator, suspensions as standing forbids
// that apply to the next request, and tracks fused (here: grouped per vessel) only from the reports
// the view key may see, so no field depends on a report the view cannot see.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2).filter((a) => a !== "serve");
function flag(name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : fallback;
}
const here = fileURLToPath(new URL(".", import.meta.url));
const listen = flag("listen", "127.0.0.1:8787");
const staticDir = resolve(flag("static", join(here, "..", "dist")));
const tickMs = Number(flag("tick-ms", "3000"));
const openapiDocument = join(here, "..", "..", "docs", "openapi.json");
const [host, portText] = listen.includes(":") ? listen.split(/:(?=[^:]*$)/) : ["127.0.0.1", listen];
const port = Number(portText);

const PURPOSES = [
  "interdiction",
  "search-and-rescue",
  "maritime-safety",
  "prosecution",
  "monitoring",
];
const PARTNERS = ["GBR", "CAN", "NLD", "FRA", "USA-USCG", "JIATFS"];

/** Each originator's default marking: who may see its reports, for which purposes. */
const DEFAULT_MARKING = {
  GBR: {
    releasable_to: PARTNERS,
    purposes: ["interdiction", "search-and-rescue", "maritime-safety", "prosecution"],
    no_export: false,
  },
  CAN: { releasable_to: PARTNERS, purposes: PURPOSES, no_export: false },
  NLD: {
    releasable_to: PARTNERS,
    purposes: ["interdiction", "search-and-rescue", "maritime-safety", "monitoring"],
    no_export: false,
  },
  FRA: {
    releasable_to: ["FRA", "GBR", "NLD", "USA-USCG", "JIATFS"],
    purposes: PURPOSES,
    no_export: true,
  },
  "USA-USCG": { releasable_to: PARTNERS, purposes: PURPOSES, no_export: false },
  JIATFS: {
    releasable_to: PARTNERS,
    purposes: ["interdiction", "monitoring", "prosecution"],
    no_export: false,
  },
};

const SOURCE = {
  GBR: "coastal-radar",
  CAN: "mpa-radar",
  NLD: "coastal-radar",
  FRA: "vessel",
  "USA-USCG": "ais",
  JIATFS: "tip",
};

const USERS = [
  { user: "ana@can", partner: "CAN", roles: ["analyst"], token: "demo-ana-can" },
  {
    user: "gbr-admin@gbr",
    partner: "GBR",
    roles: ["partner-admin", "auditor"],
    token: "demo-gbr-admin",
  },
  { user: "watch@uscg", partner: "USA-USCG", roles: ["watch-officer"], token: "demo-watch-uscg" },
  { user: "analyst@gbr", partner: "GBR", roles: ["analyst"], token: "demo-analyst-gbr" },
  { user: "analyst@nld", partner: "NLD", roles: ["analyst"], token: "demo-analyst-nld" },
  { user: "analyst@fra", partner: "FRA", roles: ["analyst"], token: "demo-analyst-fra" },
  { user: "analyst@jiatfs", partner: "JIATFS", roles: ["analyst"], token: "demo-analyst-jiatfs" },
];

/** Vessels of the demo: start, motion, what AIS says about them (if anything), who observes them. */
const VESSELS = [
  { lat: 18.2, lon: -64.3, cog: 220, sog: 34, observers: ["GBR", "CAN"] },
  { lat: 18.6, lon: -64.9, cog: 250, sog: 28, observers: ["GBR"] },
  {
    lat: 18.9,
    lon: -65.6,
    cog: 200,
    sog: 12,
    observers: ["GBR", "USA-USCG"],
    mmsi: "538006435",
    name: "CARIBBEAN TRADER",
    vessel_type: "cargo",
  },
  { lat: 17.6, lon: -66.8, cog: 160, sog: 30, observers: ["CAN"] },
  {
    lat: 18.5,
    lon: -67.4,
    cog: 90,
    sog: 14,
    observers: ["USA-USCG"],
    mmsi: "367123450",
    name: "ISLA BONITA",
    vessel_type: "fishing",
  },
  { lat: 17.0, lon: -62.9, cog: 300, sog: 25, observers: ["NLD", "FRA"] },
  { lat: 16.2, lon: -61.8, cog: 10, sog: 18, observers: ["FRA"] },
  { lat: 17.9, lon: -63.2, cog: 240, sog: 31, observers: ["NLD", "GBR", "CAN"] },
  {
    lat: 16.8,
    lon: -65.5,
    cog: 45,
    sog: 22,
    observers: ["JIATFS", "USA-USCG"],
    mmsi: "310555000",
    name: "SEA BREEZE",
    vessel_type: "pleasure",
  },
  { lat: 15.9, lon: -64.1, cog: 330, sog: 27, observers: ["CAN", "NLD"] },
  { lat: 17.3, lon: -62.2, cog: 270, sog: 20, observers: ["GBR", "FRA"] },
];

const t0 = Date.now() - 60 * 60 * 1000;
const reports = [];
let nextReport = 1;
let version = 1;
let policyVersion = 1;
let nextSuspension = 1;
/** @type {{id:string, originator:string, partners:string[]|null, purposes:string[]|null, reason:string, at:string, active:boolean}[]} */
const suspensions = [];
/** accesses[originator] = Map("partner|purpose|case" -> {permits, denies, reports_*}): one permit
 * or deny per request and originator, as the hub's audit log records a view's decisions. */
const accesses = new Map();
let auditSize = 0;

function recordAccess(originator, key, permitted, denied) {
  if (!accesses.has(originator)) accesses.set(originator, new Map());
  const m = accesses.get(originator);
  const line = m.get(key) ?? { permits: 0, denies: 0, reports_permitted: 0, reports_denied: 0 };
  if (permitted > 0) line.permits++;
  if (denied > 0) line.denies++;
  line.reports_permitted += permitted;
  line.reports_denied += denied;
  m.set(key, line);
  auditSize++;
}

/** A mock interdiction case that cited GBR's and CAN's reports, with every kind of outcome. */
const MOCK_CASE = {
  case: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
  lead: "USA-USCG",
  cited: ["GBR", "CAN"],
  status: "closed",
  steps: [
    "detect",
    "monitor",
    "intercept",
    "board",
    "search",
    "seize",
    "detain",
    "hand-over",
    "close",
  ],
  outcomes: [
    {
      step: "seize",
      at: "2026-11-21T23:40:00Z",
      detail: { kind: "seize", substance: "cocaine", quantity_kg: 850.5, packages: 34 },
    },
    {
      step: "detain",
      at: "2026-11-21T23:55:00Z",
      detail: {
        kind: "detain",
        persons: 3,
        nationalities: ["CO", "VE"],
        rights_told_at: "2026-11-22T00:10:00Z",
      },
    },
    {
      step: "hand-over",
      at: "2026-11-22T05:00:00Z",
      detail: {
        kind: "hand-over",
        jurisdiction: "D. Puerto Rico",
        handed_at: "2026-11-22T05:00:00Z",
      },
    },
    {
      step: "close",
      at: "2026-11-22T06:00:00Z",
      detail: { kind: "close", outcome: "handed over for prosecution" },
    },
  ],
};

function vesselAt(i, t) {
  const v = VESSELS[i];
  const hours = (t - t0) / 3.6e6;
  const nm = v.sog * hours;
  const rad = (v.cog * Math.PI) / 180;
  return {
    lat: v.lat + (nm * Math.cos(rad)) / 60,
    lon: v.lon + (nm * Math.sin(rad)) / (60 * Math.cos((v.lat * Math.PI) / 180)),
  };
}

function addReport(vessel, originator, t) {
  const p = vesselAt(vessel, t);
  const v = VESSELS[vessel];
  const jitter = () => (Math.random() - 0.5) * 0.01;
  const r = {
    id: `019ab000-0000-7000-8000-${(nextReport++).toString(16).padStart(12, "0")}`,
    vessel,
    originator,
    source: SOURCE[originator],
    observed_at: new Date(t).toISOString(),
    lat: p.lat + jitter(),
    lon: p.lon + jitter(),
    course_deg: v.cog,
    speed_kn: v.sog,
    marking: DEFAULT_MARKING[originator],
    identity:
      SOURCE[originator] === "ais" && v.mmsi
        ? { mmsi: v.mmsi, name: v.name, vessel_type: v.vessel_type }
        : null,
  };
  reports.push(r);
  return r;
}

// An hour of history: each observer reports each of its vessels every 10 minutes, staggered.
VESSELS.forEach((v, i) => {
  v.observers.forEach((o, k) => {
    for (let t = t0 + k * 3 * 60 * 1000; t < Date.now(); t += 10 * 60 * 1000) addReport(i, o, t);
  });
});

function suspended(r, partner, purpose) {
  if (r.originator === partner) return false;
  return suspensions.some(
    (s) =>
      s.originator === r.originator &&
      (s.partners === null || s.partners.includes(partner)) &&
      (s.purposes === null || s.purposes.includes(purpose)),
  );
}

/** The policy decision for one report under a view key. Default deny. */
function permits(r, partner, purpose) {
  if (r.originator === partner) return true;
  if (!r.marking.releasable_to.includes(partner)) return false;
  if (!r.marking.purposes.includes(purpose)) return false;
  return !suspended(r, partner, purpose);
}

/** Fuse after filtering: tracks are built only from the view's permitted reports. */
function tracksFor(partner, purpose, caseId) {
  const byVessel = new Map();
  const key = `${partner}|${purpose}|${caseId ?? ""}`;
  const decided = new Map();
  const decide = (originator, permitted) => {
    const d = decided.get(originator) ?? [0, 0];
    d[permitted ? 0 : 1]++;
    decided.set(originator, d);
  };
  for (const r of reports) {
    if (r.originator !== partner) decide(r.originator, permits(r, partner, purpose));
    if (!permits(r, partner, purpose)) continue;
    if (!byVessel.has(r.vessel)) byVessel.set(r.vessel, []);
    byVessel.get(r.vessel).push(r);
  }
  for (const [originator, [permitted, denied]] of decided) {
    recordAccess(originator, key, permitted, denied);
  }
  const tracks = [];
  for (const [vessel, rs] of byVessel) {
    rs.sort((a, b) => a.observed_at.localeCompare(b.observed_at));
    const last = rs[rs.length - 1];
    const originators = [...new Set(rs.map((r) => r.originator))].sort();
    const identity = rs.reduce((id, r) => (r.identity ? { ...id, ...r.identity } : id), {
      mmsi: null,
      imo: null,
      name: null,
      call_sign: null,
      flag: null,
      vessel_type: null,
      length_m: null,
      engines: null,
      persons_on_board: null,
      mmsi_conflict: false,
    });
    const marks = [...new Set(rs.map((r) => r.originator))].map((o) => DEFAULT_MARKING[o]);
    const track = {
      id: `t-${String(vessel).padStart(4, "0")}`,
      status: rs.length >= 3 ? "confirmed" : "tentative",
      position: { lat: round(last.lat), lon: round(last.lon) },
      course_deg: last.course_deg,
      speed_kn: last.speed_kn,
      updated_at: last.observed_at,
      identity,
      originators,
      report_count: rs.length,
      trail: rs.slice(-20, -1).map((r) => ({
        lat: round(r.lat),
        lon: round(r.lon),
        t: r.observed_at,
        originator: r.originator,
      })),
      sources: [...new Set(rs.map((r) => r.source))].sort(),
      // A made-up 95 % ellipse that shrinks with more reports, as a filter's would.
      uncertainty: {
        semi_major_m: Math.round(2000 / Math.sqrt(rs.length)),
        semi_minor_m: Math.round(800 / Math.sqrt(rs.length)),
        orientation_deg: last.course_deg % 180,
      },
      marking: {
        releasable_to: PARTNERS.filter((p) => marks.every((m) => m.releasable_to.includes(p))),
        purposes: PURPOSES.filter((p) => marks.every((m) => m.purposes.includes(p))),
        no_export: marks.some((m) => m.no_export),
      },
      lineage: rs.map((r) => ({
        report_id: r.id,
        originator: r.originator,
        source: r.source,
        observed_at: r.observed_at,
      })),
      lineage_by_originator: Object.fromEntries(
        originators.map((o) => [o, rs.filter((r) => r.originator === o).length]),
      ),
    };
    tracks.push(track);
  }
  tracks.sort((a, b) => a.id.localeCompare(b.id));
  return tracks;
}

function round(x) {
  return Math.round(x * 1e5) / 1e5;
}

// ---- live stream ----
const clients = new Set();
function bumpView() {
  version++;
  for (const c of clients) c.write(`event: view\ndata: ${JSON.stringify({ version })}\n\n`);
}
if (tickMs > 0) {
  let k = 0;
  setInterval(() => {
    const vessel = k++ % VESSELS.length;
    const observers = VESSELS[vessel].observers;
    addReport(vessel, observers[k % observers.length], Date.now());
    bumpView();
  }, tickMs).unref();
}
setInterval(() => {
  for (const c of clients) c.write(": keep-alive\n\n");
}, 15000).unref();

// ---- HTTP ----
class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function send(res, status, body, type = "application/json") {
  const text = type === "application/json" ? JSON.stringify(body) : body;
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(text);
}

function authenticate(req) {
  const h = req.headers["authorization"] ?? "";
  const m = /^Bearer (.+)$/.exec(h);
  if (!m)
    throw new HttpError(401, "unauthenticated", "header Authorization: Bearer <token> is required");
  const u = USERS.find((x) => x.token === m[1]);
  if (!u) throw new HttpError(401, "unauthenticated", "the token is unknown or revoked");
  return u;
}

function viewKey(req) {
  const purpose = req.headers["caveat-purpose"];
  if (!purpose)
    throw new HttpError(
      400,
      "purpose_required",
      `header Caveat-Purpose is required: one of ${PURPOSES.join(", ")}`,
    );
  if (!PURPOSES.includes(purpose))
    throw new HttpError(
      400,
      "unknown_purpose",
      `header Caveat-Purpose: unknown purpose "${String(purpose).slice(0, 40)}"`,
    );
  const caseId = req.headers["caveat-case"] ?? null;
  if (caseId !== null) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(caseId))
      throw new HttpError(400, "bad_request", "header Caveat-Case: not a UUID");
    throw new HttpError(
      400,
      "unknown_case",
      "header Caveat-Case: no case of your partner has this id",
    );
  }
  return { purpose, caseId };
}

function requireRole(u, ...roles) {
  if (!roles.some((r) => u.roles.includes(r)))
    throw new HttpError(403, "forbidden_role", `this needs the role ${roles.join(" or ")}`);
}

async function body(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > 65536)
      throw new HttpError(413, "payload_too_large", "the body limit is 65536 bytes");
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "bad_request", "the body is not JSON");
  }
}

function stringList(v, field, allowed) {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw new HttpError(400, "bad_request", `field ${field}: a list of strings or null`);
  const bad = v.find((x) => !allowed.includes(x));
  if (bad !== undefined)
    throw new HttpError(400, "bad_request", `field ${field}: unknown "${bad}"`);
  return v;
}

/** The usage lines of `originator`'s data: one per (partner, purpose, case), as the hub's audit sums them. */
function usageLines(originator) {
  return [...(accesses.get(originator) ?? new Map())].map(([key, l]) => {
    const [partner, purpose, c] = key.split("|");
    return { partner, purpose, ...(c ? { case: c } : {}), ...l, case_steps: 0 };
  });
}

/** A proof bundle of `n` entries against an unsigned mock checkpoint (it proves nothing). */
function bundle(n) {
  const size = auditSize + 1;
  return {
    checkpoint: `mock.hub/audit\n${size}\n${Buffer.alloc(32).toString("base64")}\n\n— mock.hub/audit (not signed)\n`,
    entries: Array.from({ length: n }, (_, i) => ({
      index: i,
      data: Buffer.from(`mock audit entry ${i}`).toString("base64"),
      path: [],
    })),
  };
}

async function api(req, res, url) {
  const path = url.pathname;
  if (path === "/v1/demo/users" && req.method === "GET") {
    return send(
      res,
      200,
      USERS.map(({ user, partner, roles, token }) => ({ user, partner, roles, token })),
    );
  }
  const u = authenticate(req);
  if (path === "/v1/me" && req.method === "GET") {
    return send(res, 200, {
      user: u.user,
      partner: u.partner,
      roles: u.roles,
      partners: PARTNERS,
      purposes: PURPOSES,
      // The real hub never lists the originator in its own marking.
      default_marking: {
        ...DEFAULT_MARKING[u.partner],
        releasable_to: DEFAULT_MARKING[u.partner].releasable_to.filter((p) => p !== u.partner),
      },
      ais_marking: null,
    });
  }
  if (path === "/v1/tracks" && req.method === "GET") {
    const { purpose, caseId } = viewKey(req);
    const bbox = (url.searchParams.get("bbox") ?? "").split(",").map(Number);
    const inside =
      bbox.length === 4 && bbox.every(Number.isFinite)
        ? (t) =>
            t.position.lon >= bbox[0] &&
            t.position.lat >= bbox[1] &&
            t.position.lon <= bbox[2] &&
            t.position.lat <= bbox[3]
        : () => true;
    const trail = Math.min(200, Number(url.searchParams.get("trail") ?? "30"));
    const all = tracksFor(u.partner, purpose, caseId)
      .filter(inside)
      .map((t) => ({
        ...t,
        trail: trail > 0 ? t.trail.slice(-trail) : [],
        lineage: undefined,
        lineage_by_originator: undefined,
      }));
    const limit = Math.max(1, Math.min(5000, Number(url.searchParams.get("limit") ?? "500")));
    const start = Number(url.searchParams.get("cursor") ?? "0");
    const page = all.slice(start, start + limit);
    const next = start + limit < all.length ? String(start + limit) : null;
    return send(res, 200, { tracks: page, next_cursor: next });
  }
  const trackMatch = /^\/v1\/tracks\/([^/]+)$/.exec(path);
  if (trackMatch && req.method === "GET") {
    const { purpose, caseId } = viewKey(req);
    const t = tracksFor(u.partner, purpose, caseId).find(
      (x) => x.id === decodeURIComponent(trackMatch[1]),
    );
    if (!t) throw new HttpError(404, "not_found", "no such track in this view");
    return send(res, 200, t);
  }
  if (path === "/v1/live" && req.method === "GET") {
    viewKey(req);
    res.writeHead(200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
    });
    res.write(`event: view\ndata: ${JSON.stringify({ version })}\n\n`);
    clients.add(res);
    req.on("close", () => clients.delete(res));
    return;
  }
  if (path === "/v1/policy" && req.method === "GET") {
    return send(res, 200, {
      version: policyVersion,
      standing: null,
      suspensions: suspensions.filter((s) => s.originator === u.partner),
    });
  }
  if (path === "/v1/suspensions" && req.method === "POST") {
    requireRole(u, "partner-admin");
    const b = await body(req);
    if (typeof b !== "object" || b === null)
      throw new HttpError(400, "bad_request", "the body must be an object");
    const unknown = Object.keys(b).find((k) => !["partners", "purposes", "reason"].includes(k));
    if (unknown) throw new HttpError(400, "bad_request", `field ${unknown}: unknown field`);
    const s = {
      id: String(nextSuspension++),
      originator: u.partner,
      partners: stringList(b.partners, "partners", PARTNERS),
      purposes: stringList(b.purposes, "purposes", PURPOSES),
      reason: typeof b.reason === "string" ? b.reason : "",
      at: new Date().toISOString(),
      active: true,
    };
    suspensions.push(s);
    policyVersion++;
    bumpView();
    return send(res, 201, { ...s, version: policyVersion });
  }
  const suspMatch = /^\/v1\/suspensions\/([^/]+)$/.exec(path);
  if (suspMatch && req.method === "DELETE") {
    requireRole(u, "partner-admin");
    const i = suspensions.findIndex((s) => s.id === suspMatch[1] && s.originator === u.partner);
    if (i < 0) throw new HttpError(404, "not_found", "not found");
    const [s] = suspensions.splice(i, 1);
    policyVersion++;
    bumpView();
    return send(res, 200, { id: s.id, resumed: true, version: policyVersion });
  }
  if (path === "/v1/usage" && req.method === "GET") {
    requireRole(u, "auditor", "partner-admin");
    const summary = usageLines(u.partner);
    return send(res, 200, {
      originator: u.partner,
      summary,
      bundle: bundle(summary.length),
    });
  }
  if (path === "/v1/transparency" && req.method === "GET") {
    requireRole(u, "auditor", "partner-admin");
    const lines = usageLines(u.partner);
    const cases = [];
    if (MOCK_CASE.cited.includes(u.partner)) {
      const { case: id, lead, status, steps, outcomes } = MOCK_CASE;
      cases.push({ case: id, lead, status, steps, outcomes });
      lines.push({
        partner: MOCK_CASE.lead,
        purpose: "interdiction",
        case: MOCK_CASE.case,
        permits: MOCK_CASE.steps.length,
        denies: 0,
        reports_permitted: MOCK_CASE.steps.length,
        reports_denied: 0,
        case_steps: MOCK_CASE.steps.length,
      });
    }
    return send(res, 200, {
      originator: u.partner,
      accesses: lines,
      denied: lines.filter((l) => l.denies > 0),
      cases,
      proof: bundle(lines.length),
    });
  }
  throw new HttpError(404, "not_found", `no route ${req.method} ${path}`);
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

async function serveStatic(res, pathname) {
  const rel = normalize(decodeURIComponent(pathname)).replace(/^(\.\.[/\\])+/, "");
  let file = join(staticDir, rel === "/" ? "index.html" : rel);
  if (!file.startsWith(staticDir))
    return send(res, 404, { error: { code: "not_found", message: "not found" } });
  try {
    if ((await stat(file)).isDirectory()) file = join(file, "index.html");
    const data = await readFile(file);
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(data);
  } catch {
    send(res, 404, { error: { code: "not_found", message: `not found: ${pathname}` } });
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://mock");
  const run = async () => {
    if (url.pathname === "/healthz") return send(res, 200, "ok", "text/plain");
    if (url.pathname === "/openapi.json")
      return send(
        res,
        200,
        await readFile(openapiDocument, "utf8"),
        "application/json; charset=utf-8",
      );
    if (url.pathname.startsWith("/v1/")) return api(req, res, url);
    return serveStatic(res, url.pathname);
  };
  run().catch((e) => {
    if (e instanceof HttpError)
      return send(res, e.status, { error: { code: e.code, message: e.message } });
    console.error(e);
    send(res, 500, { error: { code: "internal", message: "internal error" } });
  });
});

server.listen(port, host, () => {
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  console.log(`caveat mock listening on http://${host}:${bound} (static ${staticDir})`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
