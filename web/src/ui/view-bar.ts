// The view key selector: the purpose the user declares (never implied: no purpose, no data) and an
// optional case. Changing either re-evaluates the view.
import type { ViewKey } from "../api/client";
import type { Me } from "../api/types";
import { el, replace } from "./element";

const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function viewBar(
  root: HTMLElement,
  me: Me,
  initial: ViewKey | null,
  onChange: (view: ViewKey | null) => void,
): (view: ViewKey | null) => void {
  const purpose = el(
    "select",
    { id: "purpose", "data-testid": "purpose-select", title: "Declared purpose" },
    el("option", { value: "" }, "— declare a purpose —"),
    ...me.purposes.map((p) => el("option", { value: p }, p)),
  );
  purpose.value = initial?.purpose ?? "";
  const caseInput = el("input", {
    id: "case",
    "data-testid": "case-input",
    placeholder: "case id (optional)",
    size: 20,
    spellcheck: "false",
    value: initial?.caseId ?? "",
  });
  const note = el("span", { class: "view-note", "data-testid": "view-note" });

  const emit = (): void => {
    const c = caseInput.value.trim();
    if (c !== "" && !CASE_ID.test(c)) {
      note.textContent = "A case id is a UUID, e.g. 0191f3c2-…";
      return;
    }
    note.textContent = "";
    onChange(purpose.value === "" ? null : { purpose: purpose.value, caseId: c === "" ? null : c });
  };
  purpose.addEventListener("change", emit);
  caseInput.addEventListener("change", emit);
  caseInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") emit();
  });

  replace(
    root,
    el("label", { for: "purpose" }, "Purpose"),
    purpose,
    el("label", { for: "case" }, "Case"),
    caseInput,
    el("button", { type: "button", "data-testid": "apply-view", onclick: emit }, "Apply"),
    note,
  );
  // Shows a view key chosen elsewhere (a case declared from the case panel) without emitting it.
  return (v) => {
    purpose.value = v?.purpose ?? "";
    caseInput.value = v?.caseId ?? "";
    note.textContent = "";
  };
}
