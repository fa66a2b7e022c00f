// Issue 9, part 5: an originator's transparency report in the COP.
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { declarePurpose, hubUrl, screenshot, signInAs, tracksUsing } from "./cop";

async function openTransparency(page: Page): Promise<void> {
  await page.getByTestId("transparency-open").click();
  const panel = page.getByTestId("transparency-panel");
  await expect(panel).toBeVisible();
  await expect(panel).toHaveAttribute("data-state", "ready");
}

test("GBR's transparency report lists CAN's access to GBR data, with the proof", async ({
  browser,
}) => {
  const canContext = await browser.newContext();
  const gbrContext = await browser.newContext();
  try {
    // CAN reads GBR data under interdiction, and is refused it under monitoring.
    const can = await canContext.newPage();
    await signInAs(can, "ana@can");
    await declarePurpose(can, "interdiction");
    await expect.poll(() => tracksUsing(can, "GBR")).toBeGreaterThan(0);
    await declarePurpose(can, "monitoring");

    const gbr = await gbrContext.newPage();
    await signInAs(gbr, "gbr-admin@gbr");
    await openTransparency(gbr);
    const panel = gbr.getByTestId("transparency-panel");
    const canRows = panel.locator('[data-testid="transparency-access-row"][data-partner="CAN"]');
    await expect(canRows.first()).toBeVisible();
    const interdiction = canRows.and(gbr.locator('[data-purpose="interdiction"]')).first();
    await expect(interdiction).toBeVisible();
    // Columns: partner, purpose, case, permits, denies, reports permitted, ...
    expect(Number(await interdiction.locator("td").nth(3).textContent())).toBeGreaterThan(0);
    expect(Number(await interdiction.locator("td").nth(5).textContent())).toBeGreaterThan(0);
    // GBR's marking does not grant monitoring: a highlighted denied attempt.
    await expect(
      panel.locator(
        '[data-testid="transparency-denied-row"][data-partner="CAN"][data-purpose="monitoring"]',
      ),
    ).toBeVisible();

    // The checkpoint and the proved entries, downloadable as a bundle for `caveat audit verify`.
    await expect(panel.getByTestId("transparency-checkpoint")).toContainText(/\n\d+\n/);
    const count = Number(
      await panel.getByTestId("transparency-proof-count").getAttribute("data-count"),
    );
    expect(count).toBeGreaterThan(0);
    const download = gbr.waitForEvent("download");
    await panel.getByTestId("transparency-download").click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^caveat-transparency-GBR-\d+\.json$/);
    const path = await file.path();
    const { readFileSync } = await import("node:fs");
    const bundle = JSON.parse(readFileSync(path, "utf8")) as {
      checkpoint: string;
      entries: unknown[];
    };
    expect(bundle.entries.length).toBe(count);
    expect(bundle.checkpoint).toBe(
      await panel.getByTestId("transparency-checkpoint").textContent(),
    );
    await screenshot(gbr, "05-gbr-transparency");

    // Back to the map, and the page can be reopened from the top bar.
    await panel.getByTestId("transparency-close").click();
    await expect(panel).toBeHidden();
    await expect(gbr.getByTestId("map")).toBeVisible();
  } finally {
    await canContext.close();
    await gbrContext.close();
  }
});

/** A demo user's token, from the demo picker's endpoint. */
async function tokenOf(request: APIRequestContext, user: string): Promise<string> {
  const users = (await (await request.get(`${hubUrl()}/v1/demo/users`)).json()) as {
    user: string;
    token: string;
  }[];
  const u = users.find((x) => x.user === user);
  if (!u) throw new Error(`no demo user ${user}`);
  return u.token;
}

test("a USA-USCG case that cited a GBR report shows in GBR's report with its outcomes", async ({
  page,
  request,
}) => {
  const cases = await request.get(`${hubUrl()}/v1/cases`, {
    headers: { Authorization: `Bearer ${await tokenOf(request, "watch@uscg")}` },
  });
  test.skip(cases.status() === 404, "this hub has no cases (the mock)");

  // The USCG watch officer finds a GBR-derived track and cites its GBR report in a case.
  const auth = { Authorization: `Bearer ${await tokenOf(request, "watch@uscg")}` };
  const view = { ...auth, "Caveat-Purpose": "interdiction" };
  const tracks = (await (
    await request.get(`${hubUrl()}/v1/tracks?limit=500`, { headers: view })
  ).json()) as {
    tracks: { id: string; originators: string[] }[];
  };
  const track = tracks.tracks.find((t) => t.originators.includes("GBR"));
  expect(track).toBeDefined();
  const detail = (await (
    await request.get(`${hubUrl()}/v1/tracks/${track?.id ?? ""}`, { headers: view })
  ).json()) as { lineage: { report_id: string; originator: string }[] };
  const radar = detail.lineage.find((l) => l.originator === "GBR")?.report_id ?? "";
  const at = new Date(Date.now() - 5 * 60_000).toISOString().replace(/\.\d+Z$/, "Z");
  const step = (action: Record<string, unknown>, reliedOn: string[] = []) => ({
    action,
    at,
    position: { lat: 17.95, lon: -65.2 },
    unit: "USCGC Joseph Tezanos",
    relied_on: reliedOn,
  });
  const opened = await request.post(`${hubUrl()}/v1/cases`, {
    headers: auth,
    data: { participants: ["GBR"], track: track?.id, detect: step({ kind: "detect" }, [radar]) },
  });
  expect(opened.status(), await opened.text()).toBe(201);
  const caseId = ((await opened.json()) as { id: string }).id;
  for (const action of [
    { kind: "intercept" },
    {
      kind: "board",
      legal_basis: {
        kind: "flag-state-consent",
        flag_state: "VE",
        reference: "MSG 311/2026",
        granted_at: at,
      },
    },
    { kind: "search" },
    { kind: "seize", substance: "cocaine", quantity_kg: 850.5, packages: 34 },
    { kind: "detain", persons: 4, nationalities: ["VE", "CO"], rights_told_at: at },
    { kind: "hand-over", jurisdiction: "D. Puerto Rico", handed_at: at },
  ]) {
    const res = await request.post(`${hubUrl()}/v1/cases/${caseId}/steps`, {
      headers: auth,
      data: step(action),
    });
    expect(res.status(), await res.text()).toBe(201);
  }

  await signInAs(page, "gbr-admin@gbr");
  await openTransparency(page);
  const row = page.locator(`[data-testid="transparency-case-row"][data-case="${caseId}"]`);
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute("data-outcomes", "seize,detain,hand-over");
  await expect(row).toContainText("USA-USCG");
  await expect(row).toContainText("Seized 850.5 kg of cocaine (34 packages)");
  await expect(row).toContainText("Detained 4 persons");
  await expect(row).toContainText("Handed over to D. Puerto Rico");
  await screenshot(page, "06-gbr-transparency-case");
});
