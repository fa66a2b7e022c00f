// Issue 8, part 6: a CAN analyst's view follows GBR's marking and GBR's suspension, live.
import { expect, test } from "@playwright/test";
import { declarePurpose, screenshot, signInAs, trackOriginators, tracksUsing } from "./cop";

test("a CAN analyst with purpose interdiction sees tracks that use GBR reports", async ({
  page,
}) => {
  await signInAs(page, "ana@can");
  await expect(page.getByTestId("tracks")).toHaveAttribute("data-state", "no-purpose");
  await declarePurpose(page, "interdiction");
  await expect.poll(() => tracksUsing(page, "GBR")).toBeGreaterThan(0);

  // The side panel of a GBR-derived track shows GBR in its lineage.
  const first = page.locator('[data-testid="track-item"][data-originators*="GBR"]').first();
  const id = await first.getAttribute("data-track-id");
  // Click that very track: a live reload may reorder the list between reading the id and clicking.
  await page.locator(`[data-testid="track-item"][data-track-id="${id ?? ""}"]`).click();
  const detail = page.getByTestId("track-detail");
  await expect(detail).toHaveAttribute("data-track-id", id ?? "");
  await expect(detail.locator('[data-testid="lineage-partner"][data-partner="GBR"]')).toHaveCount(
    1,
  );
  await expect(detail.getByTestId("track-marking")).toBeVisible();
  await screenshot(page, "01-can-interdiction");
});

test("an error from the hub is shown plainly", async ({ page }) => {
  await signInAs(page, "ana@can");
  await declarePurpose(page, "interdiction");
  // A case this analyst is not in: the hub refuses with a JSON error, which the page shows.
  await page.getByTestId("case-input").fill("00000000-0000-4000-8000-000000000000");
  await page.getByTestId("apply-view").click();
  const error = page.getByTestId("error").first();
  await expect(error).toBeVisible();
  await expect(error).toContainText(/\([a-z_]+\)/);
  await expect(page.getByTestId("tracks")).toHaveAttribute("data-state", "error");
  expect(await page.getByTestId("track-item").count()).toBe(0);
  await screenshot(page, "04-error");
});

test("switching to a purpose GBR did not grant removes GBR-derived tracks", async ({ page }) => {
  await signInAs(page, "ana@can");
  await declarePurpose(page, "interdiction");
  await expect.poll(() => tracksUsing(page, "GBR")).toBeGreaterThan(0);

  // GBR's default marking grants interdiction, search-and-rescue, maritime-safety, prosecution.
  await declarePurpose(page, "monitoring");
  expect(await tracksUsing(page, "GBR")).toBe(0);
  // Live updates must not bring them back either.
  await page.waitForTimeout(1500);
  expect(await tracksUsing(page, "GBR")).toBe(0);
  await screenshot(page, "02-can-monitoring");
});

test("a GBR admin's suspension of CAN empties CAN's page of GBR data within 2 s, live", async ({
  browser,
}) => {
  const canContext = await browser.newContext();
  const gbrContext = await browser.newContext();
  const can = await canContext.newPage();
  const gbr = await gbrContext.newPage();
  let suspended = false;
  try {
    await signInAs(can, "ana@can");
    await declarePurpose(can, "interdiction");
    await expect.poll(() => tracksUsing(can, "GBR")).toBeGreaterThan(0);
    await expect(can.getByTestId("live-status")).toHaveAttribute("data-state", "open");
    // Marks this document: a reload would lose it.
    await can.evaluate(() => {
      (window as unknown as Record<string, unknown>)["caveatE2eMarker"] = true;
    });

    await signInAs(gbr, "gbr-admin@gbr");
    await expect(gbr.getByTestId("admin-panel")).toBeVisible();
    await gbr.getByTestId("suspend-partner-CAN").check();
    await gbr.getByTestId("suspend-reason").fill("e2e: suspend CAN");
    const created = gbr.waitForResponse(
      (r) => r.url().endsWith("/v1/suspensions") && r.request().method() === "POST",
    );
    await gbr.getByTestId("suspend-submit").click();
    const response = await created;
    expect(response.status()).toBe(201);
    suspended = true;

    await expect.poll(() => tracksUsing(can, "GBR"), { timeout: 2000, intervals: [50] }).toBe(0);
    expect(
      await can.evaluate(() => (window as unknown as Record<string, unknown>)["caveatE2eMarker"]),
    ).toBe(true);
    await screenshot(can, "03-can-after-suspension");
    await expect(gbr.locator('[data-testid="suspension-item"][data-partners="CAN"]')).toHaveCount(
      1,
    );
    await screenshot(gbr, "03-gbr-admin-suspended");

    // Resume: GBR's data returns to CAN's view, again without a reload.
    await gbr
      .locator('[data-testid="suspension-item"][data-partners="CAN"]')
      .getByTestId("resume-suspension")
      .click();
    await expect(gbr.locator('[data-testid="suspension-item"][data-partners="CAN"]')).toHaveCount(
      0,
    );
    suspended = false;
    await expect.poll(() => tracksUsing(can, "GBR")).toBeGreaterThan(0);
    expect((await trackOriginators(can)).length).toBeGreaterThan(0);
  } finally {
    if (suspended) {
      // Leave the hub as found for any later test.
      const items = gbr.locator('[data-testid="suspension-item"][data-partners="CAN"]');
      for (let i = await items.count(); i > 0; i--) {
        await items.first().getByTestId("resume-suspension").click();
        await expect(items).toHaveCount(i - 1);
      }
    }
    await canContext.close();
    await gbrContext.close();
  }
});
