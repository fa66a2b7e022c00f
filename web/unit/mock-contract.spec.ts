// The mock server (dev/mock-server.mjs) is checked against the same OpenAPI document as the hub
// (docs/openapi.json, generated from the Rust code): each response of a session like the COP's is
// validated against the document's schema for its operation and status, so the mock cannot drift
// from the server unnoticed. Runs in Node (no browser): `npm run test:unit`.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test } from "@playwright/test";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, unknown> } | undefined>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, unknown> };
}

const docText = readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8");
const doc = JSON.parse(docText) as Doc;

// OpenAPI 3.1 schemas are JSON Schema 2020-12; the numeric formats are annotations only.
const ajv = new Ajv2020({
  strict: false,
  allErrors: true,
  formats: { double: true, float: true, int32: true, int64: true },
});
addFormats(ajv);

interface Media {
  schema?: unknown;
}
interface Response {
  $ref?: string;
  content?: Record<string, Media>;
}

/** Fails unless `body` is what the document says `method path` answers with `status`. */
function conforms(method: string, path: string, status: number, body: unknown): void {
  const op = doc.paths[path]?.[method];
  expect(op, `the document has no operation ${method} ${path}`).toBeDefined();
  const responses = (op?.responses ?? {}) as Record<string, Response | undefined>;
  let response = responses[String(status)] ?? responses["default"];
  const ref = response?.$ref;
  if (ref !== undefined) {
    response = doc.components.responses[ref.replace("#/components/responses/", "")] as Response;
  }
  const schema = response?.content?.["application/json"]?.schema;
  expect(schema, `${method} ${path} ${status}: no JSON body in the document`).toBeDefined();
  const validate = ajv.compile({ components: doc.components, allOf: [schema] });
  const ok = validate(body);
  expect(
    ok ? [] : validate.errors,
    `${method} ${path} ${status}: ${JSON.stringify(body).slice(0, 400)}`,
  ).toEqual([]);
}

let mock: ChildProcess | null = null;
let base = "";

test.beforeAll(async () => {
  const script = fileURLToPath(new URL("../dev/mock-server.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, "--listen", "127.0.0.1:0", "--tick-ms", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  mock = child;
  base = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/[^ ]+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.on("exit", (code) => {
      reject(new Error(`the mock exited (${String(code)})`));
    });
  });
});

test.afterAll(() => {
  mock?.kill();
});

const TOKENS = { ana: "demo-ana-can", admin: "demo-gbr-admin" } as const;

/** A request to the mock as `who` (none: no token), its status and JSON body. */
async function call(
  method: string,
  path: string,
  who: keyof typeof TOKENS | null,
  init: { purpose?: string; case?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (who !== null) headers["Authorization"] = `Bearer ${TOKENS[who]}`;
  if (init.purpose !== undefined) headers["Caveat-Purpose"] = init.purpose;
  if (init.case !== undefined) headers["Caveat-Case"] = init.case;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: await res.json() };
}

/** `call`, then the check against the document for the operation `template`. */
async function checked(
  method: string,
  template: string,
  path: string,
  who: keyof typeof TOKENS | null,
  init: { purpose?: string; case?: string; body?: unknown } = {},
  expected?: number,
): Promise<unknown> {
  const { status, body } = await call(method, path, who, init);
  if (expected !== undefined) expect(status, `${method} ${path}`).toBe(expected);
  conforms(method.toLowerCase(), template, status, body);
  return body;
}

test("the mock serves the document it is checked against", async () => {
  const res = await fetch(`${base}/openapi.json`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe(docText);
});

test("the mock's session answers conform to the document", async () => {
  await checked("GET", "/v1/demo/users", "/v1/demo/users", null, {}, 200);
  await checked("GET", "/v1/me", "/v1/me", "ana", {}, 200);
  await checked("GET", "/v1/me", "/v1/me", null, {}, 401);

  const interdiction = { purpose: "interdiction" };
  const page = (await checked("GET", "/v1/tracks", "/v1/tracks", "ana", interdiction, 200)) as {
    tracks: { id: string }[];
  };
  expect(page.tracks.length).toBeGreaterThan(0);
  await checked("GET", "/v1/tracks", "/v1/tracks", "ana", {}, 400);
  await checked("GET", "/v1/tracks", "/v1/tracks", "ana", { purpose: "strike" }, 400);
  const inCase = { ...interdiction, case: "019ab000-0000-7000-8000-000000000001" };
  await checked("GET", "/v1/tracks", "/v1/tracks", "ana", inCase, 400);
  const id = page.tracks[0]?.id ?? "";
  const track = `/v1/tracks/${encodeURIComponent(id)}`;
  await checked("GET", "/v1/tracks/{id}", track, "ana", interdiction, 200);
  await checked("GET", "/v1/tracks/{id}", "/v1/tracks/t-none", "ana", interdiction, 404);

  await checked("GET", "/v1/policy", "/v1/policy", "admin", {}, 200);
  const suspend = { body: { partners: ["CAN"], purposes: null, reason: "inquiry" } };
  const issued = (await checked(
    "POST",
    "/v1/suspensions",
    "/v1/suspensions",
    "admin",
    suspend,
    201,
  )) as {
    id: string;
  };
  await checked("POST", "/v1/suspensions", "/v1/suspensions", "ana", suspend, 403);
  const bad = { body: { partners: ["CNA"], reason: "typo" } };
  await checked("POST", "/v1/suspensions", "/v1/suspensions", "admin", bad, 400);
  await checked("GET", "/v1/policy", "/v1/policy", "admin", {}, 200);
  const lift = `/v1/suspensions/${issued.id}`;
  await checked("DELETE", "/v1/suspensions/{id}", lift, "admin", {}, 200);
  await checked("DELETE", "/v1/suspensions/{id}", lift, "admin", {}, 404);

  await checked("GET", "/v1/usage", "/v1/usage", "admin", {}, 200);
  await checked("GET", "/v1/usage", "/v1/usage", "ana", {}, 403);
  await checked("GET", "/v1/transparency", "/v1/transparency", "admin", {}, 200);
});

test("the mock's live events carry a ViewEvent", async () => {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/live`, {
    headers: { Authorization: `Bearer ${TOKENS.ana}`, "Caveat-Purpose": "interdiction" },
    signal: abort.signal,
  });
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = res.body?.getReader();
  const first = reader ? new TextDecoder().decode((await reader.read()).value) : "";
  abort.abort();
  expect(first).toMatch(/^event: view\n/);
  const data = /\ndata: (.*)\n/.exec(first)?.[1] ?? "null";
  const validate = ajv.compile({
    components: doc.components,
    $ref: "#/components/schemas/ViewEvent",
  });
  expect(validate(JSON.parse(data)), JSON.stringify(validate.errors)).toBe(true);
});
