// Renderer build (shared by Electron and web mode): renderer/ -> dist/renderer.
import path from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: path.join(root, "renderer"),
  // Relative asset URLs: the same build loads from app://lynx/ (Electron) and http://127.0.0.1 (web mode).
  base: "./",
  plugins: [react()],
  build: {
    outDir: path.join(root, "dist", "renderer"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // No inline <script>/<style>: the Content-Security-Policy forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    host: "127.0.0.1",
  },
});
