// Issue 22, item 2: the picture as it was at T, from a slider over the view's retained window, with
// play, pause and speed; the hub serves the tracks as of T.
import { expect, test } from "@playwright/test";
import { declarePurpose, screenshot, signInAs } from "./cop";

interface WireTrack {
  updated_at: string;
  trail: { t: string }[];
}

test("the time slider shows the picture an hour ago, plays it forward, and returns to live", async ({
  page,
}) => {
  await signInAs(page, "ana@can");
  await declarePurpose(page, "interdiction");
  const bar = page.getByTestId("history-bar");
  await expect(bar).toHaveAttribute("data-mode", "live");

  // An hour back (the slider counts minutes over the last 24 h).
  const past = page.waitForResponse(
    (r) => r.url().includes("/v1/tracks?") && r.url().includes("at="),
  );
  await page.getByTestId("history-slider").fill(String(24 * 60 - 60));
  const response = await past;
  expect(response.status()).toBe(200);
  await expect(bar).toHaveAttribute("data-mode", "history");
  const at = new URL(response.url()).searchParams.get("at") ?? "";
  const tracks = ((await response.json()) as { tracks: WireTrack[] }).tracks;
  // Nothing newer than T: positions and trails stop there.
  for (const t of tracks) {
    expect(t.updated_at <= at || new Date(t.updated_at) <= new Date(at)).toBe(true);
    for (const p of t.trail)
      expect(new Date(p.t).getTime()).toBeLessThanOrEqual(new Date(at).getTime());
  }
  await expect(page.getByTestId("tracks")).toHaveAttribute("data-state", "ready");
  await expect(page.getByTestId("history-time")).toContainText("min ago");
  await screenshot(page, "22-2-history");

  // Play at 300×: T moves on by five minutes a second.
  await page.getByTestId("history-speed").selectOption("300");
  const t0 = new Date((await bar.getAttribute("data-at")) ?? "").getTime();
  await page.getByTestId("history-play").click();
  await expect
    .poll(async () => new Date((await bar.getAttribute("data-at")) ?? "").getTime() - t0, {
      timeout: 5000,
    })
    .toBeGreaterThanOrEqual(300_000);
  await page.getByTestId("history-play").click();
  const paused = await bar.getAttribute("data-at");
  await page.waitForTimeout(1500);
  expect(await bar.getAttribute("data-at")).toBe(paused);

  // Back to live: reads without `at`.
  const live = page.waitForRequest(
    (r) => r.url().includes("/v1/tracks?") && !r.url().includes("at="),
  );
  await page.getByTestId("history-live").click();
  await live;
  await expect(bar).toHaveAttribute("data-mode", "live");
});
