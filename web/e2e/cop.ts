// What the browser tests do to the COP, named for what a user does. The app exposes stable
// data-testid attributes; map features cannot carry them, so tracks are read from the track list.
import { expect, type Page } from "@playwright/test";

export function hubUrl(): string {
  const url = process.env["CAVEAT_URL"];
  if (!url) throw new Error("CAVEAT_URL is not set: e2e/global-setup.ts starts the hub");
  return url;
}

/** Opens the COP and signs in as a demo user through the picker. */
export async function signInAs(page: Page, user: string): Promise<void> {
  await page.goto(`${hubUrl()}/`);
  await page.locator(`[data-testid="demo-user"][data-user="${user}"]`).click();
  await expect(page.getByTestId("whoami")).toContainText(user);
}

/** Declares a purpose and waits until the view under it has been read. */
export async function declarePurpose(page: Page, purpose: string): Promise<void> {
  await page.getByTestId("purpose-select").selectOption(purpose);
  const tracks = page.getByTestId("tracks");
  await expect(tracks).toHaveAttribute("data-purpose", purpose);
  await expect(tracks).toHaveAttribute("data-state", "ready");
}

/** The originators of every track in the list. */
export async function trackOriginators(page: Page): Promise<string[][]> {
  return page
    .getByTestId("track-item")
    .evaluateAll((items) =>
      items.map((i) => (i.getAttribute("data-originators") ?? "").split(",").filter(Boolean)),
    );
}

/**
 * How many listed tracks use reports of `partner`. The list is virtualised (only rows in sight are
 * in the document), so it says the count per partner on its root.
 */
export async function tracksUsing(page: Page, partner: string): Promise<number> {
  const counts = (await page.getByTestId("tracks").getAttribute("data-partner-counts")) ?? "";
  for (const pair of counts.split(",")) {
    const [p, n] = pair.split(":");
    if (p === partner) return Number(n);
  }
  return 0;
}

/** A demo user's token, from the demo picker's endpoint. */
export async function tokenOf(user: string): Promise<string> {
  const res = await fetch(`${hubUrl()}/v1/demo/users`);
  const users = (await res.json()) as { user: string; token: string }[];
  const u = users.find((x) => x.user === user);
  if (!u) throw new Error(`no demo user ${user}`);
  return u.token;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/${name}.png` });
}
