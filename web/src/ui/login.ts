// Sign-in: a token, or in demo mode a pick from the hub's demo users.
import { Api } from "../api/client";
import type { DemoUser, Me } from "../api/types";
import { partnerColour } from "../partners";
import { describe } from "./errors";
import { el, replace } from "./element";

export interface Session {
  api: Api;
  me: Me;
}

/** Shows the sign-in dialog in `root` until a token is accepted by `GET /v1/me`. */
export function signIn(root: HTMLElement, onSession: (s: Session) => void): void {
  const status = el("p", { class: "login-status", "data-testid": "login-error", role: "alert" });
  const token = el("input", {
    type: "password",
    id: "token",
    autocomplete: "off",
    placeholder: "API token",
    "data-testid": "token-input",
  });
  const demo = el("div", { class: "demo-users", "data-testid": "demo-users" });

  const tryToken = async (value: string): Promise<void> => {
    status.textContent = "Signing in…";
    const api = new Api(value.trim());
    try {
      const me = await api.me();
      status.textContent = "";
      root.hidden = true;
      onSession({ api, me });
    } catch (e) {
      status.textContent = `Sign-in refused: ${describe(e)}`;
    }
  };

  const form = el(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        if (token.value.trim() !== "") void tryToken(token.value);
      },
    },
    el("label", { for: "token" }, "Token"),
    token,
    el("button", { type: "submit", "data-testid": "login-submit" }, "Sign in"),
  );

  replace(
    root,
    el(
      "div",
      { class: "login-card", "data-testid": "login" },
      el("h1", {}, "Caveat"),
      el("p", { class: "muted" }, "Shared maritime picture under originator-controlled markings."),
      demo,
      form,
      status,
    ),
  );
  root.hidden = false;

  Api.demoUsers().then(
    (users) => {
      if (users === null || users.length === 0) return;
      replace(
        demo,
        el("h2", {}, "Demo users"),
        el(
          "ul",
          {},
          ...users.map((u) =>
            el(
              "li",
              {},
              el(
                "button",
                {
                  type: "button",
                  class: "demo-user",
                  "data-testid": "demo-user",
                  "data-user": u.user,
                  "data-partner": u.partner,
                  onclick: () => void tryToken(u.token),
                },
                swatch(u),
                el("span", { class: "user" }, u.user),
                el("span", { class: "muted" }, ` ${u.partner} · ${u.roles.join(", ")}`),
              ),
            ),
          ),
        ),
      );
    },
    (e: unknown) => {
      status.textContent = `Cannot list demo users: ${describe(e)}`;
    },
  );
}

function swatch(u: DemoUser): HTMLElement {
  return el("span", { class: "swatch", style: `background:${partnerColour(u.partner)}` });
}
