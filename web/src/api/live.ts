// The streams of a view (`GET /v1/live`, `/v1/alerts/stream`, `/v1/events/stream`) read with fetch()
// and a streaming body reader, because EventSource cannot send the Authorization and Caveat-Purpose
// headers (docs/api.md).
import { ApiError, apiUrl, errorFrom, viewHeaders, type ViewKey } from "./client";

/** One Server-Sent Event (WHATWG HTML §9.2 "event stream interpretation"). */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

/** Incremental SSE parser: feed it text chunks, it returns the events completed by each chunk. */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | null = null;

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    // Lines end in CRLF, LF or CR; a trailing lone CR may be the first half of a CRLF, so keep it.
    const lines = this.buffer.split(/\r\n|\n|\r(?!$)/);
    this.buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (this.data.length > 0) {
          out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
        }
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // comment / keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
      else if (field === "id") this.id = value;
    }
    return out;
  }
}

export type LiveState = "connecting" | "open" | "reconnecting" | "stopped";

/** What a stream of a view tells its owner. */
export interface StreamHandlers {
  /** The stream is open; `reconnected` after a drop, when events may have been missed. */
  onOpen: (reconnected: boolean) => void;
  /** One event of the stream, in order. */
  onEvent: (event: SseEvent) => void;
  onState: (state: LiveState, detail: string) => void;
  /** A refusal the user must act on (401, 400 unknown purpose, ...): the stream stops. */
  onError: (error: ApiError) => void;
}

export interface LiveHandlers {
  /** The stream is open; `reconnected` after a drop, when events may have been missed. */
  onOpen: (reconnected: boolean) => void;
  /** An `event: view`: the view may have changed. */
  onView: (version: number | null) => void;
  onState: (state: LiveState, detail: string) => void;
  /** A refusal the user must act on (401, 400 unknown purpose, ...): the stream stops. */
  onError: (error: ApiError) => void;
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];

/**
 * Keeps one Server-Sent Events stream of a view key open until stopped, reconnecting when it drops:
 * `/v1/live`, `/v1/alerts/stream`, `/v1/events/stream` alike (docs/api.md).
 */
export class ViewStream {
  private readonly abort = new AbortController();
  private attempt = 0;
  private opened = false;

  constructor(
    private readonly token: string,
    private readonly view: ViewKey,
    private readonly path: string,
    private readonly handlers: StreamHandlers,
  ) {
    void this.run();
  }

  stop(): void {
    this.abort.abort();
    this.handlers.onState("stopped", "");
  }

  /** A method, not a field: it changes across every await below. */
  private stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    this.handlers.onState("connecting", "");
    while (!this.stopped()) {
      let reason = "stream ended";
      try {
        const res = await fetch(apiUrl(this.path), {
          headers: { ...viewHeaders(this.token, this.view), Accept: "text/event-stream" },
          signal: this.abort.signal,
          cache: "no-store",
        });
        if (!res.ok) {
          const err = await errorFrom(res);
          // A 4xx will not heal by retrying (bad token, unknown purpose, case not ours).
          if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
            this.handlers.onError(err);
            this.abort.abort();
            this.handlers.onState("stopped", err.message);
            return;
          }
          reason = err.message;
        } else if (res.body === null) {
          reason = "no response body";
        } else {
          this.attempt = 0;
          this.handlers.onState("open", "");
          this.handlers.onOpen(this.opened);
          this.opened = true;
          await this.read(res.body);
        }
      } catch (e) {
        if (this.stopped()) return;
        reason = e instanceof Error ? e.message : String(e);
      }
      if (this.stopped()) return;
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] ?? 10000;
      this.attempt++;
      this.handlers.onState("reconnecting", `${reason}; retrying in ${delay / 1000}s`);
      await sleep(delay, this.abort.signal);
    }
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
          this.handlers.onEvent(ev);
        }
      }
    } finally {
      reader.releaseLock();
    }
  }
}

/** The live stream of a view (`/v1/live`): says when the view may have changed. */
export class LiveStream extends ViewStream {
  constructor(token: string, view: ViewKey, handlers: LiveHandlers) {
    super(token, view, "/v1/live", {
      onOpen: handlers.onOpen,
      onEvent: (ev) => {
        if (ev.event === "view") handlers.onView(versionOf(ev.data));
      },
      onState: handlers.onState,
      onError: handlers.onError,
    });
  }
}

function versionOf(data: string): number | null {
  try {
    const v: unknown = JSON.parse(data);
    if (typeof v === "object" && v !== null && "version" in v && typeof v.version === "number") {
      return v.version;
    }
  } catch {
    // A view event without a parsable body still means "re-read the view".
  }
  return null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
