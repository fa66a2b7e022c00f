// The one door to the HTTP API: every request carries the token, and data requests the view key
// (purpose and optional case) as headers, as docs/api.md requires.
import type {
  AlertList,
  CaseDetail,
  EventList,
  RuleList,
  RuleSpec,
  WatchRule,
  CaseList,
  CaseOpened,
  DemoUser,
  ErrorBody,
  FederationStatus,
  Me,
  NewCase,
  NewStep,
  Policy,
  StepAdded,
  Suspension,
  SuspensionRequest,
  Track,
  TrackDetail,
  TrackPage,
  Transparency,
  BatchReceipt,
  Usage,
  Withheld,
} from "./types";

/** What a request declares it will use data for: the view key minus the partner (the token's). */
export interface ViewKey {
  purpose: string;
  caseId: string | null;
}

/** An error the user should see: the server's stable code and message, or a transport failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== "object" || v === null || !("error" in v)) return false;
  const e = v.error;
  return (
    typeof e === "object" &&
    e !== null &&
    "code" in e &&
    typeof e.code === "string" &&
    "message" in e &&
    typeof e.message === "string"
  );
}

/** Turns a non-2xx response into an ApiError, keeping the server's code and message when it sent one. */
export async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const body: unknown = JSON.parse(text);
    if (isErrorBody(body)) return new ApiError(res.status, body.error.code, body.error.message);
  } catch {
    // Not JSON: fall through to a message built from the status.
  }
  const detail = text.trim().slice(0, 200);
  return new ApiError(
    res.status,
    `http_${res.status}`,
    `${res.status} ${res.statusText}${detail ? `: ${detail}` : ""}`,
  );
}

/** Headers of a data request under a view key. */
export function viewHeaders(token: string, view: ViewKey | null): Record<string, string> {
  const h: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (view !== null) {
    h["Caveat-Purpose"] = view.purpose;
    if (view.caseId !== null) h["Caveat-Case"] = view.caseId;
  }
  return h;
}

/** Resolves a path against the page, so the app works wherever `dist/` is served from. */
export function apiUrl(path: string): string {
  return new URL(path.replace(/^\//, ""), new URL("./", document.baseURI)).toString();
}

async function request<T>(
  path: string,
  init: RequestInit & { token?: string; view?: ViewKey | null } = {},
): Promise<T> {
  const { token, view, ...rest } = init;
  const headers: Record<string, string> = {
    Accept: "application/json",
    ...(token === undefined ? {} : viewHeaders(token, view ?? null)),
  };
  if (rest.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(apiUrl(path), { ...rest, headers });
  } catch (e) {
    throw new ApiError(0, "network", `cannot reach the hub: ${String(e)}`);
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, "bad_response", `${path}: the hub sent a body that is not JSON`);
  }
}

/** Pages followed per view evaluation; the cap keeps a runaway cursor from looping forever. */
const MAX_PAGES = 40;

/** Which of the view's tracks, and how much of each (`/v1/tracks` query parameters). */
export interface TrackQuery {
  /** `[west, south, east, north]`: only tracks inside; the whole view when absent. */
  bbox?: readonly [number, number, number, number];
  /** Trail points per track (the hub's default is 30). */
  trail?: number;
  /** The picture as it was at this time (ISO 8601). */
  at?: string;
}

/** An export as the hub answered it: the file, its label and what it left out. */
export interface ExportFile {
  /** The body, byte for byte (the label's signature covers exactly these bytes). */
  body: Blob;
  mediaType: string;
  /** `Caveat-Marking`: the combined marking of everything exported, as JSON text. */
  marking: string;
  /** `Caveat-Binding` decoded: the STANAG 4778 binding data object (JSON text), null if absent. */
  binding: string | null;
  /** `Caveat-Withheld`: the reports of the view the export left out. */
  withheld: Withheld;
}

/** Base64url without padding (RFC 4648 §5) to text. */
export function base64urlText(s: string): string {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The API as the COP uses it. */
export class Api {
  constructor(readonly token: string) {}

  static async demoUsers(): Promise<DemoUser[] | null> {
    try {
      return await request<DemoUser[]>("/v1/demo/users");
    } catch (e) {
      // 404 is how a hub outside demo mode answers: no picker, token login only.
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }

  me(): Promise<Me> {
    return request<Me>("/v1/me", { token: this.token });
  }

  /** Which partners' nodes the hub reaches (issue 17): whose data is currently unavailable. */
  federationStatus(): Promise<FederationStatus> {
    return request<FederationStatus>("/v1/federation/status", { token: this.token });
  }

  /** The view's tracks the query asks for, following `next_cursor` to the end. */
  async tracks(view: ViewKey, signal?: AbortSignal, query: TrackQuery = {}): Promise<Track[]> {
    const all: Track[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const q = new URLSearchParams({ limit: "5000" });
      if (query.bbox) q.set("bbox", query.bbox.map((x) => x.toFixed(5)).join(","));
      if (query.trail !== undefined) q.set("trail", String(query.trail));
      if (query.at !== undefined) q.set("at", query.at);
      if (cursor !== null) q.set("cursor", cursor);
      const res: TrackPage = await request<TrackPage>(`/v1/tracks?${q.toString()}`, {
        token: this.token,
        view,
        ...(signal ? { signal } : {}),
      });
      all.push(...res.tracks);
      cursor = res.next_cursor;
      if (cursor === null) break;
    }
    return all;
  }

  track(view: ViewKey, id: string): Promise<TrackDetail> {
    return request<TrackDetail>(`/v1/tracks/${encodeURIComponent(id)}`, {
      token: this.token,
      view,
    });
  }

  policy(): Promise<Policy> {
    return request<Policy>("/v1/policy", { token: this.token });
  }

  suspend(body: SuspensionRequest): Promise<Suspension> {
    return request<Suspension>("/v1/suspensions", {
      token: this.token,
      method: "POST",
      body: JSON.stringify(body),
    });
  }

  resume(id: Suspension["id"]): Promise<void> {
    return request<undefined>(`/v1/suspensions/${encodeURIComponent(id)}`, {
      token: this.token,
      method: "DELETE",
    });
  }

  usage(): Promise<Usage> {
    return request<Usage>("/v1/usage", { token: this.token });
  }

  transparency(): Promise<Transparency> {
    return request<Transparency>("/v1/transparency", { token: this.token });
  }

  cases(): Promise<CaseList> {
    return request<CaseList>("/v1/cases", { token: this.token });
  }

  case(id: string): Promise<CaseDetail> {
    return request<CaseDetail>(`/v1/cases/${encodeURIComponent(id)}`, { token: this.token });
  }

  openCase(body: NewCase): Promise<CaseOpened> {
    return request<CaseOpened>("/v1/cases", {
      token: this.token,
      method: "POST",
      body: JSON.stringify(body),
    });
  }

  /** `POST /v1/reports`: one NDJSON batch, stored whole or not at all. */
  async submitReports(ndjson: string | Blob): Promise<BatchReceipt> {
    let res: Response;
    try {
      res = await fetch(apiUrl("/v1/reports"), {
        method: "POST",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/x-ndjson",
          Authorization: `Bearer ${this.token}`,
        },
        body: ndjson,
      });
    } catch (e) {
      throw new ApiError(0, "network", `cannot reach the hub: ${String(e)}`);
    }
    if (!res.ok) throw await errorFrom(res);
    return (await res.json()) as BatchReceipt;
  }

  /** `GET /v1/export`: the view as a file, with its marking, label and withheld counts. */
  async export(view: ViewKey, format: "geojson" | "kml" | "ndjson"): Promise<ExportFile> {
    let res: Response;
    try {
      res = await fetch(apiUrl(`/v1/export?format=${format}`), {
        headers: viewHeaders(this.token, view),
      });
    } catch (e) {
      throw new ApiError(0, "network", `cannot reach the hub: ${String(e)}`);
    }
    if (!res.ok) throw await errorFrom(res);
    const raw = res.headers.get("Caveat-Withheld");
    let withheld: Withheld = { reports: 0, by_originator: {} };
    if (raw !== null) {
      try {
        withheld = JSON.parse(raw) as Withheld;
      } catch {
        throw new ApiError(
          res.status,
          "bad_response",
          "export: header Caveat-Withheld is not JSON",
        );
      }
    }
    const bindingHeader = res.headers.get("Caveat-Binding");
    return {
      body: await res.blob(),
      mediaType: res.headers.get("Content-Type") ?? "application/octet-stream",
      marking: res.headers.get("Caveat-Marking") ?? "null",
      binding: bindingHeader === null ? null : base64urlText(bindingHeader),
      withheld,
    };
  }

  addStep(caseId: string, body: NewStep): Promise<StepAdded> {
    return request<StepAdded>(`/v1/cases/${encodeURIComponent(caseId)}/steps`, {
      token: this.token,
      method: "POST",
      body: JSON.stringify(body),
    });
  }

  /** The view's active events (`GET /v1/events`), at most `limit`, earliest start first. */
  events(view: ViewKey, limit: number, signal?: AbortSignal): Promise<EventList> {
    return request<EventList>(`/v1/events?active_only=true&limit=${limit}`, {
      token: this.token,
      view,
      ...(signal ? { signal } : {}),
    });
  }

  /** The view's alerts for the rules that alert the caller, active and retracted. */
  alerts(view: ViewKey, limit: number, signal?: AbortSignal): Promise<AlertList> {
    return request<AlertList>(`/v1/alerts?limit=${limit}`, {
      token: this.token,
      view,
      ...(signal ? { signal } : {}),
    });
  }

  rules(): Promise<RuleList> {
    return request<RuleList>("/v1/rules", { token: this.token });
  }

  createRule(spec: RuleSpec): Promise<WatchRule> {
    return request<WatchRule>("/v1/rules", {
      token: this.token,
      method: "POST",
      body: JSON.stringify(spec),
    });
  }

  /** Deletes a rule as it was read (a 409 when it changed since). */
  deleteRule(rule: Pick<WatchRule, "id" | "version">): Promise<void> {
    return request<undefined>(`/v1/rules/${encodeURIComponent(rule.id)}?version=${rule.version}`, {
      token: this.token,
      method: "DELETE",
    });
  }
}
