// Errors shown to the user plainly: what was being done, the server's message and its stable code.
import { ApiError } from "../api/client";
import { el, replace } from "./element";

export class ErrorBanner {
  private readonly shown = new Map<string, string>();

  constructor(private readonly root: HTMLElement) {
    this.render();
  }

  /** Shows `error` under `context` ("Loading tracks"), replacing that context's previous error. */
  show(context: string, error: unknown): void {
    this.shown.set(context, describe(error));
    this.render();
  }

  clear(context: string): void {
    if (this.shown.delete(context)) this.render();
  }

  clearAll(): void {
    this.shown.clear();
    this.render();
  }

  private render(): void {
    this.root.hidden = this.shown.size === 0;
    replace(
      this.root,
      ...[...this.shown].map(([context, text]) =>
        el(
          "div",
          { class: "error", "data-testid": "error", role: "alert" },
          el("strong", {}, `${context}: `),
          text,
          el(
            "button",
            {
              class: "dismiss",
              title: "Dismiss",
              "aria-label": "Dismiss",
              onclick: () => {
                this.clear(context);
              },
            },
            "×",
          ),
        ),
      ),
    );
  }
}

/** One line a person can act on. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Hides a form's error box and unmarks the fields a refusal had marked. */
export function clearFormError(form: HTMLElement, box: HTMLElement): void {
  box.hidden = true;
  box.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]"))
    input.removeAttribute("aria-invalid");
}
