import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The performance script (`npm run perf`): not a test, and not run by scripts/test. It starts the hub
// like the browser tests do (e2e/global-setup.ts, CAVEAT_BIN or CAVEAT_URL), loads 10,000 tracks into
// a view and prints what it measured.
export default defineConfig({
  ...base,
  testDir: "perf",
  outputDir: "test-results/perf",
  timeout: 15 * 60_000,
});
