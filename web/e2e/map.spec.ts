// Issue 22, items 4 and 7: the map says what it shows (symbols by source and type, the uncertainty
// ellipse, HTML labels, scale bar, cursor coordinates, a distance tool), reads only its viewport with
// short trails unless asked for the whole view, and fetches nothing from anywhere but the hub.
import { expect, test } from "@playwright/test";
import { declarePurpose, hubUrl, screenshot, signInAs } from "./cop";

test("the map reads its viewport, says what it shows, and measures", async ({ page }) => {
  const foreign: string[] = [];
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(hubUrl()) && !u.startsWith("data:") && !u.startsWith("blob:"))
      foreign.push(u);
  });
  const reads: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/v1/tracks?")) reads.push(r.url());
  });

  await signInAs(page, "ana@can");
  await expect(page.getByTestId("map")).toHaveAttribute("data-ready", "true");
  await declarePurpose(page, "interdiction");

  // A viewport read: a bounding box and short trails.
  await expect
    .poll(() => reads.some((u) => u.includes("bbox=") && u.includes("trail=8")))
    .toBe(true);
  expect(reads.every((u) => u.includes("bbox="))).toBe(true);

  // The legend names each kind of symbol.
  await page.getByText("Symbols").click();
  await expect(page.getByTestId("legend-class")).toHaveCount(5);
  await expect(page.getByTestId("symbol-legend")).toContainText("fused dark contact");
  await expect(page.getByTestId("symbol-legend")).toContainText("radar only");

  // A track's panel says how it was observed and how sure its position is.
  const id = (await page.getByTestId("track-item").first().getAttribute("data-track-id")) ?? "";
  // Click that very track: a live reload may reorder the list between reading the id and clicking.
  await page.locator(`[data-testid="track-item"][data-track-id="${id}"]`).click();
  const detail = page.getByTestId("track-detail");
  await expect(detail).toHaveAttribute("data-track-id", id);
  await expect(detail.getByTestId("track-identity")).toContainText("contact");
  await expect(detail.getByTestId("track-identity")).toContainText("95 %");

  // Zoomed in on it: names are drawn as HTML labels (the style has no glyphs to fetch).
  await page.evaluate(() => {
    const map = (
      window as unknown as { caveatMap: { jumpTo: (o: object) => void; getCenter: () => unknown } }
    ).caveatMap;
    map.jumpTo({ zoom: 9 });
  });
  await expect
    .poll(async () => Number(await page.getByTestId("map-labels").getAttribute("data-count")))
    .toBeGreaterThan(0);

  // The scale bar, in nautical miles.
  await expect(page.locator(".maplibregl-ctrl-scale")).toContainText("nm");
  // Cursor coordinates follow the mouse.
  const box = await page.getByTestId("map").boundingBox();
  if (!box) throw new Error("no map box");
  await page.mouse.move(box.x + box.width / 3, box.y + box.height / 2);
  await expect(page.getByTestId("cursor-coords")).toHaveText(
    /^\d\d°\d\d\.\d\d'[NS] \d{3}°\d\d\.\d\d'[EW]$/,
  );
  // The distance tool: two clicks, a distance and a bearing.
  await page.getByTestId("measure").click();
  await page.mouse.click(box.x + box.width / 3, box.y + box.height / 2);
  await page.mouse.click(box.x + (2 * box.width) / 3, box.y + box.height / 2);
  await expect(page.getByTestId("measure-result")).toHaveText(/NM · 0(89|90|91)°T/);
  expect(Number(await page.getByTestId("measure-result").getAttribute("data-nm"))).toBeGreaterThan(
    1,
  );
  await screenshot(page, "22-4-map");
  await page.getByTestId("measure").click();

  // The whole view only when asked: then without a box, with 30-point trails.
  const whole = page.waitForRequest(
    (r) => r.url().includes("/v1/tracks?") && !r.url().includes("bbox="),
  );
  await page.getByTestId("whole-view").check();
  expect((await whole).url()).toContain("trail=30");
  await expect(page.getByTestId("track-summary")).toContainText("whole view");

  expect(foreign, "nothing is fetched from outside the hub").toEqual([]);
});
