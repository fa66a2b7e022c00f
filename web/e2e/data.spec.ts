// Issue 22, item 5: data in and out of the picture. A sighting entered on the form (position picked
// on the map, the partner's default marking shown and narrowed) is stored and read back as marked; an
// NDJSON upload refused by the hub shows the line and field and stores nothing; each export says
// what the view held that the file leaves out (a no-export report GBR releases to CAN), and the
// file holds none of it.
import { readFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { declarePurpose, hubUrl, screenshot, signInAs, tokenOf } from "./cop";

/** Skips against the mock, which stores no reports and exports nothing. */
async function skipWithoutReports(): Promise<void> {
  const res = await fetch(`${hubUrl()}/v1/export?format=ndjson`, {
    headers: {
      Authorization: `Bearer ${await tokenOf("ana@can")}`,
      "Caveat-Purpose": "interdiction",
    },
  });
  test.skip(res.status === 404, "this hub has no reports or exports (the mock)");
}

async function openData(page: Page, section: string): Promise<void> {
  await page.locator("#data-section > summary").click();
  await page.getByTestId(section).locator("summary").click();
}

/** A fresh UUIDv7 (RFC 9562): now in milliseconds, version 7, variant 10, random rest. */
function uuidv7(n: number): string {
  const ms = Date.now().toString(16).padStart(12, "0");
  const rand = Math.floor(Math.random() * 0xfff_ffff_ffff)
    .toString(16)
    .padStart(11, "0");
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7000-8000-${rand}${n % 10}`;
}

function reportLine(id: string, mmsi: string, minutesAgo: number): string {
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  return JSON.stringify({
    id,
    observed_at: at,
    position: { lat: 17.95, lon: -64.1 + minutesAgo * 0.001 },
    uncertainty_m: 150,
    source: "vessel",
    vessel: { mmsi, name: "UPLOAD TEST", vessel_type: "go-fast", engines: 3 },
  });
}

test("an analyst enters a sighting with a narrowed marking, the hub's field error shown inline", async ({
  page,
}) => {
  // Many round trips to a debug hub on a busy machine: more than the default minute.
  test.setTimeout(180_000);
  await skipWithoutReports();
  await signInAs(page, "analyst@gbr");
  await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true");
  await declarePurpose(page, "interdiction");
  await openData(page, "sighting-section");
  const form = page.getByTestId("sighting-form");

  // Picked on the map: the form takes the clicked position.
  await form.getByTestId("sighting-pick").click();
  await page.getByTestId("map").click({ position: { x: 300, y: 300 } });
  await expect(form.getByTestId("sighting-position.lat")).not.toHaveValue("");
  const lat = Number(await form.getByTestId("sighting-position.lat").inputValue());
  const lon = Number(await form.getByTestId("sighting-position.lon").inputValue());
  expect(Math.abs(lat)).toBeLessThanOrEqual(90);
  expect(Math.abs(lon)).toBeLessThanOrEqual(180);
  // Time defaults to now.
  const at = Date.parse(
    (await form.getByTestId("sighting-observed_at").inputValue()).replace("Z", ":00Z"),
  );
  expect(Math.abs(at - Date.now())).toBeLessThan(5 * 60_000);

  // GBR's default marking is shown: releasable to CAN and NLD for interdiction, not monitoring.
  await expect(form.getByTestId("marking-to-CAN")).toBeChecked();
  await expect(form.getByTestId("marking-to-NLD")).toBeChecked();
  await expect(form.getByTestId("marking-purpose-interdiction")).toBeChecked();
  await expect(form.getByTestId("marking-purpose-monitoring")).not.toBeChecked();
  await expect(form.getByTestId("marking-changes")).toContainText("default");

  // Checked in the page first: a short MMSI and a heading of 360 are marked beside their inputs.
  await form.getByTestId("sighting-vessel.mmsi").fill("12345");
  await form.getByTestId("sighting-course_deg").fill("360");
  await form.getByTestId("sighting-submit").click();
  await expect(form.getByTestId("sighting-vessel.mmsi")).toHaveAttribute("aria-invalid", "true");
  await expect(form.getByTestId("sighting-course_deg")).toHaveAttribute("aria-invalid", "true");
  await expect(form.getByTestId("sighting-result")).toHaveText("");

  // Checked by the hub: a time before 2000 passes the page and comes back as the hub's field error.
  await form.getByTestId("sighting-vessel.mmsi").fill("775123456");
  await form.getByTestId("sighting-course_deg").fill("275");
  await form.getByTestId("sighting-observed_at").fill("1999-12-31T23:00Z");
  await form.getByTestId("sighting-submit").click();
  const error = form.getByTestId("sighting-error");
  await expect(error).toHaveAttribute("data-code", "invalid_report");
  await expect(form.getByTestId("sighting-observed_at")).toHaveAttribute("aria-invalid", "true");
  await expect(form.getByTestId("sighting-vessel.mmsi")).not.toHaveAttribute(
    "aria-invalid",
    "true",
  );
  await screenshot(page, "22-sighting-error");

  // Narrowed: not to CAN. The form says so; the hub stores it so.
  await form.getByTestId("sighting-observed_at").fill(new Date().toISOString().slice(0, 16) + "Z");
  await form.getByTestId("sighting-speed_kn").fill("32");
  await form.getByTestId("sighting-vessel.name").fill("NO NAME GO-FAST");
  await form.getByTestId("sighting-vessel.vessel_type").selectOption("go-fast");
  await form.getByTestId("sighting-vessel.length_m").fill("11");
  await form.getByTestId("sighting-vessel.engines").fill("3");
  await form.getByTestId("sighting-vessel.persons_on_board").fill("4");
  await form.getByTestId("sighting-remarks").fill("Low in the water, heading for the coast.");
  await form.getByTestId("marking-to-CAN").uncheck();
  await expect(form.getByTestId("marking-changes")).toContainText("not releasable to CAN");
  await form.getByTestId("sighting-submit").click();
  const result = form.getByTestId("sighting-result");
  await expect(result).toContainText("Reported");
  await expect(error).toBeHidden();
  const id = (await result.getAttribute("data-report-id")) ?? "";
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  await screenshot(page, "22-sighting");

  // Read back as stored: NLD reads it with GBR's marking minus CAN; CAN cannot read it at all.
  const read = async (user: string): Promise<Response> =>
    fetch(`${hubUrl()}/v1/reports/${id}`, {
      headers: {
        Authorization: `Bearer ${await tokenOf(user)}`,
        "Caveat-Purpose": "interdiction",
      },
    });
  const nld = await read("analyst@nld");
  expect(nld.status).toBe(200);
  const report = (await nld.json()) as {
    originator: string;
    speed_kn: number;
    vessel: { mmsi: string; engines: number; persons_on_board: number; length_m: number };
    marking: { releasable_to: string[]; purposes: string[] };
  };
  expect(report.originator).toBe("GBR");
  expect(report.speed_kn).toBe(32);
  expect(report.vessel).toMatchObject({
    mmsi: "775123456",
    engines: 3,
    persons_on_board: 4,
    length_m: 11,
  });
  expect(report.marking.releasable_to).not.toContain("CAN");
  expect(report.marking.releasable_to).toContain("NLD");
  expect((await read("ana@can")).status).toBe(404);
});

test("an NDJSON upload refused by the hub names the line and field, and stores nothing", async ({
  page,
}) => {
  // Many round trips to a debug hub on a busy machine: more than the default minute.
  test.setTimeout(180_000);
  await skipWithoutReports();
  await signInAs(page, "analyst@gbr");
  await declarePurpose(page, "interdiction");
  await openData(page, "upload-section");
  const upload = page.getByTestId("upload");
  const status = upload.getByTestId("upload-result");
  const ids = [uuidv7(1), uuidv7(2), uuidv7(3)];

  // Not even JSON: every such line is listed, and nothing is sent.
  let sent = 0;
  page.on("request", (r) => {
    if (r.url().endsWith("/v1/reports") && r.method() === "POST") sent++;
  });
  const broken = [reportLine(ids[0] ?? "", "775000001", 3), "{not json", "", "[1,2]"].join("\n");
  await upload.getByTestId("upload-file").setInputFiles({
    name: "broken.ndjson",
    mimeType: "application/x-ndjson",
    buffer: Buffer.from(broken),
  });
  await expect(status).toHaveAttribute("data-state", "refused");
  await expect(status.getByTestId("upload-problem")).toHaveCount(2);
  await expect(status.locator('[data-testid="upload-problem"][data-line="2"]')).toBeVisible();
  await expect(status.locator('[data-testid="upload-problem"][data-line="4"]')).toBeVisible();
  expect(sent).toBe(0);

  // Line 3 (after a blank line 2) has an 8-digit MMSI: the hub refuses the batch naming line 3 and the field.
  const bad = [
    reportLine(ids[0] ?? "", "775000001", 3),
    "",
    reportLine(ids[1] ?? "", "77500002", 2),
    reportLine(ids[2] ?? "", "775000003", 1),
  ].join("\n");
  await upload.getByTestId("upload-file").setInputFiles({
    name: "bad.ndjson",
    mimeType: "application/x-ndjson",
    buffer: Buffer.from(bad),
  });
  await expect(status).toHaveAttribute("data-code", "invalid_report");
  const problem = status.getByTestId("upload-problem");
  await expect(problem).toHaveCount(1);
  await expect(problem).toHaveAttribute("data-line", "3");
  await expect(problem).toHaveAttribute("data-field", "vessel.mmsi");
  await expect(problem).toContainText("77500002");
  await expect(status).toContainText("nothing of the file was stored");
  await screenshot(page, "22-upload-error");

  // Fixed and dropped on the zone: all three are stored. Had line 1 been kept from the refused
  // batch, its id would now be a conflict: the hub stored nothing of it.
  const good = bad.replace('"77500002"', '"775000002"');
  const drop = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], "good.ndjson", { type: "application/x-ndjson" }));
    return dt;
  }, good);
  await upload.getByTestId("upload-drop").dispatchEvent("drop", { dataTransfer: drop });
  await expect(status).toHaveAttribute("data-state", "stored");
  await expect(status).toHaveAttribute("data-count", "3");
  await expect(status.getByTestId("upload-count")).toContainText("3 reports stored");
  await screenshot(page, "22-upload");
});

test("each export says what the view held that it left out, and leaves it out", async ({
  page,
}) => {
  // Many round trips to a debug hub on a busy machine: more than the default minute.
  test.setTimeout(180_000);
  await skipWithoutReports();
  await signInAs(page, "ana@can");
  await declarePurpose(page, "interdiction");
  await openData(page, "export-section");
  const box = page.getByTestId("export");
  const result = box.getByTestId("export-result");

  // GBR reports a contact to CAN for interdiction, but not for export: CAN's view fuses it, no
  // file of CAN's may hold it.
  const submitted = await fetch(`${hubUrl()}/v1/reports`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await tokenOf("analyst@gbr")}`,
      "Content-Type": "application/x-ndjson",
    },
    body: `${JSON.stringify({
      observed_at: new Date(Date.now() - 60_000).toISOString(),
      position: { lat: 18.05, lon: -64.3 },
      uncertainty_m: 300,
      source: "mpa-eo",
      vessel: { vessel_type: "go-fast" },
      marking: { releasable_to: ["CAN"], purposes: ["interdiction"], no_export: true },
    })}\n`,
  });
  expect(submitted.status).toBe(201);
  const secret = ((await submitted.json()) as { ids: string[] }).ids[0] ?? "";
  expect(secret).not.toBe("");

  await box.getByTestId("export-geojson").click();
  // An export fuses the whole exportable view anew: seconds on a debug build.
  await expect(result).toHaveAttribute("data-state", "ready", { timeout: 60_000 });
  await expect(result).toHaveAttribute("data-format", "geojson");
  const withheld = Number(await result.getAttribute("data-withheld"));
  expect(withheld).toBeGreaterThan(0);
  const byGbr = result.locator('[data-testid="export-withheld-by"][data-partner="GBR"]');
  expect(Number(await byGbr.getAttribute("data-count"))).toBeGreaterThanOrEqual(1);
  await expect(result.getByTestId("export-withheld")).toContainText("GBR");
  await screenshot(page, "22-export");

  const [geo] = await Promise.all([
    page.waitForEvent("download"),
    result.getByTestId("export-download").click(),
  ]);
  const collection = JSON.parse(readFileSync(await geo.path(), "utf8")) as {
    type: string;
    features: unknown[];
  };
  expect(collection.type).toBe("FeatureCollection");
  expect(collection.features.length).toBeGreaterThan(0);
  expect(readFileSync(await geo.path(), "utf8")).not.toContain(secret);
  const [bdoj] = await Promise.all([
    page.waitForEvent("download"),
    result.getByTestId("export-binding").click(),
  ]);
  expect(bdoj.suggestedFilename()).toMatch(/\.geojson\.bdoj$/);
  const binding = JSON.parse(readFileSync(await bdoj.path(), "utf8")) as {
    bindingInformation: { metadataBinding: { dataReference: { size: number } } };
  };
  const size = readFileSync(await geo.path()).length;
  expect(binding.bindingInformation.metadataBinding.dataReference.size).toBe(size);

  // The reports themselves: not GBR's no-export one, and the same count withheld.
  await box.getByTestId("export-ndjson").click();
  await expect(result).toHaveAttribute("data-format", "ndjson", { timeout: 60_000 });
  // Live feeds may add to the view between the two exports: at least GBR's report is withheld.
  expect(Number(await result.getAttribute("data-withheld"))).toBeGreaterThanOrEqual(1);
  await expect(result.getByTestId("export-withheld")).toContainText("GBR");
  const [nd] = await Promise.all([
    page.waitForEvent("download"),
    result.getByTestId("export-download").click(),
  ]);
  const lines = readFileSync(await nd.path(), "utf8")
    .split("\n")
    .filter(Boolean);
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).not.toContain(secret);

  await box.getByTestId("export-kml").click();
  await expect(result).toHaveAttribute("data-format", "kml", { timeout: 60_000 });
  const [kml] = await Promise.all([
    page.waitForEvent("download"),
    result.getByTestId("export-download").click(),
  ]);
  expect(readFileSync(await kml.path(), "utf8")).toContain("<kml");
});
