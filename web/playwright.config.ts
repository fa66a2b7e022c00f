import { defineConfig } from "@playwright/test";

// Browser tests on Debian's Chromium (scripts/install-deps.sh installs it); Playwright's own browser
// download is never used. The hub is started by e2e/global-setup.ts unless CAVEAT_URL points at one.
export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/playwright",
  globalSetup: "./e2e/global-setup.ts",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [["list"]],
  use: {
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    viewport: { width: 1400, height: 900 },
    launchOptions: {
      executablePath: process.env["CHROMIUM"] ?? "/usr/bin/chromium",
      // Playwright gives each launch a fresh temporary user-data-dir of its own.
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // WebGL for MapLibre without a GPU: software rendering.
        "--enable-unsafe-swiftshader",
        "--use-angle=swiftshader",
      ],
    },
  },
});
