// The alert list's merging (the hub's list, then the stream's changes laid over it) and the
// closing of a drawn area: pure logic, run in Node.
import { expect, test } from "@playwright/test";
import { AlertBook, parseAlert } from "../src/alerts";
import type { Alert } from "../src/api/types";
import { closeRing, distinctVertices, type LonLat } from "../src/map/area";
import { namesField, ruleFieldsNamed } from "../src/ui/rules";

function alert(id: string, start: string, state: Alert["state"] = "active"): Alert {
  return {
    id,
    rule: "W-1",
    rule_name: "box",
    kind: "speed-in-area",
    state,
    start,
    cleared_at: null,
    position: { lat: 17, lon: -65 },
    tracks: [`T-${id}`],
    mmsis: [],
    events: [],
    reports: [],
    originators: ["GBR"],
    marking: null,
    raised_at: start,
    retracted_at: state === "retracted" ? start : null,
  };
}

test("alerts list newest first, retracted ones kept and marked, not dropped", () => {
  const book = new AlertBook();
  book.asking();
  book.answered([alert("a", "2026-12-01T10:00:00Z"), alert("b", "2026-12-01T12:00:00Z")]);
  book.update(alert("a", "2026-12-01T10:00:00Z", "retracted"));
  book.update(alert("c", "2026-12-01T11:00:00Z"));
  expect(book.list().map((a) => [a.id, a.state])).toEqual([
    ["b", "active"],
    ["c", "active"],
    ["a", "retracted"],
  ]);
  expect(book.unseenActive()).toBe(2);
  book.markSeen("b");
  expect(book.unseenActive()).toBe(1);
  book.markAllSeen();
  expect(book.unseenActive()).toBe(0);
});

test("a stream frame that arrives while the list is read wins over the older answer", () => {
  const book = new AlertBook();
  book.asking();
  // The stream retracts "a" while the read (which still saw it active) is in flight.
  book.update(alert("a", "2026-12-01T10:00:00Z", "retracted"));
  book.answered([alert("a", "2026-12-01T10:00:00Z"), alert("b", "2026-12-01T09:00:00Z")]);
  expect(book.get("a")?.state).toBe("retracted");
  expect(book.list()).toHaveLength(2);
});

test("an alert the list no longer has (a suspension dropped it) disappears on the next read", () => {
  const book = new AlertBook();
  book.update(alert("a", "2026-12-01T10:00:00Z"));
  book.update(alert("b", "2026-12-01T11:00:00Z"));
  book.asking();
  book.answered([alert("b", "2026-12-01T11:00:00Z")]);
  expect(book.list().map((a) => a.id)).toEqual(["b"]);
  // A failed read keeps what was known, and what the stream said meanwhile.
  book.asking();
  book.update(alert("c", "2026-12-01T12:00:00Z"));
  book.failed();
  expect(book.list().map((a) => a.id)).toEqual(["c", "b"]);
});

test("a frame that is not an alert is skipped", () => {
  expect(parseAlert("not json")).toBeNull();
  expect(parseAlert('{"id":"x"}')).toBeNull();
  expect(parseAlert(JSON.stringify(alert("a", "2026-12-01T10:00:00Z")))?.id).toBe("a");
});

test("a drawn area closes on its first corner; a double-click's repeat is one corner", () => {
  const clicks: LonLat[] = [
    [-66, 17],
    [-65, 17],
    [-65, 18],
    [-65, 18], // the two clicks of the finishing double-click
  ];
  expect(distinctVertices(clicks)).toHaveLength(3);
  expect(closeRing(clicks)).toEqual({
    ring: [
      [-66, 17],
      [-65, 17],
      [-65, 18],
      [-66, 17],
    ],
  });
  // Clicking the first corner again to close it is not a fourth corner.
  expect(closeRing([...clicks, [-66, 17]])).toEqual(closeRing(clicks));
});

test("fewer than three corners is no area, said plainly", () => {
  expect(closeRing([])).toEqual({ error: "an area needs at least 3 corners (0 so far)" });
  expect(
    closeRing([
      [-66, 17],
      [-66, 17],
      [-65, 17],
    ]),
  ).toEqual({ error: "an area needs at least 3 corners (2 so far)" });
});

test("the hub's field names point at the form's inputs", () => {
  const named = ruleFieldsNamed(
    "field `area.coordinates[0][0]`: self-intersecting: edge 0 crosses edge 2 (bad_request)",
  );
  expect(named).toEqual(["area.coordinates[0][0]"]);
  expect(namesField("area.coordinates[0][0]", "area")).toBe(true);
  expect(namesField("speed.min_kn", "speed.min_kn")).toBe(true);
  expect(namesField("kinds[1]", "kinds")).toBe(true);
  expect(namesField("speed.min_kn", "speed.max_kn")).toBe(false);
  expect(namesField("areas", "area")).toBe(false);
});
