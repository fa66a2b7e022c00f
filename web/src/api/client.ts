// The one door to the HTTP API: every request carries the token, and data requests the view key
// (purpose and optional case) as headers, as docs/api.md requires.
import type {
  CaseDetail,
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
  Usage,
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

  addStep(caseId: string, body: NewStep): Promise<StepAdded> {
    return request<StepAdded>(`/v1/cases/${encodeURIComponent(caseId)}/steps`, {
      token: this.token,
      method: "POST",
      body: JSON.stringify(body),
    });
  }
}
