// A partner admin's suspend/resume control. A suspension is a standing forbid by the caller's
// partner (the originator) that takes effect on the next request (DESIGN.md invariant 3).
import type { Api } from "../api/client";
import type { Me, Policy, Suspension } from "../api/types";
import { partnerColour } from "../partners";
import type { ErrorBanner } from "./errors";
import { el, replace, utc } from "./element";

const CONTEXT = "Suspensions";

export class SuspensionPanel {
  private policy: Policy | null = null;
  private busy = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly me: Me,
    private readonly errors: ErrorBanner,
  ) {
    this.render();
    void this.reload();
  }

  async reload(): Promise<void> {
    try {
      this.policy = await this.api.policy();
      this.errors.clear(CONTEXT);
    } catch (e) {
      this.errors.show(CONTEXT, e);
    }
    this.render();
  }

  private render(): void {
    const others = this.me.partners.filter((p) => p !== this.me.partner);
    const partnerBoxes = others.map((p) =>
      el(
        "label",
        { class: "check" },
        el("input", {
          type: "checkbox",
          name: "partner",
          value: p,
          "data-testid": `suspend-partner-${p}`,
        }),
        el("span", { class: "swatch", style: `background:${partnerColour(p)}` }),
        p,
      ),
    );
    const allPartners = el("input", {
      type: "checkbox",
      name: "all-partners",
      "data-testid": "suspend-all-partners",
    });
    const purposeBoxes = this.me.purposes.map((p) =>
      el(
        "label",
        { class: "check" },
        el("input", {
          type: "checkbox",
          name: "purpose",
          value: p,
          "data-testid": `suspend-purpose-${p}`,
        }),
        p,
      ),
    );
    const reason = el("input", {
      name: "reason",
      placeholder: "reason (recorded in the audit log)",
      "data-testid": "suspend-reason",
      required: true,
    });
    const note = el("p", { class: "muted", "data-testid": "suspend-note" });

    const form = el(
      "form",
      {
        class: "suspend-form",
        onsubmit: (e: Event) => {
          e.preventDefault();
          const ticked = (name: string): string[] =>
            [...form.querySelectorAll<HTMLInputElement>(`input[name=${name}]:checked`)].map(
              (i) => i.value,
            );
          const partners = ticked("partner");
          const picked = ticked("purpose");
          const purposes = this.me.purposes.filter((p) => picked.includes(p));
          if (partners.length === 0 && !allPartners.checked) {
            note.textContent = "Tick the partners to suspend, or “every partner”.";
            return;
          }
          if (reason.value.trim() === "") {
            note.textContent = "Give a reason: it is recorded with the suspension.";
            return;
          }
          note.textContent = "";
          void this.suspend({
            partners: allPartners.checked ? null : partners,
            purposes: purposes.length === 0 ? null : purposes,
            reason: reason.value.trim(),
          });
        },
      },
      el(
        "fieldset",
        {},
        el("legend", {}, "Partners"),
        ...partnerBoxes,
        el("label", { class: "check" }, allPartners, "every partner"),
      ),
      el(
        "fieldset",
        {},
        el("legend", {}, "Purposes (none ticked: every purpose)"),
        ...purposeBoxes,
      ),
      reason,
      el(
        "button",
        { type: "submit", class: "danger", "data-testid": "suspend-submit", disabled: this.busy },
        `Suspend sharing of ${this.me.partner} data`,
      ),
      note,
    );

    const suspensions = this.policy?.suspensions ?? [];
    replace(
      this.root,
      el(
        "p",
        { class: "muted" },
        `Suspensions of ${this.me.partner}'s data take effect on the next request, including derived tracks.`,
      ),
      form,
      el("h4", {}, "In force"),
      this.policy === null
        ? el("p", { class: "muted" }, "Loading…")
        : suspensions.length === 0
          ? el("p", { class: "muted", "data-testid": "no-suspensions" }, "None.")
          : el(
              "ul",
              { class: "suspensions", "data-testid": "suspension-list" },
              ...suspensions.map((s) => this.item(s)),
            ),
    );
  }

  private item(s: Suspension): HTMLElement {
    return el(
      "li",
      {
        "data-testid": "suspension-item",
        "data-suspension-id": s.id,
        "data-partners": s.partners?.join(",") ?? "*",
      },
      el(
        "div",
        {},
        el("strong", {}, s.partners?.join(", ") ?? "every partner"),
        " · ",
        s.purposes?.join(", ") ?? "every purpose",
      ),
      el("div", { class: "muted" }, `${s.reason} — ${utc(s.at)}`),
      el(
        "button",
        {
          type: "button",
          "data-testid": "resume-suspension",
          disabled: this.busy,
          onclick: () => void this.resume(s),
        },
        "Resume",
      ),
    );
  }

  private async suspend(body: Parameters<Api["suspend"]>[0]): Promise<void> {
    this.busy = true;
    this.render();
    try {
      await this.api.suspend(body);
      this.errors.clear(CONTEXT);
    } catch (e) {
      this.errors.show(CONTEXT, e);
    }
    this.busy = false;
    await this.reload();
  }

  private async resume(s: Suspension): Promise<void> {
    this.busy = true;
    this.render();
    try {
      await this.api.resume(s.id);
      this.errors.clear(CONTEXT);
    } catch (e) {
      this.errors.show(CONTEXT, e);
    }
    this.busy = false;
    await this.reload();
  }
}
