import { defineConfig } from "@playwright/test";

// Unit tests of the pure parts (SSE parsing, partner colours, the basemap build), run by
// Playwright's test runner in Node: no browser, no hub.
export default defineConfig({
  testDir: "unit",
  outputDir: "test-results/unit",
  reporter: [["list"]],
});
