// Bundles each widget entry into one self-contained ES module in llmlens/static/ (no CDN imports, ever).
import { build } from "esbuild";

const entries = {
  tokens: "src/tokens/index.ts",
  charts: "src/charts/index.ts",
  traces: "src/traces/index.ts",
  map: "src/map/index.ts",
};

await build({
  entryPoints: entries,
  outdir: "../llmlens/static",
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: process.env.LLMLENS_DEBUG !== "1",
  legalComments: "none",
  logLevel: "info",
});
