import { expect, test } from "@playwright/test";
import { partnerColour, partnerSwatch } from "../src/partners";

test("known partners have distinct fixed colours", () => {
  const ids = ["GBR", "CAN", "NLD", "FRA", "USA-USCG", "JIATFS"];
  const colours = ids.map(partnerColour);
  expect(new Set(colours).size).toBe(ids.length);
  expect(partnerColour("GBR")).toBe("#d62728");
});

test("an unknown partner gets a stable hex colour", () => {
  expect(partnerColour("XYZ")).toMatch(/^#[0-9a-f]{6}$/);
  expect(partnerColour("XYZ")).toBe(partnerColour("XYZ"));
});

test("a multi-partner swatch shows every partner", () => {
  const s = partnerSwatch(["GBR", "CAN"]);
  expect(s).toContain(partnerColour("GBR"));
  expect(s).toContain(partnerColour("CAN"));
  expect(partnerSwatch(["GBR"])).toBe(partnerColour("GBR"));
});
