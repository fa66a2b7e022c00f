// The time slider over the view's retained window (24 h by observation time: the hub's views look
// no further back): the picture as it was at T, with play, pause and speed. At the right-hand end the
// picture is live again. The hub serves each T as a read under the view key now, decided and audited.
import { el, replace } from "./element";

/** How far back the hub's views look (crates/caveat-hub/src/views.rs, DEFAULT_WINDOW). */
export const RETAINED_MS = 24 * 3600_000;
/** How often playing moves T on. */
const TICK_MS = 1000;
/** The slider's resolution. */
const STEP_MS = 60_000;

export class HistoryBar {
  /** null when live. */
  private at: number | null = null;
  private playing = false;
  private timer = 0;
  private readonly slider: HTMLInputElement;
  private readonly label: HTMLElement;
  private readonly play: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly onChange: (at: Date | null) => void,
  ) {
    this.slider = el("input", {
      type: "range",
      "data-testid": "history-slider",
      min: 0,
      max: RETAINED_MS / STEP_MS,
      step: 1,
      value: RETAINED_MS / STEP_MS,
      "aria-label": "Time",
    });
    this.label = el("span", { class: "history-time", "data-testid": "history-time" });
    this.play = el("button", { type: "button", "data-testid": "history-play" }, "▶");
    this.speed = el(
      "select",
      { "data-testid": "history-speed", title: "Playback speed" },
      ...[1, 10, 60, 300, 900].map((s) => el("option", { value: s }, `${s}×`)),
    );
    this.speed.value = "60";
    const live = el(
      "button",
      {
        type: "button",
        "data-testid": "history-live",
        onclick: () => {
          this.set(null);
        },
      },
      "Live",
    );
    this.slider.addEventListener("input", () => {
      const start = Date.now() - RETAINED_MS;
      const v = Number(this.slider.value);
      this.set(v >= Number(this.slider.max) ? null : start + v * STEP_MS, false);
    });
    this.play.addEventListener("click", () => {
      this.toggle();
    });
    replace(root, this.play, this.speed, this.slider, this.label, live);
    this.show();
  }

  /** Moves to `at` (epoch ms) or back to live. */
  set(at: number | null, moveSlider = true): void {
    const now = Date.now();
    this.at = at === null || at >= now ? null : Math.max(now - RETAINED_MS, at);
    if (this.at === null && this.playing) this.toggle();
    if (moveSlider) {
      this.slider.value = String(
        this.at === null ? this.slider.max : Math.round((this.at - (now - RETAINED_MS)) / STEP_MS),
      );
    }
    this.show();
    this.onChange(this.at === null ? null : new Date(this.at));
  }

  private toggle(): void {
    this.playing = !this.playing;
    this.play.textContent = this.playing ? "❚❚" : "▶";
    this.play.setAttribute("aria-pressed", String(this.playing));
    clearInterval(this.timer);
    if (!this.playing) return;
    // Play from an hour back when started live: there is nothing ahead of now to play.
    if (this.at === null) this.set(Date.now() - 3600_000);
    this.timer = window.setInterval(() => {
      if (this.at === null) return;
      this.set(this.at + Number(this.speed.value) * TICK_MS);
    }, TICK_MS);
  }

  private show(): void {
    this.root.dataset["mode"] = this.at === null ? "live" : "history";
    this.root.dataset["at"] = this.at === null ? "" : new Date(this.at).toISOString();
    this.label.textContent =
      this.at === null
        ? "live"
        : `${new Date(this.at).toISOString().slice(0, 16).replace("T", " ")}Z (${Math.round((Date.now() - this.at) / 60_000)} min ago)`;
  }
}
