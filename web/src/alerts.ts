// What the page knows of its view's alerts: the list the hub answered, the stream's changes on top,
// and which of them the user has seen. Pure (no DOM, no fetch), so the merging is unit-tested.
import type { Alert } from "./api/types";

/**
 * The alerts of one view key. The hub's list is the truth at the time it was asked; the stream
 * sends each alert again whenever it changes (raised, retracted, cleared) but never says that one
 * is gone (an alert resting on suspended data is simply not sent again, docs/events.md), so a
 * suspension shows only by reading the list again. A stream frame that arrives while such a read is
 * in flight may be newer than the read's answer: it is kept and laid over the answer.
 */
export class AlertBook {
  private byId = new Map<string, Alert>();
  private readonly seen = new Set<string>();
  /** Frames received since the read in flight was asked (null: no read in flight). */
  private sinceAsk: Map<string, Alert> | null = null;

  /** A read of the list is about to be asked. */
  asking(): void {
    this.sinceAsk = new Map();
  }

  /** The list as the hub answered the read last asked: it replaces what was known. */
  answered(listed: readonly Alert[]): void {
    const next = new Map(listed.map((a) => [a.id, a]));
    for (const [id, a] of this.sinceAsk ?? []) next.set(id, a);
    this.sinceAsk = null;
    this.byId = next;
  }

  /** The read failed: what was known stays, with the frames that came meanwhile. */
  failed(): void {
    for (const [id, a] of this.sinceAsk ?? []) this.byId.set(id, a);
    this.sinceAsk = null;
  }

  /** One alert from the stream: new, or a new state of one known. */
  update(alert: Alert): void {
    this.byId.set(alert.id, alert);
    this.sinceAsk?.set(alert.id, alert);
  }

  markSeen(id: string): void {
    this.seen.add(id);
  }

  markAllSeen(): void {
    for (const id of this.byId.keys()) this.seen.add(id);
  }

  isSeen(id: string): boolean {
    return this.seen.has(id);
  }

  get(id: string): Alert | undefined {
    return this.byId.get(id);
  }

  /** Newest first (by start, then by when the view raised it), retracted ones included. */
  list(): Alert[] {
    return newestFirst([...this.byId.values()]);
  }

  /** Active alerts not yet seen: the badge's count. */
  unseenActive(): number {
    let n = 0;
    for (const a of this.byId.values()) if (a.state === "active" && !this.seen.has(a.id)) n++;
    return n;
  }
}

export function newestFirst(alerts: Alert[]): Alert[] {
  return alerts.sort(
    (a, b) =>
      b.start.localeCompare(a.start) ||
      b.raised_at.localeCompare(a.raised_at) ||
      a.id.localeCompare(b.id),
  );
}

/** An alert frame's data, or null when it is not one (a frame the page cannot read is skipped). */
export function parseAlert(data: string): Alert | null {
  try {
    const v: unknown = JSON.parse(data);
    if (
      typeof v === "object" &&
      v !== null &&
      "id" in v &&
      typeof v.id === "string" &&
      "state" in v &&
      (v.state === "active" || v.state === "retracted") &&
      "start" in v &&
      typeof v.start === "string" &&
      "raised_at" in v &&
      typeof v.raised_at === "string" &&
      "position" in v &&
      typeof v.position === "object" &&
      v.position !== null &&
      "tracks" in v &&
      Array.isArray(v.tracks)
    ) {
      return v as Alert;
    }
  } catch {
    // Not JSON: skipped like any frame the page cannot read.
  }
  return null;
}
