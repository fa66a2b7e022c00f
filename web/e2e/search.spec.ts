// Issue 22, item 3: search the view by MMSI, IMO, name or call sign; a list that stays usable with
// many tracks (virtualised), sortable by last update, speed and source, and lockable.
import { expect, test } from "@playwright/test";
import { declarePurpose, hubUrl, screenshot, signInAs, tokenOf } from "./cop";

interface WireTrack {
  id: string;
  identity: { mmsi: string | null; name: string | null; call_sign: string | null };
}

test("search finds a vessel anywhere in the view, and the list sorts and locks", async ({
  page,
}) => {
  // A vessel with an MMSI and a name, from the whole view as the hub serves it to this user.
  const res = await fetch(`${hubUrl()}/v1/tracks?limit=5000&trail=0`, {
    headers: {
      Authorization: `Bearer ${await tokenOf("ana@can")}`,
      "Caveat-Purpose": "interdiction",
    },
  });
  const all = ((await res.json()) as { tracks: WireTrack[] }).tracks;
  const named = all.find((t) => t.identity.mmsi !== null && t.identity.name !== null);
  expect(named, "the demo has a named AIS vessel").toBeDefined();
  const mmsi = named?.identity.mmsi ?? "";
  const name = named?.identity.name ?? "";

  await signInAs(page, "ana@can");
  await declarePurpose(page, "interdiction");
  const list = page.getByTestId("tracks");
  const row = page.locator(`[data-testid="track-item"][data-track-id="${named?.id ?? ""}"]`);

  // By MMSI: the vessel is listed, even when the map does not show its area.
  await page.getByTestId("track-search").fill(mmsi);
  await expect(page.getByTestId("track-summary")).toContainText("in the whole view");
  await expect(row).toBeVisible();
  // By part of its name, in another case.
  await page
    .getByTestId("track-search")
    .fill(name.slice(0, Math.max(3, name.length - 2)).toLowerCase());
  await expect(row).toBeVisible();
  await screenshot(page, "22-3-search");
  // Choosing it shows its panel.
  await row.click();
  await expect(page.getByTestId("track-detail")).toHaveAttribute("data-track-id", named?.id ?? "");
  // Nothing matches: an empty list, said so.
  await page.getByTestId("track-search").fill("no-such-vessel-zz");
  await expect(list).toHaveAttribute("data-count", "0");
  await page.getByTestId("track-search").fill("");
  await expect(page.getByTestId("track-summary")).not.toContainText("whole view");

  // Sorted by speed: the rows in the document run fastest first.
  await page.getByTestId("track-sort").selectOption("speed");
  const speeds = await page.getByTestId("track-item").evaluateAll((items) =>
    items
      .map((i) => [Number(i.style.top.replace("px", "")), Number(i.getAttribute("data-speed"))])
      .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))
      .map((x) => x[1] ?? 0),
  );
  expect(speeds.length).toBeGreaterThan(1);
  expect(speeds).toEqual([...speeds].sort((a, b) => b - a));
  // By source: dark contacts first.
  await page.getByTestId("track-sort").selectOption("source");
  const firstClass = await page.getByTestId("track-item").first().getAttribute("data-class");
  const classes = await page
    .getByTestId("track-item")
    .evaluateAll((items) => items.map((i) => i.getAttribute("data-class")));
  if (classes.includes("dark")) expect(firstClass).toBe("dark");

  // Virtualised: however many tracks, only about a screenful of rows is in the document.
  const count = Number(await list.getAttribute("data-count"));
  expect(await page.getByTestId("track-item").count()).toBeLessThanOrEqual(Math.min(count, 120));

  // Locked: the order stays while live updates come in (rows may change, not move).
  await page.getByTestId("track-sort").selectOption("updated");
  await page.getByTestId("list-lock").check();
  await expect(list).toHaveAttribute("data-locked", "true");
  const order = async (): Promise<string[]> =>
    page.getByTestId("track-item").evaluateAll((items) =>
      items
        .map((i): [number, string] => [
          Number(i.style.top.replace("px", "")),
          i.getAttribute("data-track-id") ?? "",
        ])
        .sort((a, b) => a[0] - b[0])
        .map((x) => x[1]),
    );
  const before = await order();
  // The demo's feed brings new reports every few seconds: wait for the view to change at least once.
  const changed = page.waitForResponse((r) => r.url().includes("/v1/tracks?"), { timeout: 20_000 });
  await changed;
  await page.waitForTimeout(500);
  const after = await order();
  const kept = after.filter((id) => before.includes(id));
  expect(kept).toEqual(before.filter((id) => after.includes(id)));
  await screenshot(page, "22-3-list-locked");
});
