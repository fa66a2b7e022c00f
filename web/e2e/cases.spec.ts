// Issue 22, item 1: a watch officer works a case from the page: opens it on a track citing its
// reports, records steps with the hub's validation shown inline, reads the timeline (a citation whose
// originator then suspends us shows as withheld), declares the case as the view's case, closes it.
import { expect, test } from "@playwright/test";
import { declarePurpose, hubUrl, screenshot, signInAs, tokenOf } from "./cop";

test("a watch officer opens a case from a track, records its steps and declares it", async ({
  page,
}) => {
  // Eleven round trips to the hub, each re-reading the case: more than the default minute on a busy machine.
  test.setTimeout(180_000);
  const cases = await fetch(`${hubUrl()}/v1/cases`, {
    headers: { Authorization: `Bearer ${await tokenOf("watch@uscg")}` },
  });
  test.skip(cases.status === 404, "this hub has no cases (the mock)");

  await signInAs(page, "watch@uscg");
  await declarePurpose(page, "interdiction");
  // A track GBR's radar contributed to: the case will cite GBR's report.
  const item = page.locator('[data-testid="track-item"][data-originators*="GBR"]').first();
  await expect(item).toBeVisible();
  const trackId = (await item.getAttribute("data-track-id")) ?? "";
  await page.locator(`[data-testid="track-item"][data-track-id="${trackId}"]`).click();
  const detail = page.getByTestId("track-detail");
  await expect(detail).toHaveAttribute("data-track-id", trackId);

  await detail.getByTestId("open-case").click();
  const form = detail.getByTestId("open-case-form");
  await expect(form.getByTestId("case-participant-GBR")).toBeChecked();
  expect(await form.locator('[data-testid="case-cite"]:checked').count()).toBeGreaterThan(0);
  await form.getByTestId("field-detect.unit").fill("D7 command centre");
  await form.getByTestId("open-case-submit").click();
  await expect(detail.getByTestId("case-opened")).toBeVisible();

  const panel = page.getByTestId("case-panel");
  const caseDetail = panel.getByTestId("case-detail");
  await expect(caseDetail).toBeVisible();
  const caseId = (await caseDetail.getAttribute("data-case")) ?? "";
  const timeline = caseDetail.getByTestId("case-timeline");
  await expect(timeline.getByTestId("case-step")).toHaveCount(1);
  await expect(timeline.getByTestId("case-step").first()).toHaveAttribute("data-kind", "detect");
  await expect(
    timeline.locator('[data-testid="citation"][data-status="available"][data-originator="GBR"]'),
  ).toHaveCount(1);

  const step = panel.getByTestId("step-form");
  // Boarding before an interception: the hub refuses the transition (409), shown in the form.
  await step.getByTestId("step-kind").selectOption("board");
  await step.getByTestId("field-legal_basis.flag_state").fill("VE");
  await step.getByTestId("field-legal_basis.reference").fill("MSG 311/2026");
  await step.getByTestId("field-unit").fill("USCGC Joseph Tezanos");
  await step.getByTestId("step-submit").click();
  const error = step.getByTestId("step-error");
  await expect(error).toBeVisible();
  await expect(error).toHaveAttribute("data-code", "conflict");
  await expect(error).toContainText("intercepted before it is boarded");

  // Intercept, then board: a blank consent reference is named by the hub and marked on its field.
  await step.getByTestId("step-kind").selectOption("intercept");
  await step.getByTestId("field-unit").fill("USCGC Joseph Tezanos");
  await step.getByTestId("step-submit").click();
  await expect(timeline.getByTestId("case-step")).toHaveCount(2);

  const board = panel.getByTestId("step-form");
  await board.getByTestId("step-kind").selectOption("board");
  await board.getByTestId("field-legal_basis.flag_state").fill("VE");
  await board.getByTestId("field-legal_basis.reference").fill("   ");
  await board.getByTestId("step-submit").click();
  const blank = board.getByTestId("step-error");
  await expect(blank).toHaveAttribute("data-code", "bad_request");
  await expect(blank).toContainText("legal_basis.reference");
  await expect(board.getByTestId("field-legal_basis.reference")).toHaveAttribute(
    "aria-invalid",
    "true",
  );
  await screenshot(page, "22-1-case-inline-error");
  await board.getByTestId("field-legal_basis.reference").fill("MSG 311/2026");
  await board.getByTestId("step-submit").click();
  await expect(timeline.getByTestId("case-step")).toHaveCount(3);
  await expect(timeline.getByTestId("case-step").nth(2)).toContainText(
    "flag-state consent of VE (MSG 311/2026",
  );

  // Search, seize, detain, hand over: each with its own fields.
  const record = async (kind: string, fill: Record<string, string> = {}): Promise<void> => {
    const f = panel.getByTestId("step-form");
    const before = await timeline.getByTestId("case-step").count();
    await f.getByTestId("step-kind").selectOption(kind);
    for (const [field, value] of Object.entries(fill)) {
      await f.getByTestId(`field-${field}`).fill(value);
    }
    await f.getByTestId("step-submit").click();
    await expect(timeline.getByTestId("case-step")).toHaveCount(before + 1);
  };
  await record("search");
  await record("seize", { substance: "cocaine", quantity_kg: "850.5", packages: "34" });
  await record("detain", { persons: "4", nationalities: "VE, CO" });
  await record("hand-over", { jurisdiction: "D. Puerto Rico" });
  await expect(timeline).toContainText("Seized 850.5 kg of cocaine (34 packages)");
  await expect(timeline).toContainText("Handed over to D. Puerto Rico");

  // One click: the view is now this case's (purpose interdiction, case id in the view bar).
  await panel.getByTestId("declare-case").click();
  await expect(page.getByTestId("case-input")).toHaveValue(caseId);
  await expect(page.getByTestId("purpose-select")).toHaveValue("interdiction");
  await expect(page.getByTestId("tracks")).toHaveAttribute("data-state", "ready");
  await expect(page.getByTestId("track-summary")).toContainText(`case ${caseId}`);
  await expect(panel.getByTestId("declare-case")).toBeDisabled();
  await screenshot(page, "22-1-case-timeline");

  // GBR suspends USA-USCG: GBR's cited report is now shown as withheld by its originator.
  const gbr = { Authorization: `Bearer ${await tokenOf("gbr-admin@gbr")}` };
  const suspended = await fetch(`${hubUrl()}/v1/suspensions`, {
    method: "POST",
    headers: { ...gbr, "Content-Type": "application/json" },
    body: JSON.stringify({ partners: ["USA-USCG"], purposes: null, reason: "e2e: withhold" }),
  });
  expect(suspended.status, await suspended.clone().text()).toBe(201);
  const suspension = ((await suspended.json()) as { id: string }).id;
  try {
    await panel.locator(`[data-testid="case-row"][data-case="${caseId}"]`).click();
    await expect(
      timeline.locator('[data-testid="citation"][data-status="withheld"]').first(),
    ).toContainText("withheld by its originator");
    await expect(timeline.locator('[data-testid="citation"][data-originator="GBR"]')).toHaveCount(
      0,
    );
    await screenshot(page, "22-1-case-withheld");
  } finally {
    const resumed = await fetch(`${hubUrl()}/v1/suspensions/${suspension}`, {
      method: "DELETE",
      headers: gbr,
    });
    expect(resumed.status).toBeLessThan(300);
  }

  // Closed: no more steps are offered.
  await record("close", { outcome: "handed over for prosecution" });
  await expect(caseDetail).toHaveAttribute("data-status", "closed");
  await expect(panel.getByTestId("step-form")).toHaveCount(0);
});
