// The pure parts of the map and list: what a contact is called, the ellipse, the distance tool's
// figures, what a search matches, and which fields a hub error names.
import { expect, test } from "@playwright/test";
import type { Track } from "../src/api/types";
import { contactClass, distanceNm, ellipseRing } from "../src/map/symbols";
import { fieldsNamed } from "../src/ui/cases";
import { matches } from "../src/ui/track-list";

type Kinds = Pick<Track, "sources" | "originators">;
const t = (sources: Kinds["sources"], originators: string[] = ["GBR"]): Kinds => ({
  sources,
  originators,
});

test("a contact is AIS, radar only, a patrol sighting, a tip, or fused dark", () => {
  expect(contactClass(t(["ais", "coastal-radar"], ["GBR", "USA-USCG"]))).toBe("ais");
  expect(contactClass(t(["coastal-radar"]))).toBe("radar");
  expect(contactClass(t(["coastal-radar", "mpa-radar"]))).toBe("radar");
  expect(contactClass(t(["mpa-eo"]))).toBe("patrol");
  expect(contactClass(t(["vessel"]))).toBe("patrol");
  expect(contactClass(t(["tip"], ["JIATFS"]))).toBe("tip");
  // No AIS, and more than one kind of source or more than one partner: fused dark.
  expect(contactClass(t(["coastal-radar", "mpa-eo"]))).toBe("dark");
  expect(contactClass(t(["coastal-radar"], ["GBR", "NLD"]))).toBe("dark");
});

test("an ellipse's ring has its semi-axes along its true bearing", () => {
  // 1852 m along north (bearing 0), 926 m across: one and a half minutes of latitude.
  const ring = ellipseRing(-65, 18, 1852, 926, 0, 4);
  const [north, east] = [ring[0], ring[1]];
  expect(north?.[0]).toBeCloseTo(-65, 9);
  expect(north?.[1]).toBeCloseTo(18 + 1852 / 111_320, 9);
  expect(east?.[1]).toBeCloseTo(18, 9);
  expect(east?.[0]).toBeGreaterThan(-65);
  expect(ring[4]).toEqual(ring[0]);
  // Turned to 90°: the major axis lies east.
  const turned = ellipseRing(-65, 18, 1852, 926, 90, 4);
  expect(turned[0]?.[1]).toBeCloseTo(18, 9);
  expect(turned[0]?.[0]).toBeGreaterThan(-65);
});

test("the distance tool gives nautical miles and a true bearing", () => {
  // One degree of latitude is 60 NM, due north.
  const d = distanceNm([-65, 17], [-65, 18]);
  expect(d.nm).toBeCloseTo(60.04, 1);
  expect(d.bearing).toBeCloseTo(0, 6);
  expect(distanceNm([-65, 18], [-66, 18]).bearing).toBeCloseTo(270, 0);
});

test("a search matches MMSI, IMO, name or call sign, in any case, any part", () => {
  const track = {
    identity: { mmsi: "367123456", imo: "9241061", name: "SEA STAR", call_sign: "WDC1234" },
  } as unknown as Track;
  for (const q of ["367123", "9241061", "sea st", "wdc12", ""])
    expect(matches(track, q)).toBe(true);
  expect(matches(track, "no such")).toBe(false);
});

test("the fields a hub error names are found for marking in the form", () => {
  expect(fieldsNamed("body: field `legal_basis.reference`: must not be blank (got )")).toEqual([
    "legal_basis.reference",
  ]);
  expect(fieldsNamed("body: missing field `substance` at line 1 column 40")).toEqual(["substance"]);
  expect(fieldsNamed("step `board` is not allowed now: a vessel is intercepted")).toEqual([]);
});
