import { defineConfig } from "vite";
import { basemapPlugin } from "./build/basemap";

// `npm run dev` proxies the API to a running hub (the real `caveat serve` or dev/mock-server.mjs).
const api = process.env["CAVEAT_API"] ?? "http://127.0.0.1:8787";

export default defineConfig({
  // Relative asset paths: the Rust binary embeds dist/ and serves it at `/`.
  base: "./",
  plugins: [basemapPlugin()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
  server: {
    proxy: {
      "/v1": { target: api, changeOrigin: false },
      "/healthz": { target: api },
      "/openapi.json": { target: api },
    },
  },
});
